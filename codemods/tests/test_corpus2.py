"""The second corpus: varied 0.1 modules, each migrated by the CLI, then run on the hub
(``DeprecationWarning`` as an error) and compared with its 0.1 transcript recorded on the
facade (``recordings/``), byte for byte; the migrated tree is a fixed point."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sockethub_codemods.cli import main

from .helpers import migrate, undefined_names
from .scripts import CASES
from .transcripts import CORPUS2, load, recorded, run_migrated

SECOND = {case.name: case for case in CASES if case.path.startswith("codemods/tests/corpus2/")}


@pytest.fixture(scope="module")
def migrated2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("corpus2")
    for path in CORPUS2.iterdir():
        if path.suffix in (".py", ".toml"):
            shutil.copyfile(path, work / path.name)
    assert main([str(work), "--jobs", "1", "-q"]) == 0
    return work


def test_every_module_has_a_script_and_a_recording() -> None:
    modules = {p.stem for p in CORPUS2.glob("*.py")} - {"c09_routes"}  # c09_app drives it
    assert modules == set(SECOND)
    assert all(case.recording.exists() for case in SECOND.values())


def test_migration_is_a_fixed_point(migrated2: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", str(migrated2)]) == 0
    assert "nothing to change" in capsys.readouterr().err
    for path in sorted(migrated2.glob("*.py")):
        before = (CORPUS2 / path.name).read_bytes().decode()
        after = path.read_bytes().decode()
        assert migrate(after) == after, path.name
        assert undefined_names(after) <= undefined_names(before), path.name
        # Line endings and indentation are the module's own.
        assert ("\r\n" in after) == ("\r\n" in before)
        assert ("\n\t" in after) == ("\n\t" in before)


@pytest.mark.parametrize("name", sorted(SECOND))
def test_transcript_matches_the_recording(migrated2: Path, name: str) -> None:
    case = SECOND[name]
    assert run_migrated(case, migrated2 / f"{name}.py") == recorded(case)


def test_the_migrated_test_module_still_passes(migrated2: Path) -> None:
    import warnings

    module = load(migrated2 / "c10_test_module.py", "corpus_c10_run", deprecations_are_errors=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        module.test_add()
