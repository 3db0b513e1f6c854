"""The name -> module -> class lookup behind the world and adapter registries."""

from __future__ import annotations

import pytest

from fraudstream.adapters import Adapter, get_adapter
from fraudstream.errors import ConfigError
from fraudstream.registry import load_named_class
from fraudstream.worlds import World, get_world


def test_finds_the_subclass_with_that_name():
    world = load_named_class("fraudstream.worlds.handbook", World, "handbook", "world")
    assert issubclass(world, World) and world.name == "handbook"
    assert world is get_world("handbook")
    adapter = load_named_class("fraudstream.adapters.kaggle", Adapter, "kaggle", "adapter")
    assert type(get_adapter("kaggle")) is adapter


def test_a_module_without_that_class_names_module_kind_and_name():
    message = r"module fraudstream.worlds.handbook defines no adapter named 'handbook'"
    with pytest.raises(ConfigError, match=message):
        load_named_class("fraudstream.worlds.handbook", Adapter, "handbook", "adapter")
    with pytest.raises(ConfigError, match=r"defines no world named 'sparkov'"):
        load_named_class("fraudstream.worlds.handbook", World, "sparkov", "world")
