"""RedisSocketBus against a real redis-server: subscriptions, prefixes, processes, faults.

Two bus instances in one test stand for two processes: each has its own connections
and its own bus id, exactly what a second uvicorn worker would have.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from sockethub import EncodeError
from sockethub.bus import PubSubMessage
from sockethub.bus.redis import BusUnavailable, RedisBusHealth, RedisSocketBus
from tests.bus.support import Recorder, barrier, eventually
from tests.codecs import CODECS, make
from tests.redis_server import RedisServer, free_port

pytestmark = pytest.mark.redis


@pytest.fixture
async def admin(shared_redis: RedisServer) -> AsyncIterator[Redis]:
    """A plain redis-py client to inspect the server from outside the buses."""
    client = Redis.from_url(shared_redis.url)
    yield client
    await client.aclose()


@pytest.fixture
async def make_bus() -> AsyncIterator[Any]:
    """Build started buses; close them all at the end and check no task is left."""
    buses: list[RedisSocketBus] = []

    async def make(url: str, **kwargs: Any) -> RedisSocketBus:
        bus = RedisSocketBus(url, **kwargs)
        buses.append(bus)
        await bus.start()
        return bus

    yield make
    for bus in buses:
        await bus.close()
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current] == []


async def numsub(client: Redis, channel: str) -> int:
    [(_, count)] = await client.pubsub_numsub(channel)
    return int(count)


async def wait_numsub(client: Redis, channel: str, expected: int) -> None:
    counts: list[int] = []

    async def poll() -> None:
        while True:
            counts.append(await numsub(client, channel))
            if counts[-1] == expected:
                return
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(poll(), 10)
    except TimeoutError:
        pytest.fail(f"NUMSUB {channel!r} stayed {counts[-1:]} instead of {expected}")


# -- subscriptions towards Redis ---------------------------------------------------------


async def test_one_redis_subscription_per_topic_per_process(
    shared_redis: RedisServer, admin: Redis, make_bus: Any, prefix: str
) -> None:
    bus = await make_bus(shared_redis.url, prefix=prefix)
    recs = [Recorder() for _ in range(5)]
    for rec in recs:
        await bus.subscribe("room", rec)
    assert await numsub(admin, prefix + "room") == 1  # subscribe waited for Redis
    assert bus.subscriber_count("room") == 5

    other = await make_bus(shared_redis.url, prefix=prefix)
    for rec in recs[:2]:
        await other.subscribe("room", rec)
    assert await numsub(admin, prefix + "room") == 2  # one per process

    for rec in recs[:4]:
        await bus.unsubscribe("room", rec)
    assert await numsub(admin, prefix + "room") == 2  # one local subscriber left
    await bus.unsubscribe("room", recs[4])
    await wait_numsub(admin, prefix + "room", 1)  # the last one left: UNSUBSCRIBE
    await other.unsubscribe("room", recs[0])
    await other.unsubscribe("room", recs[1])
    await wait_numsub(admin, prefix + "room", 0)

    await bus.subscribe("room", recs[0])  # and back again
    assert await numsub(admin, prefix + "room") == 1


async def test_dropped_subscribers_release_the_redis_subscription(
    shared_redis: RedisServer, admin: Redis, make_bus: Any, prefix: str
) -> None:
    bus = await make_bus(shared_redis.url, prefix=prefix)

    def broken(message: PubSubMessage) -> None:
        raise RuntimeError("gone")

    await bus.subscribe("room", broken)
    assert await numsub(admin, prefix + "room") == 1
    await bus.publish("room", "e", 1)
    await wait_numsub(admin, prefix + "room", 0)
    assert bus.subscriber_count("room") == 0
    assert bus.dropped_subscribers == 1


async def test_channel_is_prefix_plus_topic_and_prefixes_isolate(
    shared_redis: RedisServer, admin: Redis, make_bus: Any, prefix: str
) -> None:
    app_a = await make_bus(shared_redis.url, prefix=prefix + "a:")
    app_b = await make_bus(shared_redis.url, prefix=prefix + "b:")
    rec_a, rec_b = Recorder(), Recorder()
    await app_a.subscribe("room", rec_a)
    await app_b.subscribe("room", rec_b)
    assert await numsub(admin, prefix + "a:room") == 1
    assert await numsub(admin, prefix + "b:room") == 1

    await app_a.publish("room", "e", "for a")
    await barrier(app_b, "room", rec_b)
    await barrier(app_a, "room", rec_a)
    assert rec_a.payloads == ["for a", "B"]
    assert rec_b.payloads == ["B"]

    # The wire format is documented: another producer can publish to a topic too.
    await admin.publish(prefix + "a:room", '{"e":"ext","p":{"from":"outside"}}')
    await eventually(lambda: len(rec_a.payloads) == 3, what="the external message")
    assert rec_a.payloads[-1] == {"from": "outside"}


async def test_two_processes_both_receive_exactly_once(
    shared_redis: RedisServer, make_bus: Any, prefix: str
) -> None:
    proc_a = await make_bus(shared_redis.url, prefix=prefix)
    proc_b = await make_bus(shared_redis.url, prefix=prefix)
    on_a, on_b = Recorder(), Recorder()
    await proc_a.subscribe("room", on_a)
    await proc_b.subscribe("room", on_b)
    for i in range(20):
        await (proc_a if i % 2 else proc_b).publish("room", "e", i)
    await barrier(proc_a, "room", on_a, on_b)
    assert on_a.payloads == on_b.payloads == [*range(20), "B"]


async def test_exclude_applies_only_in_the_publishing_process(
    shared_redis: RedisServer, make_bus: Any, prefix: str
) -> None:
    proc_a = await make_bus(shared_redis.url, prefix=prefix)
    proc_b = await make_bus(shared_redis.url, prefix=prefix)
    sender, neighbour, remote = Recorder(), Recorder(), Recorder()
    await proc_a.subscribe("room", sender)
    await proc_a.subscribe("room", neighbour)
    await proc_b.subscribe("room", remote)
    # The very same callable object subscribed in the other process is not excluded there.
    await proc_b.subscribe("room", sender)

    await proc_a.publish("room", "e", "hello", exclude=sender)
    await barrier(proc_a, "room", neighbour, remote)
    assert neighbour.payloads == ["hello", "B"]
    assert remote.payloads == ["hello", "B"]
    # sender got "hello" once (through proc_b) and the barrier twice (once per process).
    assert sorted(map(str, sender.payloads)) == ["B", "B", "hello"]
    assert proc_a._excludes == {}  # the remembered exclusion was consumed


async def test_non_json_payload_raises_type_error_and_publishes_nothing(
    shared_redis: RedisServer, make_bus: Any, prefix: str
) -> None:
    bus = await make_bus(shared_redis.url, prefix=prefix)
    rec = Recorder()
    await bus.subscribe("room", rec)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        await bus.publish("room", "e", {"when": object()})
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        await bus.publish("room", "e", circular, exclude=rec)
    await barrier(bus, "room", rec)
    assert rec.payloads == ["B"]
    assert bus._excludes == {}


async def test_json_round_trip_is_what_subscribers_get(
    shared_redis: RedisServer, make_bus: Any, prefix: str
) -> None:
    bus = await make_bus(shared_redis.url, prefix=prefix)
    rec = Recorder()
    await bus.subscribe("room", rec)
    await bus.publish("room", "e", {"tuple": (1, 2), 3: "int key"})
    await eventually(lambda: rec.payloads, what="message")
    assert rec.payloads == [{"tuple": [1, 2], "3": "int key"}]


JUNK = [
    b"not json",
    b"[1,2]",
    b'{"e":1,"p":2}',
    b'{"p":1}',
    b"\xff\xfe",
    b"[" * 100_000 + b"]" * 100_000,  # too deep for the decoder: RecursionError
    b'{"e":"say","p":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"e":"say","p":"\\ud800"}',  # a lone surrogate: cannot be sent to a client
    b'{"e":"say","p":"\xed\xa0\x80"}',  # the same, as (invalid) UTF-8
    b'{"e":"say","p":NaN}',
    b'{"e":"say","p":-Infinity}',
    b'{"e":"say","p":1e999999}',
    b'{"e":"say\\udc00","p":1}',
]


@pytest.mark.parametrize("codec", CODECS)
async def test_malformed_messages_on_the_channel_are_dropped_and_subscriptions_kept(
    shared_redis: RedisServer, admin: Redis, make_bus: Any, prefix: str, caplog: Any, codec: str
) -> None:
    bus = await make_bus(shared_redis.url, prefix=prefix, codec=make(codec))
    rec = Recorder()
    await bus.subscribe("room", rec)
    with caplog.at_level(logging.WARNING, logger="sockethub.bus.redis"):
        for junk in JUNK:
            await admin.publish(prefix + "room", junk)
        await admin.publish(prefix + "room", b'{"e":"say","p":"\\ud83d\\ude00 ok"}')
        await barrier(bus, "room", rec)
    assert rec.payloads == ["\U0001f600 ok", "B"]  # a surrogate *pair* is one character
    assert bus.healthy
    assert bus.reconnects == 0
    assert await numsub(admin, prefix + "room") == 1
    assert sum("malformed" in r.getMessage() for r in caplog.records) == len(JUNK)


@pytest.mark.parametrize(
    "payload", [float("nan"), float("inf"), "\ud800", {"k\udfff": 1}, [1.0, -float("inf")]]
)
async def test_payloads_that_are_not_strict_json_are_refused_before_publishing(
    shared_redis: RedisServer, make_bus: Any, prefix: str, payload: Any
) -> None:
    bus = await make_bus(shared_redis.url, prefix=prefix)
    rec = Recorder()
    await bus.subscribe("room", rec)
    with pytest.raises(EncodeError, match="not JSON-serialisable"):
        await bus.publish("room", "e", payload)
    await barrier(bus, "room", rec)
    assert rec.payloads == ["B"]


async def test_a_burst_of_publishes_queues_on_a_bounded_pool(
    shared_redis: RedisServer, admin: Redis, make_bus: Any, prefix: str
) -> None:
    before = await connected_clients(admin)
    bus = await make_bus(shared_redis.url, prefix=prefix, max_publish_connections=8)
    rec = Recorder()
    await bus.subscribe("room", rec)
    await asyncio.gather(*(bus.publish("room", "e", n) for n in range(1_000)))
    await eventually(lambda: len(rec.payloads) == 1_000, what="1,000 messages", timeout=20)
    assert sorted(rec.payloads) == list(range(1_000))
    # 8 for publishing, 1 for the subscription: not one connection per publish.
    assert await connected_clients(admin) - before <= 9


async def test_a_publish_that_waits_too_long_for_a_connection_is_unavailable(
    shared_redis: RedisServer, make_bus: Any, prefix: str
) -> None:
    bus = await make_bus(
        shared_redis.url, prefix=prefix, max_publish_connections=1, publish_wait=0.05
    )
    client = bus._client
    assert client is not None
    held = await client.connection_pool.get_connection()  # the only connection, held
    try:
        with pytest.raises(BusUnavailable, match="No connection available"):
            await bus.publish("room", "e", 1)
    finally:
        await client.connection_pool.release(held)
    await bus.publish("room", "e", 2)  # released: publishing works again


async def connected_clients(client: Redis) -> int:
    info = await client.info("clients")
    return int(info["connected_clients"])


async def test_subscribing_from_inside_a_callback_does_not_deadlock(
    shared_redis: RedisServer, make_bus: Any, prefix: str
) -> None:
    bus = await make_bus(shared_redis.url, prefix=prefix)
    late = Recorder()

    async def follow(message: PubSubMessage) -> None:
        await bus.subscribe(message.payload, late)

    await bus.subscribe("control", follow)
    await bus.publish("control", "e", "side")
    await eventually(lambda: bus.subscriber_count("side") == 1, what="the inner subscribe")
    await eventually(lambda: bool(bus._confirm) is False, what="its confirmation")
    await bus.publish("side", "e", "reached")
    await eventually(lambda: late.payloads == ["reached"], what="the side message")


# -- lifecycle ----------------------------------------------------------------------------


async def test_use_before_start_and_after_close_is_a_clear_error(
    shared_redis: RedisServer, prefix: str
) -> None:
    bus = RedisSocketBus(shared_redis.url, prefix=prefix)
    rec = Recorder()
    with pytest.raises(RuntimeError, match=r"call `await bus\.start\(\)` first"):
        await bus.subscribe("room", rec)
    with pytest.raises(RuntimeError, match="stopped"):
        await bus.publish("room", "e", 1)
    await bus.unsubscribe("room", rec)  # never raises
    assert bus.state == "stopped"
    assert not bus.healthy
    health = await bus.health()
    assert health.state == "stopped"
    assert health.ping_ok is None
    assert not health.healthy

    await bus.start()
    await bus.start()  # idempotent
    assert bus.healthy
    await bus.subscribe("room", rec)
    await bus.close()
    assert bus.state == "closed"
    assert bus.subscriber_count("room") == 0
    with pytest.raises(RuntimeError, match="closed"):
        await bus.publish("room", "e", 1)
    await bus.close()  # idempotent

    await bus.start()  # a closed bus can start again
    await bus.subscribe("room", rec)
    await barrier(bus, "room", rec)
    await bus.close()
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current] == []


async def test_close_leaves_no_tasks_and_no_connections(
    shared_redis: RedisServer, admin: Redis, prefix: str
) -> None:
    clients_before = len(await admin.client_list())
    bus = RedisSocketBus(shared_redis.url, prefix=prefix)
    await bus.start()
    rec = Recorder()
    await bus.subscribe("room", rec)
    await barrier(bus, "room", rec)  # opens the publish connection too
    assert len(await admin.client_list()) == clients_before + 2
    await bus.close()
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current] == []
    # The server sees the connections close a moment later.
    for _ in range(200):
        if len(await admin.client_list()) == clients_before:
            break
        await asyncio.sleep(0.01)
    assert len(await admin.client_list()) == clients_before


async def test_a_client_you_pass_is_used_and_left_open(
    shared_redis: RedisServer, prefix: str
) -> None:
    # socket_timeout=0.2 is the trap: a subscriber reading with the client's socket
    # timeout would die after 0.2 s of silence.  The bus reads with its own timeouts.
    client = Redis.from_url(shared_redis.url, socket_timeout=0.2)
    bus = RedisSocketBus(client=client, prefix=prefix, health_check_interval=0.3)
    await bus.start()
    rec = Recorder()
    await bus.subscribe("room", rec)
    await asyncio.sleep(1.2)  # idle for 6 socket timeouts and a few health checks
    assert bus.healthy
    assert bus.reconnects == 0
    await barrier(bus, "room", rec)
    await bus.close()
    assert await client.ping()  # still ours, still open
    await client.aclose()


# -- faults ---------------------------------------------------------------------------------


async def test_redis_killed_then_restarted(redis_server: RedisServer, make_bus: Any) -> None:
    bus = await make_bus(redis_server.url, reconnect_max=0.2)
    peer = await make_bus(redis_server.url, reconnect_max=0.2)
    local, remote = Recorder(), Recorder()
    await bus.subscribe("room", local)
    await peer.subscribe("room", remote)
    await barrier(bus, "room", local, remote)

    redis_server.kill()
    with pytest.raises(BusUnavailable, match="not published"):
        await bus.publish("room", "e", "during outage")
    await eventually(lambda: not bus.healthy and not peer.healthy, what="both buses down")
    with pytest.raises(BusUnavailable, match="not published"):
        await bus.publish("room", "e", "during outage")
    health = await bus.health()
    assert isinstance(health, RedisBusHealth)
    assert not health.healthy
    assert health.state in ("down", "connecting")
    assert health.ping_ok is False
    assert health.last_error
    assert health.down_for is not None
    assert health.down_for >= 0
    # Local subscriptions survive, and subscribing while down works (locally at once).
    assert bus.subscriber_count("room") == 1
    late = Recorder()
    await bus.subscribe("late", late)
    await bus.unsubscribe("late", late)
    await bus.subscribe("late", late)

    redis_server.start()  # same port
    await eventually(lambda: bus.healthy and peer.healthy, what="both buses to reconnect")
    assert bus.reconnects >= 1
    assert (await bus.health()).healthy
    admin = Redis.from_url(redis_server.url)
    try:
        assert await numsub(admin, bus.prefix + "room") == 2  # resubscribed, once each
        assert await numsub(admin, bus.prefix + "late") == 1
    finally:
        await admin.aclose()
    await bus.publish("room", "e", "after")
    await bus.publish("late", "e", "late one")
    await eventually(
        lambda: local.payloads[-1:] == remote.payloads[-1:] == ["after"], what="resumed"
    )
    assert local.payloads == remote.payloads == ["B", "after"]  # at-most-once: nothing replayed
    await eventually(lambda: late.payloads == ["late one"], what="the topic subscribed while down")


async def test_start_while_redis_is_down_then_it_comes_up(
    redis_binary: str, make_bus: Any, caplog: Any
) -> None:
    server = RedisServer(redis_binary, port=free_port())  # not started yet
    try:
        with caplog.at_level(logging.ERROR, logger="sockethub.bus.redis"):
            bus = await make_bus(server.url, connect_timeout=0.5, reconnect_max=0.2)
        assert not bus.healthy
        assert any("could not connect" in r.getMessage() for r in caplog.records)
        rec = Recorder()
        await bus.subscribe("room", rec)  # returns at once, kept locally
        with pytest.raises(BusUnavailable):
            await bus.publish("room", "e", 1)
        server.start()
        await eventually(lambda: bus.healthy, what="the bus to connect")
        await barrier(bus, "room", rec)
        assert rec.payloads == ["B"]
    finally:
        server.close()


async def test_subscription_connection_killed_is_replaced_and_resubscribed(
    shared_redis: RedisServer, admin: Redis, make_bus: Any, prefix: str
) -> None:
    bus = await make_bus(shared_redis.url, prefix=prefix, reconnect_max=0.2)
    rec = Recorder()
    await bus.subscribe("room", rec)
    await bus.subscribe("room2", rec)
    old_conn = bus._conn
    killed = await admin.client_kill_filter(_type="pubsub", skipme=True)
    assert killed >= 1
    await eventually(lambda: bus.reconnects >= 1 and bus.healthy, what="reconnect")
    assert bus._conn is not None
    assert bus._conn is not old_conn  # a fresh connection, never the cached one
    assert await numsub(admin, prefix + "room") == 1
    assert await numsub(admin, prefix + "room2") == 1
    await barrier(bus, "room", rec)
    await barrier(bus, "room2", rec)


async def test_unresponsive_redis_is_detected_by_the_health_check(
    shared_redis: RedisServer, admin: Redis, make_bus: Any, prefix: str, caplog: Any
) -> None:
    bus = await make_bus(
        shared_redis.url,
        prefix=prefix,
        health_check_interval=0.2,
        connect_timeout=0.5,
        reconnect_max=0.2,
    )
    rec = Recorder()
    await bus.subscribe("room", rec)
    # CLIENT PAUSE stops Redis answering anyone: the TCP connection stays open, the PING
    # goes unanswered.  That is what a half-open connection looks like to the listener.
    with caplog.at_level(logging.WARNING, logger="sockethub.bus.redis"):
        await admin.execute_command("CLIENT", "PAUSE", "1500", "ALL")
        await eventually(lambda: not bus.healthy, what="the bus to notice")
        await eventually(lambda: bus.healthy, what="the bus to recover after the pause")
    assert any("no reply to PING" in r.getMessage() for r in caplog.records)
    await barrier(bus, "room", rec)


class CrashingBus(RedisSocketBus):
    """Fault injection: the listener hits an unexpected exception on a poison event."""

    crash_with: BaseException | None = None

    async def _dispatch(self, channel: bytes, data: bytes) -> None:
        if b'"poison"' in data and self.crash_with is not None:
            exc, self.crash_with = self.crash_with, None
            raise exc
        await super()._dispatch(channel, data)


class Fatal(BaseException):
    """Not an Exception: escapes the listener's loop and ends its task."""


