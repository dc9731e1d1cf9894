"""Codemod benchmark: ``sockethub-migrate --check`` vs libcst's own no-op codemod (issue 6).

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.codemod             # 2,000 modules, 3 rounds
    PYTHONPATH=src:. .venv/bin/python -m benchmarks.codemod --quick     # 400 modules, 2 rounds

Generates a tree of modules in a temporary directory, a realistic mix: most modules do
not use sockethub at all, some use low-level routes, some use managed mode (those are
the ones the codemod rewrites). Then, over the same tree and with the same job count,
it times as separate processes (interpreter start-up included in both):

* ``sockethub-migrate --check --jobs N TREE`` (the installed console script, else
  ``python -m sockethub_codemods.cli``);
* libcst's ``NOOPCommand`` through ``parallel_exec_transform_with_prettyprint(jobs=N)``
  over ``gather_files([TREE])``: the price of parsing and printing every file;
* for reference, ``sockethub-migrate --check`` with the CLI's pre-filter disabled (every
  file is read, decoded and parsed, as if every module mentioned ``sockethub``).

Runs are interleaved (the order rotates each round); the table shows the median
seconds, files per second, and the ratio to the no-op (target: <= 1.5x).
"""

from __future__ import annotations

import argparse
import os
import random
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


def timed(cmd: list[str], env: dict[str, str], ok: tuple[int, ...]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"{cmd[:3]} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="400 modules, 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.modules, args.rounds = 400, 2

    tree = Path(tempfile.mkdtemp(prefix="sockethub-codemod-bench-"))
    try:
        kinds = generate(tree, args.modules)
        cmd, env = migrate_command()
        shim_env = env
        variants = {
            "sockethub-migrate --check": (
                [*cmd, "--check", "--jobs", str(args.jobs), str(tree)],
                env,
                (1,),
            ),
            "libcst NOOPCommand": (
                [sys.executable, "-c", NOOP, str(tree), str(args.jobs)],
                env,
                (0,),
            ),
            "sockethub-migrate --check, no pre-filter": (
                [
                    sys.executable,
                    "-c",
                    NO_PREFILTER,
                    "--check",
                    "--jobs",
                    str(args.jobs),
                    str(tree),
                ],
                shim_env if cmd[0] == sys.executable else env,
                (1,),
            ),
        }
        names = list(variants)
        times: dict[str, list[float]] = {name: [] for name in names}
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                argv, run_env, ok = variants[name]
                times[name].append(timed(argv, run_env, ok))
        # The tree is only read (--check; the no-op changes nothing): same input each run.
        noop = statistics.median(times["libcst NOOPCommand"])
        mix = ", ".join(f"{v} {k}" for k, v in kinds.items())
        print(
            f"\n## sockethub-migrate vs libcst no-op: {args.modules} modules ({mix}), "
            f"--jobs {args.jobs}, median of {args.rounds} interleaved rounds\n"
        )
        print("| run | seconds | files/s | ratio to no-op |")
        print("|---|---|---|---|")
        for name in names:
            seconds = statistics.median(times[name])
            print(
                f"| {name} | {seconds:.2f} | {args.modules / seconds:,.0f} | "
                f"{seconds / noop:.2f}x |"
            )
        print(
            "\nTarget: sockethub-migrate --check <= 1.5x the no-op. A file without the text "
            "`sockethub` imports nothing from it, so the CLI counts it without parsing it; "
            "the last row shows the cost without that shortcut."
        )
    finally:
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    main()
