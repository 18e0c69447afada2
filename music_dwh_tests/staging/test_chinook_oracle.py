"""The vectorized (DuckDB) staging of Chinook CSVs against its oracle, the line-by-line rules.

Generated Chinook deliveries get seeded random corruptions of every bad-input kind (thousands
of lines per case); both paths must give identical staging rows, quarantine rows (line, reason,
raw text) and books. Clean deliveries must be judged by SQL alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

import pytest

from music_dwh.datagen.chinook import generate_chinook
from music_dwh.staging import chinook as staging
from music_dwh.staging import chinook_duckdb, chinook_rules

START = dt.date(2021, 1, 4)
DAYS = 4
REFERENCE = list(staging.REFERENCE_TABLES)


def _generate(store, days: int = DAYS, invoices_per_day: int = 60, seed: int = 3) -> None:
    generate_chinook(
        store, START, days=days, customers=300, invoices_per_day=invoices_per_day, seed=seed
    )


def _text(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def _field(index: int, value: str):
    def corrupt(fields: list[str], g: random.Random) -> str:
        i = index if index >= 0 else g.randrange(len(fields))
        return _text([*fields[:i], value, *fields[i + 1 :]]) if i < len(fields) else _text(fields)

    return corrupt


def _any_field(*values: str):
    return lambda fields, g: _field(-1, g.choice(values))(fields, g)


def _last_field(*values: str):
    return lambda fields, g: _field(len(fields) - 1, g.choice(values))(fields, g)


def _first_field(*values: str):
    return lambda fields, g: _field(0, g.choice(values))(fields, g)


def _second_field(*values: str):
    return lambda fields, g: _field(1, g.choice(values))(fields, g)


# Every bad-input kind of the catalogue (test_chinook.py, the README's rules) and every oddity a
# vectorized reader must tell apart, as functions of a good row's fields and the generator.
CORRUPTIONS = {
    "empty field": _any_field(""),
    "empty key": _first_field(""),
    "too few fields": lambda f, g: _text(f[:-1]),
    "too many fields": lambda f, g: _text([*f, "extra"]),
    "one field": lambda f, g: "7",
    "whitespace only": lambda f, g: "   ",
    "trailing comma": lambda f, g: _text(f) + ",",
    "not a whole number": _first_field("abc", "one", "1.5", "0x1F", "7a", "  ", "'7'", "-"),
    "id Python reads": _first_field(" 7", "+7", "7_0", "\u0663", "007", "-0", "7 "),
    "id out of range": _first_field("0", "-1", "2147483648", "99999999999999999999", "9" * 60),
    "foreign id out of range": _second_field("0", "-5", "2147483648", "4294967296"),
    "any field odd": _any_field(
        "abc",
        "-1",
        "0",
        "1001",
        "1e30",
        "1E+400",
        "0.999",
        "-0.00",
        "-0",
        "NaN",
        "Infinity",
        "sNaN",
        " 0.99",
        ".99",
        "0.990",
        "+0.99",
        "1_000.00",
        "999.99",
        "1000.00",
        "1000000.00",
        "999999.99",
        "0.00",
        "2021-01-04 00:00:00",
        "yesterday",
        "2099-12-31 23:59:59",
    ),
    "last field odd": _last_field(
        "abc",
        "-1",
        "0",
        "1001",
        "1000",
        "1",
        "2",
        "1e30",
        "1E+400",
        "0.999",
        "-0.99",
        "-0.00",
        "NaN",
        "-Infinity",
        "1.",
        ".5",
        "0.99 ",
        "12.3456789012345678901",
        "1e-2",
        "5.00",
        "0.01",
        "100000000000000000000.00",
        "\u0661.00",
        "1,00",
        '"1"',
    ),
    "dates": _any_field(
        "9999-01-02 00:00:00",
        "1999-12-31 23:59:59",
        "2000-01-01 00:00:00",
        "2021-01-02T00:00:00+05:00",
        "2021-01-04T10:00:00",
        "2021-01-04",
        "2021-02-30 00:00:00",
        "2021-01-04 24:00:00",
        "2021-01-04 23:59:60",
        "0000-01-01 00:00:00",
        "20210104",
        "2021-01-04 10:00:00.5",
        "2021-01-04 10:00:00Z",
        "2021-01-05 00:00:00",
        "2021-13-01 00:00:00",
        "2021-01-04x10:00:00",
        "next week",
        "1900-01-01 00:00:00",
        "1899-12-31 23:59:59",
    ),
    "text oddities": _any_field(
        "a,b",
        'say "hi"',
        "Bj\u00f6rk",
        " padded ",
        "\ufffd",
        "tab\there",
        "x" * 2_100,
        "'quoted'",
        "back\\slash",
        "\u00e9" * 1_500,
        '"',
        ",",
        "\u2028",
    ),
    "embedded newline": _any_field("two\nlines", "cr\r\nlf", "lone\rcr"),
    "stray quote": lambda f, g: _text(f).replace(",", ',a"b', 1),
    "quote then text": lambda f, g: _text(f).replace(",", ',"ab"c', 1),
    "space before quote": lambda f, g: _text(f).replace(",", ', "a,b"', 1),
    "needless quotes": lambda f, g: ",".join(f'"{x}"' for x in f),
    "NUL": _any_field("a\x00b"),
    "BOM mid-file": lambda f, g: "\ufeff" + _text(f),
    "quoted blank": lambda f, g: '""',
    "all empty": lambda f, g: "," * (len(f) - 1),
}
# Raw bytes no text can hold, written after encoding.
INVALID_UTF8 = b"\xff\xfe"


def _corrupt_file(data: bytes, seed: int, rate: float, kinds: list[str] | None = None) -> bytes:
    """The file with a share ``rate`` of its rows corrupted, repeated or given a changed key."""
    rng = random.Random(seed)
    kinds = kinds or [*sorted(CORRUPTIONS), "invalid UTF-8", "repeat", "same key", "blank"]
    text = data.decode()
    header, *rows = text.split("\n")
    out: list[bytes] = [header.encode()]
    for row in rows:
        if not row or rng.random() >= rate or len(out) < 2:
            out.append(row.encode())
            continue
        kind = rng.choice(kinds)
        fields = next(csv.reader([row]))
        if kind == "repeat":
            out.append(rng.choice(out[1:]))
        elif kind == "same key":
            other = rng.choice(out[1:]).decode("utf-8", "replace").split(",", 1)[0]
            out.append(_text([other, *fields[1:]]).encode())
        elif kind == "blank":
            out.append(b"")
            out.append(row.encode())
        elif kind == "invalid UTF-8":
            i = rng.randrange(len(fields))
            out.append(_text([*fields[:i], "@@", *fields[i + 1 :]]).encode().replace(
                b"@@", rng.choice([INVALID_UTF8, b"ab\xc3", b"\xed\xa0\x80"])))  # fmt: skip
        else:
            out.append(CORRUPTIONS[kind](fields, rng).encode())
    return b"\n".join(out)


def _snapshot(s):
    """Every staged and quarantined row (but the load time), in a fixed order."""
    rows = {}
    for table in staging.TABLE_COLUMNS:
        name = staging.staging_table(table)
        if s.table_exists(name):
            rows[table] = s.query(f"select * exclude (loaded_at) from {name} order by all")
    rows["quarantine"] = s.query(
        "select * exclude (loaded_at) from chinook.quarantine order by all"
    )
    return rows


def _books(stats) -> tuple:
    return (stats.target_table, stats.partition_date, stats.files, stats.bytes, stats.records,
            stats.loaded, [(r.source_file, r.line_number, r.reason, r.raw_text)
                           for r in stats.rejected])  # fmt: skip


def _load_everything(store, warehouse, fast: bool, days=None, tables=REFERENCE):
    books, fallback = [], 0
    with warehouse.session() as s:
        for table in tables:
            stats = staging.load_reference_table(store, s, table, 1.0, fast=fast)
            books.append(_books(stats))
            fallback += stats.fallback_lines
            assert stats.reconciles
        tracks = _ids(store, "track")
        customers = _ids(store, "customer")
        for day in days if days is not None else staging.invoice_days(store):
            for stats in staging.load_invoice_day(store, s, day, 1.0, tracks, customers, fast=fast):
                books.append(_books(stats))
                fallback += stats.fallback_lines
                assert stats.reconciles
        rows = _snapshot(s)
    return books, rows, fallback


def _ids(store, table: str) -> set[int]:
    """The snapshot's ids as delivered (the clean generated file)."""
    key = staging.reference_key(table)
    lines = store.read_bytes(key).decode("utf-8", "replace").splitlines()[1:]
    return {
        int(x) for x in (line.split(",", 1)[0] for line in lines) if x.isascii() and x.isdigit()
    }