@pytest.mark.parametrize("crash", [KeyError("bug"), Fatal("worse")], ids=["exception", "fatal"])
async def test_listener_crash_is_logged_and_restarted(
    shared_redis: RedisServer, prefix: str, caplog: Any, crash: BaseException
) -> None:
    bus = CrashingBus(shared_redis.url, prefix=prefix, reconnect_max=0.2)
    bus.crash_with = crash
    await bus.start()
    try:
        rec = Recorder()
        await bus.subscribe("room", rec)
        with caplog.at_level(logging.ERROR, logger="sockethub.bus.redis"):
            await bus.publish("room", "poison", 1)
            await eventually(lambda: bus.reconnects >= 1 and bus.healthy, what="restart")
        assert any(r.exc_info for r in caplog.records)  # logged with its traceback
        await barrier(bus, "room", rec)
        assert rec.payloads == ["B"]
    finally:
        await bus.close()
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current] == []


async def test_listener_cancelled_from_outside_reports_down(
    shared_redis: RedisServer, prefix: str, caplog: Any
) -> None:
    bus = RedisSocketBus(shared_redis.url, prefix=prefix)
    await bus.start()
    assert bus._listener is not None
    with caplog.at_level(logging.ERROR, logger="sockethub.bus.redis"):
        bus._listener.cancel()
        await eventually(lambda: not bus.healthy, what="down")
    assert any("cancelled without close()" in r.getMessage() for r in caplog.records)
    health = await bus.health()
    assert health.state == "down"
    assert health.ping_ok is True
    assert not health.healthy
    with pytest.raises(BusUnavailable):
        await bus.publish("room", "e", 1)
    await bus.close()
    await bus.start()
    assert bus.healthy
    await bus.close()


