"""Oracle test: streaming features equal a brute-force recomputation on every row.

The oracle below is written independently of the engine: for each row it builds boolean masks
over all rows (same entity, earlier in (ts, tx_id) order, inside the window) and reduces them
with numpy. O(n^2), obviously correct, only for small frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudstream.features import FeatureEngine
from tests.features.features_testdata import SHORT_SPEC, micro_batches, random_frame

DAY = pd.Timedelta("1D")


def _td(window: str) -> pd.Timedelta:
    unit = {"s": "s", "m": "min", "h": "h", "d": "D"}[window[-1]]
    return pd.Timedelta(int(window[:-1]), unit=unit)


def _haversine(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def oracle(frame: pd.DataFrame, spec, fraud: np.ndarray, known_at: pd.Series) -> pd.DataFrame:
    """Every feature of ``spec`` (fraudstream names) by brute force over all pairs of rows."""
    f = frame.sort_values(["ts", "tx_id"]).reset_index(drop=True)
    n = len(f)
    ts = f["ts"].dt.tz_localize(None).to_numpy()
    amount = f["amount"].to_numpy()
    rank = np.arange(n)
    upto = rank[None, :] <= rank[:, None]  # [i, j]: j is i or before i
    before = rank[None, :] < rank[:, None]
    out: dict[str, np.ndarray] = {"amount": amount}
    hours = f["ts"].dt.hour.to_numpy()
    weekday = f["ts"].dt.weekday.to_numpy()
    out["is_weekend"] = (weekday >= 5).astype(float)
    out["is_night"] = (hours <= 6).astype(float)
    sod = (f["ts"] - f["ts"].dt.floor("D")).dt.total_seconds().to_numpy()
    out["hour_sin"], out["hour_cos"] = np.sin(2 * np.pi * sod / 86400), np.cos(2 * np.pi * sod / 86400)
    out["weekday_sin"], out["weekday_cos"] = np.sin(2 * np.pi * weekday / 7), np.cos(2 * np.pi * weekday / 7)
    out["amount_is_round"] = (np.round(amount * 100) % 100 == 0).astype(float)

    def inside(window: str) -> np.ndarray:
        return ts[None, :] > ts[:, None] - _td(window).to_timedelta64()

    entities = (("customer", "customer_id"), ("merchant", "merchant_id"), ("category", "category"))
    for entity, column in entities:
        ids = f[column].to_numpy()
        same = ids[None, :] == ids[:, None]
        for window in spec.windows:
            mask = same & upto & inside(window)
            count = mask.sum(1)
            total = (mask * amount[None, :]).sum(1)
            mean = total / count
            sq = (mask * (amount[None, :] - mean[:, None]) ** 2).sum(1)
            out[f"{entity}_count_{window}"] = count.astype(float)
            out[f"{entity}_sum_{window}"] = total
            out[f"{entity}_mean_{window}"] = mean
            out[f"{entity}_std_{window}"] = np.sqrt(sq / count)
            out[f"{entity}_max_{window}"] = np.where(mask, amount[None, :], -np.inf).max(1)
    cust = f["customer_id"].to_numpy()
    same = cust[None, :] == cust[:, None]
    for window in spec.velocity:
        out[f"customer_count_{window}"] = (same & upto & inside(window)).sum(1).astype(float)
    prev_any = same & before
    last = np.where(prev_any, ts[None, :].astype(np.int64), np.iinfo(np.int64).min).max(1)
    out["customer_seconds_since_prev"] = np.where(
        prev_any.any(1), (ts.astype(np.int64) - last) / 1e9, np.nan)
    h = spec.history_window
    prev = same & before & inside(h)
    cnt = prev.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (prev * amount[None, :]).sum(1) / cnt
        std = np.sqrt((prev * (amount[None, :] - mean[:, None]) ** 2).sum(1) / cnt)
        top = np.where(prev, amount[None, :], -np.inf).max(1)
        zscore = (amount - mean) / np.maximum(std, 0.01)
        out[f"customer_amount_zscore_{h}"] = np.where(cnt > 0, zscore, np.nan)
        out[f"customer_amount_to_mean_{h}"] = np.where(cnt > 0, amount / np.maximum(mean, 0.01), np.nan)
        out[f"customer_amount_to_max_{h}"] = np.where(cnt > 0, amount / np.maximum(top, 0.01), np.nan)
        plat, plon = f["merchant_lat"].to_numpy(), f["merchant_lon"].to_numpy()
        mlat = (prev * plat[None, :]).sum(1) / cnt
        mlon = (prev * plon[None, :]).sum(1) / cnt
        out[f"customer_distance_km_{h}"] = np.where(cnt > 0, _haversine(plat, plon, mlat, mlon), np.nan)
    cents = np.round(amount * 100)
    rep = same & before & inside(spec.repeat_window) & (cents[None, :] == cents[:, None])
    out[f"customer_repeat_amount_{spec.repeat_window}"] = rep.any(1).astype(float)
    nov = same & before & inside(spec.novelty_window)
    for what, column in (("merchant", "merchant_id"), ("category", "category")):
        v = f[column].to_numpy()
        seen = (nov & (v[None, :] == v[:, None])).any(1)
        out[f"customer_new_{what}_{spec.novelty_window}"] = (~seen).astype(float)
    merch = f["merchant_id"].to_numpy()
    same_m = merch[None, :] == merch[:, None]
    delay = _td(spec.risk_delay).to_timedelta64()
    order = f["tx_id"].map(dict(zip(frame["tx_id"], range(len(frame)), strict=True))).to_numpy()
    fr = fraud[order]
    kn = known_at.dt.tz_localize(None).to_numpy()[order]
    for window in spec.risk_windows:
        lo = ts[:, None] - delay - _td(window).to_timedelta64()
        mask = same_m & (ts[None, :] <= ts[:, None] - delay) & (ts[None, :] > lo)
        count = mask.sum(1).astype(float)
        frauds = (mask & fr[None, :] & (kn[None, :] <= ts[:, None])).sum(1).astype(float)
        out[f"merchant_delayed_count_{window}"] = count
        out[f"merchant_delayed_frauds_{window}"] = frauds
        out[f"merchant_risk_{window}"] = np.where(count > 0, frauds / np.maximum(count, 1), 0.0)
    out["home_distance_km"] = _haversine(f["lat"].to_numpy(), f["lon"].to_numpy(), plat, plon)
    return pd.DataFrame(out, index=f["tx_id"].to_numpy())


def _labels(frame: pd.DataFrame, seed: int) -> tuple[np.ndarray, pd.Series]:
    rng = np.random.default_rng(seed)
    fraud = rng.random(len(frame)) < 0.3
    # known between 0 and 4 days after the transaction: some before the 2-day delay, some after
    known_at = frame["ts"] + pd.to_timedelta(rng.uniform(0, 4 * 86400, len(frame)).round(), unit="s")
    return fraud, known_at


def _stream(frame: pd.DataFrame, seed: int, fraud, known_at) -> pd.DataFrame:
    engine = FeatureEngine(SHORT_SPEC)
    engine.learn_labels(frame["tx_id"].to_numpy(), fraud, known_at)  # every label early
    parts = [engine.transform_many(batch) for batch in micro_batches(frame, seed)]
    result = pd.concat(parts)
    return result.set_axis(frame.loc[result.index, "tx_id"].to_numpy())


@pytest.mark.parametrize(("seed", "text_ids"), [(1, False), (2, False), (3, True)])
def test_streaming_equals_brute_force_on_every_row(seed: int, text_ids: bool) -> None:
    frame = random_frame(seed)
    if text_ids:  # ties then follow text order ("T1010" < "T999" is false, "T1010" < "T1100" true)
        frame["tx_id"] = "T" + frame["tx_id"].astype(str)
        frame = frame.sort_values(["ts", "tx_id"], kind="stable").reset_index(drop=True)
    fraud, known_at = _labels(frame, seed)
    got = _stream(frame, seed, fraud, known_at)
    want = oracle(frame, SHORT_SPEC, fraud, known_at).loc[got.index]
    assert list(got.columns) == list(dict.fromkeys(got.columns))  # no duplicate names
    assert set(got.columns) == set(want.columns), set(got.columns) ^ set(want.columns)
    for column in got.columns:
        np.testing.assert_allclose(got[column].to_numpy(), want[column].to_numpy(), rtol=1e-9, atol=1e-9,
                                   equal_nan=True, err_msg=column)
    exact = [c for c in got.columns if "count" in c or "frauds" in c or "new_" in c or "repeat" in c]
    assert (got[exact].to_numpy() == want[exact].to_numpy()).all()


def test_oracle_test_sees_a_real_difference() -> None:
    """The comparison above can fail: shifting one window boundary by a second changes rows."""
    frame = random_frame(4)
    fraud, known_at = _labels(frame, 4)
    got = _stream(frame, 4, fraud, known_at)
    shifted = frame.assign(ts=frame["ts"] + pd.to_timedelta((frame.index % 2) * 3600, unit="s"))
    want = oracle(shifted.sort_values(["ts", "tx_id"]), SHORT_SPEC, fraud, known_at).loc[got.index]
    assert (got["customer_count_1h"].to_numpy() != want["customer_count_1h"].to_numpy()).any()


def test_one_batch_equals_many_batches() -> None:
    frame = random_frame(5)
    fraud, known_at = _labels(frame, 5)
    streamed = _stream(frame, 5, fraud, known_at)
    batch = FeatureEngine(SHORT_SPEC)
    batch.learn_labels(frame["tx_id"].to_numpy(), fraud, known_at)
    whole = batch.fit_transform(frame).set_axis(frame["tx_id"].to_numpy())
    pd.testing.assert_frame_equal(streamed.loc[whole.index], whole)
