"""What both chat demos' suites do (examples/chat and examples/legacy_chat speak one
protocol): join a room as the page does and see its member list; two users meet."""

from __future__ import annotations

from sockethub.testing import TestSocket


def join(ws: TestSocket, room: str, members: list[str]) -> None:
    """Join ``room:<room>`` as chat.js does (no ref: no reply) and expect the member list."""
    ws.send(f"room:{room}", "join", {})
    ws.expect(f"room:{room}", "members", {"members": members})


def alice_then_bob(alice: TestSocket, bob: TestSocket) -> None:
    """Alice joins the lobby, then Bob; Alice is told Bob joined."""
    join(alice, "lobby", ["alice"])
    join(bob, "lobby", ["alice", "bob"])
    alice.expect("room:lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})
