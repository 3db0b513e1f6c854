"""detect_adapter picks each registered adapter from its own column names."""

from __future__ import annotations

import pytest

from fraudstream.adapters import ADAPTER_MODULES, detect_adapter, get_adapter


def available_adapters() -> list[str]:
    """Adapters whose module exists (others are still being written)."""
    names = []
    for name in ADAPTER_MODULES:
        try:
            get_adapter(name)
        except ModuleNotFoundError:
            continue
        names.append(name)
    return names


@pytest.mark.parametrize("name", available_adapters())
def test_full_layout_is_detected(name):
    adapter = get_adapter(name)
    assert detect_adapter(adapter.columns).name == name


@pytest.mark.parametrize("name", available_adapters())
def test_required_columns_alone_are_detected(name):
    adapter = get_adapter(name)
    assert detect_adapter(adapter.required or adapter.columns).name == name


def test_the_seed_adapters_are_all_there():
    assert {"seed001", "welfare", "hacker", "ulb", "paysim"} <= set(available_adapters())
