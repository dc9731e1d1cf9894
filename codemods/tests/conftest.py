"""Make ``sockethub_codemods`` importable from a source tree that is not installed yet.

Installed (``python3 dev.py test`` installs it editable), the package-dir mapping in pyproject.toml provides
it; from a bare checkout the tests register ``src/sockethub_codemods/`` themselves.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

#: ``codemods/``: the codemod's tests and corpus (outside the shipped package).
CODEMODS_DIR = Path(__file__).resolve().parents[1]
REPO = CODEMODS_DIR.parent
#: The shipped package, ``src/sockethub_codemods``.
PACKAGE_DIR = REPO / "src" / "sockethub_codemods"


def _ensure_package() -> None:
    try:
        import sockethub_codemods  # noqa: F401
    except ImportError:
        spec = importlib.util.spec_from_file_location(
            "sockethub_codemods",
            PACKAGE_DIR / "__init__.py",
            submodule_search_locations=[str(PACKAGE_DIR)],
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["sockethub_codemods"] = module
        spec.loader.exec_module(module)


_ensure_package()
