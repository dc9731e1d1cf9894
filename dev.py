#!/usr/bin/env python3
"""Developer entry point; needs nothing but Python >= 3.11.

    python3 dev.py demo [--port P]     the chat demo (in-memory bus) on http://127.0.0.1:8000
    python3 dev.py test [pytest args]  ruff, mypy --strict, and every test suite
    python3 dev.py bench NAME [args]   run benchmarks/NAME.py (see benchmarks/README.md)

Each creates (or reuses) ``.venv/`` next to this file and installs into it what that
command needs, as pyproject.toml declares it: ``demo`` the project and the ``demo``
dependency group (uvicorn); ``test`` the project with every extra and the ``test`` group;
``bench`` the same with the ``bench`` group.  Nothing is installed globally, and nothing
is reinstalled until pyproject.toml changes.  The dependency groups (PEP 735) are read
here and handed to pip as requirements, since the pip a fresh Python brings may predate
``pip install --group``.

Every step runs as a child process.  SIGINT and SIGTERM sent to this process are passed
on to the running step, which is then waited for; on a terminal the step is in the
foreground, so Ctrl+C reaches it once, directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import venv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

if sys.version_info < (3, 11):  # noqa: UP036 (dev.py may be run by an older python3)
    sys.exit("sockethub needs Python >= 3.11")

import tomllib  # after the version check: 3.11 brought it

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".sockethub-install"
FORWARDED = (signal.SIGINT, signal.SIGTERM)


# ------------------------------------------------------------------ what to install


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def group_requirements(
    groups: dict[str, list[Any]], name: str, seen: tuple[str, ...] = ()
) -> list[str]:
    """The requirement strings of dependency group ``name``, ``include-group`` resolved."""
    if name in seen:
        sys.exit(f"pyproject.toml: dependency group {name!r} includes itself")
    if name not in groups:
        sys.exit(f"pyproject.toml: no dependency group {name!r}")
    out: list[str] = []
    for item in groups[name]:
        if isinstance(item, str):
            out.append(item)
        else:
            out.extend(group_requirements(groups, item["include-group"], (*seen, name)))
    return out


def requirements(group: str, *, all_extras: bool) -> list[str]:
    """What pip installs for a command: the project (editable), then ``group``'s tools."""
    project = _pyproject()
    extras = sorted(project["project"].get("optional-dependencies", {})) if all_extras else []
    target = f".[{','.join(extras)}]" if extras else "."
    return ["-e", target, *group_requirements(project.get("dependency-groups", {}), group)]


def ensure_venv(group: str, *, all_extras: bool = False) -> None:
    """Create .venv and install what ``group`` needs, unless an earlier install of the same
    pyproject.toml already covers it (``test`` covers ``demo``)."""
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = requirements(group, all_extras=all_extras)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        stamp = json.loads(STAMP.read_text())
    have = set(stamp.get("installed", [])) if stamp.get("pyproject") == digest else set()
    if _covered(wanted, have):
        return
    _run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *wanted)
    installed = _covered_items(wanted) | have
    STAMP.write_text(json.dumps({"pyproject": digest, "installed": sorted(installed)}))


def _covered_items(wanted: Sequence[str]) -> set[str]:
    """The install as a set: ``-e .[a,b]`` counts as ``.``, ``.[a]`` and ``.[b]``."""
    items: set[str] = set()
    for item in wanted:
        if item == "-e":
            continue
        if item.startswith("."):
            items.add(".")
            inner = item[2:-1] if item.startswith(".[") else ""
            items.update(f".[{extra}]" for extra in inner.split(",") if extra)
        else:
            items.add(item)
    return items


def _covered(wanted: Sequence[str], have: set[str]) -> bool:
    return bool(have) and _covered_items(wanted) <= have


# ------------------------------------------------------------------ running a step


