"""Chinook CSV files judged column at a time: the vectorized staging path.

The rules are the line-by-line ones of ``chinook_rules.py`` (``_rows``, ``_record_values``,
``_convert``), which stay the reference: this module decides, a column at a time, only what it
can decide *exactly* as those rules would, and hands every other record to them.

Per CSV file (read whole, decoded as the rules decode it: UTF-8, byte-order mark dropped,
invalid bytes replaced):

1. **Clean files** (``_clean``): the expected header, then only canonical records (digits for
   whole numbers, at most eight digits and two decimals for money, ``YYYY-MM-DD HH:MM:SS``
   dates, text without line breaks, quotes only around a whole field, required fields filled:
   one linear regular expression over the file). Arrow's CSV reader reads them with the
   columns' types; Arrow kernels check dates, ranges and keys. A file that breaks no rule is
   staged from there; any doubt sends it to step 2. A file per day costs Arrow's reader, not a
   SQL statement (DuckDB binds a statement of this size in tens of milliseconds).
2. **Files to judge**: an in-memory DuckDB (with the warehouse's memory limit) splits every
   line into fields and gives each record its verdict in one SQL query (``_judge_sql``), with
   the rules' reason texts and raw texts. A line that is not a whole record on its own (a quoted
   line break, a stray quote, a NUL) starts a record csv's reader reads and the rules judge; a
   value SQL cannot convert exactly as Python would (``int(" 1")``, ``Decimal("1e3")``,
   ``fromisoformat("2021-01-02T10:00")``, non-ASCII digits, a reason quoting a ``repr`` of
   non-ASCII text, a raw text over the quarantine's limit) sends its record to the rules.
3. Repeated primary keys are found over SQL's and the rules' converted rows together, in line
   order, as the rules find them; ``judge_day`` applies an invoice day's rules (customers, the
   folder's day, invoices and tracks of lines, totals against lines) in Arrow and numpy.

Staged values never leave Arrow. Clean data never reaches the rules (``LoadStats.
fallback_lines`` counts what does). ``music_dwh_tests/staging/test_chinook_oracle.py`` feeds
generated CSVs with seeded corruptions of every kind through both paths and compares every row
and every book.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from music_dwh.resources.base import literal as _q
from music_dwh.resources.base import quote as _ident
from music_dwh.staging import chinook_rules as rules
from music_dwh.staging.common import QUARANTINE_TEXT_LIMIT, Rejected
from music_dwh.staging.judge import DuckDBJudge

# A field is plain (no quote, no comma) or wholly quoted with its quotes doubled: then csv's
# reader gives exactly the fields this splitting gives, and the line is a whole record.
_FIELD = r'(?:[^",\x00]*|"(?:[^"\x00]|"")*")'
_WELL_FORMED = f"{_FIELD}(?:,{_FIELD})*"
_QUOTED_FIELDS = r',("(?:[^"]|"")*"|[^",]*)'
# Printable ASCII without a quote or backslash: Python's repr of it is the text in quotes.
_PLAIN_ASCII = r"[ -&(-\[\]-~]*"
_INTEGER = "-?[0-9]{1,18}"
_AMOUNT = r"-?[0-9]{1,18}(\.[0-9]{1,18})?"
_DATETIME = "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
# Characters int() / Decimal() can accept in ASCII text; a plain text with any other is
# certainly neither.
_NOT_INTEGER_CHARS = r"[^0-9+\-_ ]"
_NOT_AMOUNT_CHARS = r"[^0-9+\-_. eEiInNfFtTyYaAsS]"
_FALLBACK = "\x00fallback"


@dataclass
class JudgedFile:
    """One file as the rules' ``_rows`` sees it: the converted rows (``line`` and the table's
    columns, line order), the rejected records (line order), the books."""

    rows: pa.Table
    rejected: list[Rejected] = field(default_factory=list)
    records: int = 0
    fallback_lines: int = 0
    # Where a record's text is found again (for the rare reasons given after conversion): its
    # physical line, or for a record the rules read, its raw text and fields by end line.
    texts: list[str] | None = None
    parsed: dict[int, tuple[str, list[str]]] = field(default_factory=dict)
    text: str = ""  # the decoded file, split into ``texts`` only when a reason needs a line

    def fields(self, line: int) -> list[str]:
        if line in self.parsed:
            return self.parsed[line][1]
        if self.texts is None:
            self.texts = io.StringIO(self.text, newline="").readlines()
        return next(csv.reader([self.texts[line - 1]]))

    def raw(self, line: int, csv_text) -> str:
        if line in self.parsed:
            return self.parsed[line][0]
        return csv_text(self.fields(line))


class CsvJudge(DuckDBJudge):
    """One in-memory DuckDB for CSV files; ``judge`` judges one file."""

    def __init__(self, memory_limit: str) -> None:
        super().__init__(memory_limit)
        self.rules = rules
        self._sql: dict[tuple[str, str | None], str] = {}
        self._clean_patterns: dict[str, re.Pattern[str]] = {}

    # ------------------------------------------------------------------ schema
    def columns(self, table: str) -> tuple[str, ...]:
        return {**self.rules.REFERENCE_TABLES, **self.rules.TRANSACTION_TABLES}[table]

    def row_schema(self, table: str) -> pa.Schema:
        return pa.schema(
            [("line", pa.int64())] + [(c, self.rules._arrow_type(c)) for c in self.columns(table)]
        )

    # ------------------------------------------------------------------ SQL
    def _column_sql(self, table: str, column: str, f: str) -> tuple[str, str]:
        """(the reason, ``_FALLBACK`` or NULL for field ``f`` of ``column``; its value as SQL),
        ``_convert`` column for column."""
        rules = self.rules
        name = _q(f"column '{column}': ")
        plain = f"regexp_full_match({f}, {_q(_PLAIN_ASCII)})"
        shown_repr = f"left('''' || {f} || '''', 40)"  # f"{text!r:.40}" of plain ASCII
        cases: list[tuple[str, str]] = []

        def when(condition: str, reason: str) -> None:
            cases.append((condition, reason))

        def unless_plain(chars: str, what: str) -> str:
            """A plain text holding a character the parser never takes is ``what``; anything
            else is the parser's to read."""
            return (
                f"case when {plain} and regexp_matches({f}, {_q(chars)}) "
                f"then {name} || {shown_repr} || {_q(what)} else {_q(_FALLBACK)} end"
            )

        def bounded(value: str, low: str, high: str) -> None:
            accepted = _q(f" is out of range (accepted: {rules.BOUNDS[column].accepted})")
            when(f"not ({value} >= {low} and {value} <= {high})", f"{name} || {f} || {accepted}")

        required = column in rules.REQUIRED.get(table, ()) or column in rules.PRIMARY_KEYS[table]
        when(f"{f} = ''", _q(f"column '{column}' is empty") if required else "NULL")
        bound = rules.BOUNDS.get(column)
        if column in rules.MONEY_COLUMNS:
            value = f"try_cast({f} as decimal(38, 18))"
            when(f"not regexp_full_match({f}, {_q(_AMOUNT)})",
                 unless_plain(_NOT_AMOUNT_CHARS, " is not an amount"))  # fmt: skip
            if column in rules.NON_NEGATIVE:
                when(f"{value} < 0", f"{name} || {f} || ' is negative'")
            bounded(value, f"{bound.low}", f"{bound.high}")
            decimals = _q(" is not an amount with at most two decimals")
            when(f"{value} <> round({value}, 2)", f"{name} || {shown_repr} || {decimals}")
            converted = f"try_cast({value} as decimal(10, 2))"
        elif column in rules.INTEGER_COLUMNS:
            value = f"try_cast({f} as bigint)"
            when(f"not regexp_full_match({f}, {_q(_INTEGER)})",
                 unless_plain(_NOT_INTEGER_CHARS, " is not a whole number"))  # fmt: skip
            if column in rules.NON_NEGATIVE:
                when(f"{value} < 0", f"{name} || {f} || ' is negative'")
            bounded(value, f"{bound.low}", f"{bound.high}")
            converted = value
        elif column in rules.DATETIME_COLUMNS:
            fmt = "'%Y-%m-%d %H:%M:%S'"
            value = f"try_strptime({f}, {fmt})"
            what = " is not a date-time (YYYY-MM-DD HH:MM:SS)"
            # Text with no digit at all is no ISO date; other shapes are fromisoformat's to read.
            when(f"not regexp_full_match({f}, {_q(_DATETIME)})", unless_plain("^[^0-9]*$", what))
            # Python rejects year 0 and every date or time it would have to normalise.
            when(f"starts_with({f}, '0000') or {value} is null or strftime({value}, {fmt}) <> {f}",
                 f"{name} || {shown_repr} || {_q(what)}")  # fmt: skip
            bounded(value, f"'{bound.low:%Y-%m-%d %H:%M:%S}'::timestamp",
                    f"'{bound.high:%Y-%m-%d %H:%M:%S.%f}'::timestamp")  # fmt: skip
            converted = f"case when strftime({value}, {fmt}) = {f} then {value} end"
        else:
            when(
                f"contains({f}, '\ufffd')",
                _q(f"column '{column}': invalid UTF-8 bytes in the text"),
            )
            converted = f"nullif({f}, '')"
        reason = "case " + " ".join(f"when {w} then {r}" for w, r in cases) + " end"
        return reason, f"case when {f} <> '' then {converted} end"

    def _judge_sql(self, table: str, header_error: str | None) -> str:
        key = (table, header_error)
        if key in self._sql:
            return self._sql[key]
        columns = self.columns(table)
        n = len(columns)
        reasons, values = [], []
        for i, column in enumerate(columns, start=1):
            reason, value = self._column_sql(table, column, f"f{i}")
            reasons.append(reason)
            values.append(f"{value} as {_ident(column)}")
        names = ",".join(columns)
        count_reason = f"cast(len(fs) as varchar) || {_q(f' fields, expected {n} ({names})')}"
        first = _q(header_error) if header_error is not None else "NULL"
        verdict = f"coalesce({first}, case when len(fs) <> {n} then {count_reason} end, "
        verdict += ", ".join(reasons) + ")"
        fields = ", ".join(f"fs[{i}] as f{i}" for i in range(1, n + 1))
        f_list = ", ".join(f"f{i}" for i in range(1, n + 1))
        # The rules' raw text: the fields written again by csv's writer (QUOTE_MINIMAL).
        raw = """array_to_string(list_transform(fs, lambda x: case
            when contains(x, ',') or contains(x, '"') then '"' || replace(x, '"', '""') || '"'
            else x end), ',')"""
        sql = f"""
        with split as (
            select line, well_formed, case
                when not well_formed then []
                when not contains(t, '"') then string_split(t, ',')
                else list_transform(
                    regexp_extract_all(',' || t, {_q(_QUOTED_FIELDS)}, 1),
                    lambda x: case when starts_with(x, '"')
                         then replace(substr(x, 2, length(x) - 2), '""', '"') else x end)
                end as fs
            from (
                select line, t, regexp_full_match(t, {_q(_WELL_FORMED)}) as well_formed
                from lines
            )
        ),
        records as (  -- a blank line is not a record
            select line, well_formed, fs, {fields} from split
            where not (len(fs) = 1 and fs[1] = '')
        ),
        judged as (
            select line, well_formed, {verdict} as reason, {raw} as raw, {f_list} from records
        )
        select line, well_formed, case
                when not well_formed then NULL
                when strlen(raw) > {QUARANTINE_TEXT_LIMIT} then {_q(_FALLBACK)}
                else reason end as reason,
            raw, {", ".join(values)}
        from judged
        order by line
        """
        self._sql[key] = sql
        return sql

    # ------------------------------------------------------------------ one file
    def judge(self, data: bytes, source_file: str, table: str) -> JudgedFile:
        """``_rows`` over one file's bytes: its converted rows, rejects and books."""
        rules = self.rules
        columns = self.columns(table)
        schema = self.row_schema(table)
        text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
        clean = self._clean(data, text, table)
        if clean is not None:
            return clean
        # The rules' physical lines: ended by \n, \r\n or \r, each kept with its ending.
        lines = io.StringIO(text, newline="").readlines()
        reader = csv.reader(_from(lines, 0))
        header = next(reader, None)
        if header is None:
            return JudgedFile(schema.empty_table(), texts=lines)  # an empty file: no records
        header_error = rules._header_error(header, columns)
        first = reader.line_num + 1  # the first line after the header
        body = pc.replace_substring_regex(
            pa.array(lines[first - 1 :], pa.large_string()), r"(\r\n|\r|\n)$", ""
        )
        numbers = pa.array(np.arange(first, len(lines) + 1, dtype=np.int64))
        self.con.register("lines", pa.table({"line": numbers, "t": body}))
        try:
            judged = self.con.sql(self._judge_sql(table, header_error)).to_arrow_table()
        finally:
            self.con.unregister("lines")
        line_numbers = judged["line"].to_numpy()
        reason = judged["reason"]
        ok = pc.is_null(reason).to_numpy(zero_copy_only=False)
        fallback = pc.equal(reason, _FALLBACK).fill_null(False).to_numpy(zero_copy_only=False)
        whole = judged["well_formed"].to_numpy(zero_copy_only=False)
        result = JudgedFile(schema.empty_table(), texts=lines)
        # A line that is not a whole record on its own (a quoted line break, a stray quote, a
        # NUL): from it, csv's reader reads one record over as many lines as it takes, and the
        # rules judge it. The next record starts on the line after.
        extra: list[list] = []
        if not whole.all():
            taken = np.zeros(len(line_numbers), bool)
            after = first
            for start in line_numbers[~whole].tolist():
                if start < after:
                    continue  # inside the record read before
                reader = csv.reader(_from(lines, start - 1))
                fields = next(reader)
                end = start - 1 + reader.line_num
                lo, hi = np.searchsorted(line_numbers, [start, end + 1])
                taken[lo:hi] = True
                after = end + 1
                if fields and fields != [""]:
                    result.records += 1
                    result.fallback_lines += 1
                    self._by_the_rules(result, extra, source_file, table, end, fields, header_error)
            keep = ~taken
            judged, line_numbers = judged.filter(pa.array(keep)), line_numbers[keep]
            ok, fallback, reason = ok[keep], fallback[keep], judged["reason"]
        result.records += judged.num_rows
        rejected_at = ~ok & ~fallback
        result.rejected.extend(
            Rejected(source_file, line, raw, why)
            for line, raw, why in zip(
                line_numbers[rejected_at].tolist(),
                judged["raw"].filter(pa.array(rejected_at)).to_pylist(),
                reason.filter(pa.array(rejected_at)).to_pylist(),
                strict=True,
            )
        )
        # Values SQL cannot convert exactly as Python would: the rules judge their records.
        for line in line_numbers[fallback].tolist():
            fields = next(csv.reader([lines[line - 1]]))
            result.fallback_lines += 1
            self._by_the_rules(result, extra, source_file, table, line, fields, header_error)
        rows = judged.filter(pa.array(ok)).select(schema.names).cast(schema)
        if extra:
            rows = pa.concat_tables(
                [rows, pa.Table.from_batches([rules._batch(schema, extra)])]
            ).sort_by("line")
        result.rows = rows
        result.rejected.sort(key=lambda r: r.line_number)
        self._duplicates(result, source_file, table)
        return result

    def _clean_pattern(self, table: str) -> re.Pattern[str]:
        """A file body every line of which is one canonical record: digits for whole numbers,
        up to eight digits and two decimals for money, ``YYYY-MM-DD HH:MM:SS`` dates, text
        without line breaks, quotes only around a whole field; required fields not empty."""
        if table not in self._clean_patterns:
            rules = self.rules
            fields = []
            for column in self.columns(table):
                required = (
                    column in rules.REQUIRED.get(table, ()) or column in rules.PRIMARY_KEYS[table]
                )
                if column in rules.MONEY_COLUMNS:
                    pattern = r"[0-9]{1,8}+(?:\.[0-9]{1,2}+)?+"
                elif column in rules.INTEGER_COLUMNS:
                    pattern = "[0-9]{1,18}+"
                elif column in rules.DATETIME_COLUMNS:
                    pattern = "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
                else:
                    n = "++" if required else "*+"
                    pattern = f'(?:"(?:[^"\r\n\x00]|""){n}"|[^",\r\n\x00]{n})'
                # Atomic: each field and line matches one way, so a file that does not match
                # fails in linear time (no backtracking into earlier lines).
                fields.append(f"(?>{pattern})" if required else f"(?>{pattern})?+")
            line = ",".join(fields)
            self._clean_patterns[table] = re.compile(f"(?>{line}\r?\n)*+(?>{line})?+")
        return self._clean_patterns[table]

    def _clean(self, data: bytes, text: str, table: str) -> JudgedFile | None:
        """A file of canonical records that break no rule, read by Arrow's CSV reader with the
        columns' types; ``None`` when the file needs judging."""
        rules = self.rules
        columns = self.columns(table)
        header, _, body = text.partition("\n")
        if header.removesuffix("\r") != ",".join(columns) or "\ufffd" in text:
            return None
        if not self._clean_pattern(table).fullmatch(body):
            return None
        types = {
            c: pa.string() if c in rules.DATETIME_COLUMNS else rules._arrow_type(c) for c in columns
        }
        try:
            read = pa_csv.read_csv(
                pa.py_buffer(data.removeprefix(b"\xef\xbb\xbf")),
                read_options=pa_csv.ReadOptions(skip_rows=1, column_names=list(columns)),
                convert_options=pa_csv.ConvertOptions(
                    column_types=types, null_values=[""], strings_can_be_null=True
                ),
            )
        except pa.ArrowInvalid:
            return None
        n = read.num_rows
        checked = {}
        for column in columns:
            values = read[column]
            if column in rules.DATETIME_COLUMNS:
                fmt = "%Y-%m-%d %H:%M:%S"
                moment = pc.strptime(values, fmt, "us", error_is_null=True)
                # Arrow normalises 02-30 and 24:00; the rules reject them.
                shown = pc.binary_join_element_wise(values, ".000000", "")
                same = pc.equal(pc.strftime(moment, fmt), shown).fill_null(False)
                if pc.any(pc.and_(pc.is_valid(values), pc.invert(same))).as_py():
                    return None
                values = moment
            bound = rules.BOUNDS.get(column)
            if bound is not None and values.null_count < n:
                low, high = pc.min_max(values).values()
                try:
                    if not (bound.admits(low.as_py()) and bound.admits(high.as_py())):
                        return None
                except ValueError:  # a year 0 Python's datetime cannot hold
                    return None
            checked[column] = values
        keys = [checked[k].cast(pa.int64()) for k in rules.PRIMARY_KEYS[table]]
        key = keys[0] if len(keys) == 1 else pc.add(pc.multiply(keys[0], 1 << 31), keys[1])
        if n and pc.count_distinct(key).as_py() != n:
            return None
        line = pa.array(np.arange(2, n + 2, dtype=np.int64))
        rows = pa.table([line, *checked.values()], schema=self.row_schema(table))
        return JudgedFile(rows, records=n, text=text)

    def _by_the_rules(
        self,
        result: JudgedFile,
        extra: list[list],
        source_file: str,
        table: str,
        line: int,
        fields: list[str],
        header_error: str | None,
    ) -> None:
        """One record through ``_record_values``: its values join ``extra``, or it is rejected."""
        rules = self.rules
        raw = rules._csv_text(fields)
        result.parsed[line] = (raw, fields)
        try:
            values = rules._record_values(table, self.columns(table), fields, header_error)
        except rules.RowError as exc:
            result.rejected.append(Rejected(source_file, line, raw, str(exc)))
            return
        extra.append([line, *values])

    def _duplicates(self, result: JudgedFile, source_file: str, table: str) -> None:
        """A repeated primary key among the converted rows: the first in line order stays."""
        keys = self.rules.PRIMARY_KEYS[table]
        rows = result.rows
        if rows.num_rows < 2:
            return
        lines = rows["line"].to_numpy()
        key_arrays = [rows[k].to_numpy() for k in keys]
        order = np.lexsort((lines, *reversed(key_arrays)))
        sorted_keys = [k[order] for k in key_arrays]
        starts = np.ones(len(order), bool)
        starts[1:] = np.logical_or.reduce([k[1:] != k[:-1] for k in sorted_keys])
        if starts.all():
            return
        group_first = lines[order][
            np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
        ]
        repeated = order[~starts]
        first_of = dict(zip(lines[repeated].tolist(), group_first[~starts].tolist(), strict=True))
        for position in sorted(repeated.tolist()):
            key_values = tuple(int(rows[k][position].as_py()) for k in keys)
            shown = key_values if len(keys) > 1 else key_values[0]
            line = int(lines[position])
            result.rejected.append(
                Rejected(
                    source_file,
                    line,
                    result.raw(line, self.rules._csv_text),
                    f"duplicate {'/'.join(keys)} {shown} (first at line {first_of[line]})",
                )
            )
        result.rejected.sort(key=lambda r: r.line_number)
        result.rows = rows.filter(
            pa.array(np.isin(np.arange(rows.num_rows), repeated, invert=True))
        )


