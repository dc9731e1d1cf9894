"""The server side of ``benchmarks/codec.py``: one hub per codec, side by side.

Run by ``codec.py`` as ``uvicorn benchmarks._codec_server:app --ws <impl>`` in its own
process.  ``/json/ws`` is a :class:`sockethub.SocketHub` with the default
:class:`~sockethub.codec.JSONCodec`, ``/orjson/ws`` the same hub with
:class:`~sockethub.codec.OrjsonCodec`; clients join ``"bench"``.

``POST /publish/{codec}?count=&size=&start=`` publishes ``count`` payloads through that
codec's hub with ``hub.publish``: ``size=200`` the chat message, ``size=10000`` the
dashboard tick (:func:`payload`), each with its own ``seq``.  ``GET /stats`` reports the
subscriber counts.
"""

from __future__ import annotations

import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sockethub import SocketHub
from sockethub.codec import JSONCodec, OrjsonCodec

TOPIC = "bench"
CHAT = 200
TICK = 10_000


def chat(seq: int) -> dict[str, Any]:
    """A chat message of about 200 bytes of JSON."""
    return {
        "seq": seq,
        "id": "msg_01HZX3K9Q2W7",
        "room": "room:lobby",
        "user": {"id": 4242, "name": "Ada Lovelace"},
        "text": "Has anyone seen the new release notes? The codec part!",
        "sent_at": "2025-05-06T07:08:09.123456+00:00",
        "reply_to": None,
    }


def tick(seq: int) -> dict[str, Any]:
    """A dashboard tick of about 10 KB of JSON: series of timestamped floats, statuses."""
    base = datetime.datetime(2025, 5, 6, 7, 0, tzinfo=datetime.UTC).timestamp()
    return {
        "seq": seq,
        "at": "2025-05-06T07:08:09.123456+00:00",
        "series": [
            {
                "name": f"host-{h:02d}.cpu",
                "unit": "percent",
                "points": [[base + 10 * i, round(37.5 + h * 1.37 + i * 0.731, 3)] for i in range(24)],
            }
            for h in range(16)
        ],
        "alerts": [
            {"id": i, "level": "warning" if i % 3 else "critical", "ok": i % 2 == 0,
             "message": f"disk usage above threshold on volume {i}"}
            for i in range(8)
        ],
    }  # fmt: skip


def payload(size: int, seq: int) -> dict[str, Any]:
    return chat(seq) if size <= CHAT else tick(seq)


hubs = {
    "json": SocketHub("/json/ws", codec=JSONCodec()),
    "orjson": SocketHub("/orjson/ws", codec=OrjsonCodec()),
}
for _hub in hubs.values():
    _hub.channel(TOPIC)


async def publish(request: Request) -> Response:
    hub = hubs[request.path_params["kind"]]
    count = int(request.query_params.get("count", "1"))
    size = int(request.query_params.get("size", str(CHAT)))
    start = int(request.query_params.get("start", "0"))
    for i in range(count):
        await hub.publish(TOPIC, "msg", payload(size, start + i))
    return Response(status_code=204)


async def stats(request: Request) -> Response:
    return JSONResponse({kind: hub.bus.topics().get(TOPIC, 0) for kind, hub in hubs.items()})


app = Starlette(
    routes=[
        *hubs.values(),
        Route("/publish/{kind}", publish, methods=["POST"]),
        Route("/stats", stats),
    ]
)
