"""Wire protocols a hub connection can speak."""

from .base import Inbound, WireProtocol
from .envelope import EnvelopeProtocol
from .phoenix import PhoenixProtocol

__all__ = ["EnvelopeProtocol", "Inbound", "PhoenixProtocol", "WireProtocol"]
