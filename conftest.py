"""The leftover-process guard for every suite here (tests/, legacy_tests/, codemods/tests/).

Every process a test starts (uvicorn, redis-server, node, chromium, a ``dev.py`` command)
must be stopped by that test or its fixture.  At the end of the session this plugin lists
the descendants of the pytest process that are still alive, reports each (pid, command
line, the test that was running when it started), kills them, and makes the session fail.

On Linux pytest is made a *child subreaper* first, so that a process whose parent died
(a server started by a ``dev.py`` child that was killed, a double-forked daemon) is
re-parented to pytest instead of init and is still found.  Processes that started and
ended during the session and were never waited for (zombies) are reaped, not reported.

A process still shutting down when the session ends gets ``GRACE`` seconds to go.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from dataclasses import dataclass, field

import psutil
import pytest

GRACE = 3.0  # seconds a process stopped in the last teardown may take to exit
_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def _started(pid: int) -> tuple[float, float]:
    """When process ``pid`` started, as an interval, on the clock :func:`_now` reads.

    On Linux that is the boot-time clock the kernel stamps processes with, in clock ticks
    (psutil's ``create_time`` adds a boot time rounded to the second, too coarse to tell
    which test started a process); elsewhere the wall clock."""
    if sys.platform.startswith("linux"):
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        tick = 1 / os.sysconf("SC_CLK_TCK")
        start = int(fields[19]) * tick  # field 22, starttime, rounded down to a tick
        return start, start + tick
    created = float(psutil.Process(pid).create_time())
    return created, created


def _now() -> float:
    if sys.platform.startswith("linux"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.time()


@dataclass
class _Guard:
    """Which test ran when: (start time, node id), to name the test a leftover came from."""

    me: psutil.Process = field(default_factory=psutil.Process)
    timeline: list[tuple[float, str]] = field(default_factory=list)

    def started_during(self, proc: psutil.Process) -> str:
        """The test that was running when ``proc`` started ("A or B" when the clock
        cannot tell two tests apart)."""
        try:
            earliest, latest = _started(proc.pid)
        except (OSError, psutil.Error, ValueError, IndexError):
            return "?"
        candidates = ["collection or session set-up"]
        for started, nodeid in self.timeline:
            if started <= earliest:
                candidates = [nodeid]
            elif started <= latest:
                candidates.append(nodeid)
        if len(candidates) > 2:
            return f"one of the tests from {candidates[0]} to {candidates[-1]}"
        return " or ".join(candidates)


_GUARD = _Guard()


def _become_subreaper() -> None:
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def pytest_configure(config: pytest.Config) -> None:
    _become_subreaper()


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _GUARD.timeline.append((_now(), nodeid))


def _alive_descendants() -> list[psutil.Process]:
    alive = []
    for proc in _GUARD.me.children(recursive=True):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                if proc.ppid() == _GUARD.me.pid:
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(proc.pid, os.WNOHANG)
                continue
        except psutil.Error:  # gone meanwhile
            continue
        alive.append(proc)
    return alive


def _describe(proc: psutil.Process) -> str:
    try:
        cmdline = " ".join(proc.cmdline()) or proc.name()
    except psutil.Error:
        cmdline = "?"
    return f"pid {proc.pid}: {cmdline}  (started during {_GUARD.started_during(proc)})"


def _kill(procs: list[psutil.Process]) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, still = psutil.wait_procs(procs, timeout=GRACE)
    for proc in still:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(still, timeout=GRACE)
    _alive_descendants()  # reap what was ours


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leftovers = _alive_descendants()
    if leftovers:
        _, leftovers = psutil.wait_procs(leftovers, timeout=GRACE)
        leftovers = [p for p in leftovers if p in _alive_descendants()]
    if not leftovers:
        return
    lines = [_describe(proc) for proc in leftovers]
    _kill(leftovers)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = "processes started by the tests were still running at the end (now killed):"
    if reporter is not None:
        reporter.write_line("")
        reporter.write_sep("=", "leftover processes", red=True, bold=True)
        reporter.write_line(message)
        for line in lines:
            reporter.write_line(f"  {line}")
    else:
        print(message, *lines, sep="\n  ", file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
