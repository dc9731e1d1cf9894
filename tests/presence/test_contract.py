"""The presence contract, run against every store (``memory`` and ``redis``).

The in-memory store is the reference.  Diffs travel on the bus, asynchronously on Redis:
tests wait for what they expect, and show that nothing else came with a barrier (a later
message on the same topic: one topic's messages arrive in one order).
"""

from __future__ import annotations

import pytest

from sockethub.presence import AlreadyTracked, NotTracked, PresenceTracker

from .conftest import Backend, Diffs, eventually

T = "room:1"


async def watch(tracker: PresenceTracker, topic: str = T) -> Diffs:
    diffs = Diffs()
    await tracker.bus.subscribe(topic, diffs)
    return diffs


async def barrier(tracker: PresenceTracker, diffs: Diffs, topic: str = T) -> None:
    await tracker.bus.publish(topic, "barrier", None)
    await eventually(lambda: diffs.events and diffs.events[-1] == "barrier", what="barrier")


async def test_track_lists_the_meta_with_a_ref_and_sends_one_join(
    tracker: PresenceTracker,
) -> None:
    diffs = await watch(tracker)
    ref = await tracker.track(T, "ada", {"status": "away"}, owner="c1")
    assert await tracker.list(T) == {"ada": {"metas": [{"status": "away", "phx_ref": ref}]}}
    await eventually(lambda: diffs.got, what="the join diff")
    await barrier(tracker, diffs)
    assert diffs.got == [
        {"joins": {"ada": {"metas": [{"status": "away", "phx_ref": ref}]}}, "leaves": {}}
    ]


async def test_one_key_has_a_meta_per_owner(tracker: PresenceTracker) -> None:
    diffs = await watch(tracker)
    tab1 = await tracker.track(T, "ada", {"tab": 1}, owner="c1")
    tab2 = await tracker.track(T, "ada", {"tab": 2}, owner="c2")
    metas = (await tracker.list(T))["ada"]["metas"]
    assert sorted(m["tab"] for m in metas) == [1, 2]
    await tracker.untrack(T, "ada", owner="c1")
    assert await tracker.list(T) == {"ada": {"metas": [{"tab": 2, "phx_ref": tab2}]}}
    await eventually(lambda: len(diffs.got) == 3, what="three diffs")
    assert diffs.got[2] == {
        "joins": {},
        "leaves": {"ada": {"metas": [{"tab": 1, "phx_ref": tab1}]}},
    }


async def test_update_is_one_diff_with_the_new_ref_and_its_predecessor(
    tracker: PresenceTracker,
) -> None:
    diffs = await watch(tracker)
    old = await tracker.track(T, "ada", {"typing": False}, owner="c1")
    new = await tracker.update(T, "ada", {"typing": True}, owner="c1")
    assert new != old
    # As Phoenix lists it: a joiner's state equals what a diff-applying client holds.
    assert await tracker.list(T) == {
        "ada": {"metas": [{"typing": True, "phx_ref": new, "phx_ref_prev": old}]}
    }
    await eventually(lambda: len(diffs.got) == 2, what="two diffs")
    await barrier(tracker, diffs)
    assert diffs.got[1] == {
        "joins": {"ada": {"metas": [{"typing": True, "phx_ref": new, "phx_ref_prev": old}]}},
        "leaves": {"ada": {"metas": [{"typing": False, "phx_ref": old}]}},
    }


async def test_misuse_is_refused_and_changes_nothing(tracker: PresenceTracker) -> None:
    diffs = await watch(tracker)
    await tracker.track(T, "ada", owner="c1")
    with pytest.raises(AlreadyTracked):
        await tracker.track(T, "ada", {"again": True}, owner="c1")
    with pytest.raises(NotTracked):
        await tracker.update(T, "bob", {}, owner="c1")
    with pytest.raises(TypeError):
        await tracker.track(T, "bob", {"bad": float("nan")}, owner="c1")
    with pytest.raises(TypeError):
        await tracker.track(T, "bob", {1: "non-str key"}, owner="c1")  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        await tracker.track(T, 42, owner="c1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await tracker.track(T, "bob", {"phx_ref": "forged"}, owner="c1")
    await tracker.untrack(T, "nobody", owner="c1")  # a no-op
    await tracker.untrack_owner("nobody")  # a no-op
    assert list(await tracker.list(T)) == ["ada"]
    await barrier(tracker, diffs)
    assert len(diffs.got) == 1


async def test_untrack_owner_sends_one_diff_per_topic(tracker: PresenceTracker) -> None:
    d1, d2 = await watch(tracker, "room:1"), await watch(tracker, "room:2")
    for key in ("ada", "bob"):
        await tracker.track("room:1", key, owner="c1")
    await tracker.track("room:2", "ada", owner="c1")
    await tracker.track("room:1", "eve", owner="c2")
    await tracker.untrack_owner("c1", "room:2")
    assert await tracker.list("room:2") == {}
    assert sorted(await tracker.list("room:1")) == ["ada", "bob", "eve"]
    await tracker.untrack_owner("c1")
    assert list(await tracker.list("room:1")) == ["eve"]
    await eventually(lambda: len(d1.got) == 4 and len(d2.got) == 2, what="the diffs")
    await barrier(tracker, d1, "room:1")
    assert sorted(d1.got[3]["leaves"]) == ["ada", "bob"]  # both in one diff
    assert len(d1.got) == 4


async def test_members_say_who_owns_each_presence(tracker: PresenceTracker) -> None:
    await tracker.track(T, "ada", {"x": 1}, owner="c1", identity="user:1")
    server_ref = await tracker.track(T, "bot")
    members = {m.key: m for m in await tracker.members(T)}
    assert (members["ada"].owner, members["ada"].identity) == ("c1", "user:1")
    assert members["ada"].node == tracker.node
    assert (members["bot"].owner, members["bot"].ref) == (tracker.server_owner, server_ref)
    assert [e.key for e in tracker.tracked_by("c1")] == ["ada"]


async def test_topics_are_independent(tracker: PresenceTracker) -> None:
    await tracker.track("room:1", "ada", owner="c1")
    assert await tracker.list("room:2") == {}
    assert await tracker.list("room:10") == {}


async def test_close_untracks_everything_with_leaves(backend: Backend) -> None:
    one = await backend.tracker("node-1")
    other = await backend.tracker("node-2", bus=one.bus) if backend.kind == "memory" else None
    observer = other if other is not None else await backend.tracker("node-2")
    diffs = await watch(observer)
    await one.track(T, "ada", owner="c1")
    await one.track(T, "bot")
    await eventually(lambda: len(diffs.got) == 2, what="two joins")
    await one.close()
    await eventually(lambda: len(diffs.got) == 4, what="two leaves")
    if backend.kind == "redis":
        assert await observer.list(T) == {}
