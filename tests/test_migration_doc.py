"""Every ```python sample of MIGRATION.md runs, as written.

Each sample is executed on its own, in a fresh namespace, so samples must be
self-contained.  A sample preceded by ``<!-- migration-sample: 0.1 -->`` uses the
deprecated 0.1 API: it may emit ``SockethubDeprecationWarning`` (and nothing else); any
other sample must run without a single warning.  A sample preceded by
``<!-- migration-sample: facade -->`` uses the 0.1 API too but handles the warnings
itself (the samples about those warnings), so nothing may escape it either.  Both kinds
need the deprecated facade and are skipped once it is gone (``sockethub.legacy``, which
0.3 deletes).
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from sockethub import SockethubDeprecationWarning

MIGRATION = Path(__file__).resolve().parent.parent / "MIGRATION.md"
LEGACY_MARKER = "<!-- migration-sample: 0.1 -->"
FACADE_MARKER = "<!-- migration-sample: facade -->"
HAS_FACADE = importlib.util.find_spec("sockethub.legacy") is not None
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Sample:
    line: int
    code: str
    legacy: bool
    needs_facade: bool = False

    @property
    def id(self) -> str:
        return f"line{self.line}" + (
            "-0.1" if self.legacy else "-facade" if self.needs_facade else ""
        )


def python_samples(text: str) -> list[Sample]:
    """The fenced ```python blocks of ``text`` (top level, not indented)."""
    samples = []
    for match in FENCE.finditer(text):
        if match.group(1) != "python":
            continue
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        line = text.count("\n", 0, match.start()) + 2  # first line of code
        marker = before.strip()
        legacy = marker == LEGACY_MARKER
        samples.append(Sample(line, match.group(2), legacy, legacy or marker == FACADE_MARKER))
    return samples


SAMPLES = python_samples(MIGRATION.read_text(encoding="utf-8"))


def test_the_document_has_samples_of_both_kinds() -> None:
    assert len(SAMPLES) >= 5
    assert any(s.legacy for s in SAMPLES)
    assert any(s.needs_facade and not s.legacy for s in SAMPLES)
    assert sum(not s.needs_facade for s in SAMPLES) >= 3


def test_sample_extraction() -> None:
    text = (
        "intro\n"
        f"{LEGACY_MARKER}\n"
        "```python\nx = 1\n```\n"
        "```bash\nls\n```\n"
        "```python\ny = 2\n```\n"
        "  ```toml\na = 1\n  ```\n"
        f"{FACADE_MARKER}\n"
        "```python\nz = 3\n```\n"
    )
    assert python_samples(text) == [
        Sample(4, "x = 1\n", True, True),
        Sample(10, "y = 2\n", False, False),
        Sample(17, "z = 3\n", False, True),
    ]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.id)
def test_sample_runs(sample: Sample) -> None:
    # Lines in tracebacks point into MIGRATION.md.
    code = compile("\n" * (sample.line - 1) + sample.code, str(MIGRATION), "exec")
    namespace = {"__name__": f"migration_sample_line{sample.line}"}
    if sample.needs_facade and not HAS_FACADE:
        # The facade is gone (the removal rehearsal): the 0.1 sample must fail, at its
        # first 0.1 call, rather than run on something else.
        with pytest.raises((ImportError, AttributeError)):
            exec(code, namespace)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(code, namespace)
    unexpected = [
        w
        for w in caught
        if not (sample.legacy and issubclass(w.category, SockethubDeprecationWarning))
    ]
    assert unexpected == [], [f"{w.filename}:{w.lineno}: {w.message}" for w in unexpected]
    if sample.legacy:
        assert caught, "a sample marked 0.1 should use (and warn about) the 0.1 API"
        assert all(w.filename == str(MIGRATION) for w in caught)
    if sample.needs_facade:
        assert "WebSocketRoute" in sample.code, "a sample marked 0.1 should use the 0.1 API"
