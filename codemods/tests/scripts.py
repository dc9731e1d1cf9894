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


def _corpus2(name: str, script: Script) -> Case:
    return Case(name, f"codemods/tests/corpus2/{name}.py", script)


def _join_and(topic: str, *steps: dict[str, object]) -> list[dict[str, object]]:
    return [frames(topic, "join"), *steps, frames(topic, "leave"), frames(topic, "after")]


CASES += [
    _corpus2(
        "c01_alias_import",
        Script(
            refused_urls=["/c01/acme?user=mallory"],
            sessions=[
                Session("/c01/acme?user=ann", _join_and("room:a", frames("room:a", "hi", 1))),
                Session("/c01/acme", _join_and("room:b", frames("room:b", "hi", "x"))),
            ],
        ),
    ),
    _corpus2(
        "c02_module_import",
        Script(
            refused_urls=["/c02", "/c02?token=t&limit=lots"],
            sessions=[
                Session(
                    "/c02?token=t&limit=5",
                    _join_and("chat:1", frames("chat:1", "count", 9), frames("chat:1", "count", 2)),
                ),
                Session("/c02?token=u", _join_and("chat:2", frames("chat:2", "count", 9))),
            ],
        ),
    ),
    _corpus2(
        "c03_websocket_submodule",
        Script(
            sessions=[
                Session(
                    "/c03",
                    [
                        frames("lobby", "join"),
                        *_join_and("room:7", frames("room:7", "echo", {"a": [1, "é"]})),
                        frames("room:7", "echo", "gone"),
                    ],
                )
            ],
        ),
    ),
    _corpus2(
        "c04_factory",
        Script(sessions=[Session("/c04/kitchen", _join_and("msg:1", frames("msg:1", "ping", 3)))]),
    ),
    _corpus2(
        "c05_class_attribute",
        Script(
            sessions=[
                Session("/c05?nick=bo", _join_and("room:1", frames("room:1", "say", "hey"))),
                Session("/c05", _join_and("room:2", frames("room:2", "nope"))),
            ]
        ),
    ),
    _corpus2(
        "c06_crlf",
        Script(
            refused_urls=["/c06?page=two"],
            sessions=[
                Session("/c06?page=2", _join_and("room:1", frames("room:1", "page"))),
                Session("/c06", _join_and("room:1", frames("room:1", "page"))),
            ],
        ),
    ),
    _corpus2(
        "c07_tabs",
        Script(
            refused_urls=["/c07?loud=maybe"],
            sessions=[
                Session("/c07?loud=yes", _join_and("room:1", frames("room:1", "say", "hi"))),
                Session("/c07", _join_and("room:1", frames("room:1", "say", "hi"))),
            ],
        ),
    ),
    _corpus2(
        "c08_no_hooks_required_param",
        Script(
            refused_urls=["/c08", "/c08?token=t&retries=x"],
            sessions=[Session("/c08?token=t", _join_and("room:1", frames("room:1", "whoami")))],
        ),
    ),
    _corpus2(
        "c09_app",
        Script(sessions=[Session("/c09", _join_and("room:1", frames("room:1", "say", "yo")))]),
    ),
    _corpus2(
        "c10_test_module",
        Script(sessions=[Session("/c10", _join_and("room:1", frames("room:1", "add", [4, 5])))]),
    ),
]


def _ping(url: str, topic: str) -> Session:
    return Session(url, _join_and(topic, frames(topic, "ping", url)))


CASES += [
    _corpus2(
        "c11_sub_tree",
        Script(
            sessions=[
                _ping("/ws/v1", "room:1"),
                _ping("/ws/v1/admin", "audit:a"),
                _ping("/raw/kids", "toy:1"),
                _ping("/chat", "lobby:1"),
                _ping("/chat/side", "corner:1"),
                _ping("/ws/v1", "audit:a"),  # not served there
            ]
        ),
    ),
]


def _read(url: str, topic: str) -> Session:
    return Session(url, _join_and(topic, frames(topic, "read")))


CASES += [
    _corpus2(
        "c12_merge_prefix",
        Script(
            sessions=[
                _read("/ws/v1?user=ann", "news:1"),
                _read("/ws/v1", "news:2"),
                _read("/api", "main:1"),
                _read("/api/extra", "side:1"),
                _read("/api", "side:1"),  # not served on the parent
            ]
        ),
    ),
]


def _one(url: str, topic: str, event: str, payload: object = None) -> Session:
    return Session(url, _join_and(topic, frames(topic, event, payload)))