def _assert_same(store, warehouse, **kwargs) -> tuple[list, int]:
    slow_books, slow_rows, slow_fallback = _load_everything(store, warehouse, False, **kwargs)
    fast_books, fast_rows, fast_fallback = _load_everything(store, warehouse, True, **kwargs)
    assert slow_fallback == 0
    assert fast_books == slow_books
    assert fast_rows.keys() == slow_rows.keys()
    for table in slow_rows:  # table by table: a failure names the table
        assert fast_rows[table] == slow_rows[table], table
    return slow_books, fast_fallback


def _corrupt_store(store, seed: int, rate: float) -> None:
    rng = random.Random(seed)
    keys = [o.key for o in store.list("chinook/")]
    for key in keys:
        data = store.read_bytes(key)
        # Keep the track and customer ids the days are checked against readable.
        content = _corrupt_file(data, rng.randrange(10**6), rate)
        frame = rng.random()
        if frame < 0.15:
            content = b"\xef\xbb\xbf" + content
        elif frame < 0.3:
            content = content.replace(b"\n", b"\r\n")
        elif frame < 0.4:
            content = content.rstrip(b"\n")
        store.write_bytes(key, content)


@pytest.mark.parametrize("seed, rate", [(1, 0.08), (2, 0.03), (3, 0.2)])
def test_corrupted_deliveries_give_the_same_rows_and_books_on_both_paths(
    store, warehouse, seed, rate
):
    _generate(store, seed=seed)
    _corrupt_store(store, seed, rate)
    books, fallback = _assert_same(store, warehouse)
    reasons = [r[2] for b in books for r in b[6]]
    records = sum(b[4] for b in books)
    assert records > 3_000 and len(reasons) > 40  # thousands of lines, the corruptions are there
    for reason in (
        "is empty",
        "fields, expected",
        "is not a whole number",
        "is out of range",
        "duplicate ",
        "is not an amount",
        "is not a date-time",
        "is negative",
        "not in the track snapshot",
        "differs from the sum of its lines",
    ):
        assert rate < 0.05 or any(reason in r for r in reasons), reason  # fmt: skip
    # Only what SQL cannot judge exactly goes to the rules: most bad rows are judged in SQL.
    assert 0 < fallback < records
    print(f"{records} records, {len(reasons)} quarantined, {fallback} by the rules")