def _run(*cmd: str | Path, check: bool = True) -> int:
    """Run one step in the foreground, passing SIGINT/SIGTERM on; its exit code (a signal
    death is reported the shell's way, 128 + the signal number)."""
    argv = [str(c) for c in cmd]
    print("+", " ".join(argv), flush=True)
    code = _call(argv) if os.name == "posix" else subprocess.call(argv, cwd=ROOT)
    if code < 0:
        code = 128 - code
    if check and code != 0:
        sys.exit(code)
    return code


def _terminal() -> int | None:
    """stdin's file descriptor when it is our terminal and we are in its foreground."""
    try:
        fd = sys.stdin.fileno()
        return fd if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp() else None
    except (OSError, ValueError, AttributeError):
        return None


def _give_terminal(fd: int, pgid: int) -> None:
    # A background process group changing the foreground one gets SIGTTOU unless ignored.
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(fd, pgid)
    finally:
        signal.signal(signal.SIGTTOU, previous)


@contextlib.contextmanager
def _forwarding(pending: list[int], target: list[int]) -> Iterator[None]:
    """While inside, SIGINT/SIGTERM go to process group ``target[0]`` (or wait in
    ``pending`` until it exists)."""

    def forward(signum: int, _frame: object) -> None:
        if not target:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(target[0], signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _call(argv: list[str]) -> int:
    """Start ``argv`` as the leader of its own process group, in the terminal's foreground
    when we have one; forward signals to that group; wait for the child, also across a
    Ctrl+Z (the child is stopped, then this process, and ``fg`` resumes both)."""
    tty = _terminal()

    def child_setup() -> None:  # runs in the child, between fork and exec
        os.setpgid(0, 0)
        if tty is not None:
            _give_terminal(tty, os.getpgrp())

    pending: list[int] = []
    target: list[int] = []
    with _forwarding(pending, target):
        proc = subprocess.Popen(argv, cwd=ROOT, preexec_fn=child_setup)
        target.append(proc.pid)
        for signum in pending:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signum)
        try:
            while True:
                try:
                    _, status = os.waitpid(proc.pid, os.WUNTRACED)
                except ChildProcessError:
                    return proc.wait()
                if not os.WIFSTOPPED(status):
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    return proc.returncode
                # Ctrl+Z stopped the child's group: stop here too, so the shell regains
                # the terminal; when continued, hand it back and resume the child.
                if tty is not None:
                    _give_terminal(tty, os.getpgrp())
                os.kill(os.getpid(), signal.SIGSTOP)
                if tty is not None:
                    _give_terminal(tty, proc.pid)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGCONT)
        finally:
            if tty is not None:
                _give_terminal(tty, os.getpgrp())


# ------------------------------------------------------------------ the commands


def demo(argv: list[str]) -> int:
    ensure_venv("demo")
    return _run(PY, "-m", "examples.chat", *argv, check=False)


def test(argv: list[str]) -> int:
    ensure_venv("test", all_extras=True)
    _run(BIN / "ruff", "check", ".")
    _run(BIN / "ruff", "format", "--check", "src", "codemods")
    _run(PY, "-m", "mypy")
    # One pytest run over the suites, so the closing line counts them all (legacy_tests/
    # goes with the 0.1 facade in 0.3).
    suites = [s for s in ("tests", "legacy_tests", "codemods/tests") if (ROOT / s).is_dir()]
    return _run(PY, "-m", "pytest", *suites, *argv, check=False)


def bench(argv: list[str]) -> int:
    if not argv or not (ROOT / "benchmarks" / f"{argv[0]}.py").is_file():
        names = sorted(p.stem for p in (ROOT / "benchmarks").glob("[a-z]*.py"))
        print(f"usage: python3 dev.py bench NAME [args]; NAME is one of {', '.join(names)}")
        return 2
    ensure_venv("bench", all_extras=True)
    return _run(PY, "-m", f"benchmarks.{argv[0]}", *argv[1:], check=False)


def main() -> int:
    commands = {"demo": demo, "test": test, "bench": bench}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
