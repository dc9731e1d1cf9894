"""Rewrite 0.1 managed-mode ``WebSocketRoute`` code into ``SocketHub`` form.

One command per file, in the style of ``libcst/codemod/commands``. The command works on one
module at a time: a route is judged by what this module does with it.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, cast

from sockethub._extras import extra_required
from sockethub_codemods import TODO_CONTINUATION, TODO_MARKER
from sockethub_codemods.line_length import line_length_for

with extra_required("codemod", feature="sockethub-migrate"):
    import libcst as cst
    import libcst.helpers
    from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
    from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
    from libcst.metadata import (
        ClassScope,
        MetadataWrapper,
        QualifiedNameSource,
        Scope,
        ScopeProvider,
    )

__all__ = ["TODO_MARKER", "MigrateManagedRoutesCommand"]


ROUTE_QNAMES = frozenset({"sockethub.WebSocketRoute", "sockethub.websocket.WebSocketRoute"})
HUB_QNAMES = frozenset({"sockethub.SocketHub", "sockethub.hub.SocketHub"})
# What the 0.1 facade's hidden hub runs with, written into every migrated SocketHub(...)
# so the wire stays byte for byte the same: one message of a connection at a time, one
# socket object per connection, a raising callback closes with 1011 and propagates, and
# the 0.1 envelope whatever the client asks for (a plain hub speaks Phoenix on
# ``?vsn=2.0.0``, which no 0.1 client ever received).
FACADE_HUB_ARGS = (
    ("ordering", '"connection"'),
    ("per_join_sockets", "False"),
    ("error_policy", '"raise"'),
    ("protocol", "EnvelopeProtocol()"),
)
_SOCKET_QNAMES = frozenset(
    {
        "sockethub.ISocket",
        "sockethub.channel.ISocket",
        "sockethub.socket.ISocket",
        "starlette.websockets.WebSocket",
    }
)
_HOOKS = frozenset({"on_connect", "on_disconnect"})
_MANAGED = frozenset({"channel", "handler"}) | _HOOKS
_COMPOSE = frozenset({"merge", "include_subroutes"})
_INTERNALS = frozenset({"ws_endpoint", "children"})
_TRACKED = _MANAGED | _COMPOSE | _INTERNALS | {"endpoint", "sub"}
_ENDPOINT_QNAMES = frozenset(
    {
        "sockethub.websocket.WSManagedEndpoint",
        "sockethub.WSManagedEndpoint",
        "sockethub.legacy.WSManagedEndpoint",
    }
)
_SCALARS = frozenset({"str", "int", "float", "bool"})
# Starlette path convertor -> the Python type of the value it puts in path_params.
_CONVERTOR_TYPES = {"str": "str", "path": "str", "int": "int", "float": "float"}
_N = TypeVar("_N", bound=cst.CSTNode)
#: MIGRATION.md section anchors that the TODO comments point to (a test checks that each
#: one exists).
TODO_ANCHORS = frozenset(
    {
        "routes-built-in-another-module",
        "sub-and-merge-trees",
        "handlers-and-hooks-used-unusually",
        "hook-parameters",
        "a-merge-at-the-parents-own-path",
        "handler-with-a-body",
        "facade-internals",
        "facade-ordering",
        "a-route-set-up-by-a-helper-function",
    }
)
_PATH_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?\}")


@dataclass
class _Use:
    """One ``<route>.<attr>`` occurrence."""

    attr: str
    node: cst.Attribute
    handle: str
    # "decorator": @route.attr; "stmt_call": route.attr(...) as a statement;
    # "call": route.attr(...) inside an expression; "other": anything else.
    kind: str
    call: cst.Call | None = None
    stmt: cst.Expr | None = None
    decorated: cst.FunctionDef | None = None
    decorator: cst.Decorator | None = None


@dataclass
class _SubSite:
    """``child = parent.sub(path)`` as a statement of its own."""

    call: cst.Call
    assign: cst.Assign
    parent: str
    path: str | None
    child: str


@dataclass
class _HandlerParam:
    name: str
    annotation: str | None  # "str" | "int" | "float" | "bool" | "other" | None
    default: cst.BaseExpression | None
    optional: bool = False  # annotated ``X | None``: missing means None
    param: cst.Param | None = None  # the handler's own parameter node


@dataclass
class _Group:
    """The constructors and uses that denote one route object."""

    ctors: list[cst.Call] = field(default_factory=list)
    hub_ctors: list[cst.Call] = field(default_factory=list)
    uses: list[_Use] = field(default_factory=list)
    annotations: list[cst.BaseExpression] = field(default_factory=list)

    def attrs(self, *names: str) -> list[_Use]:
        return [u for u in self.uses if u.attr in names]


@dataclass
class _HookRewrite:
    params: cst.Parameters
    prologue: list[str]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


class _RefCollector(cst.CSTVisitor):
    """Collect the ``WebSocketRoute`` references inside an annotation."""

    def __init__(self, command: MigrateManagedRoutesCommand) -> None:
        self.command = command
        self.found: list[cst.BaseExpression] = []

    def visit_Name(self, node: cst.Name) -> bool:
        if self.command.qnames(node) & ROUTE_QNAMES:
            self.found.append(node)
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if self.command.qnames(node) & ROUTE_QNAMES:
            self.found.append(node)
            return False
        return True


class _NameCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: list[cst.Name] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.found.append(node)


class _Analyzer(cst.CSTVisitor):
    """First pass: find route constructors, what they are bound to, and every use."""

    def __init__(self, command: MigrateManagedRoutesCommand) -> None:
        self.c = command
        self.uf = _UnionFind()
        self.ctors: list[tuple[str, cst.Call]] = []
        self.hub_ctors: list[tuple[str, cst.Call]] = []
        self.imports_sockethub = False
        self.endpoint_subclasses: list[cst.ClassDef] = []
        self.subs: list[_SubSite] = []
        self.uses: list[_Use] = []
        self.annotations: list[tuple[cst.BaseExpression, str]] = []
        self.functions: dict[str, cst.FunctionDef] = {}
        # Methods of this module's classes by name (``self.setup(route)`` may call one).
        self.methods: dict[str, list[cst.FunctionDef]] = {}
        # Calls with arguments (``setup(route)``, ``self.setup(route)``): a route may be
        # set up by the function it is passed to.
        self.arg_calls: list[cst.Call] = []
        self.func_stack: list[cst.FunctionDef] = []
        # Parent links, built here rather than with ParentNodeProvider (a whole extra pass).
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self._stack: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._stack:
            self.parents[node] = self._stack[-1]
        self._stack.append(node)
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        super().on_leave(original_node)
        self._stack.pop()

    # ---- handles: strings naming "the same object" module-wide ----
    def name_key(self, node: cst.Name) -> str:
        scope: Scope | None = self.c.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return f"name:?:{node.value}"
        for assignment in scope[node.value]:
            return f"name:{id(assignment.scope)}:{node.value}"
        return f"name:{id(scope.globals)}:{node.value}"

    def target_handles(self, target: cst.BaseExpression) -> list[str]:
        if isinstance(target, cst.Name):
            handles = [self.name_key(target)]
            if isinstance(self.c.get_metadata(ScopeProvider, target, None), ClassScope):
                handles.append(f"attr:{target.value}")
            return handles
        if isinstance(target, cst.Attribute):
            return [f"attr:{target.attr.value}"]
        return []

    def expr_handle(self, expr: cst.BaseExpression) -> str | None:
        if isinstance(expr, cst.Name):
            return self.name_key(expr)
        if isinstance(expr, cst.Attribute):
            return f"attr:{expr.attr.value}"
        if isinstance(expr, cst.Call):
            if isinstance(expr.func, cst.Name):
                return f"call:{expr.func.value}"
            if isinstance(expr.func, cst.Attribute):
                return f"call:{expr.func.attr.value}"
        return None

    def link_targets(
        self, targets: Iterable[cst.BaseExpression], value: cst.BaseExpression
    ) -> None:
        if isinstance(value, cst.Call) and self.c.qnames(value.func) & _BUILT:
            return  # handled by visit_Call
        source = self.expr_handle(value)
        if source is None:
            return
        for target in targets:
            for handle in self.target_handles(target):
                self.uf.union(handle, source)

    def add_annotation(self, annotation: cst.Annotation | None, handles: Iterable[str]) -> None:
        if annotation is None:
            return
        collector = _RefCollector(self.c)
        annotation.annotation.visit(collector)
        for ref in collector.found:
            for handle in handles:
                self.annotations.append((ref, handle))

    # ---- visitors ----
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        for base in node.bases:
            if self.c.qnames(base.value) & _ENDPOINT_QNAMES:
                self.endpoint_subclasses.append(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions[self.name_key(node.name)] = node
        if isinstance(self.parents.get(self.parents.get(node, node)), cst.ClassDef):
            self.methods.setdefault(node.name.value, []).append(node)
        self.func_stack.append(node)
        self.add_annotation(node.returns, [f"call:{node.name.value}"])
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            self.add_annotation(param.annotation, [self.name_key(param.name)])

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.func_stack.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == "sub"
            and len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
            and isinstance(self.parents.get(node), cst.SimpleStatementLine)
        ):
            # `child = parent.sub("path")`: the child is its own object, not "any sub()".
            parent = self.expr_handle(value.func.value)
            path = _literal_str(value.args[0].value) if len(value.args) == 1 else None
            target = self.name_key(node.targets[0].target)
            self.uf.find(target)
            if parent is not None:
                self.subs.append(_SubSite(value, node, parent, path, target))
            return
        self.link_targets([t.target for t in node.targets], node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        handles = self.target_handles(node.target)
        self.add_annotation(node.annotation, handles)
        if node.value is not None:
            self.link_targets([node.target], node.value)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is None or not self.func_stack:
            return
        if isinstance(node.value, cst.Call) and self.c.qnames(node.value.func) & _BUILT:
            return
        source = self.expr_handle(node.value)
        if source is not None:
            self.uf.union(f"call:{self.func_stack[-1].name.value}", source)

    def visit_Import(self, node: cst.Import) -> None:
        if any(_is_sockethub(libcst.helpers.get_full_name_for_node(a.name)) for a in node.names):
            self.imports_sockethub = True

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = None if node.relative or node.module is None else node.module
        if module is not None and _is_sockethub(libcst.helpers.get_full_name_for_node(module)):
            self.imports_sockethub = True

    def visit_Call(self, node: cst.Call) -> None:
        names = self.c.qnames(node.func) & _BUILT
        if not names:
            if node.args and isinstance(node.func, cst.Name | cst.Attribute):
                self.arg_calls.append(node)
            return
        if names & HUB_QNAMES:
            key = f"hub:{len(self.hub_ctors)}"
            self.hub_ctors.append((key, node))
        else:
            key = f"ctor:{len(self.ctors)}"
            self.ctors.append((key, node))
        self.uf.find(key)
        parent = self.parents.get(node)
        handles: list[str] = []
        if isinstance(parent, cst.Assign):
            for t in parent.targets:
                handles += self.target_handles(t.target)
        elif isinstance(parent, cst.AnnAssign):
            handles += self.target_handles(parent.target)
        elif isinstance(parent, cst.Return) and self.func_stack:
            handles.append(f"call:{self.func_stack[-1].name.value}")
        for handle in handles:
            self.uf.union(key, handle)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        attr = node.attr.value
        if attr not in _TRACKED:
            return
        handle = self.expr_handle(node.value)
        if handle is None:
            return
        use = _Use(attr=attr, node=node, handle=handle, kind="other")
        parent = self.parents.get(node)
        if isinstance(parent, cst.Decorator) and parent.decorator is node:
            owner = self.parents.get(parent)
            if isinstance(owner, cst.FunctionDef):
                use.kind, use.decorated, use.decorator = "decorator", owner, parent
        elif isinstance(parent, cst.Call) and parent.func is node:
            use.call = parent
            holder = self.parents.get(parent)
            # Only a statement on its own line can be removed cleanly (not `if x: call()`).
            if isinstance(holder, cst.Expr) and isinstance(
                self.parents.get(holder), cst.SimpleStatementLine
            ):
                use.kind, use.stmt = "stmt_call", holder
            else:
                use.kind = "call"
        self.uses.append(use)
        self.uf.find(handle)

    def groups(self) -> dict[str, _Group]:
        groups: dict[str, _Group] = {}
        for key, call in self.ctors:
            groups.setdefault(self.uf.find(key), _Group()).ctors.append(call)
        for key, call in self.hub_ctors:
            groups.setdefault(self.uf.find(key), _Group()).hub_ctors.append(call)
        for use in self.uses:
            groups.setdefault(self.uf.find(use.handle), _Group()).uses.append(use)
        for ref, handle in self.annotations:
            groups.setdefault(self.uf.find(handle), _Group()).annotations.append(ref)
        return groups


_BUILT = ROUTE_QNAMES | HUB_QNAMES
# Calls that host a route rather than set it up: a route passed to them with no use of
# its own in the module is not flagged.
_HOSTING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "add",
        "include",
        "include_router",
        "add_websocket_route",
        "add_route",
        "mount",
        "merge",
        "include_subroutes",
    }
)
_HOSTING_MODULES = frozenset({"starlette", "fastapi", "sockethub", "uvicorn"})


def _is_sockethub(module: str | None) -> bool:
    return module is not None and (module == "sockethub" or module.startswith("sockethub."))


def _is_docstring(stmt: cst.BaseStatement | cst.BaseSmallStatement) -> bool:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        stmt = stmt.body[0]
    return isinstance(stmt, cst.Expr) and isinstance(
        stmt.value, cst.SimpleString | cst.ConcatenatedString
    )


def _is_noop_small(stmt: cst.BaseSmallStatement) -> bool:
    if isinstance(stmt, cst.Pass):
        return True
    if isinstance(stmt, cst.Expr):
        return isinstance(stmt.value, cst.Ellipsis | cst.SimpleString | cst.ConcatenatedString)
    if isinstance(stmt, cst.Return):
        return stmt.value is None or (
            isinstance(stmt.value, cst.Name) and stmt.value.value == "None"
        )
    return False


def _body_does_nothing(body: cst.BaseSuite) -> bool:
    """True when a function body is only ``pass``, ``...``, ``return [None]`` or a docstring."""
    if isinstance(body, cst.SimpleStatementSuite):
        return all(_is_noop_small(s) for s in body.body)
    for stmt in body.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            return False
        if not all(_is_noop_small(s) for s in stmt.body):
            return False
    return True


def _leading_blanks(lines: Sequence[cst.EmptyLine]) -> list[cst.EmptyLine]:
    blanks: list[cst.EmptyLine] = []
    for line in lines:
        if line.comment is not None:
            break
        blanks.append(line)
    return blanks


def _same_node(a: cst.CSTNode | None, b: cst.CSTNode | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.deep_equals(b)


def _normalise_path(path: str) -> str:
    """0.1's path normalisation (sockethub.websocket.normalise_path, restated so the
    codemod does not import the library it migrates)."""
    path = path.replace(" ", "")
    if path and not path.startswith("/"):
        path = "/" + path
    if len(path) > 1 and path.endswith("/"):
        raise ValueError(path)
    return path


def _join_paths(parent: str, child: str) -> str:
    """0.1's join of a parent and a child path (sockethub.websocket.join_paths)."""
    if child == "/":
        child = ""
    return parent.rstrip("/") + child or "/"


