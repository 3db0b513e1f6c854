"""The Kaggle "credit card transactions" layout (Sparkov's output, the data of seed 004).

Columns, in published order (:data:`KAGGLE_COLUMNS`)::

    trans_date_trans_time, cc_num, merchant, category, amt, first, last, gender, street, city,
    state, zip, lat, long, city_pop, job, dob, trans_num, unix_time, merch_lat, merch_long, is_fraud

Some copies add a leading unnamed row-number column (``""`` in the file, ``"Unnamed: 0"`` once
read by pandas) and a trailing ``merch_zipcode``; both are accepted and kept, under their own
names, as attrs. ``is_fraud`` may be absent (unlabelled data).

Canonical mapping: ``trans_date_trans_time`` (``%Y-%m-%d %H:%M:%S``, read as UTC) -> ``ts``,
``cc_num`` -> ``customer_id`` (int64), ``merchant`` -> ``merchant_id``, ``amt`` -> ``amount``,
``state`` -> ``region``, ``lat``/``long`` -> ``lat``/``lon`` (the card holder's home),
``merch_lat``/``merch_long`` -> ``merchant_lat``/``merchant_lon``, ``is_fraud`` (0/1) ->
``is_fraud`` (bool) with ``fraud_pattern = "card_burst"`` on fraud (Sparkov's only pattern);
``first, last, gender, street, city, zip, city_pop, job, dob, trans_num, unix_time`` are attrs.
The layout has no id column: ``tx_id`` is the leading row-number column when there is one, else
the frame's index (the row number when read from a CSV with pandas, also chunk by chunk);
:meth:`KaggleAdapter.from_canonical` puts ``tx_id`` in the index of the frame it returns (unless
the row-number column carries it).

>>> import pandas as pd
>>> from fraudstream.worlds import simulate
>>> canonical = simulate("sparkov", rows=3, seed=1, n_customers=20, n_merchants=50)
>>> kaggle = KaggleAdapter().from_canonical(canonical)
>>> list(kaggle.columns) == list(KAGGLE_COLUMNS)
True
>>> pd.testing.assert_frame_equal(KaggleAdapter().to_canonical(kaggle), canonical)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstream.adapters import Adapter
from fraudstream.errors import InvalidRecord
from fraudstream.records import CORE_COLUMNS

__all__ = [
    "INDEX_COLUMNS",
    "KAGGLE_ATTRS",
    "KAGGLE_COLUMNS",
    "TIMESTAMP_FORMAT",
    "KaggleAdapter",
    "format_times",
    "parse_integers",
    "parse_numbers",
    "parse_times",
    "require_columns",
    "row_ids",
    "strings",
]

KAGGLE_COLUMNS: tuple[str, ...] = (
    "trans_date_trans_time", "cc_num", "merchant", "category", "amt", "first", "last", "gender",
    "street", "city", "state", "zip", "lat", "long", "city_pop", "job", "dob", "trans_num",
    "unix_time", "merch_lat", "merch_long", "is_fraud",
)
"""The Kaggle columns in published order (without the optional index and ``merch_zipcode``)."""

KAGGLE_ATTRS: tuple[str, ...] = ("first", "last", "gender", "street", "city", "zip", "city_pop", "job",
                                 "dob", "trans_num", "unix_time")
"""Kaggle columns that travel as canonical attrs under their own names."""

INDEX_COLUMNS: tuple[str, ...] = ("", "Unnamed: 0")
"""Names of the optional leading row-number column: in the file, and as pandas reads it."""

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
FRAUD_PATTERN = "card_burst"
_CARD = "a card number of at most 19 digits (int64)"


# ---- shared checks (also used by the seed004 adapter) ----------------------------------------

def require_columns(frame: pd.DataFrame, needed: tuple[str, ...], layout: str) -> None:
    """:class:`InvalidRecord` naming every column of ``needed`` that ``frame`` lacks."""
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InvalidRecord(f"{layout}: missing column(s) {', '.join(missing)}; "
                            f"the {layout} layout needs {', '.join(needed)}")


def _first_bad(values: pd.Series, bad: np.ndarray, column: str, allowed: str, layout: str) -> InvalidRecord:
    row = int(np.flatnonzero(bad)[0])
    return InvalidRecord(f"{layout}: {column} must be {allowed}, got {values.iloc[row]!r} (row {row})")


def parse_times(values: pd.Series, column: str, layout: str, fmt: str = TIMESTAMP_FORMAT) -> pd.Series:
    """UTC timestamps from strings in ``fmt`` or from (naive = UTC) datetimes."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        ts = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values):
        ts = values.dt.tz_localize("UTC")
    else:
        ts = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
    bad = ts.isna().to_numpy()
    if bad.any():
        allowed = "a date-time" if fmt == "ISO8601" else f"a date-time like {fmt}"
        raise _first_bad(values, bad, column, allowed, layout)
    return ts.astype("datetime64[ns, UTC]")


