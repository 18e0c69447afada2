"""Sparkify log files judged column at a time: the vectorized staging path.

The rules are the line-by-line ones of ``sparkify_rules.py`` (``_checked_event``), which stay the
reference: this module decides, a column at a time, only what it can decide *exactly* as those
rules would, and hands every other line to them. An in-memory DuckDB (with the warehouse's
memory limit) is the engine: the rules are SQL expressions over Arrow tables.

Per log file (the file is read whole, then freed; one file at a time):

1. The bytes are split into lines with numpy (byte-exact, numbered as the line-by-line reader
   numbers them, byte-order mark dropped, blank lines marked).
2. ``BLOCK_LINES`` lines at a time, Arrow's JSON reader parses the block with the 18 fields'
   types (``_parse_block``). It is strict where the rules are: a value of another type than its
   column's, a key outside the fields, invalid UTF-8, a line that is not one object fail the
   block. A block it cannot parse is read line by line in SQL (``_read_per_line``: ``TRY(decode)``,
   ``json_transform_strict``, which fails on malformed JSON and a missing or repeated field; keys
   and JSON types in document order, validated once per distinct signature); a line whose
   values SQL cannot read exactly there is marked ``unread``.
3. One SQL query over the file's values gives every line its verdict (``_judged_batches``):
   physical ranges, user ids, required fields, the day, the NextSong rule, a trailing comma
   (which DuckDB's and Arrow's readers let through), with the rules' reason texts. Duplicates
   are lines whose digests (``rstrip``, as the rules') are equal; the first staged line wins.
   What SQL cannot judge exactly (``unread`` lines, NaN and out-of-range values, a group of
   duplicates holding such a line) goes to the line-by-line rules, in line order: their reasons
   quote the parser or a Python ``repr``. The staged values never leave Arrow: the verdicts
   filter them into record batches, which every warehouse loader takes.
4. ``ftfy.fix_encoding`` runs once per distinct non-ASCII text value (cached per process) and is
   mapped back onto the batches; repairs are counted as the rules count them (every text value
   of every line whose fields were all read: staged, out of the day, incomplete NextSong).

Clean data never reaches the rules. ``music_dwh_tests/staging/test_sparkify_oracle.py`` feeds
generated logs with seeded corruptions of every kind through both paths and compares every row
and every book.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
from ftfy import fix_encoding

from music_dwh.resources.base import literal as _q
from music_dwh.resources.base import quote as _ident
from music_dwh.staging import sparkify_rules as rules
from music_dwh.staging.common import MAX_RECORD_BYTES, BatchBuilder, LoadStats, Rejected, raw_text
from music_dwh.staging.judge import DuckDBJudge

# JSON types (DuckDB's json_type names) each kind of field may hold for SQL to judge it; any
# other type sends the line to the rules (which accept an integer written 1.0 or a user id
# given as a number, and name what they reject).
_TYPES = {
    "str": {"VARCHAR"},
    "int": {"UBIGINT", "BIGINT"},
    "float": {"UBIGINT", "BIGINT", "DOUBLE"},
    "userid": {"VARCHAR"},
}
_SQL_TYPE = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "userid": "VARCHAR"}
# Bytes ``bytes.strip()`` removes: the rules' blank lines and duplicate digests use them.
_WS_CODES = (9, 10, 11, 12, 13, 32)
_WS_SQL = "chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(32)"
FETCH_ROWS = 65_536
# The rules' duplicate digest is over rstrip()ped bytes: here each text ends in one newline.
_KEY_HASH = f"hash(case when ws_tail then rtrim(t, {_WS_SQL}) || chr(10) when not nl then t || chr(10) else t end)"
# Arrow's reader parses a call's input in blocks of this size on its threads; a block must hold
# the longest line SQL reads (MAX_RECORD_BYTES).
_ARROW_BLOCK = 2 << 20
# DuckDB's JSON reader accepts a trailing comma, the rules' parser does not
_TRAILING_COMMA = r",\s*}\s*$"
_NEXTSONG = "NextSong event without song, artist or length"
_BLOCK = 1 << 22  # bytes searched for newlines at a time
# Lines per block of a file that is not clean throughout: a bad line costs its block the
# line-by-line SQL reading, not the whole file.
BLOCK_LINES = 16_384


@functools.lru_cache(maxsize=1 << 16)
def _fixed(value: str) -> str:
    """``fix_encoding`` is a pure function of the text: the same names recur every day."""
    return fix_encoding(value)


class EventJudge(DuckDBJudge):
    """One in-memory DuckDB for log files; ``file_batches`` judges one file."""

    def __init__(self, memory_limit: str) -> None:
        super().__init__(memory_limit)
        self.rules = rules
        self.fields = rules.EVENT_FIELDS
        self.arrow_schema = pa.schema(
            [
                (key, pa.string() if kind in ("str", "userid") else rules._ARROW[kind])
                for key, _, kind, _ in self.fields
            ]
        )
        # A judged line: where it is, its text (or, read line by line, its digest's hash), whether
        # its values are unreliable, its values.
        self._layout = pa.schema(
            [("line", pa.int64()), ("ws_tail", pa.bool_()), ("nl", pa.bool_()), ("t", pa.large_string()),
             ("h", pa.uint64()), ("unread", pa.bool_()), *self.arrow_schema]
        )  # fmt: skip

    # ------------------------------------------------------------------ SQL
    def _admits_sql(self, column: str, key: str) -> str:
        """``Bound.admits`` as SQL (NaN compares greater than every number in DuckDB, so it
        fails the upper end as it fails both in Python)."""
        bound = self.rules.EVENT_BOUNDS[key]
        low = f"{column} > {bound.low!r}" if bound.low_open else f"{column} >= {bound.low!r}"
        admitted = f"({low} and {column} <= {bound.high!r})"
        for value in bound.also:
            admitted = f"({admitted} or {column} = {value!r})"
        return admitted

    def _judge_sql(self, text: str, where: str) -> str:
        """A row per non-blank line of ``lines`` matching ``where``, with its typed values and
        what SQL knows of it. ``text`` is the SQL giving a line's text with its newline (NULL:
        not UTF-8)."""
        structure = json.dumps({key: _SQL_TYPE[kind] for key, _, kind, _ in self.fields})
        # Each level computes its expressions once: a filter or a second reference on the text
        # would make DuckDB decode (or parse) it again.
        return f"""
        select line, h, bad_text, sig, trailing_comma, unnest(v) from (
            select line,
                -- the rules' duplicate digest is over rstrip()ped bytes: one newline each here
                {_KEY_HASH} as h,
                t is null as bad_text,
                -- keys and JSON types in document order: validated per distinct signature
                case when v is not null then hash(list_concat(json_keys(t), json_type(t, '$.*'))) end as sig,
                case when v is not null then regexp_matches(t, {_q(_TRAILING_COMMA)}) end as trailing_comma,
                v
            from (
                select line, ws_tail, nl, t,
                    case when t is not null and size <= {MAX_RECORD_BYTES}
                         then try(json_transform_strict(t, {_q(structure)})) end as v
                from (select line, size, ws_tail, nl, {text} as t from lines where not blank and {where})
            )
        )
        """

    def _status_sql(self, unreadable: str, day_start: int, day_end: int) -> str:
        """What each line is, by SQL alone: 'fallback', 'day', 'nextsong' or 'ok'.
        ``unreadable`` is the stage's own condition for a line SQL could not read exactly."""
        checks = []
        for key, col, kind, _ in self.fields:
            c = _ident(col)
            if kind == "userid":
                # '' is a logged-out visitor; else ASCII digits only (the rules' isdigit()
                # also takes other scripts' digits: those lines are theirs to judge).
                number = f"try_cast({c} as bigint)"
                checks.append(
                    f"({c} is null or {c} = '' or (regexp_full_match({c}, '[0-9]+') "
                    f"and {number} is not null and {self._admits_sql(number, key)}))"
                )
            elif key in self.rules.EVENT_BOUNDS:
                checks.append(f"({c} is null or {self._admits_sql(c, key)})")
        checks += [f"{_ident(col)} is not null" for _, col, _, required in self.fields if required]
        # a NUL in a text value is quarantined by the rules, with their reason
        checks += [
            f"not coalesce(contains({_ident(col)}, chr(0)), false)"
            for _, col, kind, _ in self.fields
            if kind == "str"
        ]
        # fix_encoding could turn a non-ASCII page into something else: the rules decide those.
        checks.append("(page is null or strlen(page) = length(page))")
        return f"""
        case
            when {unreadable} or not coalesce({" and ".join(checks)}, false) then 'fallback'
            when ts < {day_start} or ts >= {day_end} then 'day'
            when page = 'NextSong' and (song is null or artist is null or length is null) then 'nextsong'
            else 'ok'
        end"""

    def _judged_batches(
        self,
        table: pa.Table,
        raw: pa.LargeBinaryArray,
        source_file: str,
        day: dt.date,
        day_start: int,
        day_end: int,
        stats: LoadStats,
        loaded_at: dt.datetime,
    ) -> Iterator[pa.RecordBatch]:
        """Every non-blank line's verdict from one SQL query over ``table`` (line order: the
        line's text, ``unread`` when its values could not be read exactly, the 18 values), the
        staged rows filtered out of it in Arrow, and the lines SQL cannot judge handed to the
        line-by-line rules."""
        parsed = table.select([key for key, _, _, _ in self.fields]).combine_chunks()
        status = self._status_sql(
            f"unread or regexp_matches(t, {_q(_TRAILING_COMMA)})", day_start, day_end
        )
        con = self.con
        con.register("parsed", table)
        try:
            verdicts = con.sql(f"""
                select line, h, verdict,
                    case verdict when 'day' then {self._day_reason(day)} when 'nextsong' then {_q(_NEXTSONG)} end
                from (select line, coalesce(h, {_KEY_HASH}) as h, {status} as verdict, ts from parsed)
                order by line
            """).to_arrow_table()
        finally:
            con.unregister("parsed")
        verdicts = verdicts.rename_columns(["line", "h", "verdict", "reason"])
        line_numbers = verdicts["line"].to_numpy()
        ok = pc.equal(verdicts["verdict"], "ok").to_numpy(zero_copy_only=False)
        fallback = pc.equal(verdicts["verdict"], "fallback").to_numpy(zero_copy_only=False)
        counted = ok | pc.is_in(verdicts["verdict"], pa.array(["day", "nextsong"])).to_numpy(
            zero_copy_only=False
        )
        rejected = [
            Rejected(source_file, line, raw_text(raw[line - 1].as_py()), reason)
            for line, reason in zip(line_numbers[~ok & counted].tolist(),
                                    verdicts["reason"].filter(pa.array(~ok & counted)).to_pylist(), strict=True)
        ]  # fmt: skip
        # Duplicates: lines with equal digests (the hash finds the candidates).
        counts = pc.value_counts(verdicts["h"])
        repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
        if len(repeated):
            chosen = verdicts.filter(pc.is_in(verdicts["h"], repeated))
            candidates = zip(chosen["line"].to_pylist(), chosen["verdict"].to_pylist(), strict=True)
            group_of = _duplicates(raw, list(candidates))
            if group_of:
                decided = np.fromiter(group_of, np.int64)
                positions = np.searchsorted(line_numbers, decided)
                firsts = np.fromiter(group_of.values(), np.int64)
                rejected = [r for r in rejected if r.line_number not in group_of]
                ok[positions] = counted[positions] = False
                fallback[positions[firsts == -1]] = True
                rejected += [
                    Rejected(source_file, line, raw_text(raw[line - 1].as_py()), f"exact duplicate of line {first}")
                    for line, first in group_of.items() if first != -1
                ]  # fmt: skip

        # The rules' lines, in line order with one digest memory: they stage or reject exactly
        # as the line-by-line path would (a group of duplicates holding one comes whole).
        seen: dict[bytes, int] = {}
        side = LoadStats(stats.target_table, stats.partition_date)
        builder = BatchBuilder(self.rules.EVENTS_SCHEMA)
        for line in line_numbers[fallback].tolist():
            line_raw = raw[line - 1].as_py()
            try:
                values = self.rules._checked_event(
                    line_raw, line, seen, day, day_start, day_end, side
                )
            except self.rules.RecordError as exc:
                side.reject(source_file, line, line_raw, str(exc))
                continue
            builder.append((*values, day, source_file, line, loaded_at))
            side.loaded += 1

        # the rules read every field of the lines SQL read whole: staged, out of the day,
        # incomplete NextSong
        fixes = text_repairs(parsed, self.fields, stats, counted)
        staged = parsed.filter(pa.array(ok))
        user = staged.column("userId")
        user = pc.cast(
            pc.if_else(pc.equal(user, ""), pa.scalar(None, pa.string()), user), pa.int64()
        )
        n = staged.num_rows
        columns = [user if key == "userId" else staged.column(key) for key, _, _, _ in self.fields]
        columns += [
            pa.repeat(pa.scalar(day, pa.date32()), n),
            pa.repeat(pa.scalar(source_file, pa.string()), n),
            table.column("line").filter(pa.array(ok)),
            pa.repeat(pa.scalar(loaded_at, pa.timestamp("us")), n),
        ]
        out = pa.Table.from_arrays([c if isinstance(c, pa.ChunkedArray) else pa.chunked_array([c]) for c in columns],
                                   schema=self.rules.EVENTS_SCHEMA)  # fmt: skip
        stats.records += len(line_numbers)
        stats.loaded += n + side.loaded
        stats.repaired_values += side.repaired_values
        stats.fallback_lines += int(fallback.sum())
        stats.rejected.extend(sorted(rejected + side.rejected, key=lambda r: r.line_number))
        for batch in out.to_batches(FETCH_ROWS):
            yield _repair(batch, fixes, self.rules.EVENTS_SCHEMA)
        if len(builder):
            yield builder.flush()

    def _day_reason(self, day: dt.date) -> str:
        return (
            "'field ''ts'': ' || strftime(epoch_ms(ts), '%Y-%m-%dT%H:%M:%S') || "
            f"'+00:00 is outside the file''s day {day.isoformat()} (UTC)'"
        )

    def _parse_blocks(self, data: bytes, lines: pa.Table) -> list[tuple[int, int, pa.Table | None]]:
        """The file in blocks of ``BLOCK_LINES`` lines: (first row, rows, what ``_parse_block``
        makes of it; ``None`` for every block when the file is not UTF-8 throughout)."""
        # the lines cover the file end to end: each starts where the previous one ended
        offsets = np.concatenate([[0], np.cumsum(lines["size"].to_numpy())])
        whole = pa.py_buffer(data)
        blocks = []
        for first in range(0, lines.num_rows, BLOCK_LINES):
            block = lines.slice(first, BLOCK_LINES)
            start, end = int(offsets[first]), int(offsets[first + block.num_rows])
            parsed = (
                self._parse_block(whole.slice(start, end - start), block)
                if "t" in lines.column_names
                else None
            )
            blocks.append((first, block.num_rows, parsed))
        return blocks

    def _read_per_line(self, ranges: list[tuple[int, int]], lines: pa.Table) -> pa.Table:
        """The non-blank lines of ``ranges`` (first row, rows) read line by line in SQL, in the
        layout of ``_parse_block`` (with the digest's hash instead of the text). ``unread``: the
        line's values are not exactly the rules' (not UTF-8, over-long, malformed, a missing,
        repeated or extra key, a JSON type SQL does not read as the rules do: keys and types are
        validated once per distinct signature)."""
        con = self.con
        text = "t" if "t" in lines.column_names else "try(decode(raw))"
        con.execute(f"create or replace temp table judged as {self._judge_sql(text, 'false')}")
        try:
            for first, rows in ranges:
                where = f"line between {first + 1} and {first + rows}"
                con.execute(f"insert into judged {self._judge_sql(text, where)}")
            signatures = con.execute(f"""
                select keys, types, hash(list_concat(keys, types)) from (
                    select json_keys({text}) as keys, json_type({text}, '$.*') as types from lines
                    where line in (select any_value(line) from judged where sig is not null group by sig))
            """).fetchall()
            accepted = [sig for keys, types, sig in signatures if self._accepts(keys, types)]
            values = ", ".join(f"j.{_ident(key)}" for key, _, _, _ in self.fields)
            read = con.sql(f"""
                select j.line, l.ws_tail, l.nl, null::varchar as t, j.h,
                    bad_text or sig is null or not list_contains({accepted!r}::ubigint[], sig) or trailing_comma
                        as unread,
                    {values}
                from judged j join lines l using (line) order by j.line
            """).to_arrow_table()
        finally:
            con.execute("drop table judged")
        return read.cast(self._layout)

    def _parse_block(self, data: pa.Buffer, block: pa.Table) -> pa.Table | None:
        """The block's non-blank lines with their values as Arrow's reader parses them (strict
        types, no key outside the fields, one object per line), or ``None``."""
        if pc.max(block["size"]).as_py() > MAX_RECORD_BYTES:
            return None
        try:
            parsed = pa_json.read_json(
                pa.BufferReader(data),
                read_options=pa_json.ReadOptions(block_size=_ARROW_BLOCK),
                parse_options=pa_json.ParseOptions(
                    explicit_schema=self.arrow_schema, unexpected_field_behavior="error"
                ),
            )
        except (pa.ArrowException, ValueError):
            return None
        records = (
            block.filter(pc.invert(block["blank"])) if pc.any(block["blank"]).as_py() else block
        )
        if parsed.num_rows != records.num_rows:
            return None
        table = records.select(["line", "ws_tail", "nl", "t"])
        table = table.append_column("h", pa.nulls(len(records), pa.uint64()))
        table = table.append_column("unread", pa.repeat(False, len(records)))
        for name in parsed.column_names:
            table = table.append_column(name, parsed.column(name))
        return table.cast(self._layout)

    def _accepts(self, keys: list[str], types: list[str]) -> bool:
        """Whether lines with these keys and JSON types (document order) are SQL's to judge:
        every field once, no other key (DuckDB's reader would let a NaN or an infinite
        number through there, the rules' parser does not), each of a type SQL reads exactly."""
        kinds = {key: (kind, required) for key, _, kind, required in self.fields}
        if len(keys) != len(kinds) or set(keys) != set(kinds):
            return False
        for key, typ in zip(keys, types, strict=True):
            kind, required = kinds[key]
            if not (typ in _TYPES[kind] or (typ == "NULL" and not required)):
                return False
        return True

    # ------------------------------------------------------------------ one file
    def file_batches(
        self,
        data: bytes,
        source_file: str,
        day: dt.date,
        day_start: int,
        day_end: int,
        stats: LoadStats,
        loaded_at: dt.datetime,
    ) -> Iterator[pa.RecordBatch]:
        """One log file's staging rows; its records, rejects and repairs go to ``stats``."""
        data = data.removeprefix(self.rules._BOM)
        raw, lines = _line_table(data)
        if lines.num_rows == 0:
            return
        self.con.register("lines", lines)
        try:
            blocks = self._parse_blocks(data, lines)
            unparsed = [(first, rows) for first, rows, parsed in blocks if parsed is None]
            read = self._read_per_line(unparsed, lines) if unparsed else None
            parts = []
            for first, rows, parsed in blocks:  # in line order, as the verdicts come
                if parsed is None:
                    start, end = np.searchsorted(
                        read["line"].to_numpy(), [first + 1, first + rows + 1]
                    )
                    parsed = read.slice(start, end - start)
                parts.append(parsed)
            table = pa.concat_tables(parts)
        finally:
            self.con.unregister("lines")
        yield from self._judged_batches(
            table, raw, source_file, day, day_start, day_end, stats, loaded_at
        )