def test_every_corruption_kind_alone_gives_the_same_books(store, warehouse):
    """Each kind in files of its own, so a disagreement names the kind that caused it."""
    _generate(store, days=1, invoices_per_day=30, seed=5)
    clean = {o.key: store.read_bytes(o.key) for o in store.list("chinook/")}
    day = staging.invoice_days(store)[0]
    tables = ["track", "employee", "playlist_track", "customer"]
    for i, kind in enumerate(
        [*sorted(CORRUPTIONS), "invalid UTF-8", "repeat", "same key", "blank"]
    ):
        for key, data in clean.items():
            store.write_bytes(key, _corrupt_file(data, i, 0.1, [kind]))
        try:
            _assert_same(store, warehouse, days=[day], tables=tables)
        except AssertionError as exc:
            raise AssertionError(f"{kind}: {exc}") from exc


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(lambda d: b"", id="empty file"),
        pytest.param(lambda d: d.split(b"\n", 1)[0], id="header only"),
        pytest.param(lambda d: b"\n" + d, id="blank first line"),
        pytest.param(lambda d: b"\xef\xbb\xbf" + d.replace(b"\n", b"\r\n"), id="BOM and CRLF"),
        pytest.param(lambda d: d.replace(b"_id,", b"_id ,", 1), id="header with spaces"),
        pytest.param(lambda d: d.replace(b"_id,", b"_ID,", 1), id="header that differs"),
        pytest.param(lambda d: d.replace(b"_id,", b'_id",', 1), id="header with a stray quote"),
        pytest.param(lambda d: d.replace(b"\n", b"\r"), id="CR line ends"),
        pytest.param(lambda d: d + b'"unterminated,1', id="unterminated quote at the end"),
        pytest.param(lambda d: d.replace(b"\n", b"\n\n"), id="every other line blank"),
    ],
)
def test_file_frames_give_the_same_books(store, warehouse, frame):
    _generate(store, days=1, invoices_per_day=20, seed=9)
    day = staging.invoice_days(store)[0]
    for key in [o.key for o in store.list("chinook/")]:
        if "customer" not in key:  # the days need their customers
            store.write_bytes(key, frame(store.read_bytes(key)))
    _assert_same(store, warehouse, days=[day])


