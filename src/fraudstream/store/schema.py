"""One schema for every back end: tables, columns, keys and indexes, rendered per dialect.

Columns have a logical type, mapped per back end:

=========  ====================  ==========================================
logical    PostgreSQL            SQLite
=========  ====================  ==========================================
text       TEXT                  TEXT
id         TEXT COLLATE "C"      TEXT
int        BIGINT                INTEGER
float      DOUBLE PRECISION      REAL
bool       BOOLEAN               INTEGER (0/1)
ts         TIMESTAMPTZ           INTEGER (nanoseconds since 1970-01-01 UTC)
json       JSONB                 TEXT (JSON)
jsontext   JSON (kept as text)   TEXT (JSON)
=========  ====================  ==========================================

``id`` is text compared byte by byte on PostgreSQL (``COLLATE "C"``: for ids the order is the
same as the usual UTF-8 collations' code-point order, but b-tree inserts, index builds and
joins use ``memcmp`` and abbreviated sort keys instead of the C library's ``strcoll``); every
``tx_id``, ``customer_id`` and ``merchant_id`` column has it, so they compare with each other.

Tables whose ``time_key`` is set are range-partitioned by month on PostgreSQL (or become
TimescaleDB hypertables); their primary key includes that column, as PostgreSQL requires.
``transactions`` is unique by ``tx_id`` alone: on PostgreSQL the small table ``tx_keys``
(``tx_id`` primary key) guards it across partitions; on SQLite ``tx_id`` is the primary key.

>>> [t.name for t in TABLES][:3]
['transactions', 'tx_keys', 'decisions']
>>> column_sql(TABLES_BY_NAME["labels"].columns[3], "sqlite")
'is_fraud INTEGER NOT NULL'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "TABLES",
    "TABLES_BY_NAME",
    "TYPES",
    "Column",
    "Table",
    "column_sql",
    "create_sql",
]

TYPES: dict[str, dict[str, str]] = {
    "postgresql": {
        "text": "TEXT",
        "id": 'TEXT COLLATE "C"',
        "int": "BIGINT",
        "float": "DOUBLE PRECISION",
        "bool": "BOOLEAN",
        "ts": "TIMESTAMPTZ",
        "json": "JSONB",
        "jsontext": "JSON",
    },
    "sqlite": {
        "text": "TEXT",
        "id": "TEXT",
        "int": "INTEGER",
        "float": "REAL",
        "bool": "INTEGER",
        "ts": "INTEGER",
        "json": "TEXT",
        "jsontext": "TEXT",
    },
}
"""Logical type -> SQL type, per dialect."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    brin: tuple[str, ...] = ()
    """Columns indexed with BRIN on PostgreSQL (cheap to keep up during bulk loads of data that
    arrives roughly in time order; a b-tree on SQLite)."""
    time_key: str | None = None
    """Partitioned by month on this column (PostgreSQL); None: a plain table."""
    dialects: tuple[str, ...] = ("postgresql", "sqlite")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def types(self) -> dict[str, str]:
        return {c.name: c.type for c in self.columns}


def _cols(spec: str) -> tuple[Column, ...]:
    """``"tx_id text!, ts ts!, category text"`` -> columns (``!`` = NOT NULL)."""
    out = []
    for item in spec.split(","):
        name, kind = item.split()
        out.append(Column(name, kind.rstrip("!"), nullable=not kind.endswith("!")))
    return tuple(out)


TRANSACTION_COLUMNS = _cols(
    "tx_id id!, ts ts!, customer_id id!, merchant_id id!, amount float!, category text, "
    "channel text, item_id text, lat float, lon float, merchant_lat float, merchant_lon float, "
    "country text, region text, attrs jsontext, source text, stored_at ts!"
)

TABLES: tuple[Table, ...] = (
    Table(
        "transactions",
        TRANSACTION_COLUMNS,
        ("tx_id",),
        indexes=(("customer_id", "ts"),),
        brin=("ts",),
        time_key="ts",
    ),
    Table("tx_keys", _cols("tx_id id!, ts ts!"), ("tx_id",), dialects=("postgresql",)),
    Table(
        "decisions",
        _cols(
            "tx_id id!, ts ts!, model_version text!, score float!, verdict text!, "
            "reasons jsontext, decided_at ts!"
        ),
        ("tx_id", "model_version", "ts"),
        indexes=(("decided_at",),),
        time_key="ts",
    ),
    Table(
        "alerts",
        _cols(
            "tx_id id!, ts ts!, kind text!, customer_id id, severity text, score float, "
            "message text, details json, raised_at ts!, status text!"
        ),
        ("tx_id", "kind", "ts"),
        indexes=(("raised_at",),),
        time_key="ts",
    ),
    Table(
        "labels",
        _cols("tx_id id!, source text!, labelled_at ts!, is_fraud bool!, fraud_pattern text"),
        ("tx_id", "source", "labelled_at"),
        indexes=(("labelled_at",),),
        time_key="labelled_at",
    ),
    Table(
        "profiles",
        _cols(
            "customer_id id!, latest_ts ts!, spend_30d float!, tx_count_30d int!, "
            "most_common_category text, last_location text, last_merchant text, "
            "updated_at ts!"
        ),
        ("customer_id",),
    ),
    Table(
        "models",
        _cols("name text!, version text!, path text, metadata json, created_at ts!"),
        ("name", "version"),
    ),
    Table(
        "metrics",
        _cols("name text!, at ts!, labels json!, value float!"),
        ("name", "at", "labels"),
        indexes=(("at",),),
    ),
    Table("checkpoints", _cols("name text!, value json, updated_at ts!"), ("name",)),
)
"""Every table of schema version 1 (``schema_version`` itself is managed by the migrations)."""

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


def column_sql(column: Column, dialect: str) -> str:
    """``name TYPE [NOT NULL]`` in ``dialect``."""
    return f"{column.name} {TYPES[dialect][column.type]}{'' if column.nullable else ' NOT NULL'}"


def create_sql(table: Table, dialect: str, *, partitioned: bool = False) -> list[str]:
    """``CREATE TABLE`` and ``CREATE INDEX`` statements of ``table`` in ``dialect``.

    On PostgreSQL the uniqueness of ``transactions.tx_id`` lives in ``tx_keys``, so the
    partitioned ``transactions`` table has no primary key of its own.
    """
    parts = [column_sql(c, dialect) for c in table.columns]
    guarded_elsewhere = dialect == "postgresql" and table.name == "transactions"
    if not guarded_elsewhere:
        parts.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    tail = f" PARTITION BY RANGE ({table.time_key})" if partitioned and table.time_key else ""
    statements = [f"CREATE TABLE IF NOT EXISTS {table.name} (\n  " + ",\n  ".join(parts) + f"\n){tail}"]
    for index in table.indexes:
        name = f"{table.name}_{'_'.join(index)}_idx"
        statements.append(f"CREATE INDEX IF NOT EXISTS {name} ON {table.name} ({', '.join(index)})")
    for column in table.brin:
        method = "USING brin " if dialect == "postgresql" else ""
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {table.name}_{column}_idx ON {table.name} {method}({column})"
        )
    return statements
