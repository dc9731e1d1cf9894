"""The codecs on their own: strictness, the shared default conversions, overrides.

Where orjson by itself is laxer than the rules (it writes ``NaN`` as ``null``, reads
integers beyond 64 bits as floats) a test first shows orjson doing it, then that
:class:`OrjsonCodec` does not: if orjson ever changes, the first half says so.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import math
import sys
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockethub import EncodeError
from sockethub.codec import Codec, JSONCodec, OrjsonCodec, encode_default
from tests.codecs import CODECS, make, orjson_codec

UTC = datetime.UTC
PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int
    y: float


@dataclasses.dataclass
class Shape:
    name: str
    corners: list[Point]
    made: datetime.date


# -- what JSON has no type for: one conversion, both codecs -------------------------------

CONVERTED = [
    pytest.param(datetime.datetime(2025, 1, 31, 12, 0, tzinfo=UTC), '"2025-01-31T12:00:00+00:00"'),
    pytest.param(
        datetime.datetime(2025, 1, 31, 12, 0, 5, 123, tzinfo=PLUS_TWO),
        '"2025-01-31T12:00:05.000123+02:00"',
        id="datetime-offset-micro",
    ),
    pytest.param(datetime.datetime(2025, 1, 31, 12, 0), '"2025-01-31T12:00:00"', id="naive"),
    pytest.param(datetime.date(2025, 1, 31), '"2025-01-31"', id="date"),
    pytest.param(datetime.time(7, 30), '"07:30:00"', id="time"),
    pytest.param(datetime.time(7, 30, tzinfo=UTC), '"07:30:00+00:00"', id="time-aware"),
    pytest.param(
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        '"12345678-1234-5678-1234-567812345678"',
        id="uuid",
    ),
    pytest.param(decimal.Decimal("12.50"), '"12.50"', id="decimal"),
    pytest.param(Colour.RED, '"red"', id="enum"),
    pytest.param(Level.HIGH, "3", id="int-enum"),
    pytest.param(Point(1, 2.5), '{"x":1,"y":2.5}', id="dataclass"),
    pytest.param(
        Shape("tri", [Point(0, 0.0)], datetime.date(2025, 2, 1)),
        '{"name":"tri","corners":[{"x":0,"y":0.0}],"made":"2025-02-01"}',
        id="nested-dataclass",
    ),
    pytest.param(
        {"at": [datetime.date(2025, 1, 1), (1, "é")]},
        '{"at":["2025-01-01",[1,"é"]]}',
        id="nested-in-containers",
    ),
]


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize(("value", "text"), CONVERTED)
def test_both_codecs_convert_the_same_values_to_the_same_text(
    codec: str, value: Any, text: str
) -> None:
    assert make(codec).encode(value) == text


@pytest.mark.parametrize("codec", CODECS)
def test_pydantic_models_are_dumped_in_json_mode(codec: str) -> None:
    import pydantic

    class User(pydantic.BaseModel):  # type: ignore[misc]
        id: uuid.UUID
        joined: datetime.datetime
        balance: decimal.Decimal

    user = User(
        id=uuid.UUID(int=1),
        joined=datetime.datetime(2025, 1, 1, tzinfo=UTC),
        balance=decimal.Decimal("1.10"),
    )
    assert json.loads(make(codec).encode({"user": user})) == {
        "user": {
            "id": "00000000-0000-0000-0000-000000000001",
            "joined": "2025-01-01T00:00:00Z",
            "balance": "1.10",
        }
    }


UNENCODABLE = [
    pytest.param({1, 2}, "set", id="set"),
    pytest.param(object(), "object", id="object"),
    pytest.param({"k": b"raw"}, "bytes", id="bytes"),
    pytest.param(Point, "type", id="a-class-not-an-instance"),
    pytest.param(decimal.Decimal("NaN"), "decimal", id="decimal-nan"),
    pytest.param(decimal.Decimal("-Infinity"), "decimal", id="decimal-infinity"),
    pytest.param(float("nan"), "Out of range float", id="nan"),
    pytest.param([1.0, float("-inf")], "Out of range float", id="minus-infinity"),
    pytest.param({"k": {"deeper": float("inf")}}, "Out of range float", id="nested-infinity"),
    pytest.param(Point(1, float("nan")), "Out of range float", id="nan-in-dataclass"),
    pytest.param("\ud800", "surrogate", id="lone-surrogate"),
    pytest.param({"\udfff": 1}, "surrogate", id="surrogate-key"),
]


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize(("value", "why"), UNENCODABLE)
def test_what_cannot_be_sent_raises_encode_error(codec: str, value: Any, why: str) -> None:
    with pytest.raises(EncodeError, match=f"(?i){why}") as caught:
        make(codec).encode(value)
    assert isinstance(caught.value, TypeError)


@pytest.mark.parametrize("codec", CODECS)
def test_cycles_raise_encode_error(codec: str) -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(EncodeError):
        make(codec).encode(loop)


@pytest.mark.parametrize("codec", CODECS)
def test_a_refused_value_leaves_nothing_behind_for_the_next(codec: str) -> None:
    """An encoder reused across calls must not keep what a failed call was in the middle
    of (json's circular-reference markers would then refuse the same dict next time)."""
    encoder = make(codec)
    inner: dict[str, Any] = {"b": object()}
    outer = {"a": inner, "c": [inner]}
    with pytest.raises(EncodeError):
        encoder.encode(outer)
    inner["b"] = 1
    assert encoder.encode(outer) == '{"a":{"b":1},"c":[{"b":1}]}'


# -- decoding: strict the same way ------------------------------------------------------

REFUSED = [
    pytest.param("NaN", id="nan"),
    pytest.param("[Infinity]", id="infinity"),
    pytest.param("-Infinity", id="minus-infinity"),
    pytest.param("1e999999", id="overflow"),
    pytest.param("-1E400", id="overflow-negative"),
    pytest.param("9" * 5000, id="int-of-5000-digits"),
    pytest.param('"\\ud800"', id="lone-high-surrogate"),
    pytest.param('"a\\udfffb"', id="lone-low-surrogate"),
    pytest.param('{"\\ud800":1}', id="surrogate-key"),
    pytest.param('"\\udc00\\ud800"', id="reversed-pair"),
    pytest.param("[" * 30_000 + "]" * 30_000, id="too-deep"),
    pytest.param("[1,]", id="trailing-comma"),
    pytest.param('"\x01"', id="raw-control-character"),
    pytest.param("", id="empty"),
    pytest.param(" ", id="white-space-only"),
    pytest.param('{"a":1} x', id="extra-data"),
    pytest.param("[1][2]", id="two-values"),
]


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("text", REFUSED)
def test_what_could_not_be_sent_again_is_refused_with_value_error(codec: str, text: str) -> None:
    with pytest.raises(ValueError):
        make(codec).decode(text)
    with pytest.raises(ValueError):
        make(codec).decode(text.encode("utf-8"))


EXACT = [
    "123456789012345678901234567890",
    "-9223372036854775809",
    "18446744073709551616",
    "18446744073709551615",
    "[1e308,-0.0,1e-400]",
    '"\\ud83d\\ude00"',
    '{"a":1,"a":2}',
    "[" * 300 + "]" * 300,
    ' {"a": [1, 2]} ',
    '\n[1]\r\n',
    '\t"x"',
]


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("text", EXACT)
def test_decoding_gives_exactly_what_json_gives(codec: str, text: str) -> None:
    assert repr(make(codec).decode(text)) == repr(json.loads(text))


# -- orjson's own laxness, and the codec's checks ----------------------------------------


#: orjson on its own, token by token: "refused" (it raises, as the rules want) or what it
#: returns instead of the exact value (the codec's checks exist for those).
ORJSON_ALONE = [
    ("NaN", "refused"),
    ("[Infinity]", "refused"),
    ("-Infinity", "refused"),
    ("1e999999", "refused"),
    ("-1E400", "refused"),
    ("9" * 5000, "refused"),
    ('"\\ud800"', "refused"),
    ('"a\\udfffb"', "refused"),
    ('{"\\ud800":1}', "refused"),
    ("[" * 30_000 + "]" * 30_000, "refused"),
    ("123456789012345678901234567890", 1.2345678901234568e29),
    ("-9223372036854775809", -9.223372036854776e18),
    ("18446744073709551616", 1.8446744073709552e19),
]


@pytest.mark.parametrize(("text", "alone"), ORJSON_ALONE, ids=[t[:24] for t, _ in ORJSON_ALONE])
def test_orjson_alone_on_each_hostile_token_and_the_codec(text: str, alone: object) -> None:
    codec = orjson_codec()
    import orjson

    if alone == "refused":
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(text)
        with pytest.raises(ValueError):
            codec.decode(text)
    else:
        assert repr(orjson.loads(text)) == repr(alone)  # a float: laxer than the rules
        assert repr(codec.decode(text)) == repr(json.loads(text))  # the exact int


def test_orjson_writes_nan_as_null_and_the_codec_refuses_it() -> None:
    codec = orjson_codec()
    import orjson

    assert orjson.dumps([float("nan"), float("inf")]) == b"[null,null]"
    with pytest.raises(EncodeError):
        codec.encode([float("nan")])
    assert codec.encode([None, "null", 1.5]) == '[null,"null",1.5]'  # a real null is fine


def test_orjson_reads_big_integers_as_floats_and_the_codec_keeps_them_exact() -> None:
    codec = orjson_codec()
    import orjson

    assert isinstance(orjson.loads("123456789012345678901234567890"), float)
    assert isinstance(orjson.loads("-9223372036854775809"), float)
    assert codec.decode("123456789012345678901234567890") == 123456789012345678901234567890
    assert codec.decode(b"[-9223372036854775809]") == [-9223372036854775809]


@pytest.mark.parametrize(
    "value",
    [2**64, -(2**63) - 1, {1: "int key", None: "null key"}, json.loads("[" * 300 + "]" * 300)],
    ids=["u64-plus-one", "below-int64", "non-string-keys", "300-deep"],
)
def test_what_orjson_refuses_to_write_but_json_writes_is_written_by_json(value: Any) -> None:
    codec = orjson_codec()
    assert codec.encode(value) == JSONCodec().encode(value)


def test_without_orjson_the_codec_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "orjson", None)  # import orjson raises ImportError
    with pytest.raises(ImportError) as caught:
        OrjsonCodec()
    assert 'pip install "sockethub[orjson]"' in str(caught.value).splitlines()[-1]


