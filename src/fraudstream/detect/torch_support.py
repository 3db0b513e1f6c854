"""Shared PyTorch plumbing for the autoencoder and the feed-forward network.

Imports torch lazily and says which extra to install when it is missing. Training is
deterministic for a given ``random_state`` on CPU (seeded generator for weights and batch order).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from fraudstream.detect.base import require_extra
from fraudstream.detect.scaling import Standardiser
from fraudstream.errors import ModelFileError

__all__ = [
    "Standardiser",
    "limited_threads",
    "load_state_dict",
    "mlp",
    "save_state_dict",
    "seeded",
    "time_ordered_split",
    "torch_module",
]


def torch_module() -> Any:
    """The ``torch`` module, or an ImportError naming the ``torch`` extra."""
    return require_extra("torch", "torch")


@contextmanager
def limited_threads(n_jobs: int) -> Iterator[None]:
    """Run torch with ``n_jobs`` intra-op threads, then restore the previous setting.

    Small networks gain nothing from several threads, and on a shared machine oversubscribed
    threads made training ~75x slower in our measurements; the detectors default to 1.
    """
    torch = torch_module()
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n_jobs)))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def seeded(random_state: int | None) -> Any:
    """Seed torch for deterministic initialisation; return a numpy Generator for batch order."""
    torch = torch_module()
    seed = 0 if random_state is None else int(random_state)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def mlp(sizes: Sequence[int], output: str = "linear", dropout: float = 0.0) -> Any:
    """A ReLU multilayer perceptron ``sizes[0] -> ... -> sizes[-1]``; ``output``: linear or sigmoid."""
    nn = torch_module().nn
    layers: list[Any] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    if output == "sigmoid":
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def time_ordered_split(n_rows: int, validation_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) index arrays: the validation slice is the **last** rows, never random."""
    n_val = int(round(n_rows * validation_fraction))
    n_val = min(max(n_val, 1 if validation_fraction > 0 else 0), max(n_rows - 1, 0))
    cut = n_rows - n_val
    return np.arange(cut), np.arange(cut, n_rows)


def save_state_dict(module: Any, path: Path) -> None:
    """``torch.save`` of the module's ``state_dict`` only (tensors, no code)."""
    torch_module().save(module.state_dict(), path)


def load_state_dict(module: Any, path: Path) -> None:
    """Load tensors saved by :func:`save_state_dict` with ``weights_only=True`` (no code is run)."""
    torch = torch_module()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        module.load_state_dict(state)
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path}: not a matching torch state_dict ({exc})") from None
