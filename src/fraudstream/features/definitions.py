"""Feature definitions: which state each entity kind keeps, and how outputs become named columns.

One definition per feature serves streaming and batch: the engine runs the same kernel over a
live micro-batch or over years of history. The catalogue (names, exact definitions) is
documented in ``docs/features.md``; :func:`feature_names` lists the outputs of a spec.

>>> from fraudstream.features.spec import FeatureSpec
>>> layout = Layout(has_category=False, geo="none", has_home=False)
>>> feature_names(FeatureSpec.handbook(), layout)[:4]
['TX_AMOUNT', 'TX_DURING_WEEKEND', 'TX_DURING_NIGHT', 'CUSTOMER_ID_NB_TX_1DAY_WINDOW']
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from fraudstream.errors import ConfigError
from fraudstream.features.calendar import calendar_features, haversine_km, round_flag
from fraudstream.features.handbook import HANDBOOK_NAMES
from fraudstream.features.spec import ENTITY_COLUMN, STATS, FeatureSpec, window_ns

__all__ = ["KindPlan", "Layout", "Recipe", "bind_layout", "feature_names", "plan_kinds"]


@dataclasses.dataclass(frozen=True)
class Layout:
    """What the data offers, fixed at the first micro-batch: category column, geo columns."""

    has_category: bool
    geo: str  # "merchant" (merchant_lat/lon), "customer" (lat/lon) or "none"
    has_home: bool  # both lat/lon and merchant_lat/lon: distance home -> merchant


def bind_layout(columns: pd.Index | list[str], spec: FeatureSpec) -> Layout:
    """The layout for a frame with these columns."""
    cols = set(columns)
    if {"merchant_lat", "merchant_lon"} <= cols:
        geo = "merchant"
    elif {"lat", "lon"} <= cols:
        geo = "customer"
    else:
        geo = "none"
    if not spec.geo or spec.history_window is None:
        geo = "none"
    has_home = spec.geo and {"lat", "lon", "merchant_lat", "merchant_lon"} <= cols
    return Layout(has_category="category" in cols, geo=geo, has_home=bool(has_home))


@dataclasses.dataclass(frozen=True)
class KindPlan:
    """State and outputs of one entity kind under a spec and layout."""

    kind: str
    column: str
    windows: tuple[str, ...]  # every window with running sums, shortest first
    output_windows: tuple[str, ...]  # windows whose stats are outputs
    win_max: tuple[bool, ...]
    hist_w: int
    repeat_w: int
    novelty_w: int
    use_geo: bool
    use_novelty: bool
    risk_windows: tuple[str, ...]
    event_columns: tuple[str, ...]

    def win_ns(self) -> np.ndarray:
        return np.asarray([window_ns(w) for w in self.windows], np.int64)

    def risk_ns(self) -> np.ndarray:
        return np.asarray([window_ns(w) for w in self.risk_windows], np.int64)


def _index_of(windows: tuple[str, ...], window: str | None) -> int:
    if window is None:
        return -1
    lengths = [window_ns(w) for w in windows]
    return lengths.index(window_ns(window))


def plan_kinds(spec: FeatureSpec, layout: Layout) -> list[KindPlan]:
    """The entity kinds a spec needs, with their windows and ring columns."""
    plans = []
    customer_windows = spec.customer_windows()
    novelty = spec.novelty_window is not None
    geo = layout.geo != "none"
    out_windows = spec.windows if "customer" in spec.entities else ()
    customer_max = ("max" in spec.stats and bool(out_windows)) or spec.history_window is not None
    columns = (("ts", "cents") + (("pg",) if customer_max else ()) + (("m",) if novelty else ())
               + (("c",) if novelty and layout.has_category else ()) + (("lat", "lon") if geo else ()))
    plans.append(KindPlan(
        "customer", "customer_id", customer_windows, out_windows + spec.velocity,
        tuple("max" in spec.stats and any(window_ns(w) == window_ns(o) for o in out_windows)
              for w in customer_windows),
        _index_of(customer_windows, spec.history_window), _index_of(customer_windows, spec.repeat_window),
        _index_of(customer_windows, spec.novelty_window), geo, novelty, (), columns))
    merchant_windows = tuple(sorted(set(spec.windows), key=window_ns)) if "merchant" in spec.entities else ()
    if merchant_windows or spec.risk_windows:
        plans.append(KindPlan(
            "merchant", "merchant_id", merchant_windows, merchant_windows,
            tuple("max" in spec.stats for _ in merchant_windows), -1, -1, -1, False, False,
            spec.risk_windows, ("ts", "cents") + (("pg",) if "max" in spec.stats and merchant_windows else ())
            + (("key", "fl") if spec.risk_windows else ())))
    if "category" in spec.entities and layout.has_category:
        windows = tuple(sorted(set(spec.windows), key=window_ns))
        plans.append(KindPlan("category", ENTITY_COLUMN["category"], windows, windows,
                              tuple("max" in spec.stats for _ in windows), -1, -1, -1, False, False, (),
                              ("ts", "cents") + (("pg",) if "max" in spec.stats else ())))
    return plans


def _all_names(spec: FeatureSpec, layout: Layout) -> list[str]:
    names = []
    if spec.amount:
        names.append("amount")
    if spec.calendar:
        names += ["is_weekend", "is_night", "hour_sin", "hour_cos", "weekday_sin", "weekday_cos"]
    if spec.amount_flags:
        names.append("amount_is_round")
    for plan in plan_kinds(spec, layout):
        stats_windows = spec.windows if plan.kind in spec.entities else ()
        names += [f"{plan.kind}_{stat}_{w}" for w in stats_windows for stat in spec.stats]
        if plan.kind == "customer":
            names += [f"customer_count_{v}" for v in spec.velocity
                      if not ("count" in spec.stats and f"customer_count_{v}" in names)]
            if spec.recency:
                names.append("customer_seconds_since_prev")
            if spec.history_window:
                h = spec.history_window
                names += [f"customer_amount_zscore_{h}", f"customer_amount_to_mean_{h}",
                          f"customer_amount_to_max_{h}"]
            if spec.repeat_window:
                names.append(f"customer_repeat_amount_{spec.repeat_window}")
            if spec.novelty_window:
                names.append(f"customer_new_merchant_{spec.novelty_window}")
                if layout.has_category:
                    names.append(f"customer_new_category_{spec.novelty_window}")
            if layout.geo != "none":
                names.append(f"customer_distance_km_{spec.history_window}")
        for w in plan.risk_windows:
            names += [f"merchant_delayed_count_{w}", f"merchant_delayed_frauds_{w}", f"merchant_risk_{w}"]
    if layout.has_home:
        names.append("home_distance_km")
    return names


def feature_names(spec: FeatureSpec, layout: Layout) -> list[str]:
    """Output column names of a spec on data with this layout, in output order."""
    names = _all_names(spec, layout)
    if spec.select is not None:
        missing = [n for n in spec.select if n not in names]
        if missing:
            raise ConfigError(f"select names feature(s) this spec and data do not compute: "
                              f"{', '.join(missing)}; available: {', '.join(names)}")
        names = list(spec.select)
    if spec.naming == "handbook":
        return [HANDBOOK_NAMES.get(n, n) for n in names]
    return names


class Recipe:
    """How each output column is made from the kernel outputs; built once per engine.

    ``assemble`` stacks the columns of a micro-batch into one float64 matrix (input row order).
    """

    def __init__(self, spec: FeatureSpec, layout: Layout) -> None:
        self.spec, self.layout = spec, layout
        self.plans = plan_kinds(spec, layout)
        self.names = feature_names(spec, layout)
        self._internal = spec.select if spec.select is not None else _all_names(spec, layout)
        self._sources: dict[str, tuple[str, int, int]] = {}  # name -> (kind, window index, stat index)
        for plan in self.plans:
            for w_index, window in enumerate(plan.windows):
                for output in plan.output_windows:
                    if window_ns(output) == window_ns(window):
                        for s_index, stat in enumerate(STATS):
                            self._sources[f"{plan.kind}_{stat}_{output}"] = (plan.kind, w_index, s_index)

    def assemble(self, arrays: dict[str, np.ndarray],
                 outputs: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
        """The feature matrix of a batch from its input ``arrays`` (ts, amount, cents, geo)."""
        spec, layout = self.spec, self.layout
        cols: dict[str, np.ndarray] = {}
        amount = arrays["amount"]
        ts = arrays["ts"]
        cols["amount"] = amount
        if spec.calendar:
            cols.update(calendar_features(ts))
        if spec.amount_flags:
            cols["amount_is_round"] = round_flag(arrays["cents"])
        for name, (kind, w_index, s_index) in self._sources.items():
            cols[name] = outputs[kind][0][w_index, s_index]
        if "customer" in outputs:
            out_cust = outputs["customer"][1]
            cols["customer_seconds_since_prev"] = out_cust[0]
            if spec.history_window:
                h = spec.history_window
                mean, std, top = out_cust[2], out_cust[3], out_cust[4]
                cols[f"customer_amount_zscore_{h}"] = (amount - mean) / np.maximum(std, 0.01)
                cols[f"customer_amount_to_mean_{h}"] = amount / np.maximum(mean, 0.01)
                cols[f"customer_amount_to_max_{h}"] = amount / np.maximum(top, 0.01)
            if spec.repeat_window:
                cols[f"customer_repeat_amount_{spec.repeat_window}"] = out_cust[7]
            if spec.novelty_window:
                cols[f"customer_new_merchant_{spec.novelty_window}"] = out_cust[5]
                cols[f"customer_new_category_{spec.novelty_window}"] = out_cust[6]
            if layout.geo != "none":
                cols[f"customer_distance_km_{spec.history_window}"] = out_cust[8]
        if "merchant" in outputs:
            out_risk = outputs["merchant"][2]
            for j, w in enumerate(spec.risk_windows):
                count, frauds = out_risk[j, 0], out_risk[j, 1]
                cols[f"merchant_delayed_count_{w}"] = count
                cols[f"merchant_delayed_frauds_{w}"] = frauds
                cols[f"merchant_risk_{w}"] = np.where(count > 0, frauds / np.maximum(count, 1), 0.0)
        if layout.has_home:
            cols["home_distance_km"] = haversine_km(arrays["lat"], arrays["lon"], arrays["merchant_lat"],
                                                    arrays["merchant_lon"])
        matrix = np.empty((len(amount), len(self._internal)), order="F")  # columns contiguous
        for k, name in enumerate(self._internal):
            matrix[:, k] = cols[name]
        return matrix