# -- a default of one's own --------------------------------------------------------------


@pytest.mark.parametrize("codec_class", [JSONCodec, OrjsonCodec], ids=["json", "orjson"])
def test_a_default_of_ones_own_replaces_the_conversions_and_may_extend_them(
    codec_class: type[JSONCodec] | type[OrjsonCodec],
) -> None:
    if codec_class is OrjsonCodec:
        orjson_codec()

    def default(value: object) -> object:
        if isinstance(value, set | frozenset):
            return sorted(value)
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        return encode_default(value)

    codec = codec_class(default=default)
    moment = datetime.datetime(2025, 1, 1, tzinfo=UTC)
    assert codec.encode({"s": {3, 1}, "at": moment, "id": uuid.UUID(int=0)}) == (
        '{"s":[1,3],"at":1735689600.0,"id":"00000000-0000-0000-0000-000000000000"}'
    )

    def nothing_extra(value: object) -> object:
        raise TypeError(f"{type(value).__name__} is not allowed here")

    with pytest.raises(EncodeError, match="date is not allowed here"):
        codec_class(default=nothing_extra).encode(datetime.date(2025, 1, 1))


def test_the_codecs_are_codecs() -> None:
    assert isinstance(JSONCodec(), Codec)
    assert JSONCodec().name == "json"
    assert repr(JSONCodec()) == "JSONCodec()"
    codec = orjson_codec()
    assert isinstance(codec, Codec)
    assert codec.name == "orjson"


# -- the two agree on everything ----------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(min_codepoint=0, max_codepoint=sys.maxunicode, exclude_categories=()))
    | st.datetimes(timezones=st.none() | st.just(UTC))
    | st.uuids()
    | st.decimals(allow_nan=True, allow_infinity=True),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=4), children, max_size=4),
        st.tuples(children, children),
    ),
    max_leaves=12,
)


def _sendable(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, decimal.Decimal):
        return value.is_finite()
    if isinstance(value, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list | tuple):
        return all(_sendable(v) for v in value)
    if isinstance(value, dict):
        return all(_sendable(k) and _sendable(v) for k, v in value.items())
    return True


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_both_codecs_accept_refuse_and_read_back_the_same(value: Any) -> None:
    fast = orjson_codec()
    slow = JSONCodec()
    if not _sendable(value):
        for codec in (slow, fast):
            with pytest.raises(EncodeError):
                codec.encode(value)
        return
    text = slow.encode(value)
    assert json.loads(fast.encode(value)) == json.loads(text)
    assert repr(fast.decode(text)) == repr(slow.decode(text))
