"""The Handbook's 15 features, reproduced exactly on handbook-world data.

The reference follows the Handbook's definition (evaluation.md §1) with pandas time-based
rolling windows per customer / per terminal, rows ordered by (ts, tx_id): customer windows
include the current transaction; terminal windows are shifted back by d = 7 days
(``NB_TX = count(d + n) - count(d)``, ``RISK = frauds(d + n) - frauds(d)`` over ``NB_TX``, 0 when
no transaction).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudstream.features import HANDBOOK_NAMES, HANDBOOK_SELECT, FeatureEngine, FeatureSpec, build_features
from fraudstream.records import inputs
from fraudstream.worlds import simulate
from tests.features.features_testdata import micro_batches


@pytest.fixture(scope="module")
def handbook() -> pd.DataFrame:
    frame = simulate("handbook", days=60, seed=3, n_customers=120, n_terminals=200)
    return frame.sort_values(["ts", "tx_id"], kind="stable").reset_index(drop=True)


def reference(frame: pd.DataFrame, delay_days: int = 7) -> pd.DataFrame:
    """The Handbook's feature transformation, by pandas rolling windows."""
    f = frame.sort_values(["ts", "tx_id"], kind="stable").reset_index(drop=True)
    out = pd.DataFrame(index=f.index)
    out["TX_AMOUNT"] = f["amount"]
    out["TX_DURING_WEEKEND"] = (f["ts"].dt.weekday >= 5).astype(float)
    out["TX_DURING_NIGHT"] = (f["ts"].dt.hour <= 6).astype(float)
    for _, rows in f.groupby("customer_id", sort=False):
        series = pd.Series(rows["amount"].to_numpy(), index=rows["ts"])
        for n in (1, 7, 30):
            window = series.rolling(f"{n}D")
            out.loc[rows.index, f"CUSTOMER_ID_NB_TX_{n}DAY_WINDOW"] = window.count().to_numpy()
            out.loc[rows.index, f"CUSTOMER_ID_AVG_AMOUNT_{n}DAY_WINDOW"] = window.mean().to_numpy()
    for _, rows in f.groupby("merchant_id", sort=False):
        fraud = pd.Series(rows["is_fraud"].astype(float).to_numpy(), index=rows["ts"])
        count_delay = fraud.rolling(f"{delay_days}D").count()
        fraud_delay = fraud.rolling(f"{delay_days}D").sum()
        for n in (1, 7, 30):
            nb_tx = fraud.rolling(f"{delay_days + n}D").count() - count_delay
            nb_fraud = fraud.rolling(f"{delay_days + n}D").sum() - fraud_delay
            risk = (nb_fraud / nb_tx).fillna(0.0)
            out.loc[rows.index, f"TERMINAL_ID_NB_TX_{n}DAY_WINDOW"] = nb_tx.to_numpy()
            out.loc[rows.index, f"TERMINAL_ID_RISK_{n}DAY_WINDOW"] = risk.to_numpy()
    out.index = f["tx_id"].to_numpy()
    return out


def test_handbook_preset_has_the_15_inputs_in_order() -> None:
    assert [HANDBOOK_NAMES[n] for n in HANDBOOK_SELECT] == [
        "TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT",
        "CUSTOMER_ID_NB_TX_1DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
        "CUSTOMER_ID_NB_TX_7DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
        "CUSTOMER_ID_NB_TX_30DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
        "TERMINAL_ID_NB_TX_1DAY_WINDOW", "TERMINAL_ID_RISK_1DAY_WINDOW",
        "TERMINAL_ID_NB_TX_7DAY_WINDOW", "TERMINAL_ID_RISK_7DAY_WINDOW",
        "TERMINAL_ID_NB_TX_30DAY_WINDOW", "TERMINAL_ID_RISK_30DAY_WINDOW"]


def test_batch_build_reproduces_the_handbook_exactly(handbook: pd.DataFrame) -> None:
    assert handbook["is_fraud"].sum() > 20 and len(handbook) > 5000
    got = build_features(inputs(handbook), FeatureSpec.handbook(), labels=handbook["is_fraud"],
                         label_delay="0d")
    got.index = handbook["tx_id"].to_numpy()
    want = reference(handbook)[got.columns]
    assert list(got.columns) == [HANDBOOK_NAMES[n] for n in HANDBOOK_SELECT]
    counts = [c for c in got.columns if "NB_TX" in c or c.startswith("TX_DURING")]
    assert (got[counts].to_numpy() == want[counts].to_numpy()).all()
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12, atol=1e-12)
    assert (got["TERMINAL_ID_RISK_30DAY_WINDOW"] > 0).sum() > 100  # the risk features are not trivial


def test_streaming_reproduces_the_handbook_with_labels_arriving_at_the_delay(handbook: pd.DataFrame) -> None:
    """Labels learned as the stream goes, each exactly 7 days after its transaction."""
    engine = FeatureEngine(FeatureSpec.handbook())
    label_time = handbook["ts"] + pd.Timedelta("7D")
    sent = np.zeros(len(handbook), bool)
    parts = []
    for batch in micro_batches(handbook, seed=9, max_size=700):
        due = (label_time <= batch["ts"].max()).to_numpy() & ~sent
        engine.learn_labels(handbook["tx_id"].to_numpy()[due], handbook["is_fraud"].to_numpy()[due],
                            label_time[due])
        sent |= due
        parts.append(engine.transform_many(inputs(batch)))
    got = pd.concat(parts)
    got.index = handbook.loc[got.index, "tx_id"].to_numpy()
    want = reference(handbook)
    np.testing.assert_allclose(got.to_numpy(), want.loc[got.index, got.columns].to_numpy(), rtol=1e-12,
                               atol=1e-12)
