"""The demo's browser fixtures, for every test module of this folder."""

from tests.demo.browser import demo

__all__ = ["demo"]
