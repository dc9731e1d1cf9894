"""Eager coroutines: run a coroutine's first step right away, and await the rest only if
it suspends.

Most callbacks and most sends finish without ever waiting (an echo, a reply, a write
into a TCP buffer with room).  Stepping them by hand skips everything that awaiting
would set up for a coroutine that turns out not to need it (a timeout, a watchdog
entry, a task); :class:`Resume` picks the coroutine up where it stopped when it does
suspend.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar

__all__ = ["Resume"]

T = TypeVar("T")


class Resume(Generic[T]):
    """Await a coroutine that was already started by hand and suspended on ``yielded``.

    This is ``yield from`` picked up half way: the task awaiting it sees exactly what the
    coroutine yields, so asyncio's future protocol (and cancellation) works unchanged;
    awaiting it returns what the coroutine returns.
    """

    __slots__ = ("_coro", "_yielded")

    def __init__(self, coro: Coroutine[Any, Any, T], yielded: Any) -> None:
        self._coro = coro
        self._yielded = yielded

    def __await__(self) -> Generator[Any, Any, T]:
        coro, yielded = self._coro, self._yielded
        while True:
            try:
                value = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    yielded = coro.throw(exc)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
            else:
                try:
                    yielded = coro.send(value)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
