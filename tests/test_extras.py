"""A missing optional dependency fails with the pip line that installs it (sockethub._extras).

``sys.modules[name] = None`` is the interpreter's own way to make ``import name`` fail as
if the package were not installed; the wheel installed without extras is checked the
same way for real in tests/test_packaging.py.
"""

from __future__ import annotations

import importlib
import json
import sys

import pytest

from sockethub._extras import EXTRAS, extra_required, import_extra, install_hint


def _without(monkeypatch: pytest.MonkeyPatch, missing: str, reimport: str = "") -> None:
    """Until the test ends: ``missing`` cannot be imported, ``reimport`` is imported anew."""
    for name in list(sys.modules):
        if name in (missing, reimport) or name.startswith(f"{missing}."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, missing, None)


@pytest.mark.parametrize(
    ("module", "missing", "extra"),
    [
        ("sockethub.bus.redis", "redis", "redis"),
        ("sockethub_codemods.migrate_managed_routes", "libcst", "codemod"),
    ],
)
def test_a_feature_without_its_extra_names_the_install_line(
    monkeypatch: pytest.MonkeyPatch, module: str, missing: str, extra: str
) -> None:
    _without(monkeypatch, missing, module)
    with pytest.raises(ImportError) as caught:
        importlib.import_module(module)
    assert isinstance(caught.value, ModuleNotFoundError)
    assert (caught.value.name or "").partition(".")[0] == missing
    assert str(caught.value).endswith(f'\n    pip install "sockethub[{extra}]"')
    assert f"no module named '{missing}" in str(caught.value)


def test_every_extra_of_pyproject_has_an_entry() -> None:
    import tomllib

    from tests.support import ROOT

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert sorted(EXTRAS) == sorted(declared["optional-dependencies"])


def test_import_extra_returns_the_module_or_the_same_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert import_extra("json", extra="orjson") is json  # any importable module
    _without(monkeypatch, "orjson")
    with pytest.raises(ModuleNotFoundError, match=r'pip install "sockethub\[orjson\]"$'):
        import_extra("orjson", extra="orjson", feature="the orjson codec")
    with pytest.raises(ModuleNotFoundError, match=r"^the orjson codec needs orjson"):
        import_extra("orjson", extra="orjson", feature="the orjson codec")


def test_an_import_error_of_another_module_passes_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without(monkeypatch, "not_an_extra_module")
    with pytest.raises(ModuleNotFoundError) as caught, extra_required("redis"):
        import not_an_extra_module  # noqa: F401
    assert "pip install" not in str(caught.value)


def test_an_unknown_extra_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sockethub extra 'nope'"):
        install_hint("nope")
