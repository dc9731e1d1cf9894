"""The scripted client session of every corpus app (see ``transcripts.py``)."""

from __future__ import annotations

from .transcripts import Case, Script, Session, frames

TYPICAL = Script(
    refused_urls=["/ws/chat?token=wrong", "/ws/chat"],
    sessions=[
        Session(
            "/ws/chat?token=secret",
            [
                frames("room:probe", "join"),
                frames("room:1", "join"),
                frames("room:1", "chat", {"text": "hi"}),
                frames("room:2", "chat", {"text": "not joined"}),
                frames("room:1", "shout", "no such event"),
                frames("nowhere", "chat", 1),
                frames("room:1", "leave"),
                frames("room:1", "chat", "after leave"),
            ],
        )
    ],
    probe=lambda i: frames("room:probe", "chat", {"probe": i}),
    is_probe_reply=lambda f, i: f == frames("room:probe", "reply", {"echo": {"probe": i}}),
)

FLOORS = Script(
    # limit=many: an int handler parameter that does not convert, refused before on_connect.
    refused_urls=["/floors/acme/3?token=nope", "/floors/acme/3?token=letmein&limit=many"],
    sessions=[
        Session(
            "/floors/acme/3?token=letmein&limit=5",
            [
                frames("lobby:probe", "join"),
                frames("lobby:main", "join"),
                frames("lobby:main", "say", "hello world"),
                # Channels of the merged route: where the transcripts differ (flagged).
                frames("audit:security", "join"),
                frames("audit:security", "log", {"door": 7}),
                frames("lobby:main", "dance"),
                frames("lobby:main", "leave"),
                frames("lobby:main", "say", "gone"),
            ],
        )
    ],
    probe=lambda i: frames("lobby:probe", "say", f"p{i}"),
    is_probe_reply=lambda f, i: f == frames("lobby:probe", "reply", {"said": f"p{i}", "floor": 3}),
)

LEGACY_CHAT = Script(
    # "/ws": 0.1 refused a missing handler parameter before the handshake (HTTP 400).
    refused_urls=["/ws?user=", "/ws?user=" + "x" * 40, "/ws"],
    sessions=[
        Session(
            "/ws?user=ann",
            [
                frames("room:probe", "join"),
                frames("room:lobby", "join"),
                frames("room:lobby", "say", {"text": "hello"}),
                frames("room:lobby", "say", {"text": "   "}),
                frames("room:other", "say", {"text": "not joined"}),
                frames("room:lobby", "wave"),
                frames("room:lobby", "leave"),
                frames("room:lobby", "say", {"text": "after leave"}),
            ],
        )
    ],
    probe=lambda i: frames("room:probe", "say", {"text": f"probe {i}"}),
    is_probe_reply=lambda f, i: (
        f == frames("room:probe", "sent", {"user": "ann", "text": f"probe {i}"})
    ),
)

CASES: list[Case] = [
    Case("typical_app", "codemods/tests/corpus/typical_app.py", TYPICAL),
    Case("floors_app", "codemods/tests/corpus/floors_app.py", FLOORS),
    Case("legacy_chat", "examples/legacy_chat/app.py", LEGACY_CHAT),
]
