"""Model selection on the handbook world by prequential validation (simulated data), as the Handbook's ch. 5.

Six weekly splits (train 7 days, delay 7, test 7; known compromised cards removed from test), training
weeks starting 2018-07-25, -18, -11, -04, 06-27, 06-20. The **test folds** are the first four (the
Handbook's prequential test, fold 0 = its single split); the **validation folds** are the last four
(each 14 days earlier than a test fold, as the Handbook's validation). A candidate is chosen on the
validation mean and then reported on the test mean, never the other way round. Rank-averaged
ensembles of two candidates are evaluated from the saved scores.

    .venv/bin/python benchmarks/handbook_selection.py                        # every candidate
    .venv/bin/python benchmarks/handbook_selection.py --candidates gbm,gbm_reg \
        --ensembles gbm_reg+forest_handbook

Each fit takes 5-25 s of CPU; the whole grid about 10 minutes of one core.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from detection_table import one_core, print_machine
from fraudstream.evaluate.experiment import (
    DataSource,
    DetectorSpec,
    SplitSpec,
    fit_on_split,
    make_splits,
    model_inputs,
    prepare,
)
from fraudstream.evaluate.metrics import average_precision, card_precision_at_k, roc_auc

CANDIDATES: dict[str, tuple[str, DetectorSpec]] = {  # chosen (docs/results.md §1.4): gbm_reg_bagged
    "gbm": ("default", DetectorSpec("gbm")),
    "gbm_reg": (
        "default",
        DetectorSpec("gbm", params={"learning_rate": 0.02, "num_leaves": 15, "min_child_samples": 100,
                                    "n_estimators": 1000, "early_stopping_rounds": 100}),
    ),
    "gbm_reg_narrow": (
        "default",
        DetectorSpec("gbm", params={"learning_rate": 0.02, "num_leaves": 7, "min_child_samples": 200,
                                    "colsample_bytree": 0.7, "n_estimators": 1500,
                                    "early_stopping_rounds": 150}),
    ),
    "gbm_reg_bagged": (
        "default",
        DetectorSpec("gbm", params={"learning_rate": 0.02, "num_leaves": 15, "min_child_samples": 100,
                                    "colsample_bytree": 0.5, "subsample": 0.8, "n_estimators": 1000,
                                    "early_stopping_rounds": 100}),
    ),
    "gbm_unweighted": ("default", DetectorSpec("gbm", params={"imbalance": "none"})),
    "gbm_fixed100": (
        "default",
        DetectorSpec("gbm", params={"n_estimators": 100, "num_leaves": 15, "learning_rate": 0.05,
                                    "validation_fraction": 0}),
    ),
    "gbm_fast": (
        "default",
        DetectorSpec("gbm", params={"n_estimators": 60, "num_leaves": 15, "learning_rate": 0.1,
                                    "early_stopping_rounds": 10_000}),
    ),
    "gbm_fast_handbook": (
        "handbook",
        DetectorSpec("gbm", params={"n_estimators": 60, "num_leaves": 15, "learning_rate": 0.1,
                                    "early_stopping_rounds": 10_000}),
    ),
    "forest_handbook": ("handbook", DetectorSpec("forest", params={"max_depth": 20, "class_weight": None})),
}


def _rank(scores: np.ndarray) -> np.ndarray:
    return pd.Series(scores).rank(pct=True).to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--ensembles", default="gbm+forest_handbook,gbm_reg+forest_handbook")
    args = parser.parse_args()
    names = args.candidates.split(",")
    ensembles = [e for e in args.ensembles.split(",") if e]
    one_core()
    print_machine()
    source = DataSource(world="handbook", seed=0, days=136)
    sets = {CANDIDATES[n][0] for n in names}
    prepared = {name: prepare(source, name) for name in sorted(sets)}
    frame = next(iter(prepared.values())).frame
    splits = make_splits(frame, SplitSpec("prequential", start="2018-07-25", folds=6))
    y = frame["is_fraud"].to_numpy(bool)
    scores: dict[str, list[np.ndarray]] = {}
    for name in names:
        feature_set, spec = CANDIDATES[name]
        p = prepared[feature_set]
        scores[name] = []
        for split in splits:
            detector, _ = fit_on_split(p, split, spec)
            scores[name].append(detector.score_many(model_inputs(spec.kind, p.features.iloc[split.test])))
        print(f"fitted {name} on 6 splits ({feature_set} features)", flush=True)
    for ensemble in ensembles:
        parts = ensemble.split("+")
        if all(part in scores for part in parts):
            scores[ensemble] = [np.mean([_rank(scores[part][i]) for part in parts], axis=0) for i in range(6)]
    print("\n| candidate | validation AP | validation CP@100 | test AP | test ROC AUC | test CP@100 | "
          "oracle | test CP@100 per fold (0..3) |\n|---|---|---|---|---|---|---|---|")
    for name, per_split in scores.items():
        rows = []
        for split, s in zip(splits, per_split, strict=True):
            test = frame.iloc[split.test]
            truth = y[split.test]
            cp = card_precision_at_k(test["ts"].dt.floor("D"), test["customer_id"].to_numpy(), truth, s, 100)
            rows.append((average_precision(truth, s), roc_auc(truth, s), cp.mean, cp.oracle_mean))
        val, tst = np.array(rows[2:]), np.array(rows[:4])
        print(f"| {name} | {val[:, 0].mean():.4f} | {val[:, 2].mean():.4f} | {tst[:, 0].mean():.4f} | "
              f"{tst[:, 1].mean():.4f} | {tst[:, 2].mean():.4f} | {tst[:, 3].mean():.3f} | "
              + ", ".join(f"{v:.3f}" for v in tst[:, 2]) + " |", flush=True)


if __name__ == "__main__":
    main()
