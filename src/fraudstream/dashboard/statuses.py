"""How the Explorer reads its ``status`` filter at a million transactions, on each back end.

A status is a property of a transaction that lives in another table: ``alert`` (it has an
alert, matched on ``(tx_id, ts)`` as everywhere in the dashboard), ``fraud`` / ``legit`` (its
current label says so), ``unlabelled`` (it has no label). A :class:`StatusPlan` says how a query
over ``transactions t`` keeps to it:

- **driven** (PostgreSQL, ``alert`` and ``fraud``, when at most :data:`MAX_LISTED` qualify): the
  qualifying transactions *drive* the query, each one probe of ``transactions`` on
  ``(tx_id, ts)``, which run-time partition pruning sends to one monthly partition: for ``alert``
  the distinct ``(tx_id, ts)`` of the alerts; for ``fraud`` the current fraud ids, read first,
  each with one more probe of ``tx_keys`` for its event time. Every other filter applies to those
  rows, so the cost is an index probe or two per qualifying transaction whatever the other filters
  are (a free-text search, which no index serves, no longer reads every transaction). The planner
  is kept to this plan by ``LATERAL (... LIMIT 1)``: a plain join is estimated at one row (it
  multiplies the selectivities of ``tx_id`` and ``ts``) and planned as hash joins over whole
  tables. The count comes with the page (``count(*) OVER ()``).
- **condition** (otherwise): a condition on each row, checked while the page's index is walked in
  the page's order, so a page stops early. ``legit`` on PostgreSQL is "not one of the current
  fraud ids (a hashed subplan of the few fraud ids) and labelled"; the labelled check, a probe of
  every label partition (``labels`` is partitioned by ``labelled_at``, which a look-up by
  ``tx_id`` cannot prune), is skipped in the hours where the hourly rollup counts no unlabelled
  transaction (all of them, when every transaction is labelled).
- **hours** (``unlabelled``): the rollup names the hours that hold unlabelled transactions; the
  query keeps to them (for the default time order and no other filter, only to the newest hours
  that cover the page) and still checks each row.

Counts that only depend on the status come from the rollup when it is current: ``unlabelled``
is its sum, ``legit`` is every transaction less the unlabelled ones less those whose current label
says fraud. Rows and counts are exactly those of the per-row definitions (``tests/dashboard``
compares them on SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from fraudstream.dashboard.queries import Database, Filters

__all__ = [
    "MAX_HOUR_RANGES",
    "MAX_LISTED",
    "StatusPlan",
    "fraud_ids",
    "in_ranges",
    "plan_status",
    "present",
    "unlabelled_hours",
]

MAX_LISTED = 50_000
"""PostgreSQL: ``alert`` and ``fraud`` drive the query from their ids when at most this many
qualify (a few microseconds of index probes per id: 0.11 s of server CPU for 17,481 alerts);
beyond, a condition on each row."""
MAX_HOUR_RANGES = 400
"""At most this many ranges of hours go into one query."""

_ALERTED = (
    "(SELECT DISTINCT a.tx_id, a.ts FROM alerts a ORDER BY a.ts) s "
    "CROSS JOIN LATERAL (SELECT * FROM transactions t WHERE t.tx_id = s.tx_id AND t.ts = s.ts LIMIT 1) t"
)
"""The alerted transactions, one probe per alerted ``(tx_id, ts)``, in time order (neighbouring
probes touch neighbouring pages)."""
_LISTED = (
    "unnest(CAST({p} AS TEXT[])) AS s(tx_id) "
    'CROSS JOIN LATERAL (SELECT k.ts FROM tx_keys k WHERE k.tx_id = s.tx_id COLLATE "C" LIMIT 1) k '
    "CROSS JOIN LATERAL (SELECT * FROM transactions t "
    'WHERE t.tx_id = s.tx_id COLLATE "C" AND t.ts = k.ts LIMIT 1) t'
)
"""The transactions of a list of ids: per id one probe of ``tx_keys`` for its event time, then
one of ``transactions`` on ``(tx_id, ts)``."""


@dataclass(frozen=True)
class StatusPlan:
    """How a query keeps to a status: its ``FROM`` source, a condition on ``t``, event-time
    ranges, and the count of rows when nothing but the status filters them."""

    source: str = "transactions t"
    source_params: list[Any] = field(default_factory=list)
    condition: str | None = None
    condition_params: list[Any] = field(default_factory=list)
    hours: list[tuple[int, int]] | None = None
    """``[start, end)`` nanosecond ranges of event time that hold every qualifying row."""
    known_total: int | None = None
    driven: bool = False
    """The rows come from a list of ids (count them with the page)."""


def _rollup_ready(db: Database) -> bool:
    return db.rollup is not None and db.rollup.ready(db)


def _only_status(f: Filters) -> bool:
    """Whether nothing but the status (and the order and page) filters the rows."""
    from fraudstream.dashboard.queries import Filters

    return f == Filters(status=f.status, sort=f.sort, descending=f.descending, page=f.page, page_size=f.page_size)


def fraud_ids(db: Database, limit: int) -> list[str] | None:
    """Ids whose current label says fraud: the few fraud labels (partial index
    ``labels_fraud_tx_id_idx``), kept where that is still the newest label; None when more
    than ``limit`` transactions have a fraud label."""
    from fraudstream.dashboard.lookups import latest_labels

    sql = f"SELECT DISTINCT l.tx_id FROM labels l WHERE l.is_fraud = {db.true} LIMIT {int(limit) + 1}"
    ids = [r[0] for r in db.rows(sql)[1]]
    if len(ids) > limit:
        return None
    current = latest_labels(db, ids)
    return [i for i, v in zip(ids, current, strict=True) if v is True]


def present(db: Database, tx_ids: list[str]) -> int:
    """How many of ``tx_ids`` are stored transactions."""
    from fraudstream.dashboard.lookups import CHUNK, _in

    table = "tx_keys" if db.dialect == "postgresql" else "transactions"
    n = 0
    for begin in range(0, len(tx_ids), CHUNK):
        part = tx_ids[begin : begin + CHUNK]
        if db.dialect == "postgresql":
            sql = (  # one probe per id (a join would hash the whole table)
                f"SELECT count(*) FROM unnest(CAST({db.p} AS TEXT[])) AS s(tx_id) CROSS JOIN LATERAL "
                f'(SELECT 1 FROM {table} x WHERE x.tx_id = s.tx_id COLLATE "C" LIMIT 1) x'
            )
            params: list[Any] = [part]
        else:
            condition, params = _in(db, "x.tx_id", part)
            sql = f"SELECT count(*) FROM {table} x WHERE {condition}"
        n += int(db.scalar(sql, params))
    return n


def in_ranges(db: Database, ranges: Sequence[tuple[int, int]]) -> tuple[str, list[Any]]:
    """``t.ts`` in one of ``ranges`` (``[start, end)`` in nanoseconds), and its parameters."""
    p, params = db.p, []
    for start, end in ranges:
        params += [db.ts_param(pd.Timestamp(start, tz="UTC")), db.ts_param(pd.Timestamp(end, tz="UTC"))]
    return "(" + " OR ".join([f"(t.ts >= {p} AND t.ts < {p})"] * len(ranges)) + ")", params


def _labelled(db: Database) -> tuple[str | None, list[Any]]:
    """A condition that ``t`` has a label: none at all where the rollup counts no unlabelled
    transaction in any hour, else a probe of ``labels`` limited to the hours that hold some."""
    from fraudstream.dashboard.rollups import _ranges

    probe = "EXISTS (SELECT 1 FROM labels l WHERE l.tx_id = t.tx_id)"
    if not _rollup_ready(db):
        return probe, []
    with db.lock:
        hours = db.rollup.unlabelled_hours(db, descending=False)  # type: ignore[union-attr]
    if not hours:
        return None, []
    ranges = _ranges(np.array([h for h, _ in hours], dtype=np.int64), 10**9)
    if len(ranges) > MAX_HOUR_RANGES:
        return probe, []
    inside, params = in_ranges(db, ranges)
    return f"(NOT {inside} OR {probe})", params


def unlabelled_hours(
    db: Database, f: Filters, *, page_only: bool = False
) -> tuple[list[tuple[int, int]] | None, int | None]:
    """For ``status=unlabelled``: (ranges of hours holding unlabelled transactions; with
    ``page_only``, only enough of them for ``f``'s page when it is sorted by time and otherwise
    unfiltered; their exact count when that is all the filter asks) from the rollup; (None, None)
    without a current rollup."""
    from fraudstream.dashboard.queries import Filters
    from fraudstream.dashboard.rollups import _ranges

    if not _rollup_ready(db):
        return None, None
    with db.lock:
        hours = db.rollup.unlabelled_hours(db, descending=f.descending)  # type: ignore[union-attr]
    plain = f == Filters(status="unlabelled", descending=f.descending, page=f.page, page_size=f.page_size)
    total = sum(n for _, n in hours)
    if plain and page_only:  # newest (oldest) hours until the page is covered
        need, taken = f.page * f.page_size + 1, 0
        for i, (_, n) in enumerate(hours):
            taken += n
            if taken >= need:
                hours = hours[: i + 1]
                break
    ranges = _ranges(np.sort(np.array([h for h, _ in hours], dtype=np.int64)), 10**9)
    if not ranges:
        ranges = [(0, 0)]  # nothing is unlabelled: an empty range
    if len(ranges) > MAX_HOUR_RANGES:
        return None, None
    return ranges, total if plain else None


def plan_status(db: Database, f: Filters, *, page_only: bool = False) -> StatusPlan:
    """How a query over ``transactions t`` keeps to ``f.status`` (``page_only``: the query reads
    ``f``'s page, nothing after it)."""
    postgres = db.dialect == "postgresql"
    if f.status == "all":
        return StatusPlan()
    if f.status == "unlabelled":
        hours, known_total = unlabelled_hours(db, f, page_only=page_only)
        return StatusPlan(
            condition="NOT EXISTS (SELECT 1 FROM labels l WHERE l.tx_id = t.tx_id)",
            hours=hours,
            known_total=known_total,
        )
    if f.status == "alert":
        few = f"SELECT count(*) FROM (SELECT 1 FROM alerts LIMIT {MAX_LISTED + 1}) a"
        if postgres and db.scalar(few) <= MAX_LISTED:
            return StatusPlan(source=_ALERTED, driven=True)
        # SQLite drives this from the alerts (one primary-key probe of transactions per alert)
        return StatusPlan(condition="(t.tx_id, t.ts) IN (SELECT a.tx_id, a.ts FROM alerts a)")
    if f.status == "fraud" and postgres:
        ids = fraud_ids(db, MAX_LISTED)
        if ids is not None:
            return StatusPlan(source=_LISTED.format(p=db.p), source_params=[ids], driven=True)
    if f.status == "fraud":
        return StatusPlan(condition=f"t.tx_id IN ({db._current_labels(db.true)})")
    # legit: labelled, and the current label is not fraud
    frauds = fraud_ids(db, MAX_LISTED) if postgres or _only_status(f) else None
    if postgres and frauds is not None:
        labelled, params = _labelled(db)
        condition = f'(t.tx_id NOT IN (SELECT s.tx_id COLLATE "C" FROM unnest(CAST({db.p} AS TEXT[])) AS s(tx_id)))'
        if labelled is not None:
            condition += f" AND {labelled}"
        legit = StatusPlan(condition=condition, condition_params=[frauds, *params])
    else:
        legit = StatusPlan(condition=f"{db.latest_label()} = {db.false}")
    if frauds is not None and _only_status(f) and _rollup_ready(db):
        with db.lock:
            totals = db.rollup.totals(db)  # type: ignore[union-attr]
        total = totals["transactions"] - totals["unlabelled"] - present(db, frauds)
        legit = StatusPlan(condition=legit.condition, condition_params=legit.condition_params, known_total=total)
    return legit
