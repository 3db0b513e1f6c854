"""Detectors behind one small interface, and the model registry.

=================  ==========================================  =============
kind               class                                        extra needed
=================  ==========================================  =============
``rules``          :class:`~.rules.RuleDetector`                -
``iforest``        :class:`~.iforest.IsolationForestDetector`   -
``autoencoder``    :class:`~.autoencoder.AutoencoderDetector`   ``torch``
``gbm``            :class:`~.gbm.GradientBoostingDetector`      ``gbm``
``ann``            :class:`~.ann.NeuralNetDetector`             ``torch``
``online``         :class:`~.online.OnlineDetector`             ``online``
``ensemble``       :class:`~.ensemble.EnsembleDetector`         -
``forest``         :class:`~.forest.RandomForestDetector`       -
=================  ==========================================  =============

Modules are imported lazily so that a missing optional library only matters when its detector
is used.
"""

from __future__ import annotations

import importlib

from fraudstream.detect.base import Detector

__all__ = ["DETECTOR_CLASSES", "Detector", "detector_class"]

DETECTOR_CLASSES: dict[str, str] = {
    "rules": "fraudstream.detect.rules:RuleDetector",
    "iforest": "fraudstream.detect.iforest:IsolationForestDetector",
    "autoencoder": "fraudstream.detect.autoencoder:AutoencoderDetector",
    "gbm": "fraudstream.detect.gbm:GradientBoostingDetector",
    "ann": "fraudstream.detect.ann:NeuralNetDetector",
    "online": "fraudstream.detect.online:OnlineDetector",
    "ensemble": "fraudstream.detect.ensemble:EnsembleDetector",
    "forest": "fraudstream.detect.forest:RandomForestDetector",
}
"""Detector kind -> "module:Class"."""


def detector_class(kind: str) -> type[Detector]:
    """The detector class registered under ``kind``.

    >>> detector_class("rules").__name__
    'RuleDetector'
    """
    from fraudstream.errors import ConfigError

    try:
        target = DETECTOR_CLASSES[kind]
    except KeyError:
        raise ConfigError(f"detector kind {kind!r} is unknown; known: {', '.join(DETECTOR_CLASSES)}") from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
