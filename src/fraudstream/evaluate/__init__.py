"""Evaluation: metrics (:mod:`.metrics`), threshold choice (:mod:`.thresholds`) and temporal
splits (:mod:`.splits`). See docs/evaluation.md for exact definitions."""

from __future__ import annotations

__all__: list[str] = []
