"""The Sparkify song catalogue judged a column at a time: the vectorized path for song files.

The rules are the line-by-line ones of ``sparkify_rules._checked_song``, which stay the
reference: this module decides only what it can decide exactly as they would and hands every
other record to them. Arrow is the engine (a catalogue is thousands of files of one record; an
in-memory database would cost more to feed than to ask).

1. Every song file (already read, in key order) is one buffer: byte-order marks dropped, a
   newline after a file's last line. numpy numbers the lines per file as the rules do.
2. Arrow's JSON reader parses ``BLOCK_LINES`` lines at a time with the ten fields' types; it is
   strict where the rules are (a value of another type, a key outside the fields, invalid UTF-8,
   a line that is not one object fail the block). A block it cannot parse is halved until the
   bad lines are found; those go to the rules.
3. A parsed record is staged here when it passes every rule as a column: required fields
   present, physical ranges (NaN fails them), no trailing comma (Arrow's reader takes one, the
   rules' parser does not), under the size limit, and a ``song_id`` no other record in the
   catalogue has. Duplicates and conflicts can only happen between records with one song_id:
   every record whose song_id repeats goes to the rules, in key order, with the rules' own
   memory of what was staged, so the first in key order still wins exactly as before.
4. ``ftfy.fix_encoding`` runs once per distinct non-ASCII text value and is mapped back onto
   the staged columns; repairs are counted per value as the rules count them.

``music_dwh_tests/staging/test_sparkify_songs.py`` compares both paths on corrupted catalogues.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from music_dwh.staging import sparkify_rules as rules
from music_dwh.staging.common import (
    MAX_RECORD_BYTES,
    BatchBuilder,
    LoadStats,
    RecordError,
    Rejected,
    raw_text,
)
from music_dwh.staging.sparkify_duckdb import (
    _ARROW_BLOCK,
    _TRAILING_COMMA,
    FETCH_ROWS,
    _line_table,
    _repair,
    text_repairs,
)

# Lines Arrow parses at a time; a block that fails is halved down to ``_SMALLEST`` lines, which
# then go to the rules whole.
BLOCK_LINES = 16_384
_SMALLEST = 1
_VALUES = pa.schema([(key, rules._ARROW[kind]) for key, _, kind, _ in rules.SONG_FIELDS])


def catalogue_batches(
    files: Sequence[tuple[str, bytes]], stats: LoadStats, loaded_at: dt.datetime
) -> Iterator[pa.RecordBatch]:
    """Staging rows for the catalogue ``files`` ((key, content) in key order); its records,
    rejects and repairs go to ``stats``."""
    lines = _Lines(files)
    records = np.flatnonzero(~lines.blank)
    parsed, at = _parse(lines, records)
    ok = _passes(parsed)
    ruled = np.setdiff1d(records, at[ok], assume_unique=True)
    ruled_ids = [_song_id(lines.raw(i)) for i in ruled.tolist()]  # the few the rules will see

    # A clean record whose song_id another record has: decided here when the records are the
    # same bytes, else the rules' (with every other record of that song_id).
    rejected: list[tuple[int, Rejected]] = []  # (line index, reject): sorted at the end
    song_id = parsed.column("song_id")
    shared = ok & _repeated(song_id.filter(pa.array(ok)), ruled_ids, song_id)
    if shared.any():
        ids = song_id.filter(pa.array(shared)).to_pylist()
        copies, firsts = _copies(lines, at[shared], ids, set(ruled_ids))
        for i, first in copies.items():
            reason = f"exact duplicate of {lines.key(first)} line {int(lines.number[first])}"
            rejected.append(
                (i, Rejected(lines.key(i), int(lines.number[i]), raw_text(lines.raw(i)), reason))
            )
        decided = np.fromiter([*firsts, *copies], np.int64)
        ruled = np.union1d(ruled, np.setdiff1d(at[shared], decided))
        ok &= ~shared | np.isin(at, np.fromiter(firsts, np.int64))
    by_rules = _by_the_rules(lines, ruled, stats, loaded_at, rejected)
    stats.rejected.extend(r for _, r in sorted(rejected, key=lambda pair: pair[0]))

    staged = parsed.filter(pa.array(ok))
    fixes = text_repairs(staged, rules.SONG_FIELDS, stats)
    rows = at[ok]
    lineage = [
        pa.array(lines.keys, pa.string()).take(pa.array(lines.file[rows])),
        pa.array(lines.number[rows], pa.int64()),
        pa.repeat(pa.scalar(loaded_at, pa.timestamp("us")), len(rows)),
    ]
    out = pa.Table.from_arrays(
        [*staged.columns, *(pa.chunked_array([c]) for c in lineage)], schema=rules.SONGS_SCHEMA
    )
    stats.records += len(records)
    stats.loaded += len(rows)
    stats.fallback_lines += len(ruled)
    for batch in out.to_batches(FETCH_ROWS):
        yield _repair(batch, fixes, rules.SONGS_SCHEMA)
    if by_rules is not None:
        yield by_rules


def _repeated(
    clean: pa.ChunkedArray, others: list[str | None], song_id: pa.ChunkedArray
) -> np.ndarray:
    """Whether each ``song_id`` is one that two records of the catalogue have (``clean``: the
    clean records' ids, ``others``: the ids the rules will read from the rest)."""
    every = pa.chunked_array([*clean.chunks, pa.array(others, pa.string())], pa.string())
    counts = pc.value_counts(every)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    return pc.is_in(song_id, repeated).fill_null(False).to_numpy(zero_copy_only=False)


def _by_the_rules(
    lines: _Lines,
    ruled: np.ndarray,
    stats: LoadStats,
    loaded_at: dt.datetime,
    rejected: list[tuple[int, Rejected]],
) -> pa.RecordBatch | None:
    """The records ``ruled`` through ``_checked_song`` in key order, then line order, with the
    rules' own memory of what was staged: their staged rows, their rejects into ``rejected``."""
    builder = BatchBuilder(rules.SONGS_SCHEMA)
    seen_records: dict[bytes, tuple[str, int]] = {}
    seen_ids: dict[str, tuple[str, int]] = {}
    side = LoadStats(stats.target_table, None)
    for i in ruled.tolist():
        source_file, number, raw = lines.key(i), int(lines.number[i]), lines.raw(i)
        try:
            values = rules._checked_song(raw, source_file, number, seen_records, seen_ids, side)
        except RecordError as exc:
            rejected.append((i, Rejected(source_file, number, raw_text(raw), str(exc))))
            continue
        builder.append((*values, source_file, number, loaded_at))
    stats.loaded += len(builder)
    stats.repaired_values += side.repaired_values
    return builder.flush() if len(builder) else None


class _Lines:
    """The catalogue's lines in one buffer: for line ``i``, its file, its number there, its
    bytes as the rules read them."""

    def __init__(self, files: Sequence[tuple[str, bytes]]) -> None:
        self.keys = [key for key, _ in files]
        contents = [data.removeprefix(rules._BOM) for _, data in files]
        # A newline after each file's last line, so no line runs into the next file.
        closed = [not data or data.endswith(b"\n") for data in contents]
        self.data = b"".join(d if c else d + b"\n" for d, c in zip(contents, closed, strict=True))
        self.lines_raw, table = _line_table(self.data)
        sizes = np.fromiter((len(d) + (not c) for d, c in zip(contents, closed, strict=True)),
                            np.int64, len(contents))  # fmt: skip
        file_starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.size = table["size"].to_numpy()
        self.offsets = np.concatenate([[0], np.cumsum(self.size)]).astype(np.int64)
        starts = self.offsets[:-1]
        self.blank = table["blank"].to_numpy(zero_copy_only=False)
        self.file = np.searchsorted(file_starts, starts, side="right") - 1
        # files with no line at all (empty) share a start with the next file: the last one wins
        first_line = np.searchsorted(starts, file_starts[self.file])
        self.number = np.arange(len(starts), dtype=np.int64) - first_line + 1
        # the last line of a file that had no final newline carries the one added above
        self.added_newline = np.zeros(len(starts), bool)
        unclosed = np.flatnonzero(~np.array(closed, bool))
        if len(unclosed):
            ends = file_starts[unclosed] + sizes[unclosed]
            self.added_newline[np.searchsorted(self.offsets[1:], ends)] = True

    def key(self, i: int) -> str:
        return self.keys[self.file[i]]

    def raw(self, i: int) -> bytes:
        raw = self.lines_raw[i].as_py()
        return raw[:-1] if self.added_newline[i] else raw


def _parse(lines: _Lines, records: np.ndarray) -> tuple[pa.Table, np.ndarray]:
    """The records Arrow's reader parses exactly, with their line indexes: block by block, a
    failing block halved until its bad lines are isolated (they are left out)."""
    tables: list[pa.Table] = []
    indexes: list[np.ndarray] = []
    todo = [records[i : i + BLOCK_LINES] for i in range(0, len(records), BLOCK_LINES)]
    while todo:
        block = todo.pop(0)
        table = _parse_block(lines, block)
        if table is not None:
            tables.append(table)
            indexes.append(block)
        elif len(block) > _SMALLEST:
            half = len(block) // 2
            todo[:0] = [block[:half], block[half:]]
    if not tables:
        return _VALUES.empty_table(), np.zeros(0, np.int64)
    return pa.concat_tables(tables).combine_chunks(), np.concatenate(indexes)


def _parse_block(lines: _Lines, block: np.ndarray) -> pa.Table | None:
    """Arrow's values for the records ``block`` (consecutive non-blank line indexes), or None."""
    if not len(block) or lines.size[block].max() >= MAX_RECORD_BYTES:
        return None
    first, last = int(block[0]), int(block[-1])
    if last - first + 1 == len(block):
        data = lines.data[lines.offsets[first] : lines.offsets[last + 1]]
    else:  # only the records: the blank lines between them are not Arrow's to judge
        data = b"".join(lines.data[lines.offsets[i] : lines.offsets[i + 1]] for i in block.tolist())
    try:
        # Arrow's reader may not check UTF-8 inside strings; the rules' parser does.
        text = pc.cast(lines.lines_raw.take(pa.array(block)), pa.large_string())
    except pa.ArrowInvalid:
        return None
    try:
        parsed = pa_json.read_json(
            pa.BufferReader(data),
            read_options=pa_json.ReadOptions(block_size=max(_ARROW_BLOCK, len(data) + 1)),
            parse_options=pa_json.ParseOptions(
                explicit_schema=_VALUES, unexpected_field_behavior="error"
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if parsed.num_rows != len(block):
        return None
    if pc.any(pc.match_substring_regex(text, _TRAILING_COMMA)).as_py():
        return None
    return parsed.select(_VALUES.names).cast(_VALUES)


def _passes(parsed: pa.Table) -> np.ndarray:
    """Whether each parsed record passes every rule that needs no other record."""
    ok = pa.array(np.ones(parsed.num_rows, bool))
    for key, _, kind, required in rules.SONG_FIELDS:
        column = parsed.column(key)
        if required:
            ok = pc.and_(ok, pc.is_valid(column))
        if kind == "str":  # a NUL in a text value: quarantined by the rules, with their reason
            ok = pc.and_(ok, pc.invert(pc.match_substring(column, "\x00")).fill_null(True))
        bound = rules.SONG_BOUNDS.get(key)
        if bound is not None:
            low = (pc.greater if bound.low_open else pc.greater_equal)(column, bound.low)
            admits = pc.and_(low, pc.less_equal(column, bound.high))
            for value in bound.also:
                admits = pc.or_(admits, pc.equal(column, value))
            ok = pc.and_(ok, pc.or_kleene(pc.is_null(column), admits).fill_null(False))
    return ok.to_numpy(zero_copy_only=False) if len(ok) else np.zeros(0, bool)


def _copies(
    lines: _Lines, shared: np.ndarray, song_ids: list[str], ruled_ids: set[str | None]
) -> tuple[dict[int, int], set[int]]:
    """Clean records whose song_id repeats, decided without the rules where that is exact:
    when every record of a song_id is clean and the same bytes (whitespace around them
    aside), the first in key order is staged and the others are its exact duplicates. Returns
    those duplicates (line index → the first's) and the firsts; the rest is the rules'."""
    groups: dict[str, list[int]] = {}
    for i, song_id in zip(shared.tolist(), song_ids, strict=True):
        groups.setdefault(song_id, []).append(i)
    copies: dict[int, int] = {}
    firsts: set[int] = set()
    for song_id, members in groups.items():
        first = lines.raw(members[0]).strip()
        if song_id in ruled_ids or any(lines.raw(i).strip() != first for i in members[1:]):
            continue
        firsts.add(members[0])
        copies.update((i, members[0]) for i in members[1:])
    return copies, firsts


def _song_id(raw: bytes) -> str | None:
    """The song_id the rules would read from a line, when they could read one."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    song_id = obj.get("song_id") if isinstance(obj, dict) else None
    return song_id if isinstance(song_id, str) else None