async def test_a_message_error_in_a_subscriber_does_not_hurt_the_listener(
    shared_redis: RedisServer, make_bus: Any, prefix: str
) -> None:
    """The in-memory bus re-raises MessageError to the publisher; over Redis the publisher
    has already returned, so the listener logs it and carries on."""
    from sockethub.bus import MessageError

    bus = await make_bus(shared_redis.url, prefix=prefix)

    def picky(message: PubSubMessage) -> None:
        if message.payload == "unencodable":
            raise MessageError("cannot encode")

    rec = Recorder()
    await bus.subscribe("room", picky)
    await bus.subscribe("room", rec)
    await bus.publish("room", "e", "unencodable")
    await bus.publish("room", "e", "fine")
    await eventually(lambda: rec.payloads[-1:] == ["fine"], what="the next message")
    assert bus.healthy
    assert bus.reconnects == 0
    assert bus.subscriber_count("room") == 2  # nobody was dropped


def test_passwords_never_reach_logs_or_repr() -> None:
    bus = RedisSocketBus("redis://user:s3cret@127.0.0.1:6399/0", prefix="p:")
    assert "s3cret" not in repr(bus)
    assert "user:***@127.0.0.1:6399" in repr(bus)
    assert "s3cret" not in repr(RedisSocketBus("redis://:s3cret@127.0.0.1:6399/0"))


def test_bad_configuration_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="reconnect_max must be > 0"):
        RedisSocketBus(reconnect_max=0)
    with pytest.raises(TypeError, match="prefix must be a str"):
        RedisSocketBus(prefix=b"bytes:")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_publish_connections must be an int >= 1"):
        RedisSocketBus(max_publish_connections=0)
    with pytest.raises(ValueError, match="publish_wait must be > 0"):
        RedisSocketBus(publish_wait=0)
