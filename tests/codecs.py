"""The codecs every codec-sensitive suite runs with: ``CODECS`` for ``parametrize``."""

from __future__ import annotations

import importlib.util

import pytest

from sockethub.codec import Codec, JSONCodec, OrjsonCodec

HAVE_ORJSON = importlib.util.find_spec("orjson") is not None


def orjson_codec() -> Codec:
    """An :class:`OrjsonCodec`; skips the test (fails it in CI) when orjson is missing."""
    from tests.support import require

    require(HAVE_ORJSON, 'orjson is not installed (pip install "sockethub[orjson]")')
    return OrjsonCodec()


def make(name: str) -> Codec:
    """The codec called ``name`` (``"json"`` or ``"orjson"``)."""
    return JSONCodec() if name == "json" else orjson_codec()


#: Parametrise a test over both codecs by name; build them with :func:`make`.
CODECS = [pytest.param("json", id="json"), pytest.param("orjson", id="orjson")]
