"""The TODO comments: every MIGRATION.md section they point to exists; they fit the
file's line length."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from libcst.codemod import CodemodContext, TransformSuccess, transform_module

from sockethub_codemods.line_length import line_length_for
from sockethub_codemods.migrate_managed_routes import TODO_ANCHORS, MigrateManagedRoutesCommand

from .conftest import PACKAGE_DIR, REPO


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of ``markdown``."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"#{1,6} (.+)", line)
        if match:
            text = match.group(1).strip().lower()
            text = re.sub(r"[^\w\- ]", "", text)
            anchors.add(text.replace(" ", "-"))
    return anchors


def test_every_anchor_the_codemod_names_exists_in_migration_md() -> None:
    anchors = github_anchors((REPO / "MIGRATION.md").read_text())
    source = (PACKAGE_DIR / "migrate_managed_routes.py").read_text()
    used = set(re.findall(r'anchor="([^"]+)"', source))
    assert used, "no TODO anchors found"
    assert used <= TODO_ANCHORS
    assert TODO_ANCHORS - anchors == set()


FLAGGING = """\
from sockethub import WebSocketRoute
from app.routes import other

route = WebSocketRoute("/ws")
route.channel("a:{b}")


@route.handler
async def handler(user: str) -> None:
    print("work that never ran")


class Outer:
\tdef build(self):
\t\tif True:
\t\t\t@other.handler
\t\t\tasync def deep(room: str) -> None:
\t\t\t\treturn None
"""


def migrate_at(path: Path, code: str) -> str:
    path.write_text(code)
    result = transform_module(MigrateManagedRoutesCommand(CodemodContext(filename=str(path))), code)
    assert isinstance(result, TransformSuccess)
    return result.code


def width(line: str) -> int:
    return len(line.expandtabs(4))


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("", 100),  # nothing configured: 100
        ("[tool.ruff]\nline-length = 72\n", 72),
        ("[tool.ruff]\n", 88),  # ruff's default
        ("[tool.black]\nline-length = 60\n", 60),
        ("[tool.ruff]\nline-length = 140\n", 100),  # never more than 100
    ],
)
def test_todos_wrap_at_the_files_line_length(tmp_path: Path, config: str, expected: int) -> None:
    project = tmp_path / "p"
    (project / "pkg").mkdir(parents=True)
    if config:
        (project / "pyproject.toml").write_text(config)
    target = project / "pkg" / "app.py"
    assert line_length_for(str(target)) == expected
    out = migrate_at(target, FLAGGING)
    todo = [line for line in out.splitlines() if "TODO(sockethub-migrate)" in line]
    assert len(todo) == 3
    assert (
        max(width(line) for line in out.splitlines() if line.lstrip().startswith("#")) <= expected
    )
    # Wrapped, so the comment is several lines; each ends before the limit, and the text
    # names its section.
    assert "#   " in out and out.count("MIGRATION.md#") == 3
    assert migrate_at(target, out) == out
