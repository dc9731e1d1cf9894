"""Shared checks for the codemod tests."""

from __future__ import annotations

import builtins

import libcst as cst
from libcst.codemod import CodemodContext, CodemodTest, TransformSuccess, transform_module
from libcst.metadata import MetadataWrapper, ScopeProvider

from sockethub_codemods.migrate_managed_routes import MigrateManagedRoutesCommand


def migrate(code: str) -> str:
    """Run the command over ``code`` exactly (no dedent, no normalising)."""
    result = transform_module(MigrateManagedRoutesCommand(CodemodContext()), code)
    assert isinstance(result, TransformSuccess), getattr(result, "traceback_str", result)
    return result.code


def undefined_names(code: str) -> set[str]:
    """Names read in ``code`` that nothing in the module (or builtins) defines."""
    wrapper = MetadataWrapper(cst.parse_module(code))
    scopes = {s for s in wrapper.resolve(ScopeProvider).values() if s is not None}
    missing: set[str] = set()
    for scope in scopes:
        for access in scope.accesses:
            name = access.node.value if isinstance(access.node, cst.Name) else None
            if name and not access.referents and not hasattr(builtins, name):
                missing.add(name)
    return missing


class MigrateTest(CodemodTest):
    """``CodemodTest`` plus the invariants every output must keep."""

    TRANSFORM = MigrateManagedRoutesCommand

    def check(self, before: str, after: str) -> None:
        self.assertCodemod(before, after)
        before_code = self.make_fixture_data(before)
        after_code = self.make_fixture_data(after)
        cst.parse_module(after_code)  # re-parses
        assert migrate(after_code) == after_code, "a second run must change nothing"
        assert undefined_names(after_code) <= undefined_names(before_code)

    def unchanged(self, code: str) -> None:
        self.check(code, code)
