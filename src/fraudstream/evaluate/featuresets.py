"""Named feature sets for experiments: the feature engine's presets and the seeds' own recipes.

A feature set turns a canonical frame (sorted by event time) into a feature frame with the same
index. Names combine with ``+``: ``"default+attrs"``.

===========  ================================================================================
name         features
===========  ================================================================================
``handbook`` the feature engine with :meth:`FeatureSpec.handbook` (the Handbook's 15 inputs)
``default``  the feature engine with :meth:`FeatureSpec.default` (every feature)
``attrs``    the frame's numeric / bool world attrs (e.g. hacker ``user_transactions_last_24h``)
``seed001``  seed 001's inputs: ``amount, tx_hour, transaction_type, location, tx_day_of_week``
``seed002``  seed 002's inputs: ``amount, log_amount, hour_of_day, day_of_week, norm_latitude,
             norm_longitude``
``seed003``  seed 003's inputs: ``transaction_amount, transaction_hour, account_age,
             user_transactions_last_24h`` (needs the hacker world's attrs)
===========  ================================================================================

Engine sets run :class:`~fraudstream.features.FeatureEngine` over the whole history in
event-time order; labels enter only through the engine's delayed-label path (``label_delay``,
default the spec's 7 days), never as input columns. The seed recipes are per-row and use no label.

>>> import pandas as pd
>>> frame = pd.DataFrame({"tx_id": [1, 2], "ts": pd.to_datetime(["2024-01-01T10:00", "2024-01-02T03:00"],
...     utc=True), "customer_id": [1, 1], "merchant_id": ["M", "M"], "amount": [10.0, 99.0]})
>>> build_feature_set(frame, "seed002")[["log_amount", "hour_of_day"]].round(3).to_numpy().tolist()
[[2.398, 10.0], [4.605, 3.0]]
>>> build_feature_set(frame, "nope")
Traceback (most recent call last):
...
fraudstream.errors.ConfigError: feature set 'nope' is unknown; choose from attrs, default, handbook, \
seed001, seed002, seed003 (joined with '+')
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.errors import ConfigError, InvalidRecord
from fraudstream.features import FeatureSpec, build_features
from fraudstream.records import LABEL_COLUMNS, attr_columns, inputs

__all__ = ["FEATURE_SETS", "build_feature_set", "categorical_columns", "parse_feature_set"]

log = logging.getLogger(__name__)

_INDIA_LAT, _INDIA_LON = (8.0, 37.1), (68.0, 97.4)


def _engine(spec: FeatureSpec) -> Callable[[pd.DataFrame, Any], pd.DataFrame]:
    def build(frame: pd.DataFrame, label_delay: Any) -> pd.DataFrame:
        labels = frame["is_fraud"].to_numpy(bool) if "is_fraud" in frame.columns else None
        return build_features(inputs(frame), spec, labels=labels, label_delay=label_delay)

    return build


def _attrs(frame: pd.DataFrame, label_delay: Any) -> pd.DataFrame:
    names = [
        c
        for c in attr_columns(frame)
        if c not in LABEL_COLUMNS
        and (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    if not names:
        raise InvalidRecord(
            f"feature set attrs: the frame has no numeric attr column (attrs: "
            f"{', '.join(attr_columns(frame)) or 'none'})"
        )
    return frame[names].astype(np.float64)


def _hour_and_day(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    ts = frame["ts"].dt.tz_convert("UTC")
    return ts.dt.hour.to_numpy(np.int64), ts.dt.dayofweek.to_numpy(np.int64)


def _seed001(frame: pd.DataFrame, label_delay: Any) -> pd.DataFrame:
    hour, day = _hour_and_day(frame)
    kind = frame["category"] if "category" in frame.columns else pd.Series("unknown", index=frame.index)
    place = frame["channel"] if "channel" in frame.columns else frame["merchant_id"]
    return pd.DataFrame(
        {
            "amount": frame["amount"].to_numpy(np.float64),
            "tx_hour": hour.astype(np.float64),
            "transaction_type": kind.astype(str).to_numpy(),
            "location": place.astype(str).to_numpy(),
            "tx_day_of_week": day.astype(str),
        },
        index=frame.index,
    )


def _seed002(frame: pd.DataFrame, label_delay: Any) -> pd.DataFrame:
    hour, day = _hour_and_day(frame)
    amount = frame["amount"].to_numpy(np.float64)
    lat = (
        frame["lat"].to_numpy(np.float64)
        if "lat" in frame.columns
        else np.full(len(frame), np.mean(_INDIA_LAT))
    )
    lon = (
        frame["lon"].to_numpy(np.float64)
        if "lon" in frame.columns
        else np.full(len(frame), np.mean(_INDIA_LON))
    )
    return pd.DataFrame(
        {
            "amount": amount,
            "log_amount": np.log1p(np.maximum(amount, 0.0)),
            "hour_of_day": hour.astype(np.float64),
            "day_of_week": day.astype(np.float64),
            "norm_latitude": (lat - _INDIA_LAT[0]) / (_INDIA_LAT[1] - _INDIA_LAT[0]),
            "norm_longitude": (lon - _INDIA_LON[0]) / (_INDIA_LON[1] - _INDIA_LON[0]),
        },
        index=frame.index,
    )


def _seed003(frame: pd.DataFrame, label_delay: Any) -> pd.DataFrame:
    missing = [c for c in ("account_age", "user_transactions_last_24h") if c not in frame.columns]
    if missing:
        raise InvalidRecord(
            f"feature set seed003 needs the attr(s) {', '.join(missing)} (the hacker world "
            f"has them); the frame has: {', '.join(map(str, frame.columns))}"
        )
    hour, _ = _hour_and_day(frame)
    return pd.DataFrame(
        {
            "transaction_amount": frame["amount"].to_numpy(np.float64),
            "transaction_hour": hour.astype(np.float64),
            "account_age": frame["account_age"].to_numpy(np.float64),
            "user_transactions_last_24h": frame["user_transactions_last_24h"].to_numpy(np.float64),
        },
        index=frame.index,
    )


FEATURE_SETS: dict[str, Callable[[pd.DataFrame, Any], pd.DataFrame]] = {
    "attrs": _attrs,
    "default": _engine(FeatureSpec.default()),
    "handbook": _engine(FeatureSpec.handbook()),
    "seed001": _seed001,
    "seed002": _seed002,
    "seed003": _seed003,
}
"""Feature set name -> builder ``(frame, label_delay) -> feature frame``."""


def parse_feature_set(name: str) -> list[str]:
    """The parts of a ``+``-joined feature set name; :class:`ConfigError` for an unknown part.

    >>> parse_feature_set("default+attrs")
    ['default', 'attrs']
    """
    parts = [p.strip() for p in str(name).split("+")]
    for part in parts:
        if part not in FEATURE_SETS:
            raise ConfigError(
                f"feature set {part!r} is unknown; choose from {', '.join(sorted(FEATURE_SETS))} "
                "(joined with '+')"
            )
    return parts


def build_feature_set(frame: pd.DataFrame, name: str, *, label_delay: Any = None) -> pd.DataFrame:
    """Features of ``frame`` (canonical, event-time order) for the feature set ``name``."""
    parts = parse_feature_set(name)
    blocks = [FEATURE_SETS[part](frame, label_delay) for part in parts]
    features = pd.concat(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    if features.columns.duplicated().any():
        features = features.loc[:, ~features.columns.duplicated()]
    log.info("feature set %s: %d rows x %d features", name, len(features), features.shape[1])
    return features


def categorical_columns(features: pd.DataFrame) -> list[str]:
    """Columns that are not numeric or bool (seed 001's one-hot encoded inputs)."""
    return [
        c
        for c in features.columns
        if not (pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c]))
    ]
