"""The sockethub-migrate CLI: in-process through ``main([...])`` and as a real command."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sockethub_codemods import __version__
from sockethub_codemods.cli import main

from .conftest import PACKAGE_DIR

FACADE_ARGS = (
    b'    ordering="connection",\r\n    per_join_sockets=False,\r\n'
    b'    error_policy="raise",\r\n    protocol=EnvelopeProtocol(),\r\n'
)

OLD = """\
from sockethub import WebSocketRoute

route = WebSocketRoute("/ws")
room = route.channel("room:{id}")


@route.handler
async def handler() -> None:
    return None
"""

NEW = """\
from sockethub import EnvelopeProtocol, SocketHub

route = SocketHub(
    "/ws",
    ordering="connection",
    per_join_sockets=False,
    error_policy="raise",
    protocol=EnvelopeProtocol(),
)
room = route.channel("room:{id}")
"""

FLAGGED = """\
from sockethub import WebSocketRoute

s = WebSocketRoute("/s")
s.sub("/child")
s.channel("x:{y}")
"""

PLAIN = "import os\n\nprint(os.getcwd())\n"


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode())


def git_init(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def test_migrates_in_place_and_summarises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"app.py": OLD, "pkg/plain.py": PLAIN, "pkg/flag.py": FLAGGED})
    assert main([str(tmp_path), "--jobs", "1"]) == 0
    assert (tmp_path / "app.py").read_text() == NEW
    assert (tmp_path / "pkg/plain.py").read_text() == PLAIN
    err = capsys.readouterr().err
    assert f"migrated {tmp_path / 'app.py'}" in err
    assert f"{tmp_path / 'pkg/flag.py'}:4: TODO(sockethub-migrate): `s.sub(...)`" in err
    assert "3 files scanned, 2 changed, 1 flagged (1 TODO), 0 failed" in err  # TODO added
    assert "nothing to change" not in err

    # Second run: nothing changes, the flagged place is still reported.
    assert main([str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "3 files scanned, 0 changed, 1 flagged (1 TODO), 0 failed" in err
    assert "nothing to change" in err
    assert (tmp_path / "app.py").read_text() == NEW


def test_check_writes_nothing_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"app.py": OLD, "plain.py": PLAIN})
    assert main(["--check", str(tmp_path)]) == 1
    assert (tmp_path / "app.py").read_text() == OLD
    err = capsys.readouterr().err
    assert f"would migrate {tmp_path / 'app.py'}" in err
    assert "2 files scanned, 1 would change" in err

    (tmp_path / "app.py").write_text(NEW)
    assert main(["--check", str(tmp_path)]) == 0
    assert "nothing to change" in capsys.readouterr().err


def test_diff_prints_unified_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"app.py": OLD})
    assert main(["--diff", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "app.py").read_text() == OLD
    assert out.startswith(f"--- {tmp_path / 'app.py'}\n+++ {tmp_path / 'app.py'}\n")
    assert (
        '-route = WebSocketRoute("/ws")\n'
        "+route = SocketHub(\n"
        '+    "/ws",\n'
        '+    ordering="connection",\n'
        "+    per_join_sockets=False,\n"
        '+    error_policy="raise",\n'
        "+    protocol=EnvelopeProtocol(),\n"
        "+)\n"
    ) in out
    assert "-@route.handler\n" in out


def test_exclude_globs_and_default_excludes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        {
            "app.py": OLD,
            "legacy/old.py": OLD,
            "gen_routes.py": OLD,
            ".venv/lib/site.py": OLD,
            ".tox/py/x.py": OLD,
            "build/lib/x.py": OLD,
            "node_modules/x/y.py": OLD,
        },
    )
    code = main([str(tmp_path), "--exclude", "legacy", "--exclude", "gen_*.py"])
    assert code == 0
    assert (tmp_path / "app.py").read_text() == NEW
    for kept in ("legacy/old.py", "gen_routes.py", ".venv/lib/site.py", ".tox/py/x.py"):
        assert (tmp_path / kept).read_text() == OLD, kept
    assert (tmp_path / "build/lib/x.py").read_text() == OLD
    assert (tmp_path / "node_modules/x/y.py").read_text() == OLD
    assert "1 file scanned, 1 changed" in capsys.readouterr().err


@pytest.mark.parametrize("in_git", [True, False], ids=["git-check-ignore", "plain-gitignore"])
def test_gitignored_files_are_skipped(tmp_path: Path, in_git: bool) -> None:
    if in_git:
        if shutil.which("git") is None:
            pytest.skip("git is not installed")
        git_init(tmp_path)
    write(
        tmp_path,
        {
            ".gitignore": "# generated\ngenerated/\n/secret.py\n*_tmp.py\n",
            "app.py": OLD,
            "generated/app.py": OLD,
            "secret.py": OLD,
            "sub/secret.py": OLD,
            "x_tmp.py": OLD,
        },
    )
    assert main([str(tmp_path)]) == 0
    assert (tmp_path / "app.py").read_text() == NEW
    assert (tmp_path / "sub/secret.py").read_text() == NEW  # "/secret.py" is anchored
    for ignored in ("generated/app.py", "secret.py", "x_tmp.py"):
        assert (tmp_path / ignored).read_text() == OLD, ignored


def test_parse_and_decode_errors_are_one_line_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        {
            "a_ok.py": OLD,
            "broken.py": "from sockethub import WebSocketRoute\n\ndef f(:\n    pass\n",
            "latin.py": b"from sockethub import WebSocketRoute\nx = '\xe9'\n",
            "z_ok.py": OLD,
        },
    )
    assert main([str(tmp_path), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    broken = [line for line in lines if line.startswith(f"{tmp_path / 'broken.py'}:")]
    assert len(broken) == 1
    assert broken[0].startswith(f"{tmp_path / 'broken.py'}:3: error: cannot parse: ")
    latin = [line for line in lines if line.startswith(f"{tmp_path / 'latin.py'}:")]
    assert len(latin) == 1 and latin[0].startswith(
        f"{tmp_path / 'latin.py'}:2: error: cannot decode"
    )
    assert (tmp_path / "a_ok.py").read_text() == NEW
    assert (tmp_path / "z_ok.py").read_text() == NEW
    assert "4 files scanned, 2 changed, 0 flagged (0 TODOs), 2 failed" in err


def test_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'}: error: no such file or directory" in capsys.readouterr().err


def test_encoding_and_crlf_preserved(tmp_path: Path) -> None:
    latin = (
        b"# -*- coding: latin-1 -*-\r\n"
        b"from sockethub import WebSocketRoute\r\n"
        b"\r\n"
        b'route = WebSocketRoute("/caf\xe9")  # caf\xe9\r\n'
        b'route.channel("a:{b}")\r\n'
    )
    bom = b"\xef\xbb\xbf" + OLD.replace("\n", "\r\n").encode()
    write(tmp_path, {"latin.py": latin, "bom.py": bom})
    assert main([str(tmp_path)]) == 0
    assert (tmp_path / "latin.py").read_bytes() == latin.replace(
        b"import WebSocketRoute", b"import EnvelopeProtocol, SocketHub"
    ).replace(
        b'= WebSocketRoute("/caf\xe9")', b'= SocketHub(\r\n    "/caf\xe9",\r\n' + FACADE_ARGS + b")"
    )
    assert (tmp_path / "bom.py").read_bytes() == b"\xef\xbb\xbf" + NEW.replace(
        "\n", "\r\n"
    ).encode()


def test_parallel_jobs_give_the_same_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files: dict[str, str | bytes] = {f"m{i:02d}.py": OLD if i % 3 == 0 else PLAIN for i in range(9)}
    write(tmp_path, files)
    assert main(["--check", "--jobs", "2", str(tmp_path)]) == 1
    assert "9 files scanned, 3 would change" in capsys.readouterr().err
    assert main(["--jobs", "2", str(tmp_path)]) == 0
    assert all(
        (tmp_path / name).read_text() == (NEW if content == OLD else PLAIN)
        for name, content in files.items()
    )


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sockethub-migrate {__version__}"
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and "--check" in out and "--exclude GLOB" in out
    assert main([]) == 2  # PATH is required


# ---- as a real command ----
def command(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """The installed console script if there is one, else ``python -m``."""
    env = dict(os.environ)
    script = Path(sys.prefix) / "bin" / "sockethub-migrate"
    if script.exists():
        return [str(script)], env
    # Not installed yet: put src/sockethub_codemods on the path, as pyproject maps it.
    shim = tmp_path / "_shim"
    shim.mkdir(exist_ok=True)
    link = shim / "sockethub_codemods"
    if not link.exists():
        link.symlink_to(PACKAGE_DIR, target_is_directory=True)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH", "")]))
    return [sys.executable, "-m", "sockethub_codemods.cli"], env


def test_console_script_check_and_migrate_from_another_directory(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project, {"app.py": OLD, "flag.py": FLAGGED})
    cmd, env = command(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check = subprocess.run(
        [*cmd, "--check", str(project)], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert check.returncode == 1, check.stderr
    assert "\r" not in check.stderr  # no progress display when stderr is not a terminal
    assert f"{project / 'flag.py'}:4: TODO(sockethub-migrate)" in check.stderr
    run = subprocess.run(
        [*cmd, str(project)], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert (project / "app.py").read_text() == NEW
    again = subprocess.run(
        [*cmd, "--check", str(project)], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert again.returncode == 0 and "nothing to change" in again.stderr


def run_on_a_terminal(cmd: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """Run ``cmd`` with stderr on a pseudo-terminal; its exit code and what it drew."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=follower, check=False)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    return proc.returncode, b"".join(chunks).replace(b"\x1b[2K", b"")


def test_progress_is_shown_on_a_terminal_for_a_long_run(tmp_path: Path) -> None:
    # 40 files to migrate, one job: several seconds, well over the one-second threshold.
    write(tmp_path / "project", {f"app{i:02d}.py": OLD for i in range(40)})
    cmd, env = command(tmp_path)
    code, drawn = run_on_a_terminal([*cmd, "--check", "-j", "1", str(tmp_path / "project")], env)
    assert code == 1
    assert b"\rsockethub-migrate: 40/40 files" in drawn


def test_no_progress_for_a_short_run(tmp_path: Path) -> None:
    write(tmp_path / "project", {"plain.py": PLAIN})  # never parsed: milliseconds
    cmd, env = command(tmp_path)
    code, drawn = run_on_a_terminal([*cmd, "--check", str(tmp_path / "project")], env)
    assert code == 0
    assert b"1 file scanned" in drawn  # the summary...
    assert b"\rsockethub-migrate:" not in drawn  # ...but no progress line


def test_without_libcst_says_how_to_install(tmp_path: Path) -> None:
    cmd, env = command(tmp_path)
    if cmd[0] != sys.executable:
        cmd = [sys.executable, "-m", "sockethub_codemods.cli"]
    # A real interpreter in which `import libcst` fails, as on an install without the extra.
    code = (
        "import sys; sys.modules['libcst'] = None; "
        "from sockethub_codemods.cli import main; raise SystemExit(main(sys.argv[1:]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert 'pip install "sockethub[codemod]"' in proc.stderr


def test_only_todo_comments_are_reported_not_strings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        {
            "notes.py": (
                "import sockethub\n"
                'MARKER = "# TODO(sockethub-migrate): in a string, not a comment"\n'
                "# TODO(sockethub-migrate): left by an earlier run\n"
            )
        },
    )
    assert main([str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert f"{tmp_path / 'notes.py'}:3: TODO(sockethub-migrate): left by an earlier run" in err
    assert ":2: " not in err
    assert "1 file scanned, 0 changed, 1 flagged (1 TODO), 0 failed" in err