CASES += [
    _corpus2(
        "c13_plain_calls",
        Script(
            sessions=[
                _one("/c13?tag=x", "room:1", "shout", "hey"),
                _one("/c13", "room:1", "shout", 1),
            ]
        ),
    ),
    _corpus2("c14_submodule_alias", Script(sessions=[_one("/c14", "room:9", "id")])),
    _corpus2(
        "c15_dotted_import",
        Script(refused_urls=["/c15/x"], sessions=[_one("/c15/21", "room:1", "double")]),
    ),
    _corpus2(
        "c16_shared_noop",
        Script(sessions=[_one("/c16/a", "room:1", "where"), _one("/c16/b", "room:1", "where")]),
    ),
    _corpus2("c17_keyword_path", Script(sessions=[_one("/c17", "room:1", "hi")])),
    _corpus2(
        "c18_precedence",
        Script(sessions=[_one("/c18", "game:7", "which"), _one("/c18", "game:7:red", "which")]),
    ),
    _corpus2(
        "c19_join_exit_calls",
        Script(
            sessions=[
                Session("/c19", [frames("room:1", "join"), frames("room:2", "join")]),
                _one("/c19", "room:3", "nothing"),
            ]
        ),
    ),
    _corpus2(
        "c20_kwonly",
        Script(
            refused_urls=["/c20", "/c20?user=a&level=high"],
            sessions=[
                _one("/c20?user=ann&level=3", "room:1", "me"),
                _one("/c20?user=bo", "room:1", "me"),
            ],
        ),
    ),
    _corpus2("c21_emit_unicode", Script(sessions=[_one("/c21", "room:1", "greet", "wörld")])),
    _corpus2("c22_channel_module", Script(sessions=[_one("/c22", "room:1", "codes")])),
    _corpus2("c23_mixed_routes", Script(sessions=[_one("/c23", "room:1", "kind")])),
    _corpus2(
        "c24_unannotated_hook",
        Script(
            refused_urls=["/c24/1?size=big"],
            sessions=[
                _one("/c24/4?size=7&ratio=2", "room:1", "vals"),
                _one("/c24/5", "room:1", "vals"),
            ],
        ),
    ),
    _corpus2(
        "c25_optional_union",
        Script(
            refused_urls=["/c25?scale=huge"],
            sessions=[
                _one("/c25?name=z&scale=2.5", "room:1", "info"),
                _one("/c25", "room:1", "info"),
            ],
        ),
    ),
    _corpus2(
        "c26_two_routes_one_hook",
        Script(sessions=[_one("/c26/a", "room:1", "path"), _one("/c26/b", "room:1", "path")]),
    ),
    _corpus2(
        "c27_sub_with_hooks",
        Script(
            sessions=[
                _one("/c27/rooms/kitchen?nick=zed", "chat:1", "who"),
                _one("/c27/rooms/hall", "chat:1", "who"),
                _one("/c27", "chat:1", "who"),
            ]
        ),
    ),
    _corpus2("c28_class_factory", Script(sessions=[_one("/c28", "room:1", "ask", "?")])),
    _corpus2("c29_comments_everywhere", Script(sessions=[_one("/c29", "room:1", "c", [1])])),
    _corpus2(
        "c30_include_subroutes",
        Script(sessions=[_one("/c30/v2", "item:5", "get"), _one("/c30", "item:5", "get")]),
    ),
    _corpus2(
        "c32_shadowed_merge",
        Script(
            sessions=[
                _read("/c32/lobby", "hall:1"),
                _read("/c32/lobby", "extra:1"),  # shadowed: not served
                _read("/c32/stage", "scene:2"),
                _read("/c32/stage", "extra:2"),
            ]
        ),
    ),
    _corpus2(
        "c31_raising_callbacks",
        Script(
            sessions=[
                # The error closes the connection (1011) and propagates to the server.
                Session(
                    "/c31",
                    [
                        frames("room:1", "join"),
                        frames("room:1", "ok", 1),
                        frames("room:1", "boom", 2),
                        frames("room:1", "ok", "never"),
                    ],
                ),
                Session("/c31", [frames("vault:1", "join"), frames("vault:1", "x")]),
                # A client asking for Phoenix still gets the 0.1 envelope.
                Session("/c31?vsn=2.0.0", [frames("room:1", "join"), frames("room:1", "ok", 3)]),
            ]
        ),
    ),
]
