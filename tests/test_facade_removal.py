"""A rehearsal of the 0.3 commit that deletes the deprecated 0.1 facade.

The facade is a leaf: ``src/sockethub/legacy.py`` extends the rest and nothing imports it
but the re-export in ``src/sockethub/websocket.py``.  0.3 removes it in one commit, and
this test makes that commit in a copy of the checkout (the files ``git ls-files`` knows,
as they are in the working tree):

1. delete ``src/sockethub/legacy.py`` and ``legacy_tests/``;
2. in ``src/sockethub/websocket.py``, delete the facade's re-export, the file's last lines
   from ``# isort: split`` on, and import ``WebSocketRoute`` from ``.lowlevel`` with the
   other low-level names instead (:func:`remove_facade`);

then, in a fresh virtual environment whose ``sockethub`` is the copy's (third-party
packages shared with this one), runs ruff, ``mypy`` and every remaining suite
(``tests/`` without this file, ``codemods/tests``), and requires all of them green.
"""

from __future__ import annotations

import ast
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support import ROOT, require

DELETED = ("src/sockethub/legacy.py", "legacy_tests")
REEXPORT_MODULE = "src/sockethub/websocket.py"
FACADE_BLOCK_START = "# isort: split\n"
FACADE_BLOCK_END = (
    "from .legacy import WebSocketRoute as WebSocketRoute\n"
    "from .legacy import WSManagedEndpoint as WSManagedEndpoint\n"
)
LOWLEVEL_ANCHOR = "from .lowlevel import WebSocketEndpoint as WebSocketEndpoint\n"
LOWLEVEL_ROUTE = "from .lowlevel import WebSocketRoute as WebSocketRoute\n"
STEP_TIMEOUT = 1500