def _defaulted_extras(hook: cst.FunctionDef, declared: set[str]) -> list[cst.Param]:
    """The hook's parameters after the socket that the handler does not declare and that
    have a default (0.1 never passed them, so they always had it)."""
    params = hook.params
    rest = [*params.posonly_params, *params.params][1:] + list(params.kwonly_params)
    return [p for p in rest if p.name.value not in declared and p.default is not None]


def _with_path(call: cst.Call, path: str) -> cst.Call:
    """``call`` with its path argument (first positional or ``path=``) set to ``path``."""
    literal = cst.SimpleString(json.dumps(path))
    args = list(call.args)
    for i, arg in enumerate(args):
        if (arg.keyword is None and i == 0 and not arg.star) or (
            arg.keyword is not None and arg.keyword.value == "path"
        ):
            args[i] = arg.with_changes(value=literal)
            return call.with_changes(args=args)
    return call.with_changes(args=[cst.Arg(literal), *args])


def _with_normalised_path(call: cst.Call) -> cst.Call:
    """``WebSocketRoute("ws")`` served ``/ws`` (0.1 normalised it); ``SocketHub`` takes a
    path as written, so a literal path is written normalised."""
    args = list(call.args)
    if not args or args[0].keyword is not None or args[0].star:
        return call
    first = args[0].value
    literal = _literal_str(first)
    if literal is None or not isinstance(first, cst.SimpleString):
        return call
    try:
        path = _normalise_path(literal)
    except ValueError:
        return call  # 0.1 refused it as well
    if path == literal:
        return call
    args[0] = args[0].with_changes(value=cst.SimpleString(json.dumps(path)))
    return call.with_changes(args=args)


def _has_comment(lines: Sequence[cst.EmptyLine]) -> bool:
    return any(line.comment is not None for line in lines)


def _todo_lines(text: str, width: int) -> list[cst.EmptyLine]:
    """``# TODO(sockethub-migrate): text`` wrapped to ``width`` columns (the comment's own
    indentation excluded); continuation lines start with ``#   ``."""
    lines = textwrap.wrap(
        f"{TODO_MARKER}: {text}",
        width=max(40, width),
        initial_indent="# ",
        subsequent_indent=TODO_CONTINUATION,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [cst.EmptyLine(indent=True, comment=cst.Comment(line)) for line in lines]


def _literal_str(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.SimpleString | cst.ConcatenatedString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _last_comma(params: cst.Parameters) -> Any:
    elements = _param_elements(params)
    return elements[-1].comma if elements else cst.MaybeSentinel.DEFAULT


def _param_elements(params: cst.Parameters) -> list[Any]:
    elements: list[Any] = [*params.posonly_params]
    if isinstance(params.posonly_ind, cst.ParamSlash):
        elements.append(params.posonly_ind)
    elements += params.params
    if isinstance(params.star_arg, cst.Param | cst.ParamStar):
        elements.append(params.star_arg)
    elements += params.kwonly_params
    if params.star_kwarg is not None:
        elements.append(params.star_kwarg)
    return elements


def _strip_params(params: cst.Parameters, remove: set[str]) -> cst.Parameters:
    """Drop the named parameters, keeping commas and a bare ``*`` valid."""
    last_comma = _last_comma(params)
    kwonly = [p for p in params.kwonly_params if p.name.value not in remove]
    star_arg = params.star_arg
    if isinstance(star_arg, cst.ParamStar) and not kwonly and params.star_kwarg is None:
        star_arg = cst.MaybeSentinel.DEFAULT
    new = params.with_changes(
        params=[p for p in params.params if p.name.value not in remove],
        kwonly_params=kwonly,
        star_arg=star_arg,
    )
    elements = _param_elements(new)
    if not elements:
        return new
    # The last element owns the comma and the whitespace before ")": keep the original's.
    changes: dict[str, Any] = {"comma": last_comma}
    original_last = _param_elements(params)[-1]
    if isinstance(elements[-1], cst.Param) and isinstance(original_last, cst.Param):
        changes["whitespace_after_param"] = original_last.whitespace_after_param
    last = elements[-1].with_changes(**changes)
    if params.star_kwarg is not None and new.star_kwarg is elements[-1]:
        return new.with_changes(star_kwarg=last)
    if new.kwonly_params and new.kwonly_params[-1] is elements[-1]:
        return new.with_changes(kwonly_params=[*new.kwonly_params[:-1], last])
    if isinstance(new.star_arg, cst.Param | cst.ParamStar) and new.star_arg is elements[-1]:
        return new.with_changes(star_arg=last)
    if new.params and new.params[-1] is elements[-1]:
        return new.with_changes(params=[*new.params[:-1], last])
    return new


class _ExplodeCalls(cst.CSTTransformer):
    """Lays the given one-line calls out one argument per line, ``unit`` deeper than the
    statement, closing parenthesis at the statement's indentation."""

    def __init__(self, calls: set[cst.Call], unit: str) -> None:
        super().__init__()
        self._calls = calls
        self._unit = unit

    def _line(self, extra: str) -> cst.ParenthesizedWhitespace:
        return cst.ParenthesizedWhitespace(
            first_line=cst.TrailingWhitespace(),
            indent=True,
            last_line=cst.SimpleWhitespace(extra),
        )

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if original_node not in self._calls or not updated_node.args:
            return updated_node
        if any(
            isinstance(a.comma, cst.Comma)
            and isinstance(a.comma.whitespace_after, cst.ParenthesizedWhitespace)
            for a in updated_node.args
        ):
            return updated_node
        args = list(updated_node.args)
        laid = [
            a.with_changes(
                comma=cst.Comma(
                    whitespace_after=self._line("" if i == len(args) - 1 else self._unit)
                )
            )
            for i, a in enumerate(args)
        ]
        return updated_node.with_changes(whitespace_before_args=self._line(self._unit), args=laid)


def _keywords(call: cst.Call) -> set[str]:
    return {a.keyword.value for a in call.args if a.keyword is not None}


def _with_facade_args(call: cst.Call, envelope: str = "EnvelopeProtocol") -> cst.Call:
    """``call`` plus the keyword arguments of :data:`FACADE_HUB_ARGS` it lacks, laid out
    like its last argument (one per line in a call written one argument per line)."""
    args = list(call.args)
    present = {a.keyword.value for a in args if a.keyword is not None}
    if any(a.star == "**" for a in args):
        return call  # they may be in the mapping; flagged in planning
    new = [
        cst.Arg(
            keyword=cst.Name(name),
            value=cst.parse_expression(value.replace("EnvelopeProtocol", envelope)),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""),
            ),
        )
        for name, value in FACADE_HUB_ARGS
        if name not in present
    ]
    if not new:
        return call
    if not args:
        joined = [
            a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for a in new[:-1]
        ]
        return call.with_changes(args=[*joined, new[-1]])
    last = args[-1]
    comma = last.comma
    multiline = isinstance(comma, cst.Comma) and isinstance(
        comma.whitespace_after, cst.ParenthesizedWhitespace
    )
    if multiline and isinstance(comma, cst.Comma):
        # The comma after an inner argument carries the newline and the indentation.
        if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
            layout = args[-2].comma.whitespace_after
        else:
            layout = call.whitespace_before_args
        if not isinstance(layout, cst.ParenthesizedWhitespace):
            layout = comma.whitespace_after
        assert isinstance(layout, cst.ParenthesizedWhitespace)
        assert isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace)
        inner = cst.Comma(
            whitespace_after=layout.with_changes(
                first_line=cst.TrailingWhitespace(), empty_lines=[]
            )
        )
        # The last argument keeps its own comma (and trailing comment), then a new line.
        own = comma.with_changes(
            whitespace_after=layout.with_changes(
                first_line=comma.whitespace_after.first_line, empty_lines=[]
            )
        )
        final = comma.with_changes(
            whitespace_before=cst.SimpleWhitespace(""),
            whitespace_after=comma.whitespace_after.with_changes(
                first_line=cst.TrailingWhitespace()
            ),
        )
        ends = [*(a.with_changes(comma=inner) for a in new[:-1]), new[-1].with_changes(comma=final)]
        return call.with_changes(args=[*args[:-1], last.with_changes(comma=own), *ends])
    between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    tail = [a.with_changes(comma=between) for a in new[:-1]]
    end = new[-1].with_changes(comma=comma) if isinstance(comma, cst.Comma) else new[-1]
    return call.with_changes(args=[*args[:-1], last.with_changes(comma=between), *tail, end])


