"""The bulk path of the PostgreSQL store: binary COPY encoding (checked against a struct-based
decoder and against PostgreSQL itself), new month partitions loaded then attached, and the
importer's month-aligned writes with their checkpoints."""

from __future__ import annotations

import datetime as dt
import math
import struct

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from fraudstream.store import frames, open_store, pgcopy
from fraudstream.store.importer import _PartitionAligned
from tests.support import PG_ADMIN, pg_indexes

KINDS = ("id", "text", "float", "int", "ts", "bool", "jsontext", "json")
EPOCH_2000 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def sample(n: int = 7) -> pa.Table:
    rng = np.random.default_rng(3)
    ts = pd.to_datetime(rng.integers(-2_000_000_000, 2_000_000_000, n), unit="s", utc=True)
    ts = ts + pd.to_timedelta(rng.integers(0, 999_999, n), unit="us")
    return pa.table(
        {
            "k": [f"tx:{i}" for i in range(n)],
            "t": ["é ü 漢", None, "", "a\tb\nc", "x" * 300, None, "z"][:n],
            "f": [1.5, None, -0.0, math.inf, 1e-300, 123456.789, None][:n],
            "i": [1, None, -(2**63), 2**63 - 1, 0, 7, None][:n],
            "ts": pa.array(ts.astype("datetime64[ns, UTC]"), pa.timestamp("ns", tz="UTC")),
            "b": [True, False, None, True, False, True, None][:n],
            "j": ['{"a":1}', None, "[]", '"s"', "null", "{}", '{"b":[1,2]}'][:n],
            "jb": ['{"a": 1}', "[1, 2]", None, "{}", '"x"', "3", "true"][:n],
        }
    )


def decode(data: bytes, kinds: tuple[str, ...]) -> list[tuple[object, ...]]:
    """The reference: binary COPY read back field by field with ``struct``."""
    assert data[:19] == pgcopy.SIGNATURE and data[-2:] == pgcopy.TRAILER
    rows, at = [], 19
    while at < len(data) - 2:
        (count,) = struct.unpack_from(">h", data, at)
        at += 2
        assert count == len(kinds)
        row: list[object] = []
        for kind in kinds:
            (size,) = struct.unpack_from(">i", data, at)
            at += 4
            if size == -1:
                row.append(None)
                continue
            raw, at = data[at : at + size], at + size
            if kind == "float":
                row.append(struct.unpack(">d", raw)[0])
            elif kind == "int":
                row.append(struct.unpack(">q", raw)[0])
            elif kind == "ts":
                row.append(EPOCH_2000 + dt.timedelta(microseconds=struct.unpack(">q", raw)[0]))
            elif kind == "bool":
                row.append(raw == b"\x01")
            elif kind == "json":
                assert raw[:1] == b"\x01"
                row.append(raw[1:].decode())
            else:
                row.append(raw.decode())
        rows.append(tuple(row))
    assert at == len(data) - 2
    return rows


def expected(table: pa.Table) -> list[tuple[object, ...]]:
    return [tuple(record.values()) for record in table.to_pylist()]


def test_binary_copy_matches_a_field_by_field_decoder():
    table = sample()
    assert decode(pgcopy.encode(table, KINDS), KINDS) == expected(table)
    empty = table.slice(0, 0)
    assert pgcopy.encode(empty, KINDS) == pgcopy.SIGNATURE + pgcopy.TRAILER
    chunked = pa.concat_tables([table.slice(0, 3), table.slice(3)])  # several chunks per column
    assert decode(pgcopy.encode(chunked, KINDS), KINDS) == expected(table)
    tail = table.slice(2)  # arrays with an offset
    assert decode(pgcopy.encode(tail, KINDS), KINDS) == expected(table)[2:]


def test_binary_copy_in_pieces_is_the_same_stream(monkeypatch):
    table = sample()
    whole = pgcopy.encode(table, KINDS)
    monkeypatch.setattr(pgcopy, "FIRST_PIECE_ROWS", 2)
    monkeypatch.setattr(pgcopy, "PIECE_ROWS", 3)
    parts = list(pgcopy.encode_parts(table, KINDS))
    assert len(parts) == 2 + 3  # signature, pieces of 2, 3 and 2 rows, trailer
    assert b"".join(bytes(p) for p in parts) == whole


def test_binary_copy_round_trips_through_postgresql(pg_schema):
    import psycopg

    table = sample()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {pg_schema}")
        conn.execute(
            f'CREATE TABLE {pg_schema}.t (k TEXT COLLATE "C", t TEXT, f DOUBLE PRECISION, i BIGINT, '
            "ts TIMESTAMPTZ, b BOOLEAN, j JSON, jb JSONB)"
        )
        with conn.cursor() as cursor, cursor.copy(f"COPY {pg_schema}.t FROM STDIN (FORMAT binary)") as copy:
            for part in pgcopy.encode_parts(table, KINDS):
                copy.write(part)
        back = conn.execute(
            f"SELECT k, t, f, i, ts, b, j::text, jb::text FROM {pg_schema}.t ORDER BY k"
        ).fetchall()
    want = {row[0]: row for row in expected(table)}
    assert [row[:7] for row in back] == [want[row[0]][:7] for row in back]
    assert [r[7] for r in back] == ['{"a": 1}', "[1, 2]", None, "{}", '"x"', "3", "true"]


