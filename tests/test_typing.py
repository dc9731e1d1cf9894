"""``mypy --strict`` on user code: a chat hub written from the README passes, and
callbacks of the wrong arity or argument types are refused, each on its own line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

CASES = Path(__file__).parent / "typing_cases"


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[int, str]]]:
    """mypy --strict's errors per case file: ``{name: [(line, message), ...]}``."""
    cache = tmp_path_factory.mktemp("mypy-cache")
    files = [CASES / "readme_chat.py", CASES / "wrong_callbacks.py"]
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache),
         "--python-version", "3.11", "--no-error-summary", "--show-error-codes",
         *map(str, files)],
        cwd=ROOT,
        env={**os.environ, "MYPYPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    errors: dict[str, list[tuple[int, str]]] = {f.name: [] for f in files}
    for line in proc.stdout.splitlines():
        match = re.match(r"(.+?):(\d+): error: (.*)", line)
        if match:
            errors.setdefault(Path(match[1]).name, []).append((int(match[2]), match[3]))
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 2: mypy itself failed
    assert set(errors) == {f.name for f in files}, proc.stdout  # no error elsewhere
    return errors


def test_the_readme_chat_passes_mypy_strict(
    mypy_output: dict[str, list[tuple[int, str]]],
) -> None:
    assert mypy_output["readme_chat.py"] == []


def test_callbacks_of_the_wrong_shape_are_refused_line_by_line(
    mypy_output: dict[str, list[tuple[int, str]]],
) -> None:
    source = (CASES / "wrong_callbacks.py").read_text().splitlines()
    marked = {n for n, text in enumerate(source, 1) if text.rstrip().endswith("# refused")}
    assert len(marked) == 12
    reported = {line for line, _ in mypy_output["wrong_callbacks.py"]}
    assert reported == marked, mypy_output["wrong_callbacks.py"]
    messages = dict(mypy_output["wrong_callbacks.py"])
    kinds = {"on_receive": "ReceiveT", "on_join": "JoinT", "on_exit": "ExitT"}
    kinds |= {"on_connect": "HookT", "on_disconnect": "HookT"}
    for line in marked:
        decorator = re.match(r"\s*@\w+\.(on_\w+)", source[line - 1])
        if decorator:
            expected = f'Value of type variable "{kinds[decorator[1]]}"'
            assert messages[line].startswith(expected), (line, messages[line])
    topic_line = max(marked)
    assert 'Incompatible return value type (got "str", expected "int")' in messages[topic_line]
