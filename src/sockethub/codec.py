"""Codecs: how a hub turns values into JSON text and client frames back into values.

A hub has one codec (``SocketHub(codec=...)``), used for every frame it sends or reads,
for both wire protocols.  Two ship with sockethub:

* :class:`JSONCodec` (the default): Python's ``json``.
* :class:`OrjsonCodec`: `orjson <https://github.com/ijl/orjson>`_, several times faster
  on large payloads (``pip install "sockethub[orjson]"``).

Both are **strict** in both directions, with the same rules: they encode only what a
browser's ``JSON.parse`` accepts and what can be sent as UTF-8 (no ``NaN``/``Infinity``,
no lone UTF-16 surrogates), raising :class:`~sockethub.EncodeError` otherwise; they
decode only what they could encode again (``ValueError`` for ``NaN``, ``Infinity``,
numbers that overflow a float, escaped lone surrogates, integers of more than 4300
digits, nesting deeper than the parser's limit).  Where orjson alone would be laxer
(it writes ``NaN`` as ``null`` and reads integers beyond 64 bits as floats) the orjson
codec checks, or falls back to the ``json`` module for that value, so both codecs accept
and refuse the same values and decode to the same values.

Beyond JSON's own types, both encode what :func:`encode_default` converts (datetimes,
UUIDs, decimals, enums, dataclasses, pydantic models), identically.  Pass your own
``default`` to change that::

    def default(value: object) -> object:
        if isinstance(value, set):
            return sorted(value)
        return encode_default(value)  # keep the built-in conversions

    hub = SocketHub("/ws", codec=OrjsonCodec(default=default))

A codec of your own only needs :meth:`Codec.encode` and :meth:`Codec.decode` (see
:class:`Codec`); keep it strict, or clients may receive frames they cannot parse.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import math
import re
import uuid
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any, Final, Protocol, runtime_checkable

from .errors import EncodeError

__all__ = [
    "DEFAULT_CODEC",
    "Codec",
    "JSONCodec",
    "OrjsonCodec",
    "encode_default",
    "json_string",
]

#: ``default`` hooks: called with a value JSON cannot represent; return one it can, or
#: raise ``TypeError``.
Default = Callable[[Any], Any]


@runtime_checkable
class Codec(Protocol):
    """What a hub needs from a codec: strict JSON text in, strict JSON text out."""

    @property
    def name(self) -> str:
        """A short name for logs and benchmarks (``"json"``, ``"orjson"``)."""
        ...

    def encode(self, value: Any) -> str:
        """``value`` as compact JSON text.

        Raise :class:`~sockethub.EncodeError` (a ``TypeError``) for a value that cannot
        be sent: not representable, ``NaN``/infinite, or holding a lone surrogate.
        """
        ...

    def decode(self, text: str | bytes) -> Any:
        """The value of one JSON text.  Raise ``ValueError`` for anything :meth:`encode`
        could not send back (``NaN``, overflowing numbers, lone surrogates, too deep)."""
        ...


def encode_default(value: Any) -> Any:
    """The conversions both codecs apply to values JSON has no type for.

    ========================================  ============================================
    value                                     becomes
    ========================================  ============================================
    ``datetime``, ``date``, ``time``          ISO 8601 text (``value.isoformat()``):
                                              ``"2025-01-31T12:00:00+00:00"``; a naive
                                              datetime stays naive (no offset)
    ``uuid.UUID``                             ``"8-4-4-4-12"`` hex text (``str(value)``)
    ``decimal.Decimal``                       its exact text (``"12.50"``), as pydantic's
                                              JSON mode does: a float would round, and
                                              non-finite decimals are refused
    an ``enum.Enum`` member                   its ``value`` (converted again if needed)
    a dataclass instance                      a dict of its fields (nested ones too)
    a pydantic (v2) model                     ``value.model_dump(mode="json")``
    ========================================  ============================================

    Anything else raises ``TypeError`` naming the type.  Pydantic is not imported: a
    model is recognised by its ``model_dump`` method.
    """
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"Out of range decimal values are not JSON compliant: {value}")
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None)
    if dump is not None and callable(dump) and not isinstance(value, type):
        return dump(mode="json")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: JSON text of one string, as both codecs write it (compact, non-ASCII kept).
json_string: Final[Callable[[str], str]] = encode_basestring


def utf8_safe(text: str) -> bool:
    """Whether ``text`` can be sent as UTF-8 (it holds no lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- decoding (the rules both codecs share) ------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number out of range: {text[:20]}")
    return value


_strict_decoder = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)
_strict_decode = _strict_decoder.decode
#: The decoder's scanner: what ``decode`` runs once it has skipped white space.
_scan: Callable[[str, int], tuple[Any, int]] = _strict_decoder.scan_once  # type: ignore[attr-defined]
#: A ``\u`` escape of a UTF-16 surrogate (paired or not) in JSON text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _json_decode(text: str | bytes) -> Any:
    if not isinstance(text, str):
        text = text.decode("utf-8")
    try:
        # The scanner straight away: a frame seldom starts or ends with white space.
        # Anything else (white space, extra data, no value at all) goes through the full
        # decoder, which skips the white space or words the error.
        try:
            value, end = _scan(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            value = _strict_decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deep") from None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None and not _utf8_tree(value):
        # a paired surrogate escape decodes to one character: fine
        raise ValueError("a string holds a lone surrogate")
    return value


def _utf8_tree(value: Any) -> bool:
    """Whether every string (keys included) in a decoded value is UTF-8 safe."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not utf8_safe(item):
                return False
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
    return True


class JSONCodec:
    """The default codec: Python's ``json``, compact, non-ASCII sent as is, strict.

    The text is what Starlette's ``send_json`` produces for ordinary values.  ``default``
    replaces :func:`encode_default` (call it from yours to keep its conversions).
    """

    name = "json"

    def __init__(self, *, default: Default | None = None) -> None:
        self.default: Default = encode_default if default is None else default
        self._encode = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=self.default
        ).encode
        # json's C encoder with the same settings, built once (``JSONEncoder.encode``
        # builds one per call).  No circular-reference markers, so it can be shared
        # across threads: a cycle ends in RecursionError, refused like any other.
        make = getattr(json.encoder, "c_make_encoder", None)
        self._chunks: Callable[[Any, int], Any] | None = (
            None
            if make is None
            else make(None, self.default, encode_basestring, None, ":", ",", False, False, False)
        )

    def encode(self, value: Any) -> str:
        try:
            chunks = self._chunks
            text = self._encode(value) if chunks is None else "".join(chunks(value, 0))
        except (TypeError, ValueError, RecursionError) as exc:
            raise EncodeError(f"cannot encode as strict JSON: {exc}") from exc
        if not text.isascii() and not utf8_safe(text):
            raise EncodeError("cannot encode as UTF-8: a string holds a lone surrogate")
        return text

    def decode(self, text: str | bytes) -> Any:
        return _json_decode(text)

    def __repr__(self) -> str:
        return "JSONCodec()" if self.default is encode_default else f"JSONCodec({self.default!r})"


#: A run of digits long enough to be an integer beyond 64 bits, which orjson would read
#: as a float (19 digits: ``-9223372036854775809`` already is one), found by turning every
#: digit into ``0`` (``translate`` and ``in`` run at C speed; a regex is 10x slower).
_LONG_RUN = b"0" * 19
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)


class OrjsonCodec:
    """The orjson codec, with the same strictness and conversions as :class:`JSONCodec`.

    Needs the ``orjson`` package (``pip install "sockethub[orjson]"``); without it the
    constructor raises ``ImportError`` saying so.  Values orjson refuses but ``json``
    accepts (integers beyond 64 bits, non-string dict keys, nesting deeper than orjson's
    255 levels) are encoded by ``json`` instead; texts with integers orjson would read
    as floats are decoded by ``json`` too, so both codecs agree on every value.
    """

    name = "orjson"

    def __init__(self, *, default: Default | None = None) -> None:
        try:
            import orjson
        except ImportError as exc:
            raise ImportError(
                "OrjsonCodec needs the orjson package; install it with:\n"
                '    pip install "sockethub[orjson]"'
            ) from exc
        self.default: Default = encode_default if default is None else default
        self._fallback = JSONCodec(default=self.default)
        self._dumps = orjson.dumps
        self._loads = orjson.loads
        # Our conversions for datetimes and dataclasses, not orjson's own: both codecs
        # must write the same text.
        self._options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def encode(self, value: Any) -> str:
        try:
            data = self._dumps(value, default=self.default, option=self._options)
        except TypeError:
            # orjson's refusals (big ints, int keys, depth, the default raising) are not
            # all json's: let json decide, and word the error.
            return self._fallback.encode(value)
        # orjson writes NaN and infinities as null.  Only a text with a null can hide one;
        # plain JSON data that reads back equal has none (a NaN would read back as None),
        # and the walk looks at the rest (tuples, converted values...).
        if b"null" in data and self._loads(data) != value and _has_non_finite(value, self.default):
            raise EncodeError("cannot encode as strict JSON: Out of range float values")
        return data.decode("utf-8")

    def decode(self, text: str | bytes) -> Any:
        # bytes.translate is several times faster than str.translate; a raw surrogate in
        # a str becomes invalid UTF-8, which orjson refuses.
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        if _LONG_RUN in data.translate(_DIGITS_TO_ZERO):
            return _json_decode(text)
        return self._loads(data)

    def __repr__(self) -> str:
        if self.default is encode_default:
            return "OrjsonCodec()"
        return f"OrjsonCodec({self.default!r})"


def _has_non_finite(value: Any, default: Default) -> bool:
    """Whether a NaN or an infinity hides in ``value`` (after ``default`` conversions)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, str | int | bool) or item is None:
            continue
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        else:  # orjson encoded it, so it is no cycle
            try:
                stack.append(default(item))
            except Exception:
                continue
    return False


DEFAULT_CODEC: Final[Codec] = JSONCodec()
"""The codec of a hub created without ``codec=``."""
