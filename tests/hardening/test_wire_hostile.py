"""Hostile input and connection endings over real uvicorn, under every ws implementation.

Each case asserts what the attacker's connection gets, then that a neighbour connection
joined to the same topic was not disturbed: it still gets its replies and broadcasts, and
it is still subscribed.  The module runs once per uvicorn ws implementation and codec.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sockethub import SocketHub
from sockethub.testing import Disconnected
from sockethub.testing.served import ServedTestSocket, connect_served
from tests.bus.support import eventually
from tests.codecs import make
from tests.hardening.app import APP_CLOSE_CODE, build
from tests.support import uvicorn_process, uvicorn_thread

pytestmark = [
    pytest.mark.e2e,
    # uvicorn deprecates its ``websockets`` implementation (still its most used one).
    pytest.mark.filterwarnings("ignore:The `websockets` implementation is deprecated"),
    pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated"),
    pytest.mark.filterwarnings("ignore:remove second argument of ws_handler"),
]

WS_IMPLEMENTATIONS = ["websockets-sansio", "wsproto", "websockets"]
MALFORMED = {"code": 4400, "reason": "Malformed frame: not valid JSON"}


@dataclass
class Served:
    port: int
    hub: SocketHub
    limited: SocketHub
    events: list[tuple[str, str | None]]


SERVED = [
    pytest.param((ws, codec), id=f"{ws}-{codec}")
    for codec in ("json", "orjson")
    for ws in WS_IMPLEMENTATIONS
]


@pytest.fixture(scope="module", params=SERVED)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    ws, codec = request.param
    app, hub, limited, events = build(make(codec))
    with uvicorn_thread(app, ws=ws) as port:
        yield Served(port, hub, limited, events)


async def joined(served: Served, topic: str = "room:v", path: str = "/ws") -> ServedTestSocket:
    ws = await connect_served(f"ws://127.0.0.1:{served.port}{path}", max_size=None)
    await ws.join(topic)
    return ws


@pytest.fixture
async def neighbour(served: Served) -> AsyncIterator[ServedTestSocket]:
    ws = await joined(served)
    yield ws
    await ws.close()


async def assert_undisturbed(served: Served, ws: ServedTestSocket) -> None:
    """The neighbour still gets a reply and a broadcast, and is still subscribed."""
    assert await ws.push("room:v", "echo", 1) == 1
    await ws.send("room:v", "say", "still")
    await ws.expect("room:v", "said", "still")
    assert served.hub.bus.subscriber_count("room:v") >= 1  # type: ignore[attr-defined]


# Frames whose content could not be sent back as strict JSON in valid UTF-8.
UNSENDABLE = [
    pytest.param('{"topic":"room:v","event":"say","payload":"\\ud800"}', id="lone-high-surrogate"),
    pytest.param('{"topic":"room:v","event":"say","payload":"a\\udfffb"}', id="lone-low-surrogate"),
    pytest.param('{"topic":"room:v","event":"say","payload":{"\\ud800":1}}', id="surrogate-key"),
    pytest.param('{"topic":"room:v","event":"echo","ref":"\\udc00"}', id="surrogate-ref"),
    pytest.param('{"topic":"room:\\ud800","event":"join","ref":"j"}', id="surrogate-topic"),
    pytest.param('{"topic":"room:v","event":"say","payload":NaN}', id="nan"),
    pytest.param('{"topic":"room:v","event":"say","payload":Infinity}', id="infinity"),
    pytest.param('{"topic":"room:v","event":"say","payload":[-Infinity]}', id="minus-infinity"),
    pytest.param('{"topic":"room:v","event":"say","payload":1e999999}', id="overflowing-number"),
    pytest.param('{"topic":"room:v","event":"echo","ref":"r","payload":-1e400}', id="overflow-neg"),
]


@pytest.mark.parametrize("frame", UNSENDABLE)
async def test_input_that_cannot_be_sent_again_is_refused_at_the_door(
    served: Served, neighbour: ServedTestSocket, frame: str
) -> None:
    sender = await joined(served)
    try:
        await sender.send_text(frame)
        assert await sender.receive_json() == MALFORMED
        await sender.send_text(
            json.dumps({"topic": "room:v", "event": "echo", "payload": 2, "ref": "2"})
        )
        assert (await sender.receive_json())["payload"] == {"status": "ok", "response": 2}
    finally:
        await sender.close()
    await assert_undisturbed(served, neighbour)


async def test_characters_beyond_the_bmp_round_trip(
    served: Served, neighbour: ServedTestSocket
) -> None:
    text = "\U0001f600 \U00010348 \U000e0041 \ufffd \u2028"
    escaped = '{"topic":"room:v","event":"say","payload":"\\ud83d\\ude00 \\ud800\\udf48"}'
    sender = await joined(served)
    try:
        await sender.send_text(json.dumps({"topic": "room:v", "event": "say", "payload": text}))
        assert (await neighbour.receive_json())["payload"] == text
        await sender.send_text(escaped)  # an escaped surrogate *pair* is one character: fine
        assert (await neighbour.receive_json())["payload"] == "\U0001f600 \U00010348"
    finally:
        await sender.close()
    await assert_undisturbed(served, neighbour)


# Values orjson on its own would alter (ints beyond 64 bits read as floats) or refuse to
# write (nesting beyond 255): every codec must hand them back exactly.
EXACT = [
    pytest.param("123456789012345678901234567890", id="int-beyond-64-bits"),
    pytest.param("-9223372036854775809", id="int-below-int64"),
    pytest.param("18446744073709551616", id="u64-max-plus-one"),
    pytest.param('{"big":[1e308,-0.0,99999999999999999999.5]}', id="floats-with-long-digits"),
    pytest.param("[" * 300 + "]" * 300, id="300-deep"),
]


@pytest.mark.parametrize("text", EXACT)
async def test_values_a_fast_parser_would_alter_round_trip_exactly(
    served: Served, neighbour: ServedTestSocket, text: str
) -> None:
    expected = json.loads(text)
    sender = await joined(served)
    try:
        await sender.send_text(f'{{"topic":"room:v","event":"echo","ref":"x","payload":{text}}}')
        reply = await sender.receive_json()
        assert reply["payload"] == {"status": "ok", "response": expected}
        assert repr(reply["payload"]["response"]) == repr(expected)  # int stays int
        await sender.send_text(f'{{"topic":"room:v","event":"say","payload":{text}}}')
        said = await neighbour.receive_json()
        assert repr(said) == repr({"topic": "room:v", "event": "said", "payload": expected})
    finally:
        await sender.close()
    await assert_undisturbed(served, neighbour)


UNENCODABLE_ANSWERS = [
    pytest.param({"topic": "room:v", "event": "when", "ref": "w"}, id="reply-set"),
    pytest.param({"topic": "room:v", "event": "refuse", "ref": "w"}, id="reply-error-set"),
    pytest.param({"topic": "odd:1", "event": "join", "ref": "w"}, id="join-refused-set"),
]


@pytest.mark.parametrize("message", UNENCODABLE_ANSWERS)
async def test_an_answer_that_cannot_be_encoded_is_a_callback_error(
    served: Served, neighbour: ServedTestSocket, message: dict[str, Any]
) -> None:
    sender = await joined(served)
    errors = served.hub.stats.callback_errors
    try:
        await sender.send_text(json.dumps(message))
        assert await sender.receive_json() == {"code": 4500, "reason": "Internal error", "ref": "w"}
        await sender.send_text(
            json.dumps({"topic": "room:v", "event": "echo", "payload": 3, "ref": "3"})
        )
        assert (await sender.receive_json())["payload"] == {"status": "ok", "response": 3}
    finally:
        await sender.close()
    assert served.hub.stats.callback_errors == errors + 1
    await assert_undisturbed(served, neighbour)


async def closed_with(ws: ServedTestSocket) -> int:
    """Read until the server closes; the close code the client got (1006: none)."""
    while True:
        try:
            await ws.receive_raw()
        except Disconnected as closed:
            return closed.code


async def test_a_frame_over_the_limit_closes_with_1009(
    served: Served, neighbour: ServedTestSocket
) -> None:
    sender = await joined(served)
    await sender.send_text(json.dumps({"topic": "room:v", "event": "say", "payload": "x" * 70_000}))
    assert await closed_with(sender) == 1009
    await assert_undisturbed(served, neighbour)


async def test_the_frame_limit_counts_bytes_not_characters(
    served: Served, neighbour: ServedTestSocket
) -> None:
    # 20,000 characters, 80,000 bytes of UTF-8: over the 64 KiB limit.
    sender = await joined(served)
    wide = "\U0001f600" * 20_000
    await sender.send_text(
        json.dumps({"topic": "room:v", "event": "say", "payload": wide}, ensure_ascii=False)
    )
    assert await closed_with(sender) == 1009
    await assert_undisturbed(served, neighbour)


async def test_a_flood_over_the_rate_limit_closes_with_1008(
    served: Served, neighbour: ServedTestSocket
) -> None:
    sender = await joined(served, path="/ws/limited")
    frame = json.dumps({"topic": "room:v", "event": "echo", "payload": 0})
    for _ in range(200):
        await sender.send_text(frame)
    assert await closed_with(sender) == 1008
    await assert_undisturbed(served, neighbour)


async def test_an_app_close_code_reaches_the_client(
    served: Served, neighbour: ServedTestSocket
) -> None:
    sender = await joined(served)
    await sender.send_text(json.dumps({"topic": "room:v", "event": "bye"}))
    assert await closed_with(sender) == APP_CLOSE_CODE
    assert sender.close_reason == "bye"
    await assert_undisturbed(served, neighbour)


async def test_a_callback_that_never_returns_is_cancelled_when_its_client_leaves(
    served: Served, neighbour: ServedTestSocket
) -> None:
    hub = served.hub
    abandoned = hub.stats.abandoned_callbacks
    disconnects = served.events.count(("disconnect", None))
    sender = await joined(served, "room:hang")
    await sender.send_text(json.dumps({"topic": "room:hang", "event": "hang", "ref": "h"}))
    await asyncio.sleep(0.2)  # the callback is running (and watched)
    await sender.close()
    # cancel_grace is 0.5 s on this hub: the hooks run soon after, not never.
    await eventually(
        lambda: served.events.count(("disconnect", None)) == disconnects + 1,
        what="on_disconnect",
    )
    assert ("exit", "room:hang") in served.events
    assert hub.stats.abandoned_callbacks == abandoned + 1
    assert hub.bus.subscriber_count("room:hang") == 0  # type: ignore[attr-defined]
    await assert_undisturbed(served, neighbour)


async def test_frames_sent_while_a_callback_runs_are_handled_in_order_after_it(
    served: Served, neighbour: ServedTestSocket
) -> None:
    sender = await joined(served, "room:slow", path="/ws/limited")  # callback_timeout 0.2 s
    await sender.send_text(json.dumps({"topic": "room:slow", "event": "hang", "ref": "h"}))
    for n in range(5):
        await sender.send_text(
            json.dumps({"topic": "room:slow", "event": "echo", "payload": n, "ref": str(n)})
        )
    assert await sender.receive_json() == {"code": 4500, "reason": "Internal error", "ref": "h"}
    got = [(await sender.receive_json())["payload"]["response"] for _ in range(5)]
    assert got == [0, 1, 2, 3, 4]
    await sender.close()
    await assert_undisturbed(served, neighbour)


@pytest.mark.parametrize("ws", WS_IMPLEMENTATIONS)
async def test_sigterm_with_a_callback_stuck_ends_the_server_promptly(ws: str) -> None:
    with uvicorn_process("tests.hardening.served:app", ws=ws) as (port, proc):
        client = await connect_served(f"ws://127.0.0.1:{port}/ws")
        await client.join("room:1")
        await client.send_text(json.dumps({"topic": "room:1", "event": "hang", "ref": "h"}))
        await asyncio.sleep(0.2)
        proc.terminate()
        # The server closes the socket (1012) and the stuck callback is cancelled after
        # the hub's cancel_grace (0.5 s) instead of holding the shutdown forever.
        assert await closed_with(client) == 1012
        # Without the cancellation this wait times out: uvicorn waits for the session.
        code = await asyncio.to_thread(proc.wait, 20)
        assert code in (0, -15)  # uvicorn >= 0.29 re-raises the SIGTERM it handled
