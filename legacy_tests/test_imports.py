"""0.1 import paths: every name an 0.1 app imports still imports, and means the same thing."""

from __future__ import annotations

import inspect
import json

from starlette.routing import BaseRoute


def test_top_level_names() -> None:
    from sockethub import Channel, ISocket, WebSocketRoute

    assert inspect.isclass(WebSocketRoute)
    assert inspect.isclass(ISocket)
    assert inspect.isclass(Channel)
    assert issubclass(WebSocketRoute, BaseRoute)


def test_websocket_module_names() -> None:
    import sockethub
    from sockethub.websocket import WebSocketEndpoint, WebSocketRoute, WSManagedEndpoint

    assert WebSocketRoute is sockethub.WebSocketRoute
    assert inspect.isclass(WebSocketEndpoint)
    assert inspect.isclass(WSManagedEndpoint)
    assert issubclass(WSManagedEndpoint, WebSocketEndpoint)


def test_channel_module_names() -> None:
    import sockethub
    from sockethub.channel import (
        EVENT_NOT_FOUND,
        TOPIC_NOT_FOUND,
        Channel,
        ISocket,
        MessageEnvelope,
        RejectError,
    )

    assert Channel is sockethub.Channel
    assert ISocket is sockethub.ISocket
    assert issubclass(RejectError, Exception)
    assert inspect.isclass(MessageEnvelope)
    assert TOPIC_NOT_FOUND == {"code": 4404, "reason": "Topic not found"}
    assert EVENT_NOT_FOUND == {"code": 4404, "reason": "Event not found"}


def test_error_frames_keep_their_key_order() -> None:
    from sockethub.channel import EVENT_NOT_FOUND, TOPIC_NOT_FOUND

    assert list(TOPIC_NOT_FOUND) == ["code", "reason"]
    assert list(EVENT_NOT_FOUND) == ["code", "reason"]
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    assert json.dumps(TOPIC_NOT_FOUND, **compact) == '{"code":4404,"reason":"Topic not found"}'
    assert json.dumps(EVENT_NOT_FOUND, **compact) == '{"code":4404,"reason":"Event not found"}'


def test_message_envelope_fields() -> None:
    from sockethub.channel import MessageEnvelope

    envelope = MessageEnvelope(topic="room:1", event="chat", payload={"text": "hi"})
    assert (envelope.topic, envelope.event, envelope.payload) == (
        "room:1",
        "chat",
        {"text": "hi"},
    )
    assert MessageEnvelope(topic="room:1", event="join").payload is None


def test_managed_route_endpoint_is_a_ws_managed_endpoint() -> None:
    from sockethub.websocket import WebSocketEndpoint, WebSocketRoute, WSManagedEndpoint

    managed = WebSocketRoute("/ws")
    managed.channel("room:{id}")
    assert isinstance(managed.ws_endpoint, WSManagedEndpoint)
    assert isinstance(managed.ws_endpoint, WebSocketEndpoint)

    plain = WebSocketRoute("/plain")

    @plain.endpoint
    async def endpoint() -> None:
        return None

    assert isinstance(plain.ws_endpoint, WebSocketEndpoint)
    assert not isinstance(plain.ws_endpoint, WSManagedEndpoint)
    assert WebSocketRoute("/nothing").ws_endpoint is None


def test_classes_stay_classes_and_can_be_subclassed() -> None:
    from sockethub import ISocket, WebSocketRoute
    from sockethub.websocket import WSManagedEndpoint

    class MyRoute(WebSocketRoute):
        pass

    route = MyRoute("/ws")
    route.channel("room:{id}")
    assert isinstance(route, WebSocketRoute)
    assert isinstance(route.ws_endpoint, WSManagedEndpoint)
    assert issubclass(type("MySocket", (ISocket,), {}), ISocket)
