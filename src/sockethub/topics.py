"""Topic patterns (``"room:{room_id}"``): validation, matching and precedence."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["TopicPattern", "TopicTable"]

T = TypeVar("T")


def _key(entry: tuple[tuple[int, int, int], object, object]) -> tuple[int, int, int]:
    return entry[0]


@dataclass(frozen=True, slots=True)
class TopicPattern:
    """A compiled topic pattern.

    ``{name}`` matches one or more characters other than ``/``; everything else matches
    literally, regex metacharacters included.  Names are Python identifiers, unique within
    a pattern; two placeholders may not touch (``{a}{b}`` has no single meaning).
    """

    pattern: str
    names: tuple[str, ...]
    literal_chars: int
    shape: str
    """The pattern with its names erased (``room:{}``): equal shapes match equal topics."""
    prefix: str
    """Literal text before the first placeholder: a cheap pre-filter."""
    regex: re.Pattern[str] | None

    @classmethod
    def compile(cls, pattern: str) -> TopicPattern:
        """Validate and compile ``pattern``; raise ``ValueError`` naming it if invalid."""
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"Topic pattern must be a non-empty string, got {pattern!r}")
        names: list[str] = []
        literals: list[str] = []
        regex = ""
        shape = ""
        pos = 0
        last_end = -1
        while pos < len(pattern):
            open_at = pattern.find("{", pos)
            close_at = pattern.find("}", pos)
            if close_at != -1 and (open_at == -1 or close_at < open_at):
                raise ValueError(f"Topic pattern {pattern!r}: unbalanced '}}' at {close_at}")
            if open_at == -1:
                break
            end = pattern.find("}", open_at)
            nested = pattern.find("{", open_at + 1)
            if end == -1 or (nested != -1 and nested < end):
                raise ValueError(f"Topic pattern {pattern!r}: unbalanced '{{' at {open_at}")
            name = pattern[open_at + 1 : end]
            if not name.isidentifier():
                raise ValueError(
                    f"Topic pattern {pattern!r}: placeholder name {name!r} is not an identifier"
                )
            if name in names:
                raise ValueError(f"Topic pattern {pattern!r}: placeholder {name!r} appears twice")
            if open_at == last_end:
                raise ValueError(
                    f"Topic pattern {pattern!r}: placeholders must be separated by literal text"
                )
            literal = pattern[pos:open_at]
            literals.append(literal)
            regex += re.escape(literal) + f"(?P<{name}>[^/]+)"
            shape += literal.replace("\\", "\\\\").replace("{", "\\{") + "{}"
            names.append(name)
            pos = last_end = end + 1
        tail = pattern[pos:]
        literals.append(tail)
        shape += tail
        if not names:
            return cls(pattern, (), len(pattern), shape, pattern, None)
        compiled = re.compile(regex + re.escape(tail), re.DOTALL)
        return cls(pattern, tuple(names), sum(map(len, literals)), shape, literals[0], compiled)

    def match(self, topic: str) -> dict[str, str] | None:
        """The placeholder values if ``topic`` matches (``{}`` for a literal pattern), else None."""
        if self.regex is None:
            return {} if topic == self.pattern else None
        if not topic.startswith(self.prefix):
            return None
        m = self.regex.fullmatch(topic)
        return m.groupdict() if m is not None else None

    def sort_key(self) -> tuple[int, int]:
        """Precedence: more literal characters first, then more placeholders."""
        return (-self.literal_chars, -len(self.names))


class TopicTable(Generic[T]):
    """Patterns mapped to values (channels), resolved with the documented precedence.

    Among the patterns that match a topic, the one with the most literal characters
    wins (``room:lobby`` over ``room:{id}``; ``game:{g}:{team}`` over ``game:{g}``), then
    the one with more placeholders, then the first registered.  Literal patterns are found
    with one dict lookup; the others are tried in precedence order.
    """

    def __init__(self) -> None:
        self._literal: dict[str, tuple[TopicPattern, T]] = {}
        self._patterns: list[tuple[tuple[int, int, int], TopicPattern, T]] = []
        self._shapes: dict[str, str] = {}
        self._order = 0

    def add(self, pattern: TopicPattern, value: T) -> None:
        """Register ``value`` under ``pattern``; a duplicate or same-shape pattern is an error."""
        clash = self._shapes.get(pattern.shape)
        if clash is not None:
            same = "duplicates" if clash == pattern.pattern else "has the same shape as"
            raise ValueError(f"Topic pattern {pattern.pattern!r} {same} existing pattern {clash!r}")
        self._shapes[pattern.shape] = pattern.pattern
        if pattern.regex is None:
            self._literal[pattern.pattern] = (pattern, value)
            return
        self._order += 1
        # Keys are unique (the order counter), so insort keeps precedence order in
        # O(log n) comparisons: registering n channels is not quadratic.
        bisect.insort(
            self._patterns, ((*pattern.sort_key(), self._order), pattern, value), key=_key
        )

    def resolve(self, topic: str) -> tuple[T, dict[str, str]] | None:
        """The winning value for ``topic`` and its placeholder values, or None."""
        literal = self._literal.get(topic)
        if literal is not None:
            return literal[1], {}
        for _, pattern, candidate in self._patterns:
            params = pattern.match(topic)
            if params is not None:
                return candidate, params
        return None

    def __iter__(self) -> Iterator[tuple[TopicPattern, T]]:
        """Every entry, literal patterns first, then in precedence order."""
        yield from self._literal.values()
        for _, pattern, value in self._patterns:
            yield pattern, value

    def __len__(self) -> int:
        return len(self._literal) + len(self._patterns)
