"""Run the chat demo on uvicorn: ``python -m examples.chat [--port P] [--redis URL] ...``."""

from __future__ import annotations

import argparse
import os

import uvicorn


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, print the URL, and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.chat", description="Serve the sockethub chat demo on uvicorn."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument(
        "--redis", metavar="URL", help="share rooms and members over Redis (redis://...)"
    )
    args = parser.parse_args(argv)
    if args.redis:
        os.environ["SOCKETHUB_REDIS"] = args.redis  # read by examples.chat.app
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"sockethub chat demo: open http://{host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    uvicorn.run(
        "examples.chat.app:app",
        host=args.host,
        port=args.port,
        ws="websockets-sansio",
        log_level="info",
    )


if __name__ == "__main__":
    main()
