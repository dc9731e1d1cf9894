"""Codemod benchmark: ``sockethub-migrate --check`` vs libcst's own floor and no-op.

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.codemod             # both trees
    PYTHONPATH=src:. .venv/bin/python -m benchmarks.codemod --quick     # smaller, 2 rounds

Two trees, each timed over the same files with the same job count, every run a separate
process (interpreter start-up included), CPU seconds of the child (user + sys) measured
as well as wall time:

* **mixed**: a realistic tree, most modules not using sockethub at all, some low-level
  routes, some managed mode (the ones the codemod rewrites);
* **all-relevant**: ``--copies`` copies (default 100) of ``examples/legacy_chat/app.py``,
  every one needing migration, run with one job by default (``--relevant-jobs``).

Runs per tree:

* ``sockethub-migrate --check`` (the installed console script, else
  ``python -m sockethub_codemods.cli``);
* the **floor**: what any scope-aware libcst codemod pays per file, libcst's own
  ``parse_module`` + ``ScopeProvider`` + ``QualifiedNameProvider`` + printing the module;
* libcst's ``NOOPCommand`` through ``parallel_exec_transform_with_prettyprint(jobs=N)``
  (parse and print only);
* on the mixed tree, ``sockethub-migrate --check`` with the CLI's pre-filter disabled
  (every file parsed, as if every module mentioned ``sockethub``).

Runs are interleaved (the order rotates each round); each table shows medians: seconds,
CPU seconds per file, files per second and the ratios to the floor and to the no-op.
Target: ``sockethub-migrate --check`` <= 1.5x the floor on the all-relevant tree, and on
the mixed tree no worse a ratio to the no-op than before (<= 1.5x).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLAIN = '''\
"""{title} helpers."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

LIMIT_{n} = {n}


@dataclasses.dataclass
class Record{n}:
    """One row of the {title} table."""

    key: str
    value: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)

    def score(self, weight: float = 1.5) -> float:
        # weighted, capped at the module limit
        return min(self.value * weight, LIMIT_{n})


def load_{n}(rows: Iterable[dict[str, object]]) -> list[Record{n}]:
    out = []
    for row in rows:
        try:
            out.append(Record{n}(str(row["key"]), int(row.get("value", 0))))
        except (KeyError, ValueError) as exc:
            log.warning("skipping %r: %s", row, exc)
    return out


def summarise_{n}(records: list[Record{n}]) -> dict[str, float]:
    totals: dict[str, float] = {{}}
    for record in records:
        for tag in record.tags or ["untagged"]:
            totals[tag] = totals.get(tag, 0.0) + record.score()
    return {{k: round(v, 2) for k, v in sorted(totals.items()) if v}}
'''

LOW_LEVEL = '''\
"""Echo endpoint {n}."""

from sockethub import ISocket, WebSocketRoute

echo_{n} = WebSocketRoute("/echo/{n}/{{room}}")


@echo_{n}.endpoint
async def echo(sock: ISocket, room: str, shout: bool = False) -> None:
    await sock.accept()
    async for text in sock.websocket.iter_text():
        await sock.send_text(text.upper() if shout else text)
'''

MANAGED = '''\
"""Chat {n}, sockethub 0.1 managed mode."""

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

ws_route = WebSocketRoute("/ws/{n}/{{room_id:int}}")
room = ws_route.channel("room:{{name}}")


@ws_route.on_connect
async def on_connect(sock: ISocket, room_id: int, token: str = "") -> None:
    await sock.allow_if(token == "secret")
    sock.assigns["room_id"] = room_id


@room.on_receive("chat")
async def on_chat(payload, sock: ISocket) -> None:
    await sock.reply({{"echo": payload}})


@ws_route.handler
async def handle_ws(room_id: int, token: str = "") -> None:
    return None