def _with_hub_alias(node: cst.ImportFrom, at: int) -> cst.ImportFrom:
    """``node`` with ``SocketHub`` inserted before its ``at``-th name, laid out like the
    comma before it (one name per line stays one per line), comments left in place."""
    names = list(cast(Sequence[cst.ImportAlias], node.names))
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    previous = names[at - 1].comma if at > 0 else None
    if isinstance(previous, cst.Comma):
        after = previous.whitespace_after
        if isinstance(after, cst.ParenthesizedWhitespace):
            after = after.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
        comma = previous.with_changes(whitespace_after=after)
    elif at == 0 and isinstance(node.lpar, cst.LeftParen):
        after = node.lpar.whitespace_after
        if isinstance(after, cst.ParenthesizedWhitespace):
            comma = cst.Comma(
                whitespace_after=after.with_changes(
                    first_line=cst.TrailingWhitespace(), empty_lines=[]
                )
            )
    hub = cst.ImportAlias(name=cst.Name("SocketHub"), comma=comma)
    return node.with_changes(names=[*names[:at], hub, *names[at:]])


def _isort_key(alias: cst.ImportAlias) -> tuple[int, str]:
    name = alias.evaluated_name
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


_ADDED_NAMES = frozenset({"SocketHub", "EnvelopeProtocol"})


def _own_line_first(node: cst.ImportFrom, aliases: list[cst.ImportAlias]) -> cst.ImportFrom:
    """A name ``AddImportsVisitor`` put first, before a commented name, on a line of its
    own laid out like the next one (the comment stays with its name)."""
    if len(aliases) < 2 or aliases[0].evaluated_name not in _ADDED_NAMES:
        return node
    after = aliases[1].comma
    if not isinstance(after, cst.Comma) or not isinstance(
        after.whitespace_after, cst.ParenthesizedWhitespace
    ):
        return node
    layout = after.whitespace_after.with_changes(
        first_line=cst.TrailingWhitespace(), empty_lines=[]
    )
    first = aliases[0].with_changes(comma=cst.Comma(whitespace_after=layout))
    return node.with_changes(names=[first, *aliases[1:]])


def _sorted_import(node: cst.ImportFrom) -> cst.ImportFrom:
    names = node.names
    if isinstance(names, cst.ImportStar) or node.relative or node.module is None:
        return node
    if libcst.helpers.get_full_name_for_node(node.module) not in (
        "sockethub",
        "sockethub.websocket",
    ):
        return node
    aliases = list(names)
    if any("#" in cst.Module([]).code_for_node(a) for a in aliases):
        return _own_line_first(node, aliases)  # reordering would separate names and comments
    others = [a for a in aliases if a.evaluated_name not in _ADDED_NAMES]
    if len(others) == len(aliases) or others != sorted(others, key=_isort_key):
        return node
    ordered = sorted(aliases, key=_isort_key)
    if ordered == aliases:
        return node
    return node.with_changes(
        names=[a.with_changes(comma=aliases[i].comma) for i, a in enumerate(ordered)]
    )


def _sort_sockethub_imports(module: cst.Module) -> cst.Module:
    """``AddImportsVisitor`` puts ``SocketHub`` first; move it where isort/ruff would.

    Only top-level ``from sockethub import ...`` lines, and only when the other names
    were in order already.
    """
    body = list(module.body)
    changed = False
    for i, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        small = [_sorted_import(x) if isinstance(x, cst.ImportFrom) else x for x in stmt.body]
        if any(a is not b for a, b in zip(small, stmt.body, strict=True)):
            body[i] = stmt.with_changes(body=small)
            changed = True
    return module.with_changes(body=body) if changed else module