def test_clean_deliveries_never_reach_the_rules(store, warehouse, monkeypatch):
    """A clean generated store (quoted names, commas and quotes in text, empty optional
    fields, non-ASCII names) is judged by SQL alone, with exactly the rules' rows."""
    _generate(store, days=3, invoices_per_day=40, seed=11)
    _, fast_fallback = _assert_same(store, warehouse)
    assert fast_fallback == 0
    converted: list[str] = []
    real = chinook_rules._convert

    def convert(table, column, text):
        converted.append(column)
        return real(table, column, text)

    monkeypatch.setattr(chinook_rules, "_convert", convert)
    _load_everything(store, warehouse, True)
    assert converted == []  # no value of a clean delivery is converted in Python
    _load_everything(store, warehouse, False)
    assert converted  # (the rules do convert them)


def test_duckdb_and_postgresql_warehouses_get_the_same_staged_and_quarantined_rows(
    store, warehouse, postgres_trust_server
):
    """The rows are judged in one place and every loader writes them: a corrupted day lands
    identically in the DuckDB warehouse and in PostgreSQL (through COPY)."""
    from music_dwh.resources.warehouse import Warehouse

    _generate(store, days=1, invoices_per_day=80, seed=13)
    day = staging.invoice_days(store)[0]
    tracks, customers = _ids(store, "track"), _ids(store, "customer")
    for table in ("invoice", "invoice_line"):
        key = staging.invoice_day_key(day, table)
        # NUL characters too (weighted, so both files get some): quarantined with a reason,
        # shown as U+FFFD in the raw text.
        kinds = [*CORRUPTIONS, *["NUL"] * 20, "invalid UTF-8", "repeat", "same key"]
        store.write_bytes(key, _corrupt_file(store.read_bytes(key), 17, 0.15, kinds))
    postgres = Warehouse(url=postgres_trust_server.url(postgres_trust_server.create_database()))
    results = {}
    for name, wh in (("duckdb", warehouse), ("postgres", postgres)):
        with wh.session() as s:
            inv, lines = staging.load_invoice_day(store, s, day, 1.0, tracks, customers)
            results[name] = [
                s.query(
                    f"select {', '.join(staging.staging_schema(t).names[:-1])} "
                    f"from chinook.staging_{t} order by source_line"
                )
                for t in ("invoice", "invoice_line")
            ] + [
                s.query(
                    "select target_table, line_number, reason, raw_text from chinook.quarantine "
                    "order by target_table, line_number"
                )
            ]
        assert inv.quarantined + lines.quarantined > 20 and inv.reconciles and lines.reconciles
    assert results["duckdb"] == results["postgres"]
    assert len(results["duckdb"][2]) == inv.quarantined + lines.quarantined
    # NUL bytes were delivered, and PostgreSQL's COPY took the day all the same
    assert all(
        b"\x00" in store.read_bytes(staging.invoice_day_key(day, t))
        for t in ("invoice", "invoice_line")
    )


def test_the_judge_is_lent_again_within_a_process():
    with chinook_duckdb.CsvJudge.borrow("1GB") as first:
        pass
    with chinook_duckdb.CsvJudge.borrow("1GB") as second:
        assert second is first