app = Starlette(routes=[ws_route])
'''


def generate(root: Path, count: int, seed: int = 6) -> dict[str, int]:
    """Write ``count`` modules under ``root``: ~85% plain, ~8% low-level, ~7% managed."""
    rng = random.Random(seed)
    kinds = {"plain": 0, "low-level": 0, "managed": 0}
    for n in range(count):
        pkg = root / f"pkg{n % 40:02d}" / f"sub{n % 7}"
        pkg.mkdir(parents=True, exist_ok=True)
        roll = rng.random()
        if roll < 0.07:
            kind, text = "managed", MANAGED.format(n=n)
        elif roll < 0.15:
            kind, text = "low-level", LOW_LEVEL.format(n=n)
        else:
            kind = "plain"
            # Plain modules vary in length, like real ones.
            text = PLAIN.format(n=n, title=f"module {n}") * rng.choice((1, 1, 2, 3))
        kinds[kind] += 1
        (pkg / f"mod{n:04d}.py").write_text(text)
    return kinds


def migrate_command() -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    script = Path(sys.prefix) / "bin" / "sockethub-migrate"
    if script.exists():
        return [str(script)], env
    shim = Path(tempfile.mkdtemp(prefix="sockethub-shim-"))
    (shim / "sockethub_codemods").symlink_to(
        ROOT / "src" / "sockethub_codemods", target_is_directory=True
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH", "")]))
    return [sys.executable, "-m", "sockethub_codemods.cli"], env


NOOP = textwrap.dedent(
    """
    import sys
    from libcst.codemod import gather_files, parallel_exec_transform_with_prettyprint
    from libcst.codemod.commands.noop import NOOPCommand

    result = parallel_exec_transform_with_prettyprint(
        NOOPCommand, gather_files([sys.argv[1]]), jobs=int(sys.argv[2]), hide_progress=True
    )
    sys.exit(1 if result.failures else 0)
    """
)

NO_PREFILTER = textwrap.dedent(
    """
    import sys
    import sockethub_codemods.cli as cli

    cli._SOCKETHUB_BYTES = b""  # every file counts as a candidate: parse and analyse all
    sys.exit(cli.main(sys.argv[1:]))
    """
)


FLOOR = textwrap.dedent(
    """
    import os
    import sys
    from concurrent.futures import ProcessPoolExecutor

    import libcst
    from libcst.metadata import MetadataWrapper, QualifiedNameProvider, ScopeProvider


    def one(path):
        with open(path, encoding="utf-8") as fp:
            wrapper = MetadataWrapper(libcst.parse_module(fp.read()))
        wrapper.resolve(ScopeProvider)
        wrapper.resolve(QualifiedNameProvider)
        return len(wrapper.module.code)


    files = sorted(
        os.path.join(d, f) for d, _, fs in os.walk(sys.argv[1]) for f in fs if f.endswith(".py")
    )
    jobs = int(sys.argv[2])
    if jobs <= 1:
        for path in files:
            one(path)
    else:
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(one, files, chunksize=max(1, len(files) // (jobs * 4))))
    """
)


def timed(cmd: list[str], env: dict[str, str], ok: tuple[int, ...]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + sys, the child and its workers) of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        raise SystemExit(f"{cmd[:3]} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def generate_relevant(root: Path, copies: int) -> None:
    """``copies`` copies of the 0.1 chat example: every file needs migration."""
    source = (ROOT / "examples" / "legacy_chat" / "app.py").read_bytes()
    for n in range(copies):
        (root / f"app{n:03d}.py").write_bytes(source)


Variant = tuple[list[str], dict[str, str], tuple[int, ...]]


def measure(
    title: str, count: int, variants: dict[str, Variant], rounds: int, *, floor: str, noop: str
) -> None:
    names = list(variants)
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            argv, run_env, ok = variants[name]
            wall, cpu = timed(argv, run_env, ok)
            walls[name].append(wall)
            cpus[name].append(cpu)
    floor_cpu = statistics.median(cpus[floor])
    noop_wall = statistics.median(walls[noop])
    print(f"\n## {title}, median of {rounds} interleaved rounds\n")
    print("| run | seconds | CPU s per file | files/s | CPU ratio to floor | ratio to no-op |")
    print("|---|---|---|---|---|---|")
    for name in names:
        wall = statistics.median(walls[name])
        cpu = statistics.median(cpus[name])
        print(
            f"| {name} | {wall:.2f} | {cpu / count:.4f} | {count / wall:,.0f} | "
            f"{cpu / floor_cpu:.2f}x | {wall / noop_wall:.2f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=2000, help="mixed tree size")
    parser.add_argument("--copies", type=int, default=100, help="all-relevant tree size")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mixed tree")
    parser.add_argument("--relevant-jobs", type=int, default=1, help="all-relevant tree")
    parser.add_argument(
        "--tree", choices=("mixed", "all-relevant", "both"), default="both", help="what to run"
    )
    parser.add_argument("--quick", action="store_true", help="400 modules, 40 copies, 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.modules, args.copies, args.rounds = 400, 40, 2

    cmd, env = migrate_command()
    work = Path(tempfile.mkdtemp(prefix="sockethub-codemod-bench-"))
    try:
        if args.tree in ("mixed", "both"):
            tree = work / "mixed"
            kinds = generate(tree, args.modules)
            jobs = str(args.jobs)
            mix = ", ".join(f"{v} {k}" for k, v in kinds.items())
            measure(
                f"Mixed tree: {args.modules} modules ({mix}), --jobs {jobs}",
                args.modules,
                {
                    "sockethub-migrate --check": (
                        [*cmd, "--check", "-j", jobs, str(tree)],
                        env,
                        (1,),
                    ),
                    "floor (parse + scope + qualified names + print)": (
                        [sys.executable, "-c", FLOOR, str(tree), jobs],
                        env,
                        (0,),
                    ),
                    "libcst NOOPCommand": (
                        [sys.executable, "-c", NOOP, str(tree), jobs],
                        env,
                        (0,),
                    ),
                    "sockethub-migrate --check, no pre-filter": (
                        [sys.executable, "-c", NO_PREFILTER, "--check", "-j", jobs, str(tree)],
                        env,
                        (1,),
                    ),
                },
                args.rounds,
                floor="floor (parse + scope + qualified names + print)",
                noop="libcst NOOPCommand",
            )
        if args.tree in ("all-relevant", "both"):
            tree = work / "relevant"
            tree.mkdir()
            generate_relevant(tree, args.copies)
            jobs = str(args.relevant_jobs)
            measure(
                f"All-relevant tree: {args.copies} copies of examples/legacy_chat/app.py "
                f"(every one migrated), --jobs {jobs}",
                args.copies,
                {
                    "sockethub-migrate --check": (
                        [*cmd, "--check", "-j", jobs, str(tree)],
                        env,
                        (1,),
                    ),
                    "floor (parse + scope + qualified names + print)": (
                        [sys.executable, "-c", FLOOR, str(tree), jobs],
                        env,
                        (0,),
                    ),
                    "libcst NOOPCommand": (
                        [sys.executable, "-c", NOOP, str(tree), jobs],
                        env,
                        (0,),
                    ),
                },
                args.rounds,
                floor="floor (parse + scope + qualified names + print)",
                noop="libcst NOOPCommand",
            )
        print(
            "\nTargets: on the all-relevant tree, sockethub-migrate --check <= 1.5x the floor "
            "(CPU); on the mixed tree <= 1.5x the no-op. A file without the text `sockethub` "
            "imports nothing from it, so the CLI counts it without parsing it; the "
            "no-pre-filter row shows the cost without that shortcut."
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
