#!/usr/bin/env python3
"""Developer entry point; needs nothing but Python >= 3.11.

    python3 dev.py demo    start the chat demo (in-memory bus) on http://127.0.0.1:8000
    python3 dev.py test    ruff, mypy --strict, and every test suite

Both create (or reuse) ``.venv/`` next to this file and install the project into it
with its ``dev`` extra; nothing is installed globally.  The install is redone only when
``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".sockethub-install"


def _run(*cmd: str | Path, check: bool = True) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if check and code != 0:
        sys.exit(code)
    return code


def ensure_venv(extra: str = "dev") -> None:
    """Create .venv and install the project with ``extra`` unless already current."""
    if sys.version_info < (3, 11):  # noqa: UP036 (dev.py may be run by an older python3)
        sys.exit("sockethub needs Python >= 3.11")
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extra.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    _run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(PY, "-m", "pip", "install", "--quiet", "-e", f".[{extra}]")
    STAMP.write_text(digest)


def demo(argv: list[str]) -> int:
    ensure_venv()
    if os.name == "posix":
        # Become the demo: a signal sent to this process (Ctrl+C, a supervisor's SIGTERM)
        # reaches the server itself, and no child is left behind when this one is stopped.
        print("+", PY, "-m", "examples.chat", *argv, flush=True)
        os.chdir(ROOT)
        os.execv(PY, [str(PY), "-m", "examples.chat", *argv])
    return _run(PY, "-m", "examples.chat", *argv, check=False)


def test(argv: list[str]) -> int:
    ensure_venv()
    _run(BIN / "ruff", "check", ".")
    _run(BIN / "ruff", "format", "--check", "src", "codemods")
    _run(PY, "-m", "mypy")
    # One pytest run over the suites, so the closing line counts them all (legacy_tests/
    # goes with the 0.1 facade in 0.3).
    suites = [s for s in ("tests", "legacy_tests", "codemods/tests") if (ROOT / s).is_dir()]
    return _run(PY, "-m", "pytest", *suites, *argv, check=False)


def main() -> int:
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
