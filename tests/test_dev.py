"""``dev.py`` as the one entry point: what it installs per command, and its signals.

A signal sent to ``dev.py`` (a supervisor's SIGTERM, ``kill -INT``) is passed on to the
step it runs, exactly once, and ``dev.py`` waits for that step to end; Ctrl+C on a
terminal reaches the step once, directly, since the step is in the foreground.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import dev  # the repository root is on sys.path (pytest's pythonpath)
from tests.support import ROOT, free_port, wait_for_port

# A step that counts the SIGINTs and SIGTERMs it gets: it says "ready!", and one second
# after the first signal prints the counts, whether it leads its own process group and
# whether that group is its terminal's foreground, then exits with 3.  (Two deliveries
# of one signal close together may merge into one, so the count alone cannot prove that
# a terminal's Ctrl+C is not also forwarded: the process group shows it.)
COUNTER = """
import collections, os, signal, sys, time
got = collections.Counter()
def note(signum, frame):
    got[signal.Signals(signum).name] += 1
signal.signal(signal.SIGINT, note)
signal.signal(signal.SIGTERM, note)
print("ready" + "!", flush=True)  # not the text of the command dev.py echoes
while not got:
    time.sleep(0.01)
time.sleep(1)
own = os.getpgrp() == os.getpid()
fg = os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
print("got", dict(got), "own group" if own else "shared group", "fg" if fg else "bg", "end")
sys.exit(3)
"""
# dev.py running that step the way it runs every step of its commands.
RUN_COUNTER = (
    f"import sys; sys.path.insert(0, {str(ROOT)!r}); import dev; "
    f"sys.exit(dev._run(sys.executable, '-c', {COUNTER!r}, check=False))"
)


def test_the_demo_installs_only_the_project_uvicorn_and_websockets() -> None:
    assert dev.requirements("demo", all_extras=False) == [
        "-e",
        ".",
        "uvicorn>=0.30",
        "websockets>=13",
    ]


def test_the_test_command_installs_every_extra_and_the_test_group() -> None:
    wanted = dev.requirements("test", all_extras=True)
    assert wanted[:2] == ["-e", ".[client,codemod,fastapi,orjson,redis]"]
    names = {req.split(">")[0].split("=")[0] for req in wanted[2:]}
    assert {
        "uvicorn",
        "websockets",
        "pytest",
        "playwright",
        "mypy",
        "ruff",
        "psutil",
        "build",
        "twine",
    } <= names


def test_an_install_for_test_covers_the_demo() -> None:
    test_install = dev._covered_items(dev.requirements("test", all_extras=True))
    assert dev._covered(dev.requirements("demo", all_extras=False), test_install)
    demo_install = dev._covered_items(dev.requirements("demo", all_extras=False))
    assert not dev._covered(dev.requirements("test", all_extras=True), demo_install)


def test_include_group_is_resolved_and_a_cycle_refused() -> None:
    groups = {"a": ["x"], "b": [{"include-group": "a"}, "y"], "c": [{"include-group": "c"}]}
    assert dev.group_requirements(groups, "b") == ["x", "y"]
    with pytest.raises(SystemExit, match="includes itself"):
        dev.group_requirements(groups, "c")


@contextlib.contextmanager
def _reaped(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> Iterator[None]:
    """On the way out, kill whatever ``proc`` and its descendants left running."""
    try:
        yield
    finally:
        with contextlib.suppress(psutil.Error):
            family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(True)]
            for p in family:
                with contextlib.suppress(psutil.Error):
                    p.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _read_until(stream: int, needle: bytes, timeout: float = 30) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        assert time.monotonic() < deadline, f"no {needle!r} in {seen!r}"
        ready, _, _ = select.select([stream], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(stream, 4096)
            except OSError:  # a pty's reader gets EIO once the last writer is gone
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.parametrize("target", ["dev.py", "its process group"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_dev_py_reaches_the_step_once(sig: signal.Signals, target: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_COUNTER],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    with _reaped(proc):
        assert proc.stdout is not None
        _read_until(proc.stdout.fileno(), b"ready!")
        if target == "dev.py":
            os.kill(proc.pid, sig)
        else:
            os.killpg(proc.pid, sig)  # the whole group dev.py was started in
        out = _read_until(proc.stdout.fileno(), b" end")
        assert proc.wait(10) == 3  # dev.py waited for the step and returns its code
        assert f"got {{'{sig.name}': 1}} own group bg end".encode() in out


def _on_a_terminal(argv: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``argv`` as a session leader with a new pty as its controlling terminal."""
    leader, follower = pty.openpty()

    def make_it_the_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        argv,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,
        preexec_fn=make_it_the_terminal,
    )
    os.close(follower)
    return proc, leader


def test_ctrl_c_on_a_terminal_reaches_the_step_once() -> None:
    proc, terminal = _on_a_terminal([sys.executable, "-c", RUN_COUNTER])
    try:
        with _reaped(proc):
            _read_until(terminal, b"ready!")
            os.write(terminal, b"\x03")  # Ctrl+C: the terminal signals its foreground group
            out = _read_until(terminal, b" end")
            assert proc.wait(10) == 3
            assert b"got {'SIGINT': 1} own group fg end" in out
    finally:
        os.close(terminal)


def _demo_server(proc: psutil.Process) -> psutil.Process:
    [server] = [p for p in proc.children(recursive=True) if "examples.chat" in p.cmdline()]
    return server


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_demo_stops_with_dev_py_and_leaves_nothing(sig: signal.Signals) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "dev.py"), "demo", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    with _reaped(proc):
        assert proc.stdout is not None
        _read_until(proc.stdout.fileno(), f"http://127.0.0.1:{port}/".encode())
        wait_for_port(port)
        server = _demo_server(psutil.Process(proc.pid))
        os.kill(proc.pid, sig)  # dev.py only, as a supervisor would
        code = proc.wait(30)
        assert code in (0, 128 + sig), code  # uvicorn re-raises SIGTERM once it has shut down
        assert not server.is_running(), "the demo server outlived dev.py"


def test_dev_py_needs_only_the_standard_library() -> None:
    # Run by the bare python3 of a fresh machine: nothing but the standard library.
    source = (ROOT / "dev.py").read_text()
    tree = __import__("ast").parse(source)
    imported = set()
    for node in __import__("ast").walk(tree):
        if node.__class__.__name__ == "Import":
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif node.__class__.__name__ == "ImportFrom" and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
    assert Path(ROOT / "dev.py").stat().st_mode & 0o111  # executable
