"""Registries by name: a table ``name -> module`` whose module holds the one class of that name.

Worlds (:data:`fraudstream.worlds.WORLD_MODULES`) and adapters
(:data:`fraudstream.adapters.ADAPTER_MODULES`) are found this way: the module is imported only
when its class is asked for.

>>> from fraudstream.adapters import Adapter
>>> load_named_class("fraudstream.adapters.classroom", Adapter, "classroom", "adapter").__name__
'ClassroomAdapter'
"""

from __future__ import annotations

import importlib
from typing import TypeVar

from fraudstream.errors import ConfigError

__all__ = ["load_named_class"]

T = TypeVar("T")


def load_named_class(module_name: str, base: type[T], name: str, kind: str) -> type[T]:
    """The subclass of ``base`` whose ``name`` attribute is ``name`` in module ``module_name``;
    :class:`ConfigError` (``module ... defines no <kind> named ...``) if there is none."""
    module = importlib.import_module(module_name)
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, base) and getattr(value, "name", None) == name:
            return value
    raise ConfigError(f"module {module_name} defines no {kind} named {name!r}")