def parse_numbers(values: pd.Series, column: str, layout: str, *, minimum: float | None = None) -> pd.Series:
    """float64 from numbers, numeric strings or Decimals; NaN or values below ``minimum`` rejected."""
    numbers = pd.to_numeric(values, errors="coerce").astype(np.float64)
    bad = numbers.isna().to_numpy()
    if minimum is not None:
        bad |= numbers.to_numpy() < minimum
    if bad.any():
        allowed = "a number" if minimum is None else f"a number >= {minimum:g}"
        raise _first_bad(values, bad, column, allowed, layout)
    return numbers


def parse_integers(values: pd.Series, column: str, layout: str,
                   allowed: str = "an integer of at most 19 digits (int64)") -> pd.Series:
    """int64 from integers or digit strings (card numbers, row numbers)."""
    if pd.api.types.is_integer_dtype(values):
        return values.astype(np.int64)
    text = values.astype(str).str.strip()
    bad = ~text.str.fullmatch(r"\d{1,19}").to_numpy(dtype=bool)
    if not bad.any():
        big = text.str.len().to_numpy() == 19
        bad = big & (text > "9223372036854775807").to_numpy(dtype=bool)
    if bad.any():
        raise _first_bad(values, bad, column, allowed, layout)
    return text.astype(np.int64)


def strings(values: pd.Series) -> np.ndarray:
    """An object array of ``str`` (ids that may be numbers become their decimal text)."""
    if pd.api.types.is_object_dtype(values):
        return values.to_numpy()
    return values.astype(str).to_numpy(dtype=object)


def row_ids(frame: pd.DataFrame) -> np.ndarray:
    """``tx_id`` for a layout without an id column: the frame's index when it is unique."""
    index = frame.index
    if index.is_unique and (pd.api.types.is_integer_dtype(index) or pd.api.types.is_object_dtype(index)):
        return index.to_numpy()
    return np.arange(len(frame), dtype=np.int64)


