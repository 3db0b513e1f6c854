"""__all__ of the client modules is honest: every listed name exists, every public definition is listed."""

from __future__ import annotations

import importlib
import inspect

import pytest

import fraudstream

MODULES = ["fraudstream.stream.framing", "fraudstream.stream.statistics", "fraudstream.stream.messages",
           "fraudstream.stream.connection", "fraudstream.stream.reader", "fraudstream.stream.reader_async",
           "fraudstream.stream.client", "fraudstream.stream.testing", "fraudstream.cli.watch",
           "fraudstream.cli.watch_view", "fraudstream.cli.visual", "fraudstream.cli.demo"]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_honest(name):
    module = importlib.import_module(name)
    assert all(hasattr(module, attribute) for attribute in module.__all__)
    defined = {key for key, value in vars(module).items()
               if not key.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
               and value.__module__ == name}
    assert defined <= set(module.__all__), defined - set(module.__all__)


def test_package_exports_the_iterators():
    assert fraudstream.stream is importlib.import_module("fraudstream.stream.reader").stream
    assert {"stream", "stream_async"} <= set(fraudstream.__all__)