def _line_table(data: bytes) -> tuple[pa.LargeBinaryArray, pa.Table]:
    """The file's lines as the rules number them. ``raw`` holds each line with its newline
    (``size`` counts it, as ``len(raw)`` does; ``nl``: it has one), ``t`` the same as text
    when the whole file is UTF-8; ``blank`` marks
    what ``bytes.strip()`` empties (not a record) and ``ws_tail`` a line ``rstrip()`` shortens."""
    columns = ("line", "raw", "size", "nl", "blank", "ws_tail")
    if not data:
        empty = pa.array([], pa.large_binary())
        return empty, pa.table([pa.array([], pa.int64()), empty, pa.array([], pa.int64()), pa.array([], pa.bool_()),
                                pa.array([], pa.bool_()), pa.array([], pa.bool_())], names=columns)  # fmt: skip
    buf = np.frombuffer(data, np.uint8)
    # Block by block: one comparison array for a whole 120 MB file costs more in page faults
    # than the search itself.
    ends = np.concatenate(
        [np.flatnonzero(buf[i : i + _BLOCK] == 10) + (i + 1) for i in range(0, len(buf), _BLOCK)]
    )
    if ends.size == 0 or ends[-1] != len(data):
        ends = np.append(ends, len(data))
    offsets = np.concatenate([np.zeros(1, np.int64), ends.astype(np.int64)])
    starts = offsets[:-1]
    size = np.diff(offsets)
    nl = buf[ends - 1] == 10
    n = size - nl
    ws = np.zeros(256, bool)
    ws[list(_WS_CODES)] = True
    filled = n > 0
    head_ws = np.zeros(len(n), bool)
    head_ws[filled] = ws[buf[starts[filled]]]
    ws_tail = np.zeros(len(n), bool)
    ws_tail[filled] = ws[buf[starts[filled] + n[filled] - 1]]
    blank = ~filled
    for i in np.flatnonzero(head_ws):  # rare: a line that starts with whitespace
        blank[i] = not data[starts[i] : ends[i]].strip()
    raw = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(size), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    line = np.arange(1, len(size) + 1, dtype=np.int64)
    table = pa.table([line, raw, size, nl, blank, ws_tail], names=columns)
    # Arrow checks UTF-8 for the whole file at once; a file with a bad line is decoded
    # line by line in SQL instead (TRY(decode)), which leaves that line to the rules.
    with contextlib.suppress(pa.ArrowInvalid):
        table = table.append_column("t", pc.cast(raw, pa.large_string()))
    return raw, table


