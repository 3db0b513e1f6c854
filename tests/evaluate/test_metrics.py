"""Metrics against hand-computed cases and scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from fraudstream.errors import ConfigError, InvalidRecord
from fraudstream.evaluate.metrics import (
    average_precision,
    card_precision_at_k,
    confusion,
    cost,
    precision_at_k,
    precision_recall_f1,
    recall_at_fpr,
    roc_auc,
)
from fraudstream.evaluate.thresholds import threshold_for_alert_budget, threshold_for_precision


def random_case(seed: int, n: int = 3000, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.03
    scores = rng.normal(size=n) + 1.5 * y
    if ties:
        scores = np.round(scores, 1)
    return y, scores


def test_hand_computed_case():
    y = np.array([1, 0, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    # ranks: hit at 1 (P=1, R=.5), miss, hit at 3 (P=2/3, R=1): AP = .5*1 + .5*2/3
    assert average_precision(y, s) == pytest.approx(0.5 + 1 / 3)
    # pairs (pos, neg): 0.9 beats 3, 0.7 beats 2 of 3 -> 5/6
    assert roc_auc(y, s) == pytest.approx(5 / 6)
    assert precision_at_k(y, s, 2) == 0.5
    assert precision_recall_f1(y, s, 0.75) == {"precision": 0.5, "recall": 0.5, "f1": 0.5,
                                               "tn": 2, "fp": 1, "fn": 1, "tp": 1}
    assert recall_at_fpr(y, s, 0.0) == 0.5
    assert recall_at_fpr(y, s, 1 / 3) == 1.0
    assert cost(y, s, amounts=[100, 5, 40, 5, 5], threshold=0.75, investigation_cost=2.0) == \
        {"missed_fraud_amount": 40.0, "investigation_cost": 4.0, "alerts": 2, "total": 44.0}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_against_scikit_learn(seed, ties):
    y, s = random_case(seed, ties=ties)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    threshold = float(np.quantile(s, 0.97))
    ours = precision_recall_f1(y, s, threshold)
    p, r, f, _ = precision_recall_fscore_support(y, s >= threshold, average="binary", zero_division=0)
    assert (ours["precision"], ours["recall"], ours["f1"]) == pytest.approx((p, r, f))
    tn, fp, fn, tp = confusion_matrix(y, s >= threshold).ravel()
    assert confusion(y, s >= threshold) == {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    assert recall_at_fpr(y, s, 0.01) == pytest.approx(tpr[fpr <= 0.01].max())


def test_precision_at_k_against_sort():
    y, s = random_case(5)
    top = np.argsort(-s)[:100]
    assert precision_at_k(y, s, 100) == y[top].mean()


def test_bad_inputs_are_named():
    with pytest.raises(InvalidRecord, match="same length"):
        roc_auc([0, 1], [0.5])
    with pytest.raises(InvalidRecord, match="both classes"):
        roc_auc([0, 0], [0.1, 0.2])
    with pytest.raises(InvalidRecord, match="NaN"):
        average_precision([0, 1], [np.nan, 1.0])
    with pytest.raises(ConfigError, match="k must be >= 1, got 0"):
        precision_at_k([0, 1], [0.1, 0.2], 0)


def handmade_days() -> pd.DataFrame:
    """3 days, 6 cards, k = 2.

    day 0: A fraud (0.9), B legit (0.8), C fraud (0.3)       -> top2 A,B: 1/2; detected {A}
    day 1: A fraud (0.95, removed: detected), C fraud (0.7), D legit (0.6, 0.65 max), E legit (0.1)
           -> top2 C, D: 1/2; detected {A, C}
    day 2: C (removed), F fraud (0.2), B legit (0.5)          -> top2 B, F: 1/2
    oracle: day 0 A, C frauds: 2/2, detected {A, C}; day 1: A, C removed, none left: 0;
            day 2: F: 1/2
    """
    rows = [
        (0, "A", 1, 0.9), (0, "B", 0, 0.8), (0, "C", 1, 0.3), (0, "C", 0, 0.1),
        (1, "A", 1, 0.95), (1, "C", 1, 0.7), (1, "D", 0, 0.6), (1, "D", 0, 0.65), (1, "E", 0, 0.1),
        (2, "C", 1, 0.99), (2, "F", 1, 0.2), (2, "B", 0, 0.5),
    ]
    return pd.DataFrame(rows, columns=["day", "card", "y", "s"])


def test_card_precision_and_oracle_on_a_handmade_case():
    frame = handmade_days()
    result = card_precision_at_k(frame["day"], frame["card"], frame["y"], frame["s"], k=2)
    assert result.per_day["card_precision"].tolist() == [0.5, 0.5, 0.5]
    assert result.per_day["oracle"].tolist() == [1.0, 0.0, 0.5]
    assert result.per_day["compromised_cards"].tolist() == [2, 1, 1]
    assert result.mean == 0.5
    assert result.oracle_mean == pytest.approx(0.5)
    without_removal = card_precision_at_k(frame["day"], frame["card"], frame["y"], frame["s"], k=2,
                                          remove_detected=False)
    assert without_removal.per_day["card_precision"].tolist() == [0.5, 1.0, 0.5]


def test_thresholds_by_budget_and_precision():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=700)
    days = np.repeat(np.arange(7), 100)
    t = threshold_for_alert_budget(scores, days, k_per_day=10)
    assert (scores >= t).sum() == 70
    tied = np.r_[np.ones(5), np.zeros(5)]
    assert (tied >= threshold_for_alert_budget(tied, np.zeros(10), 3)).sum() <= 3
    y, s = random_case(4)
    t = threshold_for_precision(y, s, 0.5)
    assert precision_recall_f1(y, s, t)["precision"] >= 0.5
    lower = s[s < t].max()
    assert precision_recall_f1(y, s, lower)["precision"] < 0.5 or lower >= t
    with pytest.raises(ConfigError, match="no threshold reaches precision 1.0"):
        threshold_for_precision([0, 1], [0.9, 0.1], 1.0)