def canonical(ts: list[str], first_id: int = 0) -> pd.DataFrame:
    n = len(ts)
    return pd.DataFrame(
        {
            "tx_id": [f"f:{first_id + i}" for i in range(n)],
            "ts": pd.to_datetime(ts, utc=True),
            "customer_id": [1] * n,
            "merchant_id": ["M"] * n,
            "amount": [1.0] * n,
            "is_fraud": [False] * n,
        }
    )


def converted(ts: list[str], first_id: int = 0) -> tuple[pa.Table, pa.Table | None]:
    return frames.transaction_rows(canonical(ts, first_id), source="t", label_source="file")


def ids(write) -> list[str]:  # type: ignore[no-untyped-def]
    return write.rows.column("tx_id").to_pylist()


def test_month_aligned_writes_hold_the_newest_month_and_checkpoint_what_is_settled():
    batches = _PartitionAligned(max_rows=100)
    first = batches.add({"at": 1}, *converted(["2024-01-30", "2024-01-31", "2024-02-01"], 0))
    assert [ids(w) for w in first] == [["f:0", "f:1"]]  # January is over, February may go on
    assert first[0].position is None  # chunk 1 still has a row held back
    second = batches.add({"at": 2}, *converted(["2024-02-02", "2024-03-01"], 3))
    assert [ids(w) for w in second] == [["f:2", "f:3"]] and second[0].position == {"at": 1}
    assert batches.add({"at": 3}, None, None) == []  # a chunk of rejects only
    third = batches.add({"at": 4}, *converted(["2024-03-02"], 0))  # f:0 again: dropped
    assert third == []
    last = batches.finish()
    assert [ids(w) for w in last] == [["f:4", "f:0"]] and last[0].position == {"at": 4}
    assert last[0].labels is not None and last[0].labels.column("tx_id").to_pylist() == ["f:4", "f:0"]


def test_writes_are_grouped_by_the_stores_partition_span():
    batches = _PartitionAligned(max_rows=100, months=3)  # quarters
    assert batches.add({"at": 1}, *converted(["2024-01-30", "2024-02-01", "2024-03-31"], 0)) == []
    second = batches.add({"at": 2}, *converted(["2024-04-01", "2024-06-30"], 3))
    assert [ids(w) for w in second] == [["f:0", "f:1", "f:2"]] and second[0].position == {"at": 1}
    assert [ids(w) for w in batches.finish()] == [["f:3", "f:4"]]


def test_month_aligned_writes_dedupe_across_chunks_and_flush_when_too_much_waits():
    batches = _PartitionAligned(max_rows=3)
    assert batches.add({"at": 1}, *converted(["2024-05-01", "2024-05-02"], 0)) == []
    flushed = batches.add({"at": 2}, *converted(["2024-05-03", "2024-05-04"], 1))  # 4 > 3 rows
    assert [ids(w) for w in flushed] == [["f:0", "f:1", "f:2"]] and flushed[0].position == {"at": 2}
    assert batches.finish() == []


@pytest.mark.parametrize("attach_min_rows", [0, 20_000], ids=["loaded-then-attached", "attached-empty"])
def test_new_months_are_attached_with_every_index(pg_schema, make_frame, monkeypatch, attach_min_rows):
    import psycopg

    from fraudstream.store import postgres

    monkeypatch.setattr(postgres, "ATTACH_MIN_ROWS", attach_min_rows)
    url = f"{PG_ADMIN}?schema={pg_schema}"
    frame = make_frame(
        4, ts=pd.to_datetime(["2024-01-05", "2024-01-06", "2024-02-01", "2024-02-02"], utc=True)
    )
    frame["is_fraud"] = [False, True, False, True]
    with open_store(url) as store, store.bulk_load():
        assert store.write_transactions(frame.iloc[:3]) == 3  # two new months
        assert store.write_transactions(frame.iloc[3:]) == 1  # February exists: through the parent
        with pytest.raises(RuntimeError), store.batch():  # a new month rolled back ...
            store.write_transactions(make_frame(1, tx_id=[9], ts=pd.to_datetime(["2024-03-09"], utc=True)))
            raise RuntimeError("crash")
        march = make_frame(1, tx_id=[10], ts=pd.to_datetime(["2024-03-10"], utc=True))
        assert store.write_transactions(march) == 1  # ... is created again, not assumed to exist
        assert store.partitions("transactions") == [f"transactions_p20240{m}" for m in (1, 2, 3)]
        assert store.partitions("labels") == [f"labels_p20240{m}" for m in (1, 2, 3)]
        assert store.transactions(with_labels=True)["is_fraud"].tolist() == [False, True, False, True, False]
    with psycopg.connect(PG_ADMIN) as conn:

        def indexes(table: str) -> list[str]:
            return pg_indexes(conn, pg_schema, table)

        for table in ("transactions", "labels"):  # each partition has every index of its parent
            parent = indexes(table)
            assert len(parent) >= 2
            for month in (1, 2, 3):
                assert indexes(f"{table}_p20240{month}") == parent
        assert "btree (customer_id, ts)" in indexes("transactions") and "brin (ts)" in indexes("transactions")
        assert "btree (tx_id, source, labelled_at)" in indexes("labels")
        checks = conn.execute(
            "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = %s AND c.contype = 'c'",
            (pg_schema,),
        ).fetchone()
        assert checks == (0,)  # the bounds constraints used for ATTACH are gone