def _duplicates(raw: pa.LargeBinaryArray, candidates: list[tuple[int, str]]) -> dict[int, int]:
    """Lines that share a digest candidate (``hash`` only finds them), grouped on the exact
    rstripped bytes as the rules' digest: a group holding a fallback line goes to the rules
    whole (-1); otherwise its later lines are duplicates of its first staged line."""
    groups: dict[bytes, list[tuple[int, str]]] = {}
    for line, verdict in candidates:
        groups.setdefault(raw[line - 1].as_py().rstrip(), []).append((line, verdict))
    group_of: dict[int, int] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        if any(verdict == "fallback" for _, verdict in members):
            group_of.update((line, -1) for line, _ in members)
            continue
        first_ok = min((line for line, verdict in members if verdict == "ok"), default=None)
        if first_ok is not None:
            group_of.update((line, first_ok) for line, _ in members if line > first_ok)
    return group_of


def text_repairs(
    table: pa.Table, fields, stats: LoadStats, rows: np.ndarray | None = None
) -> dict[str, dict[str, str]]:
    """``fix_encoding`` over the distinct non-ASCII text values of ``table`` (of ``rows``, a
    mask, when given), counted per value as the rules count them. Returns, per column, the
    values it changes (``_repair`` maps them onto batches)."""
    fixes: dict[str, dict[str, str]] = {}
    for key, col, kind, _ in fields:
        if kind != "str":
            continue
        column = table.column(key)
        non_ascii = pc.invert(pc.string_is_ascii(column)).fill_null(False)
        if rows is not None:
            non_ascii = pc.and_(non_ascii, pa.array(rows))
        if not len(column) or not pc.any(non_ascii).as_py():
            continue
        for entry in pc.value_counts(column.filter(non_ascii)).to_pylist():
            value, count = entry["values"], entry["counts"]
            fixed = _fixed(value)
            if fixed != value:
                stats.repaired_values += count
                fixes.setdefault(col, {})[value] = fixed
    return fixes


def _repair(
    batch: pa.RecordBatch, fixes: dict[str, dict[str, str]], schema: pa.Schema
) -> pa.RecordBatch:
    columns = list(batch.columns)
    for col, mapping in fixes.items():
        i = schema.get_field_index(col)
        originals = pa.array(list(mapping), pa.string())
        fixed = pa.array(list(mapping.values()), pa.string())
        column = columns[i].cast(pa.string())
        columns[i] = pc.coalesce(pc.take(fixed, pc.index_in(column, value_set=originals)), column)
    return pa.RecordBatch.from_arrays(
        [c.cast(f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )
