"""``fraudstream train`` and ``fraudstream evaluate``: fit a detector on a temporal split, report on it."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from fraudstream.cli.generate import parse_params
from fraudstream.errors import ConfigError
from fraudstream.evaluate.experiment import SPLIT_KINDS, DataSource, DetectorSpec, SplitSpec, ThresholdSpec
from fraudstream.evaluate.featuresets import FEATURE_SETS


def _value(text: str) -> Any:
    """A detector parameter from the command line: JSON where it parses (numbers, true, lists), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class DataOptions:
    """The data, split and metric options of ``train`` and ``evaluate`` (see :func:`_data_options`)."""

    world: str | None
    data: Path | None
    schema: str | None
    seed: int
    days: float | None
    rows: int | None
    start: str | None
    params: tuple[str, ...]
    split_kind: str
    split_start: str | None
    train_days: int | None
    delay_days: int | None
    test_days: int | None
    folds: int
    remove_known: bool | None
    k: int
    investigation_cost: float

    def source(self) -> DataSource | None:
        """The world or file to read; ``None`` when neither --world nor --data is given."""
        if self.world is None and self.data is None:
            return None
        if self.world is not None and self.data is not None:
            raise ConfigError("give --world or --data, not both")
        if self.rows is not None and self.rows < 1:
            raise ConfigError(f"--rows must be >= 1, got {self.rows}")
        if self.days is not None and not self.days > 0:
            raise ConfigError(f"--days must be > 0, got {self.days}")
        if self.data is not None:
            if self.params:
                raise ConfigError("--param applies to worlds, not to --data files")
            return DataSource(path=str(self.data), schema=self.schema, rows=self.rows)
        return DataSource(
            world=self.world,
            params=parse_params(self.params),
            seed=self.seed,
            days=self.days,
            rows=self.rows,
            start=self.start,
        )

    def split(self) -> SplitSpec:
        lengths = {"train_days": self.train_days, "delay_days": self.delay_days, "test_days": self.test_days}
        given = {k: v for k, v in lengths.items() if v is not None}
        if self.split_kind == "handbook" and given:
            raise ConfigError(
                "--split handbook fixes 7/7/7 days; use --split temporal or prequential for "
                f"{', '.join('--' + k.replace('_', '-') for k in given)}"
            )
        return SplitSpec(
            self.split_kind, self.split_start, folds=self.folds, remove_known=self.remove_known, **given
        )


_SPLIT_OPTIONS = (
    "split_kind",
    "split_start",
    "train_days",
    "delay_days",
    "test_days",
    "folds",
    "remove_known",
)


def _data_options(command: Any) -> Any:
    """Add the shared data, split and metric options; the command receives them as one
    :class:`DataOptions` (its first argument, ``options``)."""

    @functools.wraps(command)
    def with_options(**kwargs: Any) -> Any:
        options = DataOptions(**{f.name: kwargs.pop(f.name) for f in fields(DataOptions)})
        return command(options, **kwargs)

    options = [
        click.option("--world", metavar="WORLD", help="Simulate this world (see `fraudstream worlds`)."),
        click.option(
            "--data",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Or read this file (.parquet, .csv, .ndjson).",
        ),
        click.option(
            "--schema",
            help="The file's layout (handbook, kaggle, seed001, ..., or canonical); "
            "default: detected from its columns.",
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="World seed."),
        click.option("--days", type=float, help="Simulated days (default: the world's reference run)."),
        click.option("--rows", type=int, help="Keep only the first N transactions."),
        click.option("--start", help="Simulated start time, ISO 8601."),
        click.option(
            "-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="World parameter, repeatable."
        ),
        click.option(
            "--split",
            "split_kind",
            type=click.Choice(SPLIT_KINDS),
            default="handbook",
            show_default=True,
            help="handbook: train 7 d, delay 7 d, test 7 d, known compromised cards removed; temporal: "
            "any lengths; prequential: --folds splits, each a test block earlier.",
        ),
        click.option(
            "--split-start",
            help="First training day (default: 2018-07-25 for handbook data, else "
            "the latest span that fits).",
        ),
        click.option(
            "--train-days", type=click.IntRange(min=1), help="Training days (temporal, prequential)."
        ),
        click.option(
            "--delay-days", type=click.IntRange(min=0), help="Delay gap in days: labels not yet known."
        ),
        click.option("--test-days", type=click.IntRange(min=1), help="Test days."),
        click.option(
            "--folds", type=click.IntRange(min=1), default=4, show_default=True, help="Prequential folds."
        ),
        click.option(
            "--remove-known/--keep-known",
            default=None,
            help="Drop test rows of cards already known to be compromised (default: on for handbook "
            "and prequential).",
        ),
        click.option(
            "--k",
            "k",
            type=click.IntRange(min=1),
            default=100,
            show_default=True,
            help="k of P@k and card precision@k per day.",
        ),
        click.option(
            "--investigation-cost",
            type=click.FloatRange(min=0),
            default=5.0,
            show_default=True,
            help="Cost of one investigated alert (the cost metric).",
        ),
    ]
    for option in reversed(options):
        with_options = option(with_options)
    return with_options


