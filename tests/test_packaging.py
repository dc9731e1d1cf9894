"""What a user gets from PyPI: the sdist and the wheel, built, checked and installed alone.

``python -m build`` makes the sdist from a copy of this tree and the wheel from that sdist;
``twine check --strict`` must pass on both.  The sdist is deliberate: the wheel's sources,
README, LICENSE and build configuration, and no tests (they need this repository's
helpers and services, so they stay here).  The wheel is then installed into a fresh venv,
without any extra, and used from another directory: the console script runs, ``import
sockethub`` works, and each optional feature fails with the ``pip install
"sockethub[...]"`` line to run.

Needs network access for the build backend and the wheel's two dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.packaging

# Never copied into the build: VCS data, virtualenvs, caches and local build output.
_NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "artifacts",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
)


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path
    work: Path  # a scratch directory for the test, removed afterwards


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _clean_env() -> dict[str, str]:
    """This environment without what would let the fresh venv see this tree's packages."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def built() -> Iterator[Built]:
    with tempfile.TemporaryDirectory(prefix="sockethub-packaging-") as tmp:
        work = Path(tmp)
        source = work / "source"
        shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
        dist = work / "dist"
        _run(sys.executable, "-m", "build", "--outdir", dist, source, cwd=work)
        [sdist] = dist.glob("*.tar.gz")
        [wheel] = dist.glob("*.whl")
        yield Built(sdist, wheel, work)


def test_twine_check_strict_passes(built: Built) -> None:
    out = _run(
        sys.executable, "-m", "twine", "check", "--strict", built.sdist, built.wheel, cwd=built.work
    )
    assert out.count("PASSED") == 2, out


def _wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def _sdist_names(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as tf:
        names = [m.name for m in tf.getmembers() if m.isfile()]
    return [name.split("/", 1)[1] for name in names]  # without "sockethub-<version>/"


def _as_installed(path: str, package_dir: dict[str, str]) -> str:
    """Where the sdist file ``path`` lands in the wheel, following ``package-dir``."""
    best = max(
        (
            (pkg, directory)
            for pkg, directory in package_dir.items()
            if directory in ("", ".") or path.startswith(directory.rstrip("/") + "/")
        ),
        key=lambda item: len(item[1]),
        default=None,
    )
    if best is None:
        return path
    pkg, directory = best
    rest = path if directory in ("", ".") else path[len(directory.rstrip("/")) + 1 :]
    return f"{pkg.replace('.', '/')}/{rest}" if pkg else rest


def test_the_sdist_holds_the_wheels_sources_and_no_tests(built: Built) -> None:
    sdist = _sdist_names(built.sdist)
    wheel = _wheel_names(built.wheel)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_dir = pyproject.get("tool", {}).get("setuptools", {}).get("package-dir", {})

    sdist_modules = {_as_installed(p, package_dir) for p in sdist if p.endswith(".py")}
    wheel_modules = {p for p in wheel if p.endswith(".py")}
    assert sdist_modules == wheel_modules
    for name in [*sdist, *wheel]:
        parts = Path(name).parts
        assert not any(
            part in ("tests", "legacy_tests", "conftest.py") or part.startswith("test_")
            for part in parts
        ), f"{name} is a test file"
    others = {p for p in sdist if not p.endswith(".py") and ".egg-info/" not in p}
    assert others == {
        "LICENSE",
        "MANIFEST.in",
        "PKG-INFO",
        "README.md",
        "pyproject.toml",
        "setup.cfg",
        "src/sockethub/py.typed",
        "src/sockethub_codemods/py.typed",
    }


def test_the_metadata_has_the_spdx_license_and_only_feature_extras(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as zf:
        [metadata] = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        text = zf.read(metadata).decode()
        licence = [n for n in zf.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert licence, "the LICENSE file is not in the wheel"
        assert b"MIT License" in zf.read(licence[0])
    headers = [line for line in text.split("\n\n", 1)[0].splitlines()]
    assert "License-Expression: MIT" in headers
    assert not [h for h in headers if h.startswith("License:")]  # the deprecated field
    extras = sorted(h.split(": ", 1)[1] for h in headers if h.startswith("Provides-Extra:"))
    assert extras == ["client", "codemod", "fastapi", "orjson", "redis"]


@pytest.fixture(scope="module")
def installed(built: Built) -> Path:
    """A fresh venv holding the wheel alone (and its two dependencies); its bin dir."""
    env_dir = built.work / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    _run(
        bin_dir / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        built.wheel,
        cwd=built.work,
        env=_clean_env(),
    )
    return bin_dir


def _elsewhere(built: Built) -> Path:
    place = built.work / "elsewhere"
    place.mkdir(exist_ok=True)
    return place


def _python(installed: Path, built: Built, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [installed / "python", "-c", code],
        cwd=_elsewhere(built),
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_installed_wheel_imports_from_its_venv(installed: Path, built: Built) -> None:
    done = _python(installed, built, "import sockethub; print(sockethub.__file__)")
    assert done.returncode == 0, done.stderr
    location = Path(done.stdout.strip())
    assert installed.parent in location.parents, location  # not this source tree
    done = _python(
        installed,
        built,
        "import importlib.util as u; print([m for m in ('redis', 'libcst', 'fastapi', "
        "'orjson', 'websockets', 'uvicorn') if u.find_spec(m)])",
    )
    assert done.stdout.strip() == "[]", "the venv should hold no optional dependency"


def test_the_console_script_runs(installed: Path, built: Built) -> None:
    done = subprocess.run(
        [installed / "sockethub-migrate", "--help"],
        cwd=_elsewhere(built),
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: sockethub-migrate")


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        ("import sockethub.bus.redis", "redis"),
        ("from sockethub.bus.redis import RedisSocketBus", "redis"),
        ("import sockethub_codemods.migrate_managed_routes", "codemod"),
    ],
)
def test_a_missing_extra_says_what_to_install(
    installed: Path, built: Built, code: str, extra: str
) -> None:
    done = _python(installed, built, code)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()
    assert last[-1].strip() == f'pip install "sockethub[{extra}]"', done.stderr
    assert any(line.startswith("ModuleNotFoundError: ") for line in last), done.stderr


def test_the_codemod_without_libcst_says_what_to_install(installed: Path, built: Built) -> None:
    target = _elsewhere(built) / "app.py"
    target.write_text("from sockethub import WebSocketRoute\n")
    done = subprocess.run(
        [installed / "sockethub-migrate", "--check", str(target)],
        cwd=_elsewhere(built),
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].strip() == 'pip install "sockethub[codemod]"'
