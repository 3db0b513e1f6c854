"""Detection on the handbook world with the Handbook protocol (evaluation.md §2), on simulated data.

Handbook world, seed 0, 136 days (2018-04-01..2018-08-14: enough history for every window before
the training week). Split: train 2018-07-25..31, delay 7 days, test 2018-08-08..14 with known
compromised cards removed; prequential: 4 folds, each 7 days earlier. Thresholds are the
detectors' own (max F1 on the last 20 % of the training week for gbm). CP@100 with its oracle.
Nothing is tuned on the test weeks: detectors run with their documented defaults, except two
settings chosen on earlier weeks: ``GBM_VALIDATED`` (LightGBM size chosen on the Handbook-style
validation folds by ``benchmarks/handbook_selection.py``) and ``ONLINE_VALIDATED`` (online learner
settings compared on the weeks starting 2018-08-01 and 2018-07-25, before the test week).

    .venv/bin/python benchmarks/detect_handbook.py                     # everything (~20 min, one core)
    .venv/bin/python benchmarks/detect_handbook.py --parts supervised  # or unsupervised, online, prequential

Online learning: River logistic regression behind fraudstream's guarded running standardiser
(River's own StandardScaler failed on the default set: a negative running variance), labels 7 days
late, hourly micro-batches, score first then learn.
"""

from __future__ import annotations

import argparse

from detection_table import header, one_core, print_machine, row, timed
from fraudstream.evaluate.experiment import (
    DataSource,
    DetectorSpec,
    SplitSpec,
    evaluate_on_split,
    fit_on_split,
    make_splits,
    prepare,
    train,
)
from fraudstream.evaluate.online_run import run_online

PUBLISHED = """Handbook (published, prequential test mean of 4 folds unless noted):
logistic regression AP 0.623 /
CP@100 0.297; random forest 0.678 / 0.299; XGBoost tuned 0.687 / 0.303 (ROC AUC 0.869); autoencoder
(single split) 0.180 / 0.217; IsolationForest (single split) 0.164 / 0.190; River logistic regression
with labels 7 days late AP about 0.635; oracle CP@100 about 0.42."""


GBM_VALIDATED = {"learning_rate": 0.02, "num_leaves": 15, "min_child_samples": 100, "colsample_bytree": 0.5,
                 "subsample": 0.8, "n_estimators": 1000, "early_stopping_rounds": 100}
"""LightGBM settings chosen by prequential validation (benchmarks/handbook_selection.py, validation
folds: training weeks 2018-07-11 .. 06-20): the best validation CP@100 of the candidates."""
ONLINE_VALIDATED = {"pos_weight": 3, "bins": 8}
"""Online logistic regression settings (SGD 0.05, mini-batches of 32): fraud rows weighted 3x, 7 step
inputs per feature at its training octiles; compared on the week 2018-08-01..07, confirmed on
2018-07-25..31."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="supervised,unsupervised,online,prequential")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    one_core()
    print_machine()
    source = DataSource(world="handbook", seed=0, days=136)
    prepared = {name: timed(lambda name=name: prepare(source, name)) for name in ("handbook", "default")}
    for name, (p, seconds) in prepared.items():
        print(f"features {name}: {p.features.shape[1]} columns over {len(p.frame):,} rows in {seconds:.0f} s")
    split = make_splits(prepared["handbook"][0].frame, SplitSpec("handbook"))[0]
    print(
        f"split: train {split.train_start.date()} ({len(split.train):,} rows), "
        f"test {split.test_start.date()} "
        f"({len(split.test):,} rows, {split.removed_from_test:,} rows of known compromised cards removed)"
    )
    print("\n## Single split (Handbook protocol)\n")
    header()
    supervised = [
        ("gbm", "handbook", DetectorSpec("gbm")),
        ("gbm", "default", DetectorSpec("gbm")),
        ("gbm, validated settings", "default", DetectorSpec("gbm", params=GBM_VALIDATED)),
        (
            "forest (100 trees, depth 20)",
            "handbook",
            DetectorSpec("forest", params={"max_depth": 20, "class_weight": None}),
        ),
    ]
    unsupervised = [
        ("iforest", "handbook", DetectorSpec("iforest")),
        ("iforest", "default", DetectorSpec("iforest")),
        ("autoencoder (20 epochs)", "handbook", DetectorSpec("autoencoder", params={"epochs": 20})),
        ("autoencoder (20 epochs)", "default", DetectorSpec("autoencoder", params={"epochs": 20})),
    ]
    chosen = (supervised if "supervised" in parts else []) + (unsupervised if "unsupervised" in parts else [])
    for label, features, spec in chosen:
        p = prepared[features][0]

        def run(p=p, spec=spec):
            detector, info = fit_on_split(p, split, spec)
            return evaluate_on_split(p, split, detector, info)

        result, seconds = timed(run)
        row(f"{label} on {features} features", result.metrics, seconds)
    online_runs = [("handbook", {}, "defaults"), ("default", {}, "defaults"),
                   ("default", ONLINE_VALIDATED, "validated settings")]
    for features, params, what in online_runs if "online" in parts else ():
        result, seconds = timed(
            lambda features=features, params=params: run_online(
                prepared[features][0], split, delay_days=7, params=params)
        )
        row(
            f"online logistic regression (River), labels 7 days late, {what}, {features} features",
            result.metrics,
            seconds,
        )
    if "prequential" in parts:
        print("\n## Prequential: 4 folds, mean of the test weeks\n")
        print("| model | AP | ROC AUC | CP@100 | oracle CP@100 | seconds |\n|---|---|---|---|---|---|")
    for label, features, spec in supervised[:3] if "prequential" in parts else ():
        run_, seconds = timed(
            lambda features=features, spec=spec: train(
                prepared[features][0], features, SplitSpec("prequential"), spec
            )
        )
        print(
            f"| {label} on {features} features | {run_.mean('ap'):.3f} | {run_.mean('roc_auc'):.3f} | "
            f"{run_.mean('cp_at_k'):.3f} | {run_.mean('cp_at_k_oracle'):.3f} | {seconds:.0f} |",
            flush=True,
        )
        for fold in run_.result.context["folds"][:-1]:  # the last row is the mean, printed above
            print(
                f"|   fold {fold['fold']} (test from {fold['test_start']}) | {fold['ap']:.3f} | "
                f"{fold['roc_auc']:.3f} | {fold['cp_at_k']:.3f} | {fold['cp_at_k_oracle']:.3f} | |"
            )
    print("\n" + PUBLISHED)


if __name__ == "__main__":
    main()