def _print_summary(console: Console, result: Any, title: str) -> None:
    metrics = result.metrics
    console.print(
        f"[bold]{title}[/bold] (test {result.context.get('test')}; "
        f"{'simulated data' if result.context.get('simulated') else 'file data'})"
    )
    line = "  ".join(f"{name} {value:.4f}" for name, value in result.summary().items())
    console.print(line)
    console.print(
        f"threshold {result.threshold['value']:.6g} ({result.threshold['method']}); "
        f"confusion {metrics['confusion']}; cost {metrics['cost']['total']:,.2f}"
    )
    for fold in result.context.get("folds", []):
        console.print(
            f"  fold {fold['fold']}: AP {fold['ap']:.4f}  ROC AUC {fold['roc_auc']:.4f}  "
            f"CP@k {fold['cp_at_k']:.4f} (oracle {fold['cp_at_k_oracle']:.4f})"
        )


@click.command()
@_data_options
@click.option(
    "--features",
    "feature_set",
    default="default",
    show_default=True,
    help=f"Feature set: {', '.join(sorted(FEATURE_SETS))}, joined with '+' (e.g. default+attrs).",
)
@click.option(
    "--detector",
    "detector_name",
    default="gbm",
    show_default=True,
    metavar="KIND[:PRESET]",
    help="gbm, forest, iforest, autoencoder, ann, online, rules; presets iforest:seed001, "
    "iforest:seed004, autoencoder:seed002, forest:seed003.",
)
@click.option(
    "-d",
    "--detector-param",
    "detector_params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Detector parameter (JSON value), repeatable, e.g. -d n_estimators=200.",
)
@click.option(
    "--threshold-budget",
    type=int,
    metavar="K",
    help="Choose the threshold so that about K transactions a day are alerted (validation slice).",
)
@click.option(
    "--target-precision",
    type=float,
    metavar="P",
    help="Choose the lowest threshold with precision >= P on the validation slice.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Model folder to write (refused if it exists, unless --overwrite).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing model folder.")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the evaluation report of the test block here.",
)
@click.option(
    "--online-eval",
    is_flag=True,
    help="With --detector online: progressive validation — after fitting on the training block, "
    "score the delay and test blocks in micro-batches (score first, then learn) with each label "
    "revealed --delay-days (default 7) after its transaction; saves the model as it stands at the end.",
)
@click.option(
    "--online-batch",
    default="1h",
    show_default=True,
    metavar="SPAN",
    help="Micro-batch time span of --online-eval (pandas offset: 1h, 15min, 1D).",
)
def train(
    options: DataOptions,
    feature_set: str,
    detector_name: str,
    detector_params: tuple[str, ...],
    threshold_budget: int | None,
    target_precision: float | None,
    out: Path,
    overwrite: bool,
    report_dir: Path | None,
    online_eval: bool,
    online_batch: str,
) -> None:
    """Fit a detector on a temporal split of a world or a file, evaluate its test block, save the model.

    Features are built over the whole history in event-time order (labels only through the
    feature engine's delayed-label path); the threshold is chosen on the training period.

    \b
    Examples:
      fraudstream train --world handbook --days 136 --features handbook --detector gbm --out model/
      fraudstream train --world pyspark-demo --features seed001 --detector iforest:seed001 \\
          --split temporal --train-days 63 --delay-days 0 --test-days 31 --out seed001/
      fraudstream train --data cards.csv --schema kaggle --split temporal --train-days 60 --out m/
      fraudstream train --world handbook --days 136 --detector online --online-eval --out online/
    """
    from fraudstream.evaluate import experiment
    from fraudstream.evaluate.report import write_report

    source = options.source()
    if source is None:
        raise ConfigError("give the data: --world NAME or --data FILE")
    if out.exists() and not overwrite:
        raise ConfigError(f"--out {out} already exists; pass --overwrite to replace it")
    split = options.split()
    detector = DetectorSpec.parse(
        detector_name, {k_: _value(v) for k_, v in parse_params(detector_params).items()}
    )
    threshold = ThresholdSpec(budget=threshold_budget, target_precision=target_precision)
    if online_eval:
        _train_online(
            source,
            feature_set,
            split,
            detector,
            threshold,
            out,
            overwrite,
            options.k,
            online_batch,
            report_dir,
        )
        return
    run = experiment.train(
        source,
        feature_set,
        split,
        detector,
        threshold,
        out=out,
        overwrite=overwrite,
        k=options.k,
        investigation_cost=options.investigation_cost,
    )
    console = Console(soft_wrap=True)
    _print_summary(console, run.result, f"{detector_name} on {feature_set} features")
    console.print(f"model saved to {run.folder}")
    if report_dir is not None:
        console.print(f"report written to {write_report(run.result, report_dir) / 'report.html'}")


