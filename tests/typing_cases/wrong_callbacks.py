"""Callbacks of the wrong shape: mypy --strict must refuse each marked line.

A ``# refused`` comment marks the decorator line mypy must report; nothing else may fail.
"""

from __future__ import annotations

from typing import Any

from sockethub import ChannelSocket, ISocket, SocketHub

hub = SocketHub("/ws")
room = hub.channel("room:{id}")


@room.on_receive("one-argument")  # refused
async def one_argument(payload: Any) -> None: ...


@room.on_receive("three-arguments")  # refused
async def three_arguments(payload: Any, sock: ChannelSocket, extra: int) -> None: ...


@room.on_receive("socket-of-the-wrong-type")  # refused
async def wrong_socket(payload: Any, sock: int) -> None: ...


@room.on_receive("not-async")  # refused
def not_async(payload: Any, sock: ChannelSocket) -> None: ...


@room.on_join  # refused
async def join_without_params(sock: ChannelSocket) -> None: ...


@room.on_join  # refused
async def join_params_of_the_wrong_type(params: list[str], sock: ChannelSocket) -> None: ...


@room.on_exit  # refused
async def exit_with_two(sock: ChannelSocket, reason: str) -> None: ...


@room.on_exit  # refused
async def exit_returning_a_value(sock: ChannelSocket) -> int:
    return 1


@hub.on_connect  # refused
async def connect_without_socket() -> None: ...


@hub.on_connect  # refused
async def connect_socket_of_the_wrong_type(sock: str) -> None: ...


@hub.on_disconnect  # refused
def disconnect_not_async(sock: ISocket) -> None: ...


@room.on_receive("topic-is-str")
async def topic_is_str(payload: Any, sock: ChannelSocket) -> int:
    return sock.topic  # refused
