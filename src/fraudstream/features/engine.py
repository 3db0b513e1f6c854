"""The feature engine: one pass over events, micro-batch after micro-batch, for stream and batch.

>>> import pandas as pd
>>> frame = pd.DataFrame({"tx_id": [1, 2, 3],
...     "ts": pd.to_datetime(["2024-01-01T10:00", "2024-01-01T10:30", "2024-01-03T09:00"], utc=True),
...     "customer_id": [7, 7, 7], "merchant_id": ["T1", "T2", "T1"], "amount": [10.0, 30.0, 20.0]})
>>> engine = FeatureEngine(FeatureSpec(entities=("customer",), windows=("24h",), stats=("count", "mean")))
>>> engine.transform_many(frame)[["customer_count_24h", "customer_mean_24h"]].to_numpy().tolist()
[[1.0, 10.0], [2.0, 20.0], [1.0, 20.0]]

Training data is built by running the same engine over history (:func:`build_features`);
labels enter only through :meth:`FeatureEngine.learn_labels`, never as input columns.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fraudstream.errors import ConfigError, InvalidRecord, ModelFileError
from fraudstream.features.calendar import event_ns
from fraudstream.features.definitions import KindPlan, Layout, Recipe, bind_layout, feature_names
from fraudstream.features.kernels import N_CUSTOMER_OUT, advance, drop_located, locate_all, relabel
from fraudstream.features.labels import LabelStore, tx_keys
from fraudstream.features.locator import Locator
from fraudstream.features.spec import FeatureSpec, window_ns
from fraudstream.features.state import EntityState
from fraudstream.records import CORE_COLUMNS, ensure_no_labels, validate

__all__ = ["FeatureEngine", "build_features"]

log = logging.getLogger(__name__)

_FORMAT = "fraudstream-feature-engine/2"
_NO_WATERMARK = np.iinfo(np.int64).min
_EMPTY_I = np.zeros(0, np.int64)
_EMPTY_I32 = np.zeros(0, np.int32)
_EMPTY_F = np.zeros(0, np.float64)
_EMPTY_U8 = np.zeros(0, np.uint8)
_DAY_NS = 86400 * 10**9
_SECOND_NS = 10**9
_INT32 = np.iinfo(np.int32)
_NO_LOCATOR = Locator(1)  # passed to kinds without risk features; never touched


class FeatureEngine:
    """Stateful, point-in-time correct features for canonical transaction frames.

    ``transform_many(frame)`` returns one row of features per input row (same index), computed
    from the state before each transaction plus, for windowed statistics, the transaction
    itself; then the state includes the batch. Rows are processed in (ts, tx_id) order.
    """

    def __init__(self, spec: FeatureSpec | None = None) -> None:
        self.spec = spec if spec is not None else FeatureSpec.default()
        self.layout: Layout | None = None
        self.plans: list[KindPlan] = []
        self.states: dict[str, EntityState] = {}
        self.labels = LabelStore()
        self.watermark_ns = _NO_WATERMARK
        self.last_eviction_ns = _NO_WATERMARK
        self.evicted = 0
        self.epoch_ns: int | None = None  # ticks count from here (the first batch's day, UTC)
        self.tick_ns = _SECOND_NS  # 1 s while every time is a whole second, else 1 ns
        self.locator = Locator()
        self._kernel_cfg: dict[str, Any] = {}
        self._label_view: tuple[np.ndarray, ...] | None = None
        self._delay_ns = window_ns(self.spec.risk_delay)
        self._ttl_ns = window_ns(self.spec.ttl) if self.spec.ttl is not None else None
        self._evict_every_ns = min(_DAY_NS, self._ttl_ns // 4) if self._ttl_ns else _DAY_NS
        self._label_horizon_ns = self._delay_ns + max(
            (window_ns(w) for w in self.spec.risk_windows), default=0)

    # -- public API -------------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        """Output columns (known once the first batch fixed the layout)."""
        if self.layout is None:
            raise ConfigError("feature names depend on the data's columns: transform a batch first")
        return feature_names(self.spec, self.layout)

    def transform_many(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Features of a micro-batch (inputs only), updating the state."""
        ensure_no_labels(frame.columns, "FeatureEngine.transform_many")
        validate(frame, source="FeatureEngine.transform_many")
        if self.layout is None:
            self._bind(list(frame.columns))
        self._check_columns(list(frame.columns), lambda c: frame[c].isna().to_numpy())
        if len(frame) == 0:
            return pd.DataFrame({name: np.zeros(0) for name in self.feature_names}, index=frame.index)
        columns = {c: frame[c].to_numpy() for c in self._input_columns if c != "ts"}
        columns["ts"] = event_ns(frame["ts"])
        matrix = self._transform_columns(columns, len(frame))
        return pd.DataFrame(matrix, index=frame.index, columns=self._recipe.names, copy=False)

    def transform_one(self, tx: Mapping[str, Any]) -> dict[str, float]:
        """Features of one transaction (a mapping of canonical fields): a batch of one, without
        building a DataFrame. A naive ``ts`` is taken as UTC."""
        ensure_no_labels(tx.keys(), "FeatureEngine.transform_one")
        missing = [c for c in CORE_COLUMNS if c not in tx]
        if missing:
            raise InvalidRecord(f"FeatureEngine.transform_one: missing field(s) {', '.join(missing)}; "
                                f"a transaction needs {', '.join(CORE_COLUMNS)}")
        amount = float(tx["amount"])
        if not amount >= 0:
            raise InvalidRecord(f"FeatureEngine.transform_one: amount must be a number >= 0, got {amount}")
        for name in ("tx_id", "customer_id", "merchant_id"):
            if tx[name] is None or (isinstance(tx[name], float) and np.isnan(tx[name])):
                raise InvalidRecord(f"FeatureEngine.transform_one: {name} must not be empty")
        ts = pd.Timestamp(tx["ts"])
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        if self.layout is None:
            self._bind(list(tx.keys()))
        self._check_columns(list(tx.keys()), lambda c: np.asarray([pd.isna(tx[c])]))
        columns = {c: np.asarray([tx[c]]) for c in self._input_columns if c != "ts"}
        columns["amount"] = np.asarray([amount])
        columns["ts"] = np.asarray([ts.as_unit("ns").value], np.int64)
        matrix = self._transform_columns(columns, 1)
        return dict(zip(self._recipe.names, matrix[0].tolist(), strict=True))

    def _transform_columns(self, columns: dict[str, np.ndarray], n: int) -> np.ndarray:
        """The shared path: validated input columns (``ts`` as int64 ns) -> feature matrix."""
        event_ts = columns["ts"]
        ts = self._apply_lateness(columns, event_ts)
        tx_id = columns["tx_id"]
        keys = tx_keys(tx_id)
        order = _event_order(ts, tx_id, keys)
        amount = np.asarray(columns["amount"], np.float64)
        cents = np.rint(amount * 100).astype(np.int64)
        ticks = self._ticks(ts, cents)
        arrays = {"ts": event_ts, "amount": amount, "cents": cents}  # calendar: the event's own time
        for column in ("lat", "lon", "merchant_lat", "merchant_lon"):
            if column in columns:
                arrays[column] = np.asarray(columns[column], np.float64)
        batch = {"ts": ticks[order], "cents": cents[order], "txkey": keys[order], "rows": order}
        per_event = self._per_event(columns, arrays)
        for name, values in zip(("mkey", "ckey", "lat", "lon"), per_event, strict=True):
            batch[name] = values[order] if len(values) else values
        outputs = {plan.kind: self._run_kind(plan, columns, order, batch, n) for plan in self.plans}
        matrix = self._recipe.assemble(arrays, outputs)
        self.watermark_ns = max(self.watermark_ns, int(ts.max()))
        self._maybe_evict()
        return matrix

    def fit_transform(self, history: pd.DataFrame, labels: Any = None, *,
                      label_delay: str | pd.Timedelta | None = None) -> pd.DataFrame:
        """Training features: run this engine over ``history`` (the same code as serving).

        ``labels`` (``is_fraud`` per row of ``history``, given apart from it) become known
        ``label_delay`` after each transaction (default: the spec's ``risk_delay``); risk
        features never see a label before then, nor one of a transaction younger than the delay.
        """
        ensure_no_labels(history.columns, "FeatureEngine.fit_transform")
        if labels is not None:
            is_fraud = np.asarray(labels, dtype=bool)
            if len(is_fraud) != len(history):
                raise InvalidRecord(f"labels must have one value per history row ({len(history)}), "
                                    f"got {len(is_fraud)}")
            delay = pd.Timedelta(label_delay if label_delay is not None else self.spec.risk_delay)
            known_at = history["ts"] + delay
            self.learn_labels(history["tx_id"].to_numpy(), is_fraud, known_at)
        return self.transform_many(history)

    def learn_labels(self, tx_ids: Any, is_fraud: Any, known_at: Any) -> None:
        """Record labels: ``is_fraud`` of ``tx_ids``, known from event time ``known_at`` on.

        A label may arrive before or after its transaction is transformed; it counts in a risk
        feature at time t only if its transaction is older than the spec's delay and
        ``known_at <= t``.
        """
        keys = tx_keys(np.asarray(tx_ids))
        fraud = np.asarray(is_fraud)
        if fraud.dtype != bool:
            raise InvalidRecord(f"is_fraud must be bool, got dtype {fraud.dtype}")
        if not (len(keys) == len(fraud)):
            raise InvalidRecord(f"tx_ids ({len(keys)}) and is_fraud ({len(fraud)}) differ in length")
        at = _known_at_ns(known_at, len(keys))
        risk = self._risk_state()
        before = self.labels.known_at_of(keys) if risk is not None else None
        self.labels.learn(keys, fraud, at)
        self._label_view = None
        if risk is not None and before is not None and self.watermark_ns != _NO_WATERMARK:
            after = self.labels.known_at_of(keys)
            changed = before != after  # events already inside a delayed window: +-1 now
            if changed.any():
                desired = (after[changed] <= self.watermark_ns).astype(np.int64)
                relabel(keys[changed], desired, risk.start, risk.enter, risk.leave, risk.frauds,
                        risk.offset, risk.cap, risk.events["fl"], self.locator.keys, self.locator.vals)

    def nbytes(self) -> int:
        """Bytes of numpy state (rings, aggregates, labels, tx locator); the id dictionaries are
        extra."""
        view = sum(a.nbytes for a in self._label_view[:4]) if self._label_view is not None else 0
        return (sum(s.nbytes() for s in self.states.values()) + self.labels.keys.nbytes * 2
                + self.labels.bitmap.nbytes + view
                + (self.locator.nbytes() if self._risk_state() is not None else 0))

    def n_entities(self) -> dict[str, int]:
        """Live entities per kind."""
        return {kind: len(state) for kind, state in self.states.items()}

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the whole state to one ``.npz`` file; :meth:`load` continues identically."""
        arrays: dict[str, np.ndarray] = {}
        for kind, state in self.states.items():
            arrays.update(state.to_arrays(f"{kind}."))
        arrays["labels.keys"] = self.labels.keys
        arrays["labels.known_at"] = self.labels.known_at
        meta = {"format": _FORMAT, "spec": self.spec.to_dict(),
                "layout": None if self.layout is None else vars(self.layout),
                "watermark_ns": self.watermark_ns, "last_eviction_ns": self.last_eviction_ns,
                "evicted": self.evicted, "epoch_ns": self.epoch_ns, "tick_ns": self.tick_ns}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FeatureEngine:
        """An engine restored from :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            meta = json.loads(arrays.pop("meta").tobytes().decode())
        except (OSError, ValueError, KeyError) as exc:
            raise ModelFileError(f"{path} is not a saved feature engine: {exc}") from None
        if meta.get("format") != _FORMAT:
            raise ModelFileError(f"{path}: format {meta.get('format')!r}, expected {_FORMAT!r}")
        engine = cls(FeatureSpec.from_dict(meta["spec"]))
        engine.watermark_ns = meta["watermark_ns"]
        engine.last_eviction_ns = meta["last_eviction_ns"]
        engine.evicted = meta["evicted"]
        engine.epoch_ns, engine.tick_ns = meta["epoch_ns"], meta["tick_ns"]
        engine.labels.keys = arrays["labels.keys"]
        engine.labels.known_at = arrays["labels.known_at"]
        engine.labels._rebuild_bitmap()
        if meta["layout"] is not None:
            engine.layout = Layout(**meta["layout"])
            engine._recipe = Recipe(engine.spec, engine.layout)
            engine.plans = engine._recipe.plans
            for plan in engine.plans:
                engine.states[plan.kind] = EntityState.from_arrays(
                    arrays, f"{plan.kind}.", len(plan.windows), len(plan.risk_windows), plan.event_columns,
                    geo=plan.use_geo)
                engine._kernel_cfg[plan.kind] = _kernel_config(plan)
            risk = engine._risk_state()
            if risk is not None:  # the locator is derived state: rebuilt, not saved
                slots = np.flatnonzero(risk.live)
                inside = int((risk.enter[slots, 0] - risk.leave[slots].min(axis=1)).sum())
                engine.locator.ensure(inside)
                locate_all(slots, risk.start, risk.enter, risk.leave, risk.offset, risk.cap,
                           risk.events["key"], engine.locator.keys, engine.locator.vals, engine.locator.count)
        return engine

    # -- internals ----------------------------------------------------------------------------
    def _bind(self, columns: list[str]) -> None:
        self.layout = bind_layout(columns, self.spec)
        self._recipe = Recipe(self.spec, self.layout)  # raises early if select names missing features
        self.plans = self._recipe.plans
        for plan in self.plans:
            self.states[plan.kind] = EntityState(len(plan.windows), len(plan.risk_windows),
                                                 plan.event_columns, geo=plan.use_geo)
            self._kernel_cfg[plan.kind] = _kernel_config(plan)
        log.info("feature engine bound: category=%s geo=%s", self.layout.has_category, self.layout.geo)

    @property
    def _optional_columns(self) -> list[str]:
        """Optional columns the bound layout needs in every batch."""
        assert self.layout is not None
        need = ["category"] if self.layout.has_category else []
        if self.layout.geo == "merchant" or self.layout.has_home:
            need += ["merchant_lat", "merchant_lon"]
        if self.layout.geo == "customer" or self.layout.has_home:
            need += ["lat", "lon"]
        return need

    @property
    def _input_columns(self) -> list[str]:
        return list(CORE_COLUMNS) + self._optional_columns

    def _check_columns(self, columns: list[str], isna: Any) -> None:
        missing = [c for c in self._optional_columns if c not in columns]
        if missing:
            raise InvalidRecord(f"missing column(s) {', '.join(missing)}: the engine's first batch had "
                                "them, and its features need them in every batch")
        for column in self._optional_columns:
            empty = isna(column)
            if empty.any():
                raise InvalidRecord(f"{column} must not be empty (row {int(np.argmax(empty))})")

    def _per_event(self, columns: dict[str, np.ndarray], arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Merchant code, category code and place of each event, where the spec needs them."""
        assert self.layout is not None
        novelty = self.spec.novelty_window is not None
        mkey = _fold32(tx_keys(columns["merchant_id"])) if novelty else _EMPTY_I32
        ckey = (_fold32(tx_keys(columns["category"])) if novelty and self.layout.has_category
                else _EMPTY_I32)
        if self.layout.geo == "merchant":
            return [mkey, ckey, arrays["merchant_lat"], arrays["merchant_lon"]]
        if self.layout.geo == "customer":
            return [mkey, ckey, arrays["lat"], arrays["lon"]]
        return [mkey, ckey, _EMPTY_F, _EMPTY_F]

    def _apply_lateness(self, columns: dict[str, np.ndarray], ts: np.ndarray) -> np.ndarray:
        if self.watermark_ns == _NO_WATERMARK:
            return ts
        late = ts < self.watermark_ns
        if not late.any():
            return ts
        lateness = self.watermark_ns - ts
        too_late = lateness > self.spec.max_lateness_s * 1e9
        if too_late.any():
            row = int(np.flatnonzero(too_late)[0])
            raise InvalidRecord(
                f"ts of tx_id {columns['tx_id'][row:row + 1].tolist()[0]!r} is "
                f"{pd.Timestamp(int(ts[row]), tz='UTC')}, {lateness[row] / 1e9:g} s before events "
                f"already processed ({pd.Timestamp(self.watermark_ns, tz='UTC')}); allowed lateness is "
                f"max_lateness_s={self.spec.max_lateness_s:g} s")
        return np.maximum(ts, self.watermark_ns)  # late but tolerated: processed at the watermark

    def _risk_state(self) -> EntityState | None:
        """The merchant state when the spec has label-delayed risk features."""
        state = self.states.get("merchant")
        return state if state is not None and state.n_risk > 0 else None

    def _ticks(self, ts: np.ndarray, cents: np.ndarray) -> np.ndarray:
        """Batch times as ticks from the epoch; widens stored times (to ns) or amounts (to int64
        cents) the first time a batch does not fit the narrow columns."""
        if self.epoch_ns is None:
            self.epoch_ns = int(ts.min()) // _DAY_NS * _DAY_NS
        if self.tick_ns == _SECOND_NS and len(ts):
            relative = ts - self.epoch_ns
            if (relative % _SECOND_NS).any() or relative.min() < _INT32.min * _SECOND_NS or \
                    relative.max() > _INT32.max * _SECOND_NS:
                log.info("feature engine: times with sub-second parts or beyond 68 years of the epoch: "
                         "event times stored as int64 ns from now on")
                for state in self.states.values():
                    state.widen("ts", _SECOND_NS)
                self.tick_ns = 1
                self._label_view = None
        if len(cents) and int(cents.max()) > _INT32.max:
            for state in self.states.values():
                if state.events["cents"].dtype != np.int64:
                    log.info("feature engine: an amount over %d cents: amounts stored as int64", _INT32.max)
                    state.widen("cents")
        return (ts - self.epoch_ns) // self.tick_ns

    def _to_ticks(self, ns: int | np.ndarray) -> Any:
        """A time in ns as the smallest tick count not before it (``known_at <= t`` keeps its
        meaning for event times, which are whole ticks)."""
        assert self.epoch_ns is not None
        return -((self.epoch_ns - ns) // self.tick_ns)

    def _labels_in_ticks(self) -> tuple[np.ndarray, ...]:
        """Label keys, known_at in ticks, bitmap, and the activations (known_at in ticks, key)
        ordered by time, with the first one not applied yet (after the watermark)."""
        if self._label_view is None:
            at = np.minimum(self.labels.known_at, np.iinfo(np.int64).max - self.tick_ns)
            at_ticks = self._to_ticks(at).astype(np.int64)
            order = np.argsort(at_ticks, kind="stable")
            act_at, act_key = at_ticks[order], self.labels.keys[order]
            done = (np.searchsorted(act_at, self._to_ticks(self.watermark_ns), side="right")
                    if self.watermark_ns != _NO_WATERMARK else 0)
            self._label_view = (at_ticks, act_at, act_key, np.asarray([done], np.int64))
        return self._label_view

    def _run_kind(self, plan: KindPlan, columns: dict[str, np.ndarray], order: np.ndarray,
                  batch: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        state = self.states[plan.kind]
        slots = state.slots_for(columns[plan.column])
        state.reserve(slots)
        cfg = self._kernel_cfg[plan.kind]
        n_w, n_r = len(plan.windows), len(plan.risk_windows)
        out_win = np.full((n_w, 5, n), np.nan)
        out_cust = np.full((N_CUSTOMER_OUT if plan.kind == "customer" else 0, n), np.nan)
        out_risk = np.zeros((n_r, 2, n))
        ev = state.events
        tick = self.tick_ns
        if n_r:
            at_ticks, act_at, act_key, act_pos = self._labels_in_ticks()
            locator = self.locator
        else:
            at_ticks = act_at = act_key = _EMPTY_I
            act_pos = np.zeros(1, np.int64)
            locator = _NO_LOCATOR
        done = 0
        while done < n:
            done = advance(
                slots[order], batch["ts"], batch["cents"], batch["mkey"], batch["ckey"], batch["lat"],
                batch["lon"], batch["txkey"], batch["rows"],
                state.offset, state.cap, state.start, state.end, state.last_ts, state.heads, state.sums,
                state.sumsq, state.geo_sums, state.enter, state.leave, state.frauds,
                ev["ts"], ev["cents"], ev.get("pg", _EMPTY_I32), ev.get("m", _EMPTY_I32),
                ev.get("c", _EMPTY_I32), ev.get("lat", _EMPTY_F), ev.get("lon", _EMPTY_F),
                ev.get("key", _EMPTY_I), ev.get("fl", _EMPTY_U8),
                cfg["win_ns"] // tick, cfg["win_max"], plan.hist_w, plan.repeat_w, plan.novelty_w,
                plan.use_geo, plan.use_novelty, "pg" in ev, _SECOND_NS / tick, self._delay_ns // tick,
                cfg["risk_ns"] // tick,
                self.labels.keys, at_ticks, self.labels.bitmap, act_at, act_key, act_pos,
                locator.keys, locator.vals, locator.count, locator.limit(), done,
                out_win, out_cust, out_risk)
            if done < n:  # the locator is full: grow it, go on from the event that did not fit
                locator.grow()
        return out_win, out_cust, out_risk

    def _maybe_evict(self) -> None:
        if self.last_eviction_ns == _NO_WATERMARK:
            self.last_eviction_ns = self.watermark_ns
        over_limit = self.spec.max_entities is not None and any(
            len(s) > self.spec.max_entities * 1.1 for s in self.states.values())
        if self.watermark_ns - self.last_eviction_ns < self._evict_every_ns and not over_limit:
            return
        older = self._to_ticks(self.watermark_ns - self._ttl_ns) if self._ttl_ns is not None else None
        risk = self._risk_state()
        for state in self.states.values():
            on_evict = self._unlocate if state is risk else None
            self.evicted += len(state.evict(older, self.spec.max_entities, on_evict))
        if risk is not None:
            self.locator.ensure(0)  # shrinks when mostly empty
        if self.labels.forget_before(self.watermark_ns - self._label_horizon_ns):
            self._label_view = None
        self.last_eviction_ns = self.watermark_ns

    def _unlocate(self, slots: np.ndarray) -> None:
        risk = self._risk_state()
        assert risk is not None
        drop_located(slots, risk.start, risk.enter, risk.leave, risk.offset, risk.cap, risk.events["key"],
                     self.locator.keys, self.locator.vals, self.locator.count)


def _kernel_config(plan: KindPlan) -> dict[str, np.ndarray]:
    return {"win_ns": plan.win_ns(), "win_max": np.asarray(plan.win_max, np.bool_),
            "risk_ns": plan.risk_ns()}


def _known_at_ns(known_at: Any, n: int) -> np.ndarray:
    """int64 ns (UTC) of label times given as a Series, index, array or one scalar time."""
    if isinstance(known_at, pd.Series) and isinstance(known_at.dtype, pd.DatetimeTZDtype):
        at = known_at
    elif isinstance(known_at, (pd.Series, pd.Index, np.ndarray, list, tuple)):
        at = pd.Series(pd.to_datetime(known_at, utc=True))
    else:
        at = pd.Series(pd.to_datetime([known_at] * n, utc=True))
    if len(at) != n:
        raise InvalidRecord(f"known_at must have one time per label ({n}), got {len(at)}")
    if at.isna().any():
        raise InvalidRecord("known_at must be a time for every label, got a missing value")
    return event_ns(at)


def _fold32(keys: np.ndarray) -> np.ndarray:
    """32-bit codes of int64 keys (high half xor low half), stored per event for novelty."""
    return ((keys ^ (keys >> 32)) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def _event_order(ts: np.ndarray, tx_id: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Processing order: by event time, ties by tx id (numeric ids by value, others as text)."""
    if len(ts) < 2 or bool((np.diff(ts) > 0).all()):
        return np.arange(len(ts), dtype=np.int64)
    if tx_id.dtype.kind in "iu":
        tie = keys
    else:
        tie = pd.factorize(np.asarray([str(v) for v in tx_id.tolist()], dtype=object), sort=True)[0]
    return np.lexsort((tie, ts)).astype(np.int64)


def build_features(frame: pd.DataFrame, spec: FeatureSpec | None = None, labels: Any = None, *,
                   label_delay: str | pd.Timedelta | None = None) -> pd.DataFrame:
    """Training features of ``frame`` (inputs only): a fresh engine run over it.

    >>> import pandas as pd
    >>> times = pd.to_datetime(["2024-01-01T00:00:00", "2024-01-08T12:00:00"], utc=True)
    >>> frame = pd.DataFrame({"tx_id": [1, 2], "ts": times,
    ...     "customer_id": [1, 2], "merchant_id": [5, 5], "amount": [10.0, 20.0]})
    >>> build_features(frame, FeatureSpec.handbook(), labels=[True, False], label_delay="0d")[
    ...     ["TERMINAL_ID_NB_TX_1DAY_WINDOW", "TERMINAL_ID_RISK_1DAY_WINDOW"]].to_numpy().tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """
    return FeatureEngine(spec).fit_transform(frame, labels, label_delay=label_delay)


