"""sockethub-migrate's options: --check with --diff, -q / -v, and - for stdin."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from sockethub_codemods.cli import main

from .test_cli import NEW, OLD, PLAIN, command, write


def test_check_and_diff_together_print_the_diff_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"app.py": OLD, "plain.py": PLAIN})
    assert main(["--check", "--diff", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"--- {tmp_path / 'app.py'}")
    assert '+route = SocketHub(\n+    "/ws",\n+    ordering="connection",\n' in out
    assert "would migrate" in err
    assert (tmp_path / "app.py").read_text() == OLD  # nothing written
    # Once migrated: exit 0 and no diff.
    assert main([str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["--check", "--diff", str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""


def test_quiet_prints_only_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"app.py": OLD, "broken.py": "import sockethub\ndef (:\n"})
    assert main(["-q", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [f"{tmp_path / 'broken.py'}:2: error: cannot parse: invalid syntax"]
    assert (tmp_path / "app.py").read_text() == NEW  # still migrated


def test_verbose_names_unchanged_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"app.py": OLD, "plain.py": PLAIN})
    assert main(["-v", "--check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"would migrate {tmp_path / 'app.py'}" in err
    assert f"unchanged {tmp_path / 'plain.py'}" in err
    assert main(["--check", str(tmp_path)]) == 1
    assert "unchanged " + str(tmp_path) not in capsys.readouterr().err


def test_quiet_and_verbose_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "-v", "x.py"]) == 2
    assert "not allowed with" in capsys.readouterr().err


def run_stdin(args: list[str], data: str, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    cmd, env = command(tmp_path)
    return subprocess.run([*cmd, *args], input=data.encode(), env=env, capture_output=True)


def test_stdin_to_stdout(tmp_path: Path) -> None:
    proc = run_stdin(["-"], OLD, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == NEW
    assert b"1 file scanned, 1 changed" in proc.stderr
    # Unchanged input comes back unchanged.
    plain = run_stdin(["-q", "-"], PLAIN, tmp_path)
    assert (plain.returncode, plain.stdout, plain.stderr) == (0, PLAIN.encode(), b"")


def test_stdin_check_and_diff(tmp_path: Path) -> None:
    check = run_stdin(["--check", "-"], OLD, tmp_path)
    assert check.returncode == 1 and check.stdout == b""
    both = run_stdin(["--check", "--diff", "--stdin-filename", "app.py", "-"], OLD, tmp_path)
    assert both.returncode == 1
    assert both.stdout.decode().startswith("--- app.py\n+++ app.py\n")
    assert b"would migrate app.py" in both.stderr
    again = run_stdin(["--check", "-"], NEW, tmp_path)
    assert again.returncode == 0 and b"nothing to change" in again.stderr


def test_stdin_cannot_be_mixed_with_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(OLD.encode())))
    assert main(["-", str(tmp_path)]) == 2
    assert "cannot be mixed" in capsys.readouterr().err


def test_stdin_parse_error_is_one_line(tmp_path: Path) -> None:
    proc = run_stdin(["--stdin-filename", "bad.py", "-"], "import sockethub\ndef (:\n", tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert b"bad.py:2: error: cannot parse" in proc.stderr