def checkout_files(root: Path) -> list[str]:
    """The repository's files as a fresh clone plus the working tree's changes would hold
    them: tracked and untracked-but-not-ignored files that exist on disk."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(name for name in listed.split("\0") if name and (root / name).is_file())


def copy_checkout(root: Path, target: Path) -> None:
    for name in checkout_files(root):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target / name)
    # phoenix.js is installed (gitignored) by the first test that needs it; share it.
    node_modules = root / "tests" / "phoenix" / "node_modules"
    if node_modules.is_dir():
        (target / "tests" / "phoenix" / "node_modules").symlink_to(node_modules)


def remove_facade(repo: Path) -> None:
    """The 0.3 commit: delete the facade and its suite, re-export the low-level route."""
    for name in DELETED:
        path = repo / name
        assert path.exists(), f"{name} is gone already: update this rehearsal"
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    module = repo / REEXPORT_MODULE
    text = module.read_text(encoding="utf-8")
    kept, start, block = text.partition(FACADE_BLOCK_START)
    assert start and block.endswith(FACADE_BLOCK_END) and text.count(LOWLEVEL_ANCHOR) == 1, (
        f"{REEXPORT_MODULE} no longer ends with the facade's re-export as this rehearsal "
        "expects: update remove_facade() with it"
    )
    kept = kept.rstrip("\n").replace(LOWLEVEL_ANCHOR, LOWLEVEL_ANCHOR + LOWLEVEL_ROUTE) + "\n"
    module.write_text(kept, encoding="utf-8")


def facade_mentions(repo: Path) -> list[str]:
    """Imports of the facade left in shipped code after the removal.

    Only import statements count: the codemod names 0.1's qualified names
    (``"sockethub.legacy.WSManagedEndpoint"``) as strings to recognise old code, which it
    must still do once the facade is gone.
    """
    found = []
    for path in sorted((repo / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(f"{node.module or ''}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(name.split(".")[-1] == "legacy" or ".legacy." in name for name in names):
                found.append(f"{path.relative_to(repo)}:{node.lineno}: {ast.unparse(node)}")
    return found


def make_venv(repo: Path, venv: Path) -> Path:
    """A virtual environment that imports the copy's packages and this environment's
    third-party ones, with the copy's console scripts; returns its ``python``.

    It is what ``pip install -e`` would make, without a network or a build: a ``.pth``
    file with the copy's package directories (``[tool.setuptools] package-dir``) ahead of
    this environment's ``site-packages`` (whose own editable finders a ``.pth`` path line
    does not activate).
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    packages_dir = venv / "packages"
    packages_dir.mkdir()
    paths = [str(repo / "src"), str(packages_dir)]
    package_dirs = project.get("tool", {}).get("setuptools", {}).get("package-dir", {})
    for package, directory in package_dirs.items():
        if package and (repo / directory).resolve() != (repo / "src" / package).resolve():
            (packages_dir / package).symlink_to(repo / directory)
    paths += [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (Path(purelib) / "zz_rehearsal.pth").write_text("\n".join(paths) + "\n", encoding="utf-8")
    for script, target in project.get("project", {}).get("scripts", {}).items():
        module, _, function = target.partition(":")
        exe = venv / "bin" / script
        exe.write_text(
            f"#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n",
            encoding="utf-8",
        )
        exe.chmod(0o755)
    return python


def run(python: Path, repo: Path, *args: str) -> tuple[int, str]:
    """Run ``python *args`` in ``repo`` with the copy's environment, in a process group of
    its own; returns the exit code and the output.  Whatever is still running in that
    group once the command returns (or times out, or this test is interrupted) is killed,
    and a leftover process is reported as a failure (exit code -1)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(python.parent.parent)
    proc = subprocess.Popen(
        [str(python), *args],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=STEP_TIMEOUT)
    finally:
        leftover = group_alive(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if leftover:
        return -1, f"{output}\nprocesses of this command were still running; killed"
    return proc.returncode, output


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def package_imports(package: Path) -> dict[str, set[str]]:
    """Module (``"hub"``, ``"bus.memory"``, ``"__init__"``) -> the modules of the package it
    imports, ``""`` being the package itself; ``from . import x`` counts as importing
    ``x``."""
    imports: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = parts[: len(parts) - node.level]
                module = ".".join([*base, *filter(None, [node.module])])
            elif isinstance(node, ast.ImportFrom) and ours(node.module or "", package.name):
                module = (node.module or "").removeprefix(package.name).lstrip(".")
            elif isinstance(node, ast.Import):
                found.update(
                    a.name.removeprefix(package.name).lstrip(".")
                    for a in node.names
                    if ours(a.name, package.name)
                )
                continue
            else:
                continue
            found.add(module)
            found.update(f"{module}.{a.name}".lstrip(".") for a in node.names)
        imports[".".join(parts)] = found
    return imports


def ours(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def test_the_facade_is_a_leaf() -> None:
    """Only the 0.1 import path re-exports the facade, only the package imports that path,
    and the facade imports neither (so the arrow points from the facade to the rest)."""
    imports = package_imports(ROOT / "src" / "sockethub")
    assert {m for m, found in imports.items() if "legacy" in found} == {"websocket"}
    assert {m for m, found in imports.items() if "websocket" in found} == {"__init__"}
    assert not imports["legacy"] & {"websocket", "__init__", ""}


def needs_a_git_checkout() -> None:
    require(shutil.which("git") is not None and (ROOT / ".git").exists(), "needs a git checkout")


def test_the_copy_is_made_from_the_checkout_as_it_is() -> None:
    needs_a_git_checkout()
    files = checkout_files(ROOT)
    assert "src/sockethub/legacy.py" in files
    assert "tests/test_facade_removal.py" in files
    assert not any(name.startswith((".venv/", "build/")) for name in files)
    assert not any("__pycache__" in name for name in files)


def test_the_removal_edit_leaves_no_import_of_the_facade(tmp_path: Path) -> None:
    needs_a_git_checkout()
    repo = tmp_path / "repo"
    copy_checkout(ROOT, repo)
    assert facade_mentions(repo) != []  # the check sees the re-export while it exists
    remove_facade(repo)
    assert facade_mentions(repo) == []
    assert not (repo / "src" / "sockethub" / "legacy.py").exists()
    assert not (repo / "legacy_tests").exists()


@pytest.mark.e2e
@pytest.mark.timeout(1800)
def test_every_remaining_suite_is_green_without_the_facade(tmp_path: Path) -> None:
    needs_a_git_checkout()
    repo = tmp_path / "repo"
    copy_checkout(ROOT, repo)
    remove_facade(repo)
    python = make_venv(repo, tmp_path / "venv")

    code, where = run(
        python,
        repo,
        "-c",
        "import sockethub, sockethub_codemods as c; print(sockethub.__file__, c.__file__)",
    )
    assert code == 0, where
    for module_file in where.split():
        assert Path(module_file).resolve().is_relative_to(repo.resolve()), where

    suites = [s for s in ("tests", "codemods/tests") if (repo / s).is_dir()]
    formatted = [d for d in ("src", "codemods") if (repo / d).is_dir()]
    steps = [
        ("ruff check", ["-m", "ruff", "check", "--no-cache", "."]),
        ("ruff format", ["-m", "ruff", "format", "--no-cache", "--check", *formatted]),
        ("mypy", ["-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache")]),
        (
            "pytest",
            [
                "-m",
                "pytest",
                *suites,
                "--ignore=tests/test_facade_removal.py",
                "-p",
                "no:cacheprovider",
                "-q",
                "-rs",
            ],
        ),
    ]
    failures = []
    for name, args in steps:
        code, output = run(python, repo, *args)
        if code != 0:
            failures.append(f"--- {name} exited {code}:\n{output[-8000:]}")
    assert failures == [], "\n".join(failures)
