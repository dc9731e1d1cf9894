"""Recorded 0.1 wire transcripts of the corpus apps, and the client that makes them.

Each corpus app has a scripted client session (a :class:`Script`). Its transcript on the
0.1 facade, every frame as the exact text received, every refusal and, where the app
keeps one, its ``CALLS`` list of callbacks run, is recorded once into
``codemods/tests/recordings/<name>.json``. The codemod tests run the *migrated* app on
``SocketHub`` (with ``DeprecationWarning`` as an error) and compare with the recording,
so they never need the facade at run time.

Regenerate the recordings (this needs the facade) after changing an app or a script::

    .venv/bin/python -m codemods.tests.transcripts            # rewrite every recording
    .venv/bin/python -m codemods.tests.transcripts NAME ...   # only these

``legacy_tests/test_codemod_recordings.py`` re-records each one on the facade and fails
when a checked-in recording is out of date.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .conftest import CODEMODS_DIR, REPO

RECORDINGS = CODEMODS_DIR / "tests" / "recordings"
CORPUS = CODEMODS_DIR / "tests" / "corpus"
CORPUS2 = CODEMODS_DIR / "tests" / "corpus2"


def frames(topic: str, event: str, payload: Any = None) -> dict[str, Any]:
    return {"topic": topic, "event": event, "payload": payload}


def ref_probe(i: int) -> dict[str, Any]:
    """A frame to a topic no app serves, with a ref: its answer names the ref."""
    return {"topic": "zz-probe", "event": "probe", "ref": f"probe-{i}"}


def is_ref_probe_reply(frame: Any, i: int) -> bool:
    return isinstance(frame, dict) and frame.get("ref") == f"probe-{i}"


@dataclass
class Session:
    """One connection: its URL and the frames to send, one step each."""

    url: str
    steps: list[dict[str, Any]]


@dataclass
class Script:
    """A client session: refused URLs first, then connections, each a list of steps.

    After every step the client sends ``probe(i)`` and reads frames until
    ``is_probe_reply(frame, i)``: everything read before it is that step's output. So a
    step that sends nothing cannot make the test hang, and extra frames are caught.
    """

    sessions: list[Session]
    refused_urls: list[str] = field(default_factory=list)
    probe: Callable[[int], dict[str, Any]] = ref_probe
    is_probe_reply: Callable[[Any, int], bool] = is_ref_probe_reply


@dataclass
class Case:
    """A corpus app (``path`` relative to the repository) and its script."""

    name: str
    path: str
    script: Script

    @property
    def source(self) -> Path:
        return REPO / self.path

    @property
    def recording(self) -> Path:
        return RECORDINGS / f"{self.name}.json"


def load(path: Path, name: str, *, deprecations_are_errors: bool) -> types.ModuleType:
    """Import ``path`` as module ``name``; its directory is importable while it loads."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with warnings.catch_warnings(), _importable(path.parent):
        if deprecations_are_errors:
            warnings.simplefilter("error", DeprecationWarning)
        else:
            warnings.simplefilter("ignore", DeprecationWarning)
        spec.loader.exec_module(module)
    return module


@contextmanager
def _importable(directory: Path) -> Iterator[None]:
    """Sibling modules of a corpus app import by their bare name, fresh each time."""
    siblings = {p.stem for p in directory.glob("*.py")}
    for stem in siblings:
        sys.modules.pop(stem, None)
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        sys.path.remove(str(directory))


def forget(prefix: str) -> None:
    for name in [n for n in sys.modules if n.startswith(prefix)]:
        del sys.modules[name]