class MigrateManagedRoutesCommand(VisitorBasedCodemodCommand):
    """Convert sockethub 0.1 managed-mode routes into ``SocketHub``.

    Converts, for every ``WebSocketRoute`` constructed in the module (recognised by
    qualified name, so any import style or alias works) on which ``channel``,
    ``on_connect``, ``on_disconnect`` or ``handler`` is used anywhere in the module:

    - the constructor call into ``SocketHub(...)`` with the same arguments, and the
      ``WebSocketRoute`` annotations of that object (variables, attributes, factory
      return types, parameters) into ``SocketHub``; variable names never change;
    - the dummy ``handler``: a ``@route.handler`` function or ``route.handler(fn)``
      statement is removed, and so is the function when its body does nothing and
      nothing else refers to it; a handler body doing real work (0.1 never ran it) is
      kept with a TODO comment;
    - ``on_connect`` / ``on_disconnect`` hooks that received the handler's parameters
      as keyword arguments: the parameters are dropped from the signature and read
      from ``sock.path_params`` / ``sock.query_params`` with 0.1's conversion;
    - ``merge`` / ``include_subroutes`` of one managed route used nowhere else into a
      ``SocketHub`` at the path 0.1 served its copy at (a pathless route: the parent's
      own path, where the parent shadows it as in 0.1), added to ``parent.children``;
      into ``include`` when the merged routes have no hooks, no routes and no path of
      their own, are used elsewhere too and ``parent_prefix`` is unset, with a TODO:
      0.1 put such a route at its parent's own path, where the parent shadowed it (its
      channels were unreachable), while ``include`` serves its channels;
    - imports: ``SocketHub`` added, the ``WebSocketRoute`` import dropped once unused.

    Leaves alone: Starlette's ``WebSocketRoute``, low-level routes (``route.endpoint``),
    routes built in another module (a 0.1 ``handler``, or a hook taking keyword
    parameters, used here on such a route is flagged), and any route the command cannot
    migrate exactly (``sub``, a ``merge`` with a path or hooks involved, ``**kwargs`` or
    ``bool`` hook parameters, a handler or hook it cannot see). Such a route stays on
    the deprecated 0.1 API, which still runs, and every place that blocked it gets a
    ``# TODO(sockethub-migrate): ...`` comment saying why. Nothing is reformatted: the
    nodes it does not rewrite keep their bytes, comments included.
    """

    DESCRIPTION: str = "Rewrite sockethub 0.1 managed-mode WebSocketRoute code into SocketHub."
    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self._ref_replace: dict[cst.CSTNode, str] = {}
        self._remove_funcs: set[cst.FunctionDef] = set()
        self._remove_stmts: set[cst.Expr] = set()
        self._drop_decorators: set[cst.Decorator] = set()
        self._hook_rewrites: dict[cst.FunctionDef, _HookRewrite] = {}
        self._merge_calls: set[cst.Call] = set()
        self._hub_args: set[cst.Call] = set()
        self._isinstance_rewrites: dict[cst.Call, cst.BaseExpression] = {}
        self._handler_funcs: dict[cst.FunctionDef, str] = {}
        self._gone_refs: set[cst.CSTNode] = set()
        self._name_refs: dict[cst.ImportAlias, tuple[cst.ImportFrom, set[cst.CSTNode]]] = {}
        self._rename_aliases: set[cst.ImportAlias] = set()
        self._rename_modules: set[cst.ImportFrom] = set()
        self._hub_beside: dict[cst.ImportFrom, cst.ImportAlias] = {}
        self._on_path: set[cst.CSTNode] | None = None
        self._handler_hooks: dict[cst.FunctionDef, int] = {}
        self._sub_calls: dict[cst.Call, str] = {}
        self._sub_parents: dict[cst.Assign, cst.BaseExpression] = {}
        self._sub_sites: list[tuple[_SubSite, str, str]] = []
        self._ctor_paths: dict[cst.Call, str] = {}
        self._merge_children_of: dict[cst.Expr, tuple[cst.BaseExpression, cst.BaseExpression]] = {}
        self._todos: dict[cst.CSTNode, list[str]] = {}
        self._line_length = line_length_for(context.filename)
        self._tab_width = 4
        self._indents: list[str] = []
        # TODO lines of removed statements, for the statement that follows them.
        self._carried: dict[cst.CSTNode, list[cst.EmptyLine]] = {}
        self._parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self._facade_calls: set[cst.Call] = set()

    # ---- helpers ----
    def qnames(self, node: cst.CSTNode) -> set[str]:
        """Qualified names of a Name/Attribute, whatever the import style or alias.

        Asked of the scope directly (what QualifiedNameProvider does for every node),
        only for the few nodes that matter.
        """
        scope: Scope | None = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return set()
        return {q.name for q in scope.get_qualified_names_for(node)}

    def _statement_of(self, node: cst.CSTNode) -> cst.CSTNode:
        current: cst.CSTNode | None = node
        while current is not None and not isinstance(current, cst.BaseStatement):
            current = self._parents.get(current)
        return current if current is not None else node

    def _todo(self, node: cst.CSTNode, text: str, *, anchor: str) -> None:
        """Plan a TODO comment above ``node``'s statement, pointing to the MIGRATION.md
        section ``anchor`` (every anchor used is listed in :data:`TODO_ANCHORS`)."""
        assert anchor in TODO_ANCHORS, anchor
        notes = self._todos.setdefault(self._statement_of(node), [])
        text = f"{text} See MIGRATION.md#{anchor}."
        if text not in notes:
            notes.append(text)

    def _code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    # ---- planning ----
    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        analyzer = _Analyzer(self)
        tree.visit(analyzer)
        self._parents = analyzer.parents
        self._plan(analyzer)
        if not self._has_work():
            return tree  # nothing of ours here: skip the rewriting pass
        self._on_path = self._paths_to_targets()
        try:
            return super().transform_module_impl(tree)
        finally:
            self._on_path = None

    def _paths_to_targets(self) -> set[cst.CSTNode]:
        """Every node the rewrite changes, with all its ancestors: the rewriting pass
        descends only into these (most of a module is never visited twice)."""
        targets: list[cst.CSTNode] = [
            *self._ref_replace,
            *self._remove_funcs,
            *self._remove_stmts,
            *self._drop_decorators,
            *self._hook_rewrites,
            *self._merge_calls,
            *self._hub_args,
            *self._isinstance_rewrites,
            *self._todos,
            *self._rename_aliases,
            *self._rename_modules,
            *self._hub_beside,
            *self._handler_hooks,
            *self._sub_calls,
            *self._sub_parents,
            *self._merge_children_of,
        ]
        on_path: set[cst.CSTNode] = set()
        for node in targets:
            current: cst.CSTNode | None = node
            while current is not None and current not in on_path:
                on_path.add(current)
                current = self._parents.get(current)
        return on_path

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._on_path is not None and node not in self._on_path:
            return False  # nothing to change in there
        return super().on_visit(node)

    def _release(self, node: cst.CSTNode) -> None:
        """Schedule the imports that ``node`` (about to go) uses for removal if unused.

        What ``remove_unused_import_by_node`` does, resolved with the scope analysis we
        already have instead of a new visitor per node: the imports are then dropped by
        ``RemoveImportsVisitor`` only if nothing else still uses them.
        """
        names = _NameCollector()
        node.visit(names)
        for name in names.found:
            scope: Scope | None = self.get_metadata(ScopeProvider, name, None)
            if scope is None:
                continue
            for assignment in scope[name.value]:
                stmt = getattr(assignment, "node", None)
                if isinstance(stmt, cst.Import):
                    for alias in stmt.names:
                        local = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
                        if local == name.value:
                            self.remove_unused_import(
                                alias.evaluated_name, asname=alias.evaluated_alias
                            )
                elif isinstance(stmt, cst.ImportFrom) and not stmt.relative and stmt.module:
                    if isinstance(stmt.names, cst.ImportStar):
                        continue
                    module = libcst.helpers.get_full_name_for_node(stmt.module)
                    for alias in stmt.names:
                        if (alias.evaluated_alias or alias.evaluated_name) == name.value:
                            self.remove_unused_import(
                                module or "", alias.evaluated_name, alias.evaluated_alias
                            )

    def _has_work(self) -> bool:
        return bool(
            self._ref_replace
            or self._remove_funcs
            or self._remove_stmts
            or self._drop_decorators
            or self._hook_rewrites
            or self._merge_calls
            or self._rename_aliases
            or self._hub_beside
            or self._isinstance_rewrites
            or self._sub_calls
            or self._merge_children_of
            or self._handler_hooks
            or self._todos
        )

    def _plan(self, analyzer: _Analyzer) -> None:
        if not analyzer.imports_sockethub:
            return  # nothing here can be sockethub's: however 0.1-like, never touched
        groups = analyzer.groups()
        candidates: set[str] = set()
        blocked: set[str] = set()
        for key, group in groups.items():
            managed = bool(group.attrs(*_MANAGED))
            if group.hub_ctors:
                continue  # a SocketHub already (hand-written, or our own output)
            if group.ctors and managed and not group.attrs("endpoint"):
                candidates.add(key)
        self._plan_subs(groups, analyzer, candidates)
        for key in candidates:
            if not self._check_group(groups[key], analyzer):
                blocked.add(key)
        self._settle_subs(groups, candidates, blocked)
        self._plan_merges(groups, analyzer, candidates, blocked)
        for key in candidates - blocked:
            self._convert_group(groups[key], analyzer)
        self._finish_handlers()
        self._plan_internals(groups, candidates - blocked, analyzer)
        helped = self._flag_helper_setups(groups, analyzer, candidates)
        # Annotations of route objects that are used in managed mode here but built
        # elsewhere (parameters, for instance) follow the object.
        for key, group in groups.items():
            if key in blocked or group.attrs("endpoint") or group.ctors or group.hub_ctors:
                continue
            if key in helped:
                continue  # a parameter receiving a route of this module that stays on 0.1
            if group.attrs(*_MANAGED):
                for ref in group.annotations:
                    self._replace_ref(ref)
                self._flag_foreign_route(group, analyzer)
        self._finish_imports()

    def _flag_helper_setups(
        self, groups: dict[str, _Group], analyzer: _Analyzer, candidates: set[str]
    ) -> set[str]:
        """Flag a route built here whose only managed uses are inside a helper function
        it is passed to (``setup(route)`` with ``def setup(r): r.channel(...)``).

        This command does not follow a route into a function's parameter, so such a
        route stays a 0.1 ``WebSocketRoute``; without a TODO it would do so silently.
        Returns the groups of the parameters involved (their annotations must stay).
        """
        helped: set[str] = set()
        route_keys = {
            key
            for key, group in groups.items()
            if group.ctors
            and not group.hub_ctors
            and key not in candidates
            and not group.attrs(*_MANAGED, "endpoint")
        }
        if not route_keys:
            return helped
        for call in analyzer.arg_calls:
            passed = [
                (i, arg)
                for i, arg in enumerate(call.args)
                if not arg.star
                and (handle := analyzer.expr_handle(arg.value)) is not None
                and analyzer.uf.find(handle) in route_keys
            ]
            if not passed:
                continue
            funcs = self._callees(call, analyzer)
            if not funcs:
                self._flag_passed_away(call, passed, groups, analyzer)
                continue
            for func, skip in funcs:
                for i, arg in passed:
                    param = self._receiving_param(call, func, skip, i, arg, groups, analyzer)
                    if param is None:
                        continue
                    helped.add(analyzer.uf.find(analyzer.name_key(param.name)))
                    route = self._code(arg.value)
                    self._todo(
                        call,
                        f"`{route}` is set up in managed mode only inside `{func.name.value}` "
                        f"(as its parameter `{param.name.value}`), which this tool does not "
                        f"follow; `{route}` stays a deprecated 0.1 WebSocketRoute. Make it a "
                        "SocketHub by hand.",
                        anchor="a-route-set-up-by-a-helper-function",
                    )
        return helped

    @staticmethod
    def _callees(call: cst.Call, analyzer: _Analyzer) -> list[tuple[cst.FunctionDef, int]]:
        """The functions of this module ``call`` may run, each with the number of leading
        parameters the call does not fill (1 for ``self`` in ``obj.method(...)``)."""
        func = call.func
        if isinstance(func, cst.Name):
            local = analyzer.functions.get(analyzer.name_key(func))
            return [] if local is None else [(local, 0)]
        assert isinstance(func, cst.Attribute)
        found = []
        for method in analyzer.methods.get(func.attr.value, []):
            static = any(
                isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
                for d in method.decorators
            )
            found.append((method, 0 if static else 1))
        return found

    @staticmethod
    def _receiving_param(
        call: cst.Call,
        func: cst.FunctionDef,
        skip: int,
        index: int,
        arg: cst.Arg,
        groups: dict[str, _Group],
        analyzer: _Analyzer,
    ) -> cst.Param | None:
        """The parameter of ``func`` that receives ``arg`` and is used in managed mode
        there (None if there is none).  After a ``*args`` the position is unknown: any
        positional parameter used in managed mode then counts."""
        params = func.params
        positional = [*params.posonly_params, *params.params][skip:]
        if arg.keyword is not None:
            by_keyword = {p.name.value: p for p in (*params.params, *params.kwonly_params)}
            options = [by_keyword[arg.keyword.value]] if arg.keyword.value in by_keyword else []
        elif any(a.star for a in call.args[:index]):
            options = positional
        else:
            options = positional[index : index + 1]
        for param in options:
            group = groups.get(analyzer.uf.find(analyzer.name_key(param.name)))
            if group is None or group.ctors or group.hub_ctors:
                continue
            if group.attrs(*_MANAGED) and not group.attrs("endpoint"):
                return param
        return None

    def _flag_passed_away(
        self,
        call: cst.Call,
        passed: list[tuple[int, cst.Arg]],
        groups: dict[str, _Group],
        analyzer: _Analyzer,
    ) -> None:
        """Flag a route built here with no use of its own, passed to a function of
        another module (``helpers.setup(route)``): that function sets it up, and this
        tool, seeing one module at a time, cannot tell how.  Hosting a route (a routes
        list, Starlette's and FastAPI's own calls, sockethub's) is not setting it up."""
        func = call.func
        name = func.attr.value if isinstance(func, cst.Attribute) else cast(cst.Name, func).value
        if name in _HOSTING_METHODS or not self._defined_elsewhere(func):
            return
        for _, arg in passed:
            group = groups[analyzer.uf.find(cast(str, analyzer.expr_handle(arg.value)))]
            if group.uses:
                continue  # composed or inspected here: handled where those uses are
            route = self._code(arg.value)
            self._todo(
                call,
                f"`{route}` has no handler or hooks in this module and is passed to "
                f"`{self._code(func)}`, which this tool does not follow. If that sets it up "
                f"in managed mode (channel, hooks, handler), make `{route}` a SocketHub by "
                "hand; a low-level route (`endpoint`) needs nothing.",
                anchor="a-route-set-up-by-a-helper-function",
            )

    def _defined_elsewhere(self, func: cst.BaseExpression) -> bool:
        """True if ``func`` is imported from a third-party or first-party module, or is a
        method ``self``/``cls``/``super()`` inherits from a class of another module (no
        method of that name here).  The standard library, Starlette, FastAPI and
        sockethub itself do not set routes up."""
        root = func
        while isinstance(root, cst.Attribute):
            root = root.value
        if isinstance(root, cst.Name) and root.value in ("self", "cls"):
            return True  # a method of this module would have been found
        if isinstance(root, cst.Call) and isinstance(root.func, cst.Name):
            return root.func.value == "super"
        scope: Scope | None = self.get_metadata(ScopeProvider, func, None)
        if scope is None:
            return False
        for qname in scope.get_qualified_names_for(func):
            top = qname.name.split(".", 1)[0]
            if qname.source is QualifiedNameSource.IMPORT and not (
                top in _HOSTING_MODULES or top in sys.stdlib_module_names
            ):
                return True
        return False

    def _flag_foreign_route(self, group: _Group, analyzer: _Analyzer) -> None:
        """Flag 0.1-only uses of a route built in another module (or passed in).

        This command sees one module at a time, so it cannot convert such a route; but
        a ``handler`` (SocketHub has none) or a hook taking keyword parameters (the hub
        calls hooks with ``(sock)`` only) breaks once the route becomes a SocketHub
        wherever it is built: say so rather than leave it to fail at run time.
        """
        label = self._route_label(group)
        # `.handler` and `.on_connect` are common names: act only on 0.1's shapes (an
        # async handler function; a hook whose socket parameter is annotated ISocket) or
        # on an object annotated as a sockethub WebSocketRoute.
        typed = bool(group.annotations)
        handlers = [u for u in group.attrs("handler") if typed or self._async_handler(u, analyzer)]
        for use in handlers:
            self._todo(
                use.node,
                f"`{label}` is not built in this module, so this tool cannot tell whether "
                f"it is a 0.1 WebSocketRoute. Once it is a SocketHub, delete this handler "
                "(SocketHub has none) and declare its parameters on the hooks, with its "
                "annotations and defaults.",
                anchor="routes-built-in-another-module",
            )
        for use in group.attrs(*_HOOKS):
            hook = self._hook_function(use, analyzer)
            if hook is None:
                continue
            params = hook.params
            positional = [*params.posonly_params, *params.params]
            if not (typed or handlers or (positional and self._is_socket_param(positional[0]))):
                continue
            rest = positional[1:] + list(params.kwonly_params)
            required = [p.name.value for p in rest if p.default is None]
            star = isinstance(params.star_kwarg, cst.Param)
            if required or star or (handlers and rest):
                self._todo(
                    hook,
                    f"`{hook.name.value}` takes keyword parameters, which 0.1 filled from "
                    f"the handler's signature; a SocketHub fills them by the hook's own "
                    f"annotations. `{label}` is built in another module: when it becomes a "
                    "SocketHub, give each the handler's annotation and default here.",
                    anchor="routes-built-in-another-module",
                )

    def _route_label(self, group: _Group) -> str:
        for use in group.uses:
            return self._code(use.node.value)
        return "this route"

    def _path_params(self, group: _Group) -> dict[str, str] | None:
        """Path parameter name -> the type Starlette puts in path_params; None: unknown."""
        paths: set[str] = set()
        for call in group.ctors:
            path: str | None = ""
            for i, arg in enumerate(call.args):
                if (arg.keyword is None and i == 0 and arg.star == "") or (
                    arg.keyword is not None and arg.keyword.value == "path"
                ):
                    path = _literal_str(arg.value)
                elif arg.star:
                    path = None
            if path is None:
                return None
            paths.add(path)
        if len(paths) != 1:
            return None
        return {name: conv or "str" for name, conv in _PATH_PARAM.findall(paths.pop())}

    def _handler_signature(
        self, group: _Group, analyzer: _Analyzer
    ) -> tuple[list[_HandlerParam] | None, cst.FunctionDef | None]:
        """The handler's injected parameters (None: cannot be seen) and its function."""
        handlers = group.attrs("handler")
        if not handlers:
            return [], None
        use = handlers[0]
        func: cst.FunctionDef | None = None
        params: cst.Parameters | None = None
        if use.kind == "decorator":
            func = use.decorated
        elif use.call is not None and len(use.call.args) == 1:
            arg = use.call.args[0].value
            if isinstance(arg, cst.Name):
                func = analyzer.functions.get(analyzer.name_key(arg))
            elif isinstance(arg, cst.Lambda):
                params = arg.params
        if func is not None:
            params = func.params
        if params is None:
            return None, None
        result: list[_HandlerParam] = []
        for p in (*params.posonly_params, *params.params, *params.kwonly_params):
            ann: str | None = None
            optional = False
            if p.annotation is not None:
                node, optional = self._unwrap_optional(p.annotation.annotation)
                names = self.qnames(node)
                if names & _SOCKET_QNAMES:
                    continue
                builtin = {n.removeprefix("builtins.") for n in names} & _SCALARS
                ann = builtin.pop() if len(builtin) == 1 else "other"
            result.append(_HandlerParam(p.name.value, ann, p.default, optional, p))
        return result, func

    def _unwrap_optional(self, node: cst.BaseExpression) -> tuple[cst.BaseExpression, bool]:
        """``X | None``, ``Optional[X]``, ``Union[X, None]`` -> (X, True); else (node, False)."""

        def is_none(n: cst.BaseExpression) -> bool:
            return isinstance(n, cst.Name) and n.value == "None"

        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            if is_none(node.right):
                return node.left, True
            if is_none(node.left):
                return node.right, True
        if isinstance(node, cst.Subscript):
            names = self.qnames(node.value)
            items = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
            if "typing.Optional" in names and len(items) == 1:
                return items[0], True
            if "typing.Union" in names and len(items) == 2 and any(map(is_none, items)):
                return next(i for i in items if not is_none(i)), True
        return node, False

    def _check_group(self, group: _Group, analyzer: _Analyzer) -> bool:
        """Decide whether a managed route can be converted exactly; add TODOs if not."""
        label = self._route_label(group)
        ok = True
        for use in group.attrs("sub"):
            if use.call is not None and use.call in self._sub_calls:
                continue  # its child becomes a SocketHub served under this route
            self._todo(
                use.node,
                f"`{label}.sub(...)` makes child routes, which SocketHub does not have; "
                f"`{label}` stays a deprecated 0.1 WebSocketRoute until you split it into "
                "separate SocketHub routes by hand.",
                anchor="sub-and-merge-trees",
            )
            ok = False
        handlers = group.attrs("handler")
        if len(handlers) > 1:
            self._todo(
                handlers[1].node,
                "a second handler for one route (0.1 refuses this).",
                anchor="handlers-and-hooks-used-unusually",
            )
            ok = False
        for use in handlers:
            plain_call = use.kind == "stmt_call" and use.call is not None
            if plain_call and use.call is not None:
                plain_call = len(use.call.args) == 1 and use.call.args[0].keyword is None
            if use.kind != "decorator" and not plain_call:
                self._todo(
                    use.node,
                    f"`{label}.handler` is used in a way this tool cannot remove safely; "
                    f"`{label}` stays a deprecated 0.1 WebSocketRoute. SocketHub has no "
                    "handler: delete it and replace the route by SocketHub by hand.",
                    anchor="handlers-and-hooks-used-unusually",
                )
                ok = False
        for use in group.attrs(*_HOOKS):
            if use.kind not in ("decorator", "stmt_call", "call"):
                self._todo(
                    use.node,
                    f"`{label}.{use.attr}` is used in a way this tool cannot follow; "
                    f"`{label}` stays a deprecated 0.1 WebSocketRoute.",
                    anchor="handlers-and-hooks-used-unusually",
                )
                ok = False
        if not ok:
            return False
        signature, _ = self._handler_signature(group, analyzer)
        path_params = self._path_params(group)
        for use in group.attrs(*_HOOKS):
            hook = self._hook_function(use, analyzer)
            reason = self._plan_hook(use, hook, signature, path_params, dry_run=True)
            if reason is not None:
                self._todo(
                    hook if hook is not None else use.node,
                    f"{reason}; `{label}` stays a deprecated 0.1 WebSocketRoute until this "
                    "hook declares the handler's parameters itself.",
                    anchor="hook-parameters",
                )
                ok = False
        return ok

    def _async_handler(self, use: _Use, analyzer: _Analyzer) -> bool:
        func = self._hook_function(use, analyzer)
        return func is not None and func.asynchronous is not None

    def _is_socket_param(self, param: cst.Param) -> bool:
        if param.annotation is None:
            return False
        return bool(self.qnames(param.annotation.annotation) & _SOCKET_QNAMES)

    def _hook_function(self, use: _Use, analyzer: _Analyzer) -> cst.FunctionDef | None:
        if use.kind == "decorator":
            return use.decorated
        if use.call is not None and len(use.call.args) == 1:
            arg = use.call.args[0].value
            if isinstance(arg, cst.Name):
                return analyzer.functions.get(analyzer.name_key(arg))
        return None

    def _plan_hook(
        self,
        use: _Use,
        hook: cst.FunctionDef | None,
        signature: list[_HandlerParam] | None,
        path_params: dict[str, str] | None,
        *,
        dry_run: bool,
        declare: Sequence[str] = (),
    ) -> str | None:
        """Plan the rewrite of one hook; return why it cannot be done, or None.

        0.1 called ``hook(sock, **handler_params)``. A hub hook declares its connection
        parameters itself (parsed and validated before the handshake, as the handler's
        were), so each handler parameter the hook names gets the handler's annotation and
        default; one it receives through ``**kw`` and reads is declared too and put back
        into ``kw``; ``declare`` names parameters this hook must declare so that the hub
        still validates them (no other hook does).
        """
        if signature == [] and (hook is None or not _defaulted_extras(hook, set())):
            return None  # 0.1 passed no keyword arguments: nothing to do
        if hook is None:
            return f"the `{use.attr}` hook is not a function defined in this module"
        params = hook.params
        positional = [*params.posonly_params, *params.params]
        if not positional:
            return f"`{hook.name.value}` takes no socket parameter"
        if signature is None:
            if len(positional) > 1 or params.kwonly_params or params.star_kwarg is not None:
                return (
                    f"`{hook.name.value}` takes keyword parameters from a handler this tool "
                    "cannot see"
                )
            return None
        by_name = {p.name: p for p in signature}
        if any(p.name.value in by_name for p in params.posonly_params[1:]):
            return f"`{hook.name.value}` has positional-only parameters"
        if dry_run:
            return None
        named = {p.name.value for p in (*positional[1:], *params.kwonly_params)}
        star = params.star_kwarg if isinstance(params.star_kwarg, cst.Param) else None
        kw_read = star is not None and self._param_used(star)
        wanted = [
            hp
            for hp in signature
            if hp.name in named or hp.name in declare or (kw_read and hp.name not in named)
        ]
        # Names now bound by the signature that the body reads from the ** mapping.
        into_kw = [hp.name for hp in wanted if hp.name not in named] if kw_read else []
        hook_params = {p.name.value: p for p in (*positional[1:], *params.kwonly_params)}

        def same(hp: _HandlerParam) -> bool:
            if hp.name not in hook_params:
                return False
            mine, theirs = hook_params[hp.name], cast(cst.Param, hp.param)
            return _same_node(mine.annotation, theirs.annotation) and _same_node(
                mine.default, theirs.default
            )

        # A parameter the handler did not declare was never passed by 0.1: it always had
        # its default. On a hub it would be read from the query, so it becomes a local.
        fixed = _defaulted_extras(hook, set(by_name))
        if not into_kw and not fixed and all(same(hp) for hp in wanted):
            return None  # it already declares them as the handler did: nothing to change
        own = [p for p in positional[1:] if p.name.value not in by_name and p not in fixed]
        kwonly = [p for p in params.kwonly_params if p.name.value not in by_name and p not in fixed]
        declared = [
            cast(cst.Param, hp.param).with_changes(comma=cst.MaybeSentinel.DEFAULT) for hp in wanted
        ]
        star_arg = params.star_arg
        if isinstance(star_arg, cst.ParamStar) and not kwonly:
            star_arg = cst.MaybeSentinel.DEFAULT  # a bare `*` needs a keyword-only parameter
        new = cst.Parameters(
            params=[
                positional[0].with_changes(comma=cst.MaybeSentinel.DEFAULT),
                *declared,
                *(p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in own),
            ],
            star_arg=star_arg,
            kwonly_params=[p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in kwonly],
            star_kwarg=star.with_changes(comma=cst.MaybeSentinel.DEFAULT) if star else None,
        )
        if isinstance(new.star_arg, cst.Param | cst.ParamStar):
            new = new.with_changes(
                star_arg=new.star_arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
            )
        prologue = [
            f"{p.name.value} = {self._code(cast(cst.BaseExpression, p.default))}"
            for p in fixed
            if self._param_used(p)
        ]
        if star:
            prologue += [f'{star.name.value}["{name}"] = {name}' for name in into_kw]
        if new.deep_equals(params) and not prologue:
            return None
        self._hook_rewrites[hook] = _HookRewrite(params=self._fit(hook, new), prologue=prologue)
        return None

    def _fit(self, hook: cst.FunctionDef, params: cst.Parameters) -> cst.Parameters:
        """``params`` on one line if the ``def`` line then fits the file's line length,
        else one parameter per line with a trailing comma (as black and ruff lay it out)."""
        header = hook.with_changes(
            params=params, decorators=[], leading_lines=[], body=cst.SimpleStatementSuite([])
        )
        depth = self._depth(hook)
        first = self.module.code_for_node(header).splitlines()[0].rstrip()
        unit = self.module.default_indent
        first = first.removesuffix("pass").rstrip()  # the empty suite prints as `: pass`
        width = len((unit * depth).expandtabs(self._tab_width)) + len(first)
        if width <= self._line_length:
            return params

        def line(extra: str) -> cst.ParenthesizedWhitespace:
            return cst.ParenthesizedWhitespace(
                first_line=cst.TrailingWhitespace(),
                indent=True,
                last_line=cst.SimpleWhitespace(extra),
            )

        elements = _param_elements(params)
        laid = {
            id(e): e.with_changes(
                comma=cst.Comma(whitespace_after=line(unit if e is not elements[-1] else ""))
            )
            for e in elements
        }

        def put(e: Any) -> Any:
            return laid.get(id(e), e)

        return params.with_changes(
            params=[put(p) for p in params.params],
            star_arg=put(params.star_arg),
            kwonly_params=[put(p) for p in params.kwonly_params],
            star_kwarg=put(params.star_kwarg) if params.star_kwarg is not None else None,
        )

    def _depth(self, node: cst.CSTNode) -> int:
        depth = 0
        current = self._parents.get(node)
        while current is not None:
            if isinstance(current, cst.IndentedBlock):
                depth += 1
            current = self._parents.get(current)
        return depth

    def _handler_becomes_hook(
        self, group: _Group, handler: cst.FunctionDef | None, label: str
    ) -> None:
        """No hook declares the handler's parameters, yet 0.1 validated them before the
        handshake: a do-nothing ``@route.handler`` becomes an ``@route.on_connect`` hook
        taking the socket and those parameters; anything else is flagged."""
        uses = group.attrs("handler")
        use = uses[0] if uses else None
        if (
            use is not None
            and use.kind == "decorator"
            and use.decorator is not None
            and handler is not None
            and _body_does_nothing(handler.body)
        ):
            self._handler_hooks[handler] = handler.decorators.index(use.decorator)
            return
        self._todo(
            use.node if use is not None else group.ctors[0],
            f"0.1 refused connections to `{label}` whose handler parameters were missing or "
            "did not convert, before the handshake; declare them on an on_connect hook "
            "(`async def on_connect(sock, name: str)`) to keep that.",
            anchor="hook-parameters",
        )

    @staticmethod
    def _as_connect_hook(func: cst.FunctionDef, at: int) -> cst.FunctionDef:
        decorators = list(func.decorators)
        decorator = decorators[at]
        if isinstance(decorator.decorator, cst.Attribute):
            decorators[at] = decorator.with_changes(
                decorator=decorator.decorator.with_changes(attr=cst.Name("on_connect"))
            )
        params = func.params
        sock = cst.Param(name=cst.Name("sock"))
        new_params = params.with_changes(
            params=[
                sock,
                *(p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in params.params),
            ],
            posonly_params=[],
        )
        return func.with_changes(decorators=decorators, params=new_params)

    def _declared_by_hooks(
        self, group: _Group, analyzer: _Analyzer, signature: list[_HandlerParam]
    ) -> tuple[set[str], cst.FunctionDef | None]:
        """Handler parameters some hook will declare, and the hook to declare the rest."""
        names = {hp.name for hp in signature}
        declared: set[str] = set()
        target: cst.FunctionDef | None = None
        for attr in ("on_connect", "on_disconnect"):
            for use in group.attrs(attr):
                hook = self._hook_function(use, analyzer)
                if hook is None:
                    continue
                target = target or hook
                params = hook.params
                declared |= {
                    p.name.value for p in (*params.params[1:], *params.kwonly_params)
                } & names
                star = params.star_kwarg
                if isinstance(star, cst.Param) and self._param_used(star):
                    declared |= names
        return declared, target

    def _param_used(self, param: cst.Param) -> bool:
        scope = self.get_metadata(ScopeProvider, param.name, None)
        if scope is None:
            return True
        return any(a.references for a in scope.assignments[param.name.value])

    @staticmethod
    def _path_expr(
        sock: str, name: str, convertor: str, annotation: str | None
    ) -> tuple[str, str | None]:
        # 0.1 (sockethub.params): a string path value is converted to the annotation
        # (no annotation means str); a value a convertor already typed is kept as-is for
        # `str`, else converted from its str().
        base = f'{sock}.path_params["{name}"]'
        have = _CONVERTOR_TYPES.get(convertor)
        if annotation in (None, "str", have):
            return base, None
        if have == "str" and annotation in ("int", "float"):
            return f"{annotation}({base})", None
        if have == "int" and annotation == "float":
            return f"float({base})", None
        return base, (
            f"0.1 converted the {{{name}:{convertor}}} path value to `{annotation}` by its "
            "own rules; write that conversion by hand"
        )

    def _query_expr(self, sock: str, hp: _HandlerParam) -> tuple[str, str | None]:
        name, ann = hp.name, hp.annotation
        lookup = f'{sock}.query_params["{name}"]'
        default = None if hp.default is None else self._code(hp.default)
        if default is None and hp.optional:
            default = "None"
        if ann in (None, "str"):
            if default is None:
                return lookup, None
            return f'{sock}.query_params.get("{name}", {default})', None
        if ann in ("int", "float"):
            if default is None:
                return f"{ann}({lookup})", None
            return f'{ann}({lookup}) if "{name}" in {sock}.query_params else {default}', None
        return lookup, (
            f"0.1 converted the query value to `{ann}` by its own rules; "
            "write that conversion by hand"
        )

    def _plan_merges(
        self,
        groups: dict[str, _Group],
        analyzer: _Analyzer,
        candidates: set[str],
        blocked: set[str],
    ) -> None:
        sites: list[tuple[str, _Use]] = [
            (key, use) for key, group in groups.items() for use in group.attrs(*_COMPOSE)
        ]
        sites = [
            (key, use)
            for key, use in sites
            if not self._merge_as_child(key, use, groups, analyzer, candidates, blocked)
        ]
        # Children merged into something are candidates only if their merge converts.
        changed = True
        while changed:
            changed = False
            for parent_key, use in sites:
                children = self._merge_children(use, analyzer)
                if parent_key not in candidates and not any(k in candidates for k in children):
                    continue  # someone else's merge (dicts, URLs, ...): none of our business
                reason = self._merge_problem(parent_key, use, children, groups, candidates)
                if reason is None and (
                    parent_key in blocked or any(k in blocked for k in children if k)
                ):
                    reason = "a route involved in it cannot be migrated (see its TODO)"
                if reason is None:
                    continue
                involved = {parent_key, *(k for k in children if k)} & candidates
                if not involved <= blocked:
                    blocked |= involved
                    changed = True
                label = self._route_label(groups[parent_key])
                self._todo(
                    use.node,
                    f"not converted to `{label}.include(...)`: {reason}. In 0.1 `{use.attr}` "
                    "copied whole routes (own paths and hooks; parent_prefix was removed from "
                    "their paths); "
                    "SocketHub.include(*hubs, parent_prefix=...) copies only channels onto "
                    "this connection with a topic prefix. Migrate these routes by hand "
                    "(Starlette's Mount(prefix, routes=[hub]) serves a hub under a path prefix).",
                    anchor="sub-and-merge-trees",
                )
        for parent_key, use in sites:
            if parent_key not in candidates - blocked or use.call is None:
                continue
            label = self._route_label(groups[parent_key])
            shadowed = (
                f"In 0.1 a route merged at `{label}`'s own path was a separate route that "
                f"`{label}` shadowed, so its channels were unreachable"
            )
            if use.kind == "stmt_call" and use.stmt is not None:
                # Unreachable in 0.1, so nothing on the hub: the line goes, the note stays.
                self._remove_stmts.add(use.stmt)
                args = ", ".join(self._code(a.value) for a in use.call.args if a.keyword is None)
                self._todo(
                    use.node,
                    f"`{self._code(use.call)}` was removed. {shadowed}; the hub serves "
                    f"nothing in its place either. To serve them on `{label}`'s connections, "
                    f"write `{label}.include({args})`.",
                    anchor="a-merge-at-the-parents-own-path",
                )
                continue
            self._merge_calls.add(use.call)
            self._todo(
                use.node,
                f"`{use.attr}` became `include`. {shadowed}; now they are served on this "
                "connection. Keep this line if that is what you meant, else delete it.",
                anchor="a-merge-at-the-parents-own-path",
            )

    def _merge_as_child(
        self,
        parent_key: str,
        use: _Use,
        groups: dict[str, _Group],
        analyzer: _Analyzer,
        candidates: set[str],
        blocked: set[str],
    ) -> bool:
        """``parent.merge(route[, parent_prefix=P])`` of one managed route used nowhere
        else: ``route`` becomes a SocketHub at the path 0.1 served the copy at (the
        parent's own path for a route without one), added to ``parent.children``. True if
        planned so."""
        call = use.call
        if use.kind != "stmt_call" or call is None or use.stmt is None:
            return False
        positional = [a for a in call.args if a.keyword is None]
        keywords = [a for a in call.args if a.keyword is not None]
        if len(positional) != 1 or positional[0].star or len(keywords) > 1:
            return False
        prefix = ""
        if keywords:
            if keywords[0].keyword is None or keywords[0].keyword.value != "parent_prefix":
                return False
            value = keywords[0].value
            if isinstance(value, cst.Name) and value.value == "None":
                prefix = ""
            else:
                literal = _literal_str(value)
                if literal is None:
                    return False
                prefix = literal
        arg = positional[0].value
        if not isinstance(arg, cst.Name):
            return False
        handle = analyzer.expr_handle(arg)
        if handle is None:
            return False
        key = analyzer.uf.find(handle)
        child, parent = groups.get(key), groups.get(parent_key)
        if child is None or parent is None or key not in candidates or key in blocked:
            return False
        if len(child.ctors) != 1 or child.ctors[0] in self._sub_calls:
            return False
        if child.attrs("sub", *_COMPOSE, *_INTERNALS) or child.annotations:
            return False
        if parent.ctors and parent.ctors[0] in self._sub_calls:
            parent_path: str | None = self._sub_calls[parent.ctors[0]]
        else:
            parent_path = self._path_literal(parent) if len(parent.ctors) == 1 else None
        child_path = self._path_literal(child)
        if parent_path is None or child_path is None:
            return False
        if not self._only_registered_and_merged(arg, child):
            return False  # served elsewhere too: 0.1 copied it, one hub cannot be two
        try:
            own = _normalise_path(child_path)
            # 0.1 put a copy of a route with no path of its own at the parent's path.
            parent_at = _normalise_path(parent_path)
            path = _join_paths(parent_at, own.removeprefix(prefix)) if own else parent_at
        except ValueError:
            return False
        if not path.startswith("/"):
            return False
        self._ctor_paths[child.ctors[0]] = path
        self._merge_children_of[use.stmt] = (use.node.value, arg)
        return True

    def _only_registered_and_merged(self, arg: cst.Name, group: _Group) -> bool:
        """Every reference to the route's name is a registration call on it, or ``arg``."""
        scope: Scope | None = self.get_metadata(ScopeProvider, arg, None)
        if scope is None:
            return False
        uses = {u.node.value for u in group.uses}
        for assignment in scope[arg.value]:
            for access in assignment.references:
                if access.node is not arg and access.node not in uses:
                    return False
        return True

    def _merge_children(self, use: _Use, analyzer: _Analyzer) -> list[str | None]:
        if use.call is None:
            return []
        children: list[str | None] = []
        for arg in use.call.args:
            if arg.keyword is not None:
                continue
            handle = None if arg.star else analyzer.expr_handle(arg.value)
            children.append(None if handle is None else analyzer.uf.find(handle))
        return children

    def _merge_problem(
        self,
        parent_key: str,
        use: _Use,
        children: list[str | None],
        groups: dict[str, _Group],
        candidates: set[str],
    ) -> str | None:
        if parent_key not in candidates:
            group = groups[parent_key]
            if group.attrs("endpoint") or not group.ctors:
                return "the parent is not a managed route built in this module"
            return "the parent is not a managed route"
        if use.kind != "stmt_call" or use.call is None:
            return "its result is used"
        for arg in use.call.args:
            if arg.keyword is not None:
                if arg.keyword.value != "parent_prefix":
                    return f"unknown argument `{arg.keyword.value}`"
                value = arg.value
                literal = _literal_str(value)
                is_none = isinstance(value, cst.Name) and value.value == "None"
                if not (is_none or literal == ""):
                    return "parent_prefix is removed from route paths in 0.1, not a topic prefix"
        if not children:
            return "nothing is merged"
        for key in children:
            if key is None or key not in candidates:
                return "a merged route is not a managed route built in this module"
            child = groups[key]
            if child.attrs(*_HOOKS):
                return "a merged route has its own on_connect/on_disconnect hooks"
            if child.attrs(*_COMPOSE, "sub"):
                return "a merged route has routes of its own"
            # 0.1 served a merged route at parent.path joined with route.path (minus
            # parent_prefix): only a route with no path of its own shares the parent's.
            if self._path_literal(child) != "":
                return "a merged route has a path of its own"
        return None

    def _path_literal(self, group: _Group) -> str | None:
        path_params = self._path_params(group)
        if path_params is None:
            return None
        call = group.ctors[0]
        for i, arg in enumerate(call.args):
            if (arg.keyword is None and i == 0) or (
                arg.keyword is not None and arg.keyword.value == "path"
            ):
                return _literal_str(arg.value)
        return ""

    def _convert_group(self, group: _Group, analyzer: _Analyzer) -> None:
        for call in group.ctors:
            if call in self._sub_calls:
                self.add_needed_import("sockethub", "SocketHub")
                continue  # rewritten whole in leave_Call
            self._replace_ref(call.func)
            self._hub_args.add(call)
            if any(arg.star == "**" for arg in call.args):
                self._todo(
                    call,
                    'pass ordering="connection", per_join_sockets=False, error_policy="raise", '
                    "protocol=EnvelopeProtocol() to this SocketHub (what the 0.1 facade ran "
                    "with) unless the ** mapping already holds them.",
                    anchor="facade-ordering",
                )
        for ref in group.annotations:
            self._replace_ref(ref)
        label = self._route_label(group)
        signature, handler_func = self._handler_signature(group, analyzer)
        path_params = self._path_params(group)
        declare: list[str] = []
        first_hook: cst.FunctionDef | None = None
        if signature:
            declared, first_hook = self._declared_by_hooks(group, analyzer, signature)
            declare = [hp.name for hp in signature if hp.name not in declared]
        for use in group.attrs(*_HOOKS):
            hook = self._hook_function(use, analyzer)
            self._plan_hook(
                use,
                hook,
                signature,
                path_params,
                dry_run=False,
                declare=declare if hook is first_hook else (),
            )
        if declare and first_hook is None:
            self._handler_becomes_hook(group, handler_func, label)
        for use in group.attrs("handler"):
            if use.decorated is not None and use.decorated in self._handler_hooks:
                continue  # it became the on_connect hook that declares the parameters
            if use.kind == "decorator" and use.decorator is not None:
                self._drop_decorators.add(use.decorator)
                self._release(use.decorator)
            elif use.stmt is not None and use.call is not None:
                self._remove_stmts.add(use.stmt)
                self._gone_refs.add(use.call.args[0].value)  # the call refers to the function
            else:  # pragma: no cover - excluded by _check_group
                continue
            if handler_func is not None:
                self._handler_funcs.setdefault(handler_func, label)

    def _finish_handlers(self) -> None:
        """Remove each handler function whose every use went with the routes migrated
        (one ``noop`` passed to several ``route.handler(noop)`` calls included)."""
        for func, label in self._handler_funcs.items():
            refs = self._reference_nodes(func)
            if refs is None or refs - self._gone_refs:
                continue  # still used elsewhere: keep it, only unregister it
            if _body_does_nothing(func.body):
                if all(d in self._drop_decorators for d in func.decorators):
                    self._remove_funcs.add(func)
                    self._release(func)
            else:
                self._todo(
                    func,
                    f"this was the 0.1 managed-mode handler of `{label}`; SocketHub needs "
                    "none and 0.1 never ran its body: move any logic into on_connect, then "
                    "delete it.",
                    anchor="handler-with-a-body",
                )

    def _plan_subs(
        self, groups: dict[str, _Group], analyzer: _Analyzer, candidates: set[str]
    ) -> None:
        """``child = parent.sub("x")`` with managed calls on ``child`` (and no routes of
        its own): the child becomes ``SocketHub(<the path 0.1 served>)`` added to the
        parent's children, so it is served at that path, inside the parent's middlewares,
        whatever the parent is. Other sub trees are flagged (in _check_group)."""
        for site in analyzer.subs:
            key = analyzer.uf.find(site.child)
            child = groups.get(key)
            parent = groups.get(analyzer.uf.find(site.parent))
            if child is None or parent is None or site.path is None:
                continue
            if child.ctors or child.hub_ctors or not child.attrs(*_MANAGED):
                continue
            if child.attrs("endpoint", *_COMPOSE):
                continue
            if parent.ctors and parent.ctors[0] in self._sub_calls:
                parent_path: str | None = self._sub_calls[parent.ctors[0]]  # nested sub
            else:
                parent_path = self._path_literal(parent) if parent.ctors else None
            if parent_path is None:
                continue
            try:
                path = _join_paths(_normalise_path(parent_path), _normalise_path(site.path))
            except ValueError:
                continue  # 0.1 refuses it too: leave it to fail the same way
            if not path.startswith("/"):
                continue
            self._sub_calls[site.call] = path
            self._sub_parents[site.assign] = site.call.func
            self._sub_sites.append((site, key, analyzer.uf.find(site.parent)))
            child.ctors.append(site.call)
            candidates.add(key)

    def _settle_subs(
        self, groups: dict[str, _Group], candidates: set[str], blocked: set[str]
    ) -> None:
        """A child that stays a 0.1 route keeps its ``parent.sub(...)``, so its parent
        must stay a 0.1 route too (a SocketHub has no ``sub``); repeat up the tree."""
        changed = True
        while changed:
            changed = False
            for site, child, parent in self._sub_sites:
                if site.call not in self._sub_calls or child not in blocked:
                    continue
                del self._sub_calls[site.call]
                del self._sub_parents[site.assign]
                changed = True
                if parent in candidates and parent not in blocked:
                    blocked.add(parent)
                    label = self._route_label(groups[parent])
                    self._todo(
                        site.call,
                        f"`{label}` stays a deprecated 0.1 WebSocketRoute: this child route "
                        "cannot be migrated (see its TODO) and needs `sub`.",
                        anchor="sub-and-merge-trees",
                    )

    def _plan_internals(
        self, groups: dict[str, _Group], converted: set[str], analyzer: _Analyzer
    ) -> None:
        """``isinstance(route.ws_endpoint, WSManagedEndpoint)`` on a migrated route becomes
        ``isinstance(route, SocketHub)``; other looks inside the facade are flagged."""
        for cls in analyzer.endpoint_subclasses:
            self._todo(
                cls,
                f"`{cls.name.value}` subclasses the 0.1 facade's WSManagedEndpoint, which 0.3 "
                "removes and SocketHub does not use; move its behaviour into SocketHub hooks "
                "or a route middleware.",
                anchor="facade-internals",
            )
        for key, group in groups.items():
            if group.hub_ctors:
                continue
            migrated = key in converted
            label = self._route_label(group)
            for use in group.attrs("ws_endpoint"):
                check = self._endpoint_isinstance(use)
                if check is not None and migrated:
                    self._isinstance_rewrites[check] = use.node.value
                    self.add_needed_import("sockethub", "SocketHub")
                    self._release(check.args[1].value)
                elif check is not None or migrated:
                    self._todo(
                        use.node,
                        f"`{label}.ws_endpoint` is the 0.1 facade's; a SocketHub has none "
                        f"(test `isinstance({label}, SocketHub)` instead).",
                        anchor="facade-internals",
                    )
            if migrated and group.attrs("sub", *_COMPOSE):
                for use in group.attrs("children"):
                    self._todo(
                        use.node,
                        f"`{label}.children` listed the routes that sub/merge made; the "
                        "migrated routes are separate hubs now.",
                        anchor="facade-internals",
                    )

    def _endpoint_isinstance(self, use: _Use) -> cst.Call | None:
        """The ``isinstance(<use>, WSManagedEndpoint)`` call ``use`` is the first argument of."""
        arg = self._parents.get(use.node)
        call = self._parents.get(arg) if isinstance(arg, cst.Arg) else None
        if not isinstance(call, cst.Call) or len(call.args) != 2 or call.args[0] is not arg:
            return None
        if "builtins.isinstance" not in self.qnames(call.func):
            return None
        if not self.qnames(call.args[1].value) & _ENDPOINT_QNAMES:
            return None
        return call

    def _reference_nodes(self, func: cst.FunctionDef) -> set[cst.CSTNode] | None:
        scope = self.get_metadata(ScopeProvider, func.name, None)
        if scope is None:
            return None
        nodes: set[cst.CSTNode] = set()
        for assignment in scope.assignments[func.name.value]:
            if getattr(assignment, "node", None) is func:
                nodes |= {access.node for access in assignment.references}
        return nodes

    def _replace_ref(self, node: cst.CSTNode) -> None:
        """Plan ``WebSocketRoute`` -> ``SocketHub`` for a Name or Attribute reference."""
        if node in self._ref_replace:
            return
        if isinstance(node, cst.Attribute):
            value = node.value
            if "sockethub" in self.qnames(value):
                self._ref_replace[node] = "attr"
                return
            if (
                isinstance(value, cst.Attribute)
                and value.attr.value == "websocket"
                and "sockethub" in self.qnames(value.value)
            ):
                self._ref_replace[node] = "attr.parent"
                return
        self._ref_replace[node] = "name"
        found = self._import_of(node) if isinstance(node, cst.Name) else None
        if found is not None:
            stmt, alias = found
            self._name_refs.setdefault(alias, (stmt, set()))[1].add(node)
            return  # decided in _finish_imports
        self._import_socket_hub(node)

    def _import_socket_hub(self, node: cst.CSTNode) -> None:
        self.add_needed_import("sockethub", "SocketHub")
        # Drops `from sockethub import WebSocketRoute [as X]` / `from sockethub import
        # websocket` once nothing else refers to them.
        self._release(node)

    def _import_of(self, name: cst.Name) -> tuple[cst.ImportFrom, cst.ImportAlias] | None:
        """The ``from sockethub... import WebSocketRoute [as name]`` that binds ``name``."""
        scope: Scope | None = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return None
        for assignment in scope[name.value]:
            stmt = getattr(assignment, "node", None)
            if not isinstance(stmt, cst.ImportFrom) or isinstance(stmt.names, cst.ImportStar):
                continue
            for alias in stmt.names:
                if (alias.evaluated_alias or alias.evaluated_name) == name.value:
                    return stmt, alias
        return None

    def _finish_imports(self) -> None:
        """Rename ``WebSocketRoute`` to ``SocketHub`` inside the import statement itself
        when every use of it was migrated: the statement keeps its layout and comments.
        Otherwise ``SocketHub`` is added and the old name dropped once unused."""
        renamed = False
        for alias, (stmt, replaced) in self._name_refs.items():
            module = libcst.helpers.get_full_name_for_node(stmt.module) if stmt.module else None
            names = stmt.names if not isinstance(stmt.names, cst.ImportStar) else ()
            ok = (
                not renamed and not stmt.relative and module in ("sockethub", "sockethub.websocket")
            )
            if module == "sockethub.websocket" and len(names) != 1:
                ok = False
            if ok:
                local = alias.evaluated_alias or alias.evaluated_name
                anchor = next(iter(replaced))
                scope: Scope | None = self.get_metadata(ScopeProvider, anchor, None)
                refs: set[cst.CSTNode] = set()
                if scope is None or scope["SocketHub"]:
                    ok = False  # SocketHub is bound already: add nothing, drop the old name
                else:
                    for assignment in scope[local]:
                        if getattr(assignment, "node", None) is stmt:
                            refs |= {access.node for access in assignment.references}
                ok = ok and refs <= replaced
            if ok:
                renamed = True
                self._rename_aliases.add(alias)
                if module == "sockethub.websocket":
                    self._rename_modules.add(stmt)
                continue
            if ok is False and not renamed and not stmt.relative and module == "sockethub":
                anchor = next(iter(replaced))
                scope = self.get_metadata(ScopeProvider, anchor, None)
                if scope is not None and not scope["SocketHub"]:
                    # The old name stays in use: add SocketHub next to it, in place.
                    renamed = True
                    self._hub_beside[stmt] = alias
                    for node in replaced:
                        self._release(node)
                    continue
            for node in replaced:
                self._import_socket_hub(node)

    def leave_ImportAlias(
        self, original_node: cst.ImportAlias, updated_node: cst.ImportAlias
    ) -> cst.ImportAlias:
        if original_node in self._rename_aliases:
            return updated_node.with_changes(name=cst.Name("SocketHub"), asname=None)
        return updated_node

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        if original_node in self._rename_modules:
            return updated_node.with_changes(module=cst.Name("sockethub"))
        beside = self._hub_beside.get(original_node)
        if beside is not None and not isinstance(original_node.names, cst.ImportStar):
            return _with_hub_alias(updated_node, list(original_node.names).index(beside))
        return updated_node

    def transform_module(self, tree: cst.Module) -> cst.Module:
        """Run the rewrite and libcst's import visitors, then keep sorted imports sorted.

        A module whose text never says ``sockethub`` cannot import anything from it, so
        no name in it can resolve to sockethub's ``WebSocketRoute``: it is returned
        as is, without the (costly) scope analysis.
        """
        if "sockethub" not in tree.code:
            return tree
        # What Codemod.transform_module does, minus its defensive deep copy of the tree
        # (a fifth of the run): the analysis and the rewrite only read the tree they get.
        wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
        outer = self.context.wrapper
        with self.resolve(wrapper):
            self.context = replace(self.context, wrapper=wrapper)
            try:
                result = self.transform_module_impl(wrapper.module)
            finally:
                self.context = replace(self.context, wrapper=outer)
        for key, visitor in (
            (AddImportsVisitor.CONTEXT_KEY, AddImportsVisitor),
            (RemoveImportsVisitor.CONTEXT_KEY, RemoveImportsVisitor),
        ):
            if key in self.context.scratch:
                result = visitor(self.context).transform_module(result)
        if result is tree:
            return result
        return _sort_sockethub_imports(result)

    # ---- rewriting ----
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        if self._ref_replace.get(original_node) == "name":
            return cst.Name("SocketHub")
        return updated_node

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        how = self._ref_replace.get(original_node)
        if how == "attr":
            return updated_node.with_changes(attr=cst.Name("SocketHub"))
        if how == "attr.parent" and isinstance(updated_node.value, cst.Attribute):
            return updated_node.with_changes(
                value=updated_node.value.value, attr=cst.Name("SocketHub")
            )
        if how == "name":
            return cst.Name("SocketHub")
        return updated_node

    def _facade_hub(self, call: cst.Call) -> cst.Call:
        """``call`` with :data:`FACADE_HUB_ARGS`, importing ``EnvelopeProtocol`` when the
        ``protocol=`` argument was written here."""
        # `sockethub.SocketHub(...)` gets `sockethub.EnvelopeProtocol()`: no new import.
        func = call.func
        qualified = isinstance(func, cst.Attribute) and func.attr.value == "SocketHub"
        envelope = "EnvelopeProtocol"
        if isinstance(func, cst.Attribute) and qualified:
            envelope = f"{self.module.code_for_node(func.value)}.EnvelopeProtocol"
        hub = _with_facade_args(call, envelope)
        if not qualified and _keywords(hub) - _keywords(call) >= {"protocol"}:
            self.add_needed_import("sockethub", "EnvelopeProtocol")
        if hub is not call:
            self._facade_calls.add(hub)
        return hub

    def _fit_facade_calls(self, stmt: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
        """``stmt`` with the one-line hub constructors it holds laid out one argument per
        line (with a trailing comma, as ruff and black keep it) when a line of it is
        longer than the file's line length."""
        if not self._facade_calls:
            return stmt
        indent = len("".join(self._indents).expandtabs(self._tab_width))
        lines = self.module.code_for_node(stmt).splitlines()
        if all(
            indent + len(line.expandtabs(self._tab_width)) <= self._line_length for line in lines
        ):
            return stmt
        fitted = stmt.visit(_ExplodeCalls(self._facade_calls, self.module.default_indent))
        assert isinstance(fitted, cst.SimpleStatementLine)
        return fitted

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node in self._hub_args:
            merged_path = self._ctor_paths.get(original_node)
            if merged_path is not None:
                updated_node = _with_path(updated_node, merged_path)
            return self._facade_hub(_with_normalised_path(updated_node))
        sub_path = self._sub_calls.get(original_node)
        if sub_path is not None:
            hub = cst.Call(
                func=cst.Name("SocketHub"),
                args=[cst.Arg(cst.SimpleString(json.dumps(sub_path)))],
            )
            return self._facade_hub(hub)
        route = self._isinstance_rewrites.get(original_node)
        if route is not None:
            first = updated_node.args[0]
            value = first.value
            if isinstance(value, cst.Attribute):
                value = value.value
            second = updated_node.args[1].with_changes(value=cst.Name("SocketHub"))
            return updated_node.with_changes(args=[first.with_changes(value=value), second])
        if original_node not in self._merge_calls or not isinstance(
            updated_node.func, cst.Attribute
        ):
            return updated_node
        args = list(updated_node.args)
        kept = [a for a in args if not (a.keyword and a.keyword.value == "parent_prefix")]
        if kept and len(kept) != len(args) and args[-1] is not kept[-1]:
            kept[-1] = kept[-1].with_changes(comma=args[-1].comma)
        return updated_node.with_changes(
            func=updated_node.func.with_changes(attr=cst.Name("include")), args=kept
        )

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        updated_node = self._fit_facade_calls(updated_node)
        for small in original_node.body:
            parent = self._sub_parents.get(small) if isinstance(small, cst.Assign) else None
            if parent is None or not isinstance(parent, cst.Attribute):
                continue
            assert isinstance(small, cst.Assign)
            target = self.module.code_for_node(small.targets[0].target)
            owner = self.module.code_for_node(parent.value)
            attach = cst.parse_statement(
                f"{owner}.children.append({target})  # 0.1's {owner}.sub(...)\n",
                config=self.module.config_for_parsing,
            )
            return cst.FlattenSentinel([updated_node, attach])
        return updated_node

    def leave_Expr(
        self, original_node: cst.Expr, updated_node: cst.Expr
    ) -> cst.BaseSmallStatement | cst.RemovalSentinel:
        merged = self._merge_children_of.get(original_node)
        if merged is not None:
            owner, child = (self.module.code_for_node(n) for n in merged)
            return cst.Expr(
                cst.parse_expression(
                    f"{owner}.children.append({child})", config=self.module.config_for_parsing
                )
            )
        if original_node in self._remove_stmts:
            return cst.RemovalSentinel.REMOVE
        return updated_node

    def leave_Decorator(
        self, original_node: cst.Decorator, updated_node: cst.Decorator
    ) -> cst.Decorator | cst.RemovalSentinel:
        if original_node in self._drop_decorators:
            return cst.RemovalSentinel.REMOVE
        return updated_node

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef | cst.RemovalSentinel:
        if original_node in self._remove_funcs:
            return cst.RemovalSentinel.REMOVE
        if original_node in self._handler_hooks:
            return self._as_connect_hook(updated_node, self._handler_hooks[original_node])
        rewrite = self._hook_rewrites.get(original_node)
        if rewrite is None:
            return updated_node
        updated_node = updated_node.with_changes(params=rewrite.params)
        elements = _param_elements(rewrite.params)
        first = elements[0].comma if elements else None
        if isinstance(first, cst.Comma) and isinstance(
            first.whitespace_after, cst.ParenthesizedWhitespace
        ):  # laid out one parameter per line by _fit
            updated_node = updated_node.with_changes(
                whitespace_before_params=first.whitespace_after
            )
        else:
            updated_node = updated_node.with_changes(
                whitespace_before_params=cst.SimpleWhitespace("")
            )
        if rewrite.prologue:
            config = self.module.config_for_parsing
            statements = [cst.parse_statement(line, config=config) for line in rewrite.prologue]
            updated_node = updated_node.with_changes(
                body=self._prepend(updated_node.body, statements)
            )
        return updated_node

    @staticmethod
    def _prepend(body: cst.BaseSuite, statements: Sequence[cst.BaseStatement]) -> cst.BaseSuite:
        if isinstance(body, cst.SimpleStatementSuite):
            return cst.IndentedBlock(
                body=[
                    *statements,
                    cst.SimpleStatementLine(
                        body=body.body, trailing_whitespace=body.trailing_whitespace
                    ),
                ]
            )
        assert isinstance(body, cst.IndentedBlock)
        existing = list(body.body)
        at = 1 if existing and _is_docstring(existing[0]) else 0
        return body.with_changes(body=[*existing[:at], *statements, *existing[at:]])

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool:
        self._indents.append(node.indent if node.indent is not None else self.module.default_indent)
        return True

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        self._indents.pop()
        kept = self._keep_spacing(original_node.body, updated_node.body)
        if original_node.body and not updated_node.body:
            comments = kept[1] if kept is not None else []
            return updated_node.with_changes(
                body=[cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=comments)]
            )
        if kept is None:
            return updated_node
        body, leftover = kept
        return updated_node.with_changes(body=body, footer=[*leftover, *updated_node.footer])

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        kept = self._keep_spacing(original_node.body, updated_node.body)
        if kept is None:
            return updated_node
        body, leftover = kept
        return updated_node.with_changes(body=body, footer=[*leftover, *updated_node.footer])

    def _removed(self, stmt: cst.BaseStatement) -> bool:
        if isinstance(stmt, cst.FunctionDef):
            return stmt in self._remove_funcs
        if isinstance(stmt, cst.SimpleStatementLine):
            return all(small in self._remove_stmts for small in stmt.body)
        return False

    def _keep_spacing(
        self,
        original: Sequence[cst.BaseStatement],
        updated: Sequence[cst.BaseStatement],
    ) -> tuple[list[cst.BaseStatement], list[cst.EmptyLine]] | None:
        """Give the lines above a removed statement to the statement that follows.

        ``A / 2 blank lines / removed / B`` becomes ``A / 2 blank lines / B``: the larger of
        the two blank runs survives. Comments above a removed statement (a section banner,
        say) stay where they were: ``A / blank / # banner / removed / blank / B`` becomes
        ``A / blank / # banner / blank / B``. Returns the new body and the lines left over
        when nothing follows (they go to the block's footer); None: nothing removed.
        """
        if not any(self._removed(stmt) for stmt in original):
            return None
        out: list[cst.BaseStatement] = []
        carry: list[cst.EmptyLine] | None = None
        remaining = iter(updated)
        for stmt in original:
            if self._removed(stmt) and isinstance(stmt, cst.SimpleStatementLine | cst.FunctionDef):
                lines = [*stmt.leading_lines, *self._carried.get(stmt, ())]
                if isinstance(stmt, cst.SimpleStatementLine):
                    trailing = stmt.trailing_whitespace.comment
                    if trailing is not None:  # `removed()  # why`: the why stays
                        lines.append(cst.EmptyLine(indent=True, comment=trailing))
                if carry is not None and _has_comment(carry):
                    carry = [*carry, *lines]
                elif _has_comment(lines):
                    blanks = _leading_blanks(lines)
                    if carry is not None and len(carry) > len(blanks):
                        lines = [*carry, *lines[len(blanks) :]]
                    carry = lines
                else:
                    blanks = _leading_blanks(lines)
                    if carry is None or len(blanks) > len(carry):
                        carry = blanks
                continue
            node = next(remaining, None)
            if node is None:  # not the shape we planned for: leave the spacing alone
                return None
            if carry is not None and isinstance(
                node, cst.SimpleStatementLine | cst.BaseCompoundStatement
            ):
                own = list(node.leading_lines)
                if _has_comment(carry):
                    node = node.with_changes(leading_lines=[*carry, *own])
                else:
                    own_blanks = _leading_blanks(own)
                    if len(carry) > len(own_blanks):
                        node = node.with_changes(leading_lines=[*carry, *own[len(own_blanks) :]])
            carry = None
            out.append(node)
        out.extend(remaining)
        leftover = carry if carry is not None and _has_comment(carry) else []
        return out, leftover

    def on_leave(self, original_node: _N, updated_node: _N) -> _N | cst.RemovalSentinel:
        """After every node: give a statement its planned TODO comments (once)."""
        if self._on_path is not None and original_node not in self._on_path:
            return updated_node  # not visited (see on_visit): unchanged
        result = super().on_leave(original_node, updated_node)
        notes = self._todos.get(original_node)
        if notes and (
            result is cst.RemovalSentinel.REMOVE
            or (isinstance(result, cst.SimpleStatementLine) and not result.body)
        ):
            # A removed statement's notes go to what follows it (see _keep_spacing).
            width = self._line_length - sum(
                self._tab_width if c == "\t" else 1 for c in "".join(self._indents)
            )
            self._carried[original_node] = [
                line for text in notes for line in _todo_lines(text, width)
            ]
            return result
        if notes and isinstance(result, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            present = {
                line.comment.value for line in result.leading_lines if line.comment is not None
            }
            width = self._line_length - sum(
                self._tab_width if c == "\t" else 1 for c in "".join(self._indents)
            )
            new_lines: list[cst.EmptyLine] = []
            for text in notes:
                wrapped = _todo_lines(text, width)
                if wrapped[0].comment is not None and wrapped[0].comment.value not in present:
                    new_lines += wrapped
            if new_lines:
                lines = [*result.leading_lines, *new_lines]
                return cast(_N, result.with_changes(leading_lines=lines))
        return result
