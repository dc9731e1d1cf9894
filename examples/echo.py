"""A tiny echo server on sockethub's low-level ``WebSocketRoute``.

Run it with ``python -m examples.echo [--host H] [--port P]`` (it prints its URL), or
serve ``examples.echo:app`` with any ASGI server.  Then connect to
``ws://127.0.0.1:8000/ws/echo/<room>?shout=true&times=2``:

* the server first sends ``{"room": <room>, "shout": <bool>, "times": <int>}``;
* then every text frame comes back ``times`` times, upper-cased if ``shout`` is true.

``room`` comes from the path; ``shout`` (bool, default false) and ``times`` (int, default
1) from the query string.  ``times=abc`` refuses the handshake with HTTP 400 and a body
naming the parameter, before the endpoint runs.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute("/ws/echo/{room}")


@route.endpoint
async def echo(sock: ISocket, room: str, shout: bool = False, times: int = 1) -> None:
    """Greet with the parsed parameters, then echo text frames until the client leaves."""
    await sock.accept()
    await sock.send_json({"room": room, "shout": shout, "times": times})
    async for text in sock.websocket.iter_text():
        reply = text.upper() if shout else text
        for _ in range(times):
            await sock.send_text(reply)


app = Starlette(routes=[route])


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, print the URL, and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m examples.echo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument(
        "--ws",
        default="websockets-sansio",
        choices=["websockets-sansio", "websockets", "wsproto"],
        help="uvicorn's WebSocket implementation (default websockets-sansio)",
    )
    args = parser.parse_args(argv)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"sockethub echo example: ws://{host}:{args.port}/ws/echo/<room>"
        "?shout=false&times=1  (Ctrl+C to stop)",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, ws=args.ws, log_level="info")


if __name__ == "__main__":
    main()
