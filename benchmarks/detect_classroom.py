"""Detection on the classroom world, default mode (no tell-tale merchants or items), simulated data.

Classroom world, seed 0, 365 days (about 73,000 transactions, 1.5 % fraud on users 13-15).
Split: temporal, train 270 days, delay 7 days, test 84 days; cards (users) are kept in the test
block (only 3 users commit fraud, removing them would leave no fraud to find). Thresholds are the
detectors' own (max F1 on the last 20 % of training for gbm). Recall per fraud pattern at that
threshold. k = 5 for P@k / CP@k (25 users).

    .venv/bin/python benchmarks/detect_classroom.py
"""

from __future__ import annotations

from detection_table import header, one_core, print_machine, row, timed
from fraudstream.evaluate.experiment import DataSource, DetectorSpec, SplitSpec, prepare, train

SPLIT = SplitSpec("temporal", train_days=270, delay_days=7, test_days=84)


def main() -> None:
    one_core()
    print_machine()
    source = DataSource(world="classroom", seed=0, days=365)
    prepared = {name: prepare(source, name) for name in ("default", "default+attrs")}
    frame = prepared["default"].frame
    print(f"classroom world: {len(frame):,} transactions, fraud share {frame['is_fraud'].mean():.4f}")
    header()
    runs = {}
    for label, features, spec in [
        ("gbm", "default", DetectorSpec("gbm")),
        ("gbm", "default+attrs", DetectorSpec("gbm")),
        ("forest (100 trees)", "default+attrs", DetectorSpec("forest")),
        ("iforest (unsupervised)", "default", DetectorSpec("iforest")),
    ]:
        run, seconds = timed(
            lambda features=features, spec=spec: train(prepared[features], features, SPLIT, spec, k=5)
        )
        runs[f"{label} on {features} features"] = run
        row(f"{label} on {features} features", run.result.metrics, seconds)
    best_name = max(runs, key=lambda name: runs[name].result.metrics["ap"])
    best = runs[best_name].result
    print(
        f"\nRecall per fraud pattern, {best_name} (threshold {best.threshold['value']:.4g}, "
        f"{best.threshold['method']}):\n"
    )
    print("| pattern | test frauds | detected | recall |\n|---|---|---|---|")
    for pattern in best.per_pattern:
        print(
            f"| {pattern['pattern']} | {pattern['frauds']} | {pattern['detected']} "
            f"| {pattern['recall']:.2f} |"
        )


if __name__ == "__main__":
    main()