def _train_online(source: DataSource, feature_set: str, split: SplitSpec, detector: DetectorSpec,
                  threshold: ThresholdSpec, out: Path, overwrite: bool, k: int, batch: str,
                  report_dir: Path | None) -> None:
    from fraudstream.evaluate.online_run import train_online
    from fraudstream.evaluate.report import write_report

    if detector.kind != "online" or detector.preset is not None:
        raise ConfigError(f"--online-eval needs --detector online, got {detector.kind}"
                          f"{':' + detector.preset if detector.preset else ''}")
    if threshold.budget is not None or threshold.target_precision is not None:
        raise ConfigError("--online-eval keeps the detector's threshold param (-d threshold=...); "
                          "drop --threshold-budget / --target-precision")
    if split.kind == "prequential":
        raise ConfigError("--online-eval streams one split; use --split handbook or temporal")
    _, result, folder = train_online(source, feature_set, split, detector.params, batch=batch, out=out,
                                     overwrite=overwrite, k=k)
    console = Console(soft_wrap=True)
    _print_summary(console, result, f"online on {feature_set} features, labels "
                   f"{result.context['label_delay_days']} days late (progressive validation)")
    console.print(f"model saved to {folder}")
    if report_dir is not None:
        console.print(f"report written to {write_report(result, report_dir) / 'report.html'}")


@click.command()
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Model folder written by `fraudstream train`.",
)
@_data_options
@click.option(
    "--report",
    "report_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for report.html, report.json and the PNG figures.",
)
def evaluate(
    options: DataOptions,
    model_dir: Path,
    report_dir: Path,
) -> None:
    """Evaluate a saved model on the test block of a world or a file and write the report.

    Without --world/--data, the data the model was trained on is rebuilt. Without split options
    (other than the default --split handbook), the model's own split is used.

    \b
    Examples:
      fraudstream evaluate --model model/ --world handbook --days 136 --report report/
      fraudstream evaluate --model model/ --report report/
    """
    from fraudstream.evaluate import experiment
    from fraudstream.evaluate.report import write_report

    source = options.source()
    ctx = click.get_current_context()
    split_given = any(
        ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE for name in _SPLIT_OPTIONS
    )
    split = options.split() if split_given else None
    if not model_dir.is_dir():
        raise ConfigError(f"--model {model_dir} is not a model folder (missing)")
    k_given = ctx.get_parameter_source("k") == click.core.ParameterSource.COMMANDLINE
    cost_given = ctx.get_parameter_source("investigation_cost") == click.core.ParameterSource.COMMANDLINE
    result = experiment.evaluate_model(
        model_dir,
        source,
        split,
        k=options.k if k_given else None,
        investigation_cost=options.investigation_cost if cost_given else None,
    )
    console = Console(soft_wrap=True)
    _print_summary(console, result, f"model {model_dir}")
    console.print(f"report written to {write_report(result, report_dir) / 'report.html'}")
