"""The corpus: old-style 0.1 apps, migrated by the CLI, compared with checked-in output,
and (the wire half) the migrated app's transcript compared with the 0.1 one.

The wire half runs the migrated app on ``SocketHub`` (imported with ``DeprecationWarning``
as an error), drives it with the app's scripted ``TestClient`` session and compares every
frame received, byte for byte, and every callback run with the transcript recorded on
the 0.1 facade (``recordings/``, see ``transcripts.py``): the facade is not needed here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from sockethub_codemods.cli import main

from .conftest import REPO
from .scripts import CASES
from .transcripts import CORPUS, frames, recorded, run_migrated

EXPECTED = CORPUS / "expected"
APPS = sorted(p.name for p in CORPUS.glob("*.py"))
LEGACY_CHAT = REPO / "examples" / "legacy_chat" / "app.py"
BY_NAME = {case.name: case for case in CASES if "corpus2" not in case.path}


def test_corpus_has_inputs_and_expected_outputs() -> None:
    assert APPS == ["floors_app.py", "typical_app.py"]
    assert sorted(p.name for p in EXPECTED.glob("*.py")) == APPS


def test_cli_migrates_corpus_to_the_expected_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "corpus"
    work.mkdir()
    for name in [*APPS, "ruff.toml"]:  # its line length (ruff's default, 88) wraps TODOs
        shutil.copyfile(CORPUS / name, work / name)
    assert main([str(work), "--jobs", "1"]) == 0
    for name in APPS:
        assert (work / name).read_bytes() == (EXPECTED / name).read_bytes(), name
    err = capsys.readouterr().err
    assert "2 files scanned, 2 changed, 1 flagged (1 TODO), 0 failed" in err
    assert f"{work / 'floors_app.py'}:41: TODO(sockethub-migrate): this was the 0.1" in err
    # The expected output is a fixed point.
    assert main(["--check", str(work)]) == 0
    assert "nothing to change" in capsys.readouterr().err


# ---- the wire half ----
NOT_FOUND = {"code": 4404, "reason": "Topic not found"}
NO_EVENT = {"code": 4404, "reason": "Event not found"}


def received(result: dict[str, Any]) -> list[list[Any]]:
    """Each step's frames, decoded (the transcript keeps them as text)."""
    return [[json.loads(f) for f in step[2]] for step in result["transcript"] if len(step) == 3]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus apps and examples/legacy_chat, migrated once by the CLI."""
    tmp_path = tmp_path_factory.mktemp("migrated")
    for name in APPS:
        shutil.copyfile(CORPUS / name, tmp_path / name)
    target = tmp_path / "examples" / "legacy_chat"
    target.mkdir(parents=True)
    shutil.copyfile(LEGACY_CHAT, target / "app.py")
    # The app serves ../chat/static; point at the real one.
    (tmp_path / "examples" / "chat").symlink_to(REPO / "examples" / "chat")
    assert main([str(tmp_path), "--jobs", "1"]) == 0
    return tmp_path


def migrated_path(migrated: Path, name: str) -> Path:
    if name == "legacy_chat":
        return migrated / "examples" / "legacy_chat" / "app.py"
    return migrated / f"{name}.py"


def test_migrated_typical_app_runs_on_the_hub(migrated: Path) -> None:
    result = run_migrated(BY_NAME["typical_app"], migrated_path(migrated, "typical_app"))
    assert result["transcript"][:2] == [
        ["refused", "/ws/chat?token=wrong", 4403, "Forbidden"],
        ["refused", "/ws/chat", 4403, "Forbidden"],
    ]
    assert received(result) == [
        [],
        [],
        [frames("room:1", "reply", {"echo": {"text": "hi"}})],
        [NOT_FOUND],
        [NO_EVENT],
        [NOT_FOUND],
        [],
        [NOT_FOUND],
    ]


def test_migrated_floors_app_runs_on_the_hub(migrated: Path) -> None:
    result = run_migrated(BY_NAME["floors_app"], migrated_path(migrated, "floors_app"))
    assert result["transcript"][0] == ["refused", "/floors/acme/3?token=nope", 4403, "bad token"]
    assert received(result) == [
        [frames("lobby:probe", "welcome", {"joined": "probe", "org": "acme"})],
        [frames("lobby:main", "welcome", {"joined": "main", "org": "acme"})],
        [frames("lobby:main", "reply", {"said": "hello", "floor": 3})],
        # The merged `admin` sits at the floors' own path, shadowed, as in 0.1.
        [NOT_FOUND],
        [NOT_FOUND],
        [NO_EVENT],
        [],
        [NOT_FOUND],
    ]
    calls = result["calls"]
    # The hook got the converted path value (int) and query values, as in 0.1.
    assert ["connect", "acme", 3, "letmein", 5] in calls
    assert ["connect", "acme", 3, "nope", 10] in calls
    # on_exit for the channel still joined, then on_disconnect, with the same values.
    assert calls[-2:] == [["leave", "lobby:probe"], ["disconnect", "acme", 3]]


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_corpus_wire_transcripts_match_the_recording(migrated: Path, name: str) -> None:
    case = BY_NAME[name]
    before = recorded(case)
    after = run_migrated(case, migrated_path(migrated, name))
    assert after == before


def test_legacy_chat_example_migrates_without_a_flag(migrated: Path) -> None:
    code = migrated_path(migrated, "legacy_chat").read_text()
    # Nothing is flagged: the hooks declare `user` as the handler did, so the hub still
    # refuses a connection without it before the handshake, as 0.1 did.
    assert "TODO(sockethub-migrate)" not in code
    assert "async def handle_ws" not in code
    assert (
        "WebSocketRoute(" not in code
        and 'ws_route = SocketHub(\n    "/ws",\n    ordering="connection",\n' in code
    )


def test_migrated_legacy_chat_runs_on_the_hub(migrated: Path) -> None:
    result = run_migrated(BY_NAME["legacy_chat"], migrated_path(migrated, "legacy_chat"))
    assert result["transcript"][:2] == [
        ["refused", "/ws?user=", 4403, "user must be 1-32 characters"],
        ["refused", "/ws?user=" + "x" * 40, 4403, "user must be 1-32 characters"],
    ]
    got = received(result)
    assert got[1] == [frames("room:lobby", "members", {"members": ["ann"]})]
    assert got[2] == [frames("room:lobby", "sent", {"user": "ann", "text": "hello"})]
    assert got[3:] == [[], [NOT_FOUND], [NO_EVENT], [], [NOT_FOUND]]
