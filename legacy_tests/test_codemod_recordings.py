"""The codemod's recorded 0.1 transcripts are current: each is re-recorded on the facade.

The codemod's equivalence tests (``codemods/tests``) compare a migrated app on the hub
with a transcript recorded once on the facade, so they run without it. This test, which
needs the facade, runs every corpus app on it again and fails when a recording is stale;
regenerate with ``.venv/bin/python -m codemods.tests.transcripts``.
"""

from __future__ import annotations

import pytest

from codemods.tests.transcripts import all_cases, dump, recorded, run_on_facade

CASES = all_cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_recording_is_current(name: str) -> None:
    case = CASES[name]
    assert case.recording.exists(), f"no recording: run python -m codemods.tests.transcripts {name}"
    fresh = run_on_facade(case)
    assert fresh == recorded(case), f"stale: run python -m codemods.tests.transcripts {name}"
    # The checked-in text is exactly what the recorder writes (no hand edits).
    assert case.recording.read_text(encoding="utf-8") == dump(fresh)
