"""What every staging load shares: columnar batching, the quarantine and the reconciliation.

A staging load reads raw records one at a time, turns the good ones into Arrow record batches
(bounded memory: a batch at a time, never a whole day of Python objects) and sends the bad
ones to the system's quarantine table with a reason. ``LoadStats`` keeps the books so that
raw records = loaded + quarantined can be checked for every load.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

BATCH_ROWS = 50_000
# Longest raw record kept verbatim in the quarantine; longer ones are cut (and say so).
QUARANTINE_TEXT_LIMIT = 2_000
# A single event or song record is a few hundred bytes; a line far beyond this is corrupt
# (or a file concatenated without newlines) and is quarantined without parsing it.
MAX_RECORD_BYTES = 1 << 20

INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class Bound:
    """The physical range of one field: a value outside it belongs to no real event, song or sale.

    Chosen from the public samples with wide margins (the README's table gives each bound and
    why); what is merely unusual is the warn-level distribution suites' business, not this.
    Both ends are inclusive unless ``low_open`` (a length of 0 is no song); ``also`` lists
    single values accepted besides the range (a song's year 0: unknown).
    """

    low: Any
    high: Any
    accepted: str
    low_open: bool = False
    also: tuple = ()

    def admits(self, value: Any) -> bool:
        if value in self.also:
            return True
        above = value > self.low if self.low_open else value >= self.low
        return bool(above and value <= self.high)  # NaN fails both


QUARANTINE_SCHEMA = pa.schema(
    [
        ("target_table", pa.string()),
        ("partition_date", pa.date32()),
        ("source_file", pa.string()),
        ("line_number", pa.int64()),
        ("raw_text", pa.string()),
        ("reason", pa.string()),
        ("loaded_at", pa.timestamp("us")),
    ]
)


# Where each staged row came from, last in every staging table of every system.
LINEAGE = [
    ("source_file", pa.string()),
    ("source_line", pa.int64()),
    ("loaded_at", pa.timestamp("us")),
]


class RecordError(ValueError):
    """Why one raw record (a JSON line, a CSV row) cannot be staged: its quarantine reason."""


# Raw records a staging transaction holds at most (whole days; a day is never split): commits
# cost more than small days, but a DuckDB transaction keeps what it appends in memory until it
# commits (30 days at 270,000 events a day in one transaction needed 4 GB).
TRANSACTION_RECORDS = 1_000_000


class QuarantineThresholdExceeded(Exception):
    """Too large a share of a load was bad: the load is rolled back and the partition fails.

    The loader that wrote days together fills in ``transaction_days`` (the days written in the
    same transaction, all rolled back with this one) and ``later_days`` (the days of the run
    after that transaction, never written), so the message can say every day left unstaged."""

    def __init__(self, stats: LoadStats, threshold: float) -> None:
        super().__init__(stats.target_table)
        self.table = stats.target_table
        self.day = stats.partition_date
        self.quarantined = stats.quarantined
        self.records = stats.records
        self.threshold = threshold
        self.first_bad = [
            f"{r.source_file} line {r.line_number}: {r.reason}" for r in stats.rejected[:5]
        ]
        self.transaction_days: list[dt.date] = [self.day] if self.day else []
        self.later_days = 0

    def __str__(self) -> str:
        where = f" for {self.day}" if self.day else ""
        share = (
            f"{self.table}{where}: {self.quarantined:,} of {self.records:,} raw records "
            f"({self.quarantined / self.records:.1%}) are bad, more than the {self.threshold:.0%} "
            "allowed (MUSIC_DWH_QUARANTINE_THRESHOLD)"
        )
        if self.day is None:
            kept = "nothing was loaded, the previous rows are kept."
        else:
            others = [d for d in self.transaction_days if d != self.day]
            not_staged = [str(self.day)]
            if others:
                not_staged.append(
                    f"{describe_days(others)} (rolled back with it: the same transaction)"
                )
            if self.later_days:
                not_staged.append(f"the {self.later_days:,} later day(s) of the run (not tried)")
            kept = f"not staged, their previous rows kept: {_and(not_staged)}."
        return (
            f"{share}; {kept}\n"
            f"First bad record: {self.first_bad[0]}. Fix or re-deliver the file(s), or raise "
            "the threshold if this share is expected.\n"
            + "\n".join(f"  {line}" for line in self.first_bad[1:])
        ).rstrip()


def describe_days(days: list[dt.date]) -> str:
    """A few days by name; a longer run of them as its first and last day."""
    if len(days) <= 3:
        return _and([str(d) for d in days])
    return f"{len(days):,} days {days[0]} … {days[-1]}"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def nul_reason(what: str) -> str:
    """Why a text value holding U+0000 is quarantined on every warehouse."""
    return (
        f"{what}: text contains a NUL character (U+0000), which PostgreSQL and Redshift "
        "cannot store"
    )


def raw_text(raw: bytes) -> str:
    """A raw line as the quarantine keeps it: invalid UTF-8 and NUL bytes shown as U+FFFD (a
    NUL cannot be stored in PostgreSQL or Redshift text)."""
    text = raw.decode("utf-8", errors="replace").rstrip("\r\n").replace("\x00", "\ufffd")
    if len(text) > QUARANTINE_TEXT_LIMIT:
        return text[:QUARANTINE_TEXT_LIMIT] + f"… [cut: {len(raw):,} bytes in all]"
    return text


@dataclass
class Rejected:
    source_file: str
    line_number: int
    raw_text: str
    reason: str


@dataclass
class LoadStats:
    """The books of one load (one day, or one catalogue)."""

    target_table: str
    partition_date: dt.date | None
    files: int = 0
    bytes: int = 0
    records: int = 0
    loaded: int = 0
    repaired_values: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    # Records the vectorized path could not judge exactly and left to the line-by-line rules.
    fallback_lines: int = 0

    @property
    def quarantined(self) -> int:
        return len(self.rejected)

    @property
    def quarantine_rate(self) -> float:
        return self.quarantined / self.records if self.records else 0.0

    @property
    def reconciles(self) -> bool:
        return self.records == self.loaded + self.quarantined

    def reject(self, source_file: str, line_number: int, raw: bytes | str, reason: str) -> None:
        text = raw if isinstance(raw, str) else raw_text(raw)
        self.rejected.append(Rejected(source_file, line_number, text, reason))

    def check_threshold(self, threshold: float) -> None:
        if self.records and self.quarantine_rate > threshold:
            raise QuarantineThresholdExceeded(self, threshold)

    def quarantine_batches(self, loaded_at: dt.datetime) -> Iterator[pa.RecordBatch]:
        if not self.rejected:
            return
        n = len(self.rejected)
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([self.target_table] * n, pa.string()),
                pa.array([self.partition_date] * n, pa.date32()),
                pa.array([r.source_file for r in self.rejected], pa.string()),
                pa.array([r.line_number for r in self.rejected], pa.int64()),
                pa.array([r.raw_text for r in self.rejected], pa.string()),
                pa.array([r.reason for r in self.rejected], pa.string()),
                pa.array([loaded_at] * n, pa.timestamp("us")),
            ],
            schema=QUARANTINE_SCHEMA,
        )


class BatchBuilder:
    """Collects rows column by column and hands out Arrow record batches of ``BATCH_ROWS``."""

    def __init__(self, schema: pa.Schema, batch_rows: int = BATCH_ROWS) -> None:
        self.schema = schema
        self.batch_rows = batch_rows
        self._columns: list[list] = [[] for _ in schema]

    def __len__(self) -> int:
        return len(self._columns[0])

    def append(self, values: tuple | list) -> None:
        for column, value in zip(self._columns, values, strict=True):
            column.append(value)

    def full(self) -> bool:
        return len(self) >= self.batch_rows

    def flush(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_arrays(
            [pa.array(col, type=f.type) for col, f in zip(self._columns, self.schema, strict=True)],
            schema=self.schema,
        )
        self._columns = [[] for _ in self.schema]
        return batch