def _from(lines: list[str], index: int) -> Iterator[str]:
    """The lines from ``index`` on, without copying the list."""
    return (lines[i] for i in range(index, len(lines)))


def _cents(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A ``decimal128(10, 2)`` column as integer cents (its unscaled values, < 2**63)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    words = np.frombuffer(column.buffers()[1], np.int64) if len(column) else np.zeros(0, np.int64)
    return words[column.offset * 2 :: 2][: len(column)].copy()


# The snapshot ids a run checks every day against: one set, converted once.
_ID_ARRAYS: dict[int, tuple[set[int], int, pa.Array]] = {}


def _id_array(ids: set[int]) -> pa.Array:
    """Known ids as an Arrow array (an id no staged BIGINT can equal cannot match anyway)."""
    cached = _ID_ARRAYS.get(id(ids))
    if cached is not None and cached[0] is ids and cached[1] == len(ids):
        return cached[2]
    array = pa.array([i for i in ids if -(2**63) <= i < 2**63], pa.int64())
    if len(_ID_ARRAYS) > 8:
        _ID_ARRAYS.clear()
    _ID_ARRAYS[id(ids)] = (ids, len(ids), array)
    return array


def _amount(cents: int) -> str:
    return f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"


@dataclass
class JudgedDay:
    """One invoice day as ``load_invoice_day``'s rules leave it: the staged rows (line order)
    and the rejects of each file, in the order the rules append them."""

    invoices: pa.Table
    lines: pa.Table
    invoice_rejects: list[Rejected]
    line_rejects: list[Rejected]


def judge_day(
    invoices: JudgedFile | None,
    lines: JudgedFile | None,
    inv_key: str,
    line_key: str,
    day: dt.date,
    track_ids: set[int],
    customer_ids: set[int],
) -> JudgedDay:
    """The day's rules on judged files: customers and the folder's day, a line's invoice and
    track, each invoice's total against its lines (all in Arrow; reasons only for the few)."""

    csv_text = rules._csv_text
    inv_rejects: list[Rejected] = []
    line_rejects: list[Rejected] = []
    inv = invoices.rows if invoices is not None else None
    if inv is not None:
        inv_rejects = list(invoices.rejected)
        known = pc.is_in(inv["customer_id"], _id_array(customer_ids))
        same_day = pc.equal(pc.cast(inv["invoice_date"], pa.date32()), pa.scalar(day))
        keep = pc.and_(known, same_day).to_numpy(zero_copy_only=False)
        if not keep.all():
            known_np = known.to_numpy(zero_copy_only=False)
            for position in np.flatnonzero(~keep).tolist():
                line = inv["line"][position].as_py()
                if not known_np[position]:
                    customer_id = inv["customer_id"][position].as_py()
                    why = f"customer_id {customer_id} is not in the customer snapshot"
                else:
                    when = inv["invoice_date"][position].as_py()
                    why = f"invoice_date {when} is not the folder's day {day}"
                inv_rejects.append(Rejected(inv_key, line, invoices.raw(line, csv_text), why))
            inv_rejects.sort(key=lambda r: r.line_number)
            inv = inv.filter(pa.array(keep))
    ids = inv["invoice_id"].to_numpy() if inv is not None else np.zeros(0, np.int64)
    kept = None
    if lines is not None:
        line_rejects = list(lines.rejected)
        kept = lines.rows
        in_day = np.isin(kept["invoice_id"].to_numpy(), ids)
        known = pc.is_in(kept["track_id"], _id_array(track_ids)).to_numpy(zero_copy_only=False)
        keep = in_day & known
        if not keep.all():
            for position in np.flatnonzero(~keep).tolist():
                line = kept["line"][position].as_py()
                if not in_day[position]:
                    invoice_id = kept["invoice_id"][position].as_py()
                    why = f"invoice_id {invoice_id} is not in this day's invoice file"
                else:
                    track_id = kept["track_id"][position].as_py()
                    why = f"track_id {track_id} is not in the track snapshot"
                line_rejects.append(Rejected(line_key, line, lines.raw(line, csv_text), why))
            line_rejects.sort(key=lambda r: r.line_number)
            kept = kept.filter(pa.array(keep))
    # An invoice must equal its lines to the cent; otherwise both sides wait in quarantine.
    if len(ids):
        sums = np.zeros(len(ids), np.int64)
        if kept is not None and kept.num_rows:
            amounts = _cents(kept["unit_price"]) * kept["quantity"].to_numpy()
            position = np.searchsorted(np.sort(ids), kept["invoice_id"].to_numpy())
            by_sorted = np.zeros(len(ids), np.int64)
            np.add.at(by_sorted, position, amounts)
            sums = by_sorted[np.searchsorted(np.sort(ids), ids)]
        totals = _cents(inv["total"])
        bad = totals != sums
        if bad.any():
            for position in sorted(np.flatnonzero(bad).tolist(), key=lambda p: int(ids[p])):
                line = inv["line"][position].as_py()
                # the rules' Decimal, sign of a zero included
                text = invoices.fields(line)[rules._INVOICE_TOTAL]
                total = rules._convert("invoice", "total", text)
                line_sum = _amount(int(sums[position]))
                why = f"total {total} differs from the sum of its lines {line_sum}"
                inv_rejects.append(Rejected(inv_key, line, invoices.raw(line, csv_text), why))
            bad_ids = ids[bad]
            inv = inv.filter(pa.array(~bad))
            if kept is not None and kept.num_rows:
                waiting = np.isin(kept["invoice_id"].to_numpy(), bad_ids)
                for position in np.flatnonzero(waiting).tolist():
                    line = kept["line"][position].as_py()
                    invoice_id = kept["invoice_id"][position].as_py()
                    why = f"its invoice {invoice_id} is quarantined (total differs from its lines)"
                    line_rejects.append(Rejected(line_key, line, lines.raw(line, csv_text), why))
                kept = kept.filter(pa.array(~waiting))
    return JudgedDay(inv, kept, inv_rejects, line_rejects)