def format_times(ts: pd.Series) -> np.ndarray:
    """``%Y-%m-%d %H:%M:%S`` strings (UTC) as an object array."""
    seconds = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    days = seconds.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    if len(year) and not (year.min() >= 1000 and year.max() <= 9999):
        text = pd.Series(np.datetime_as_string(seconds, unit="s")).str.replace("T", " ", regex=False)
        return text.to_numpy(dtype=object)
    of_day = (seconds - days).astype(np.int64)
    month, day = months.astype(np.int64) % 12 + 1, (days - months).astype(np.int64) + 1
    fields = [(year, 4, 0), (month, 2, 5), (day, 2, 8),
              (of_day // 3600, 2, 11), (of_day // 60 % 60, 2, 14), (of_day % 60, 2, 17)]
    text = np.empty((len(seconds), 19), dtype=np.uint8)  # ASCII digits written column by column
    text[:, [4, 7]], text[:, 10], text[:, [13, 16]] = ord("-"), ord(" "), ord(":")
    for value, width, at in fields:
        for digit in range(width):
            text[:, at + digit] = value // 10 ** (width - 1 - digit) % 10 + ord("0")
    return text.view("S19").ravel().astype("U19").astype(object)


class KaggleAdapter(Adapter):
    """The Kaggle/Sparkov card layout <-> canonical columns, lossless both ways."""

    name = "kaggle"
    summary = "Kaggle 'credit card transactions' / Sparkov (trans_date_trans_time, cc_num, merchant, ...)"
    columns = KAGGLE_COLUMNS
    required = KAGGLE_COLUMNS[:-1]

    def to_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        require_columns(frame, self.required, self.name)
        index_column = next((c for c in INDEX_COLUMNS if c in frame.columns), None)
        if index_column is not None:
            tx_id = parse_integers(frame[index_column], index_column, self.name,
                                   "a row number (integer)").to_numpy()
        else:
            tx_id = row_ids(frame)
        ts = parse_times(frame["trans_date_trans_time"], "trans_date_trans_time", self.name)
        out = pd.DataFrame({
            "tx_id": tx_id,
            "ts": ts.array,
            "customer_id": parse_integers(frame["cc_num"], "cc_num", self.name, _CARD).to_numpy(),
            "merchant_id": frame["merchant"].array,
            "amount": parse_numbers(frame["amt"], "amt", self.name, minimum=0).to_numpy(),
            "category": frame["category"].array,
            "lat": parse_numbers(frame["lat"], "lat", self.name).to_numpy(),
            "lon": parse_numbers(frame["long"], "long", self.name).to_numpy(),
            "merchant_lat": parse_numbers(frame["merch_lat"], "merch_lat", self.name).to_numpy(),
            "merchant_lon": parse_numbers(frame["merch_long"], "merch_long", self.name).to_numpy(),
            "region": frame["state"].array,
            **{attr: frame[attr].array for attr in KAGGLE_ATTRS},
        })
        known = set(KAGGLE_COLUMNS)
        for extra in frame.columns:  # index column, merch_zipcode and anything else, in file order
            if extra not in known:
                out[extra] = frame[extra].array
        if "is_fraud" in frame.columns:
            flags = frame["is_fraud"]
            numeric = pd.to_numeric(flags, errors="coerce")
            bad = ~numeric.isin([0, 1]).to_numpy()
            if bad.any():
                raise _first_bad(flags, bad, "is_fraud", "0 or 1", self.name)
            out["is_fraud"] = numeric.to_numpy() == 1
            out["fraud_pattern"] = np.where(out["is_fraud"], FRAUD_PATTERN, None).astype(object)
        return out

    def from_canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        require_columns(frame, CORE_COLUMNS, "canonical")
        n = len(frame)
        tx_id = frame["tx_id"].to_numpy()

        def column(name: str, default: object) -> np.ndarray:
            if name in frame.columns:
                return frame[name].array
            return np.full(n, default, dtype=object if isinstance(default, str) else None)

        out: dict[str, object] = {}
        index_column = next((c for c in INDEX_COLUMNS if c in frame.columns), None)
        if index_column is not None:
            out[index_column] = frame[index_column].array
        ts = frame["ts"]
        if "trans_num" in frame.columns:
            trans_num = frame["trans_num"].array
        else:  # a world without one: the tx_id, as 32 hex digits when it is an integer
            ids = frame["tx_id"]
            trans_num = (ids.map("{:032x}".format).to_numpy(dtype=object)
                         if pd.api.types.is_integer_dtype(ids) else strings(ids))
        if "unix_time" in frame.columns:
            unix_time = frame["unix_time"].array
        else:
            unix_time = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
            unix_time = unix_time.astype(np.int64)
        out.update({
            "trans_date_trans_time": format_times(ts),
            "cc_num": parse_integers(frame["customer_id"], "customer_id", "canonical", _CARD).to_numpy(),
            "merchant": strings(frame["merchant_id"]),
            "category": column("category", ""),
            "amt": frame["amount"].to_numpy(dtype=np.float64),
            "first": column("first", ""),
            "last": column("last", ""),
            "gender": column("gender", ""),
            "street": column("street", ""),
            "city": column("city", ""),
            "state": column("region", ""),
            "zip": column("zip", 0),
            "lat": column("lat", np.nan),
            "long": column("lon", np.nan),
            "city_pop": column("city_pop", 0),
            "job": column("job", ""),
            "dob": column("dob", ""),
            "trans_num": trans_num,
            "unix_time": unix_time,
            "merch_lat": column("merchant_lat", np.nan),
            "merch_long": column("merchant_lon", np.nan),
        })
        if "is_fraud" in frame.columns:
            out["is_fraud"] = frame["is_fraud"].to_numpy().astype(np.int64)
        if "merch_zipcode" in frame.columns:
            out["merch_zipcode"] = frame["merch_zipcode"].array
        # tx_id travels in the row-number column when there is one, else in the index
        return pd.DataFrame(out, index=None if index_column is not None else pd.Index(tx_id))
