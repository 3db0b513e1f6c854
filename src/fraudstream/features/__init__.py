"""Features: one definition per feature, for training (batch over history) and serving (stream).

>>> from fraudstream.features import FeatureEngine, FeatureSpec
>>> FeatureEngine(FeatureSpec.handbook()).spec.naming
'handbook'
"""

from __future__ import annotations

from fraudstream.features.engine import FeatureEngine, build_features
from fraudstream.features.handbook import HANDBOOK_NAMES, HANDBOOK_SELECT
from fraudstream.features.spec import FeatureSpec, window_ns

__all__ = ["HANDBOOK_NAMES", "HANDBOOK_SELECT", "FeatureEngine", "FeatureSpec", "build_features", "window_ns"]