def run_script(module: types.ModuleType, script: Script) -> dict[str, Any]:
    """Drive ``module.app`` with ``script``; the transcript in JSON-ready form."""
    from starlette.testclient import TestClient, WebSocketDenialResponse
    from starlette.websockets import WebSocketDisconnect

    transcript: list[Any] = []
    closes: list[list[Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        """``module.app``, noting each close it sends, in its own order of events."""

        async def noting(message: Any) -> None:
            if message["type"] == "websocket.close":
                closes.append(["closed", message.get("code", 1000), message.get("reason", "")])
            await send(message)

        await module.app(scope, receive, noting)

    with TestClient(app) as client:
        for url in script.refused_urls:
            try:
                with client.websocket_connect(url):
                    transcript.append(["accepted", url])
            except WebSocketDenialResponse as denial:  # a subclass: first
                transcript.append(["denied", url, denial.status_code, denial.text])
            except WebSocketDisconnect as exc:
                transcript.append(["refused", url, exc.code, exc.reason])
        for session in script.sessions:
            # An app error reaches the client either before or after the close it causes
            # (1011), and TestClient drops a close it has not read by then: the step that
            # ended the session records the close the app sent (noted as it was sent),
            # then the error, so the transcript does not depend on that race.
            ended: list[Any] = []
            step: list[Any] = [session.url, None, []]
            closes.clear()
            try:
                with client.websocket_connect(session.url) as ws:
                    ended = _run_session(ws, session, script, transcript, step)
            except Exception as exc:  # raised by the app: part of the transcript
                raised = ["raised", type(exc).__name__, str(exc)]
                transcript.append([*step, *closes[:1], raised])
            else:
                if ended:
                    transcript.append(ended)
    calls = getattr(module, "CALLS", None)
    return {"transcript": transcript, "calls": _jsonable(calls)}


def _run_session(
    ws: Any, session: Session, script: Script, transcript: list[Any], step: list[Any]
) -> list[Any]:
    """Every step of ``session`` on ``ws``; the step a close by the server ended (with its
    code), not yet recorded, or ``[]``.  ``step`` holds the step running, for the caller
    to complete when an app error propagates."""
    from starlette.websockets import WebSocketDisconnect

    for i, message in enumerate(session.steps):
        got: list[str] = []
        step[:] = [session.url, message, got]
        try:
            ws.send_json(message)
            ws.send_json(script.probe(i))
            while True:
                text = ws.receive_text()
                if script.is_probe_reply(json.loads(text), i):
                    break
                got.append(text)
        except WebSocketDisconnect as exc:
            return [session.url, message, got, ["closed", exc.code, exc.reason]]
        transcript.append([session.url, message, got])
    return []


def _jsonable(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value))


def run_on_facade(case: Case, source: Path | None = None) -> dict[str, Any]:
    """The original app on the 0.1 facade (it warns, as it should: not under test)."""
    module = load(source or case.source, f"corpus_{case.name}_old", deprecations_are_errors=False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return run_script(module, case.script)
    finally:
        forget(f"corpus_{case.name}_old")


def run_migrated(case: Case, migrated: Path) -> dict[str, Any]:
    """The migrated app on the hub: any DeprecationWarning (a 0.1 path still used) fails."""
    module = load(migrated, f"corpus_{case.name}_new", deprecations_are_errors=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            return run_script(module, case.script)
    finally:
        forget(f"corpus_{case.name}_new")


def recorded(case: Case) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(case.recording.read_text(encoding="utf-8"))
    return data


def dump(result: dict[str, Any]) -> str:
    """The recording's text: one transcript step (or call) per line, for readable diffs."""

    def lines(items: list[Any] | None) -> str:
        if items is None:
            return "null"
        body = ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in items)
        return "[\n" + body + "\n ]" if items else "[]"

    return (
        '{\n "transcript": '
        + lines(result["transcript"])
        + ',\n "calls": '
        + lines(result["calls"])
        + "\n}\n"
    )


def all_cases() -> dict[str, Case]:
    from .scripts import CASES

    return {case.name: case for case in CASES}


def main(argv: list[str]) -> int:
    cases = all_cases()
    names = argv or sorted(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        print(f"unknown corpus apps: {', '.join(unknown)}", file=sys.stderr)
        return 2
    RECORDINGS.mkdir(exist_ok=True)
    for name in names:
        case = cases[name]
        case.recording.write_text(dump(run_on_facade(case)), encoding="utf-8")
        print(f"recorded {case.recording.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
