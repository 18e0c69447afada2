"""The Chinook marts (sql/models/chinook/marts) against the same tables recomputed
independently from the staging tables with pandas and Python's Decimal: sales per day, month
and year, RFM customer segments, support reps' performance, retention cohorts and the top
tracks, albums, artists and genres. Every mart is compared whole (every row, every column),
money exactly to the cent.

All read the session's `loaded_systems` (20 generated days across a month boundary, loaded
through `music-dwh load`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

CENT = Decimal("0.01")
MARTS = {  # mart → its key columns (one row per key)
    "sales_daily": ["date_day"],
    "sales_monthly": ["month_start"],
    "sales_yearly": ["year"],
    "customer_segments": ["customer_id"],
    "employee_performance": ["employee_id"],
    "retention_cohorts": ["cohort_month", "activity_month"],
    "top_tracks": ["track_id"],
    "top_albums": ["album_id"],
    "top_artists": ["artist_id"],
    "top_genres": ["genre_id"],
}
MONEY = {"revenue", "lifetime_value", "monetary", "average_order_value"}


@pytest.fixture(scope="module")
def db(loaded_systems):
    con = duckdb.connect(str(loaded_systems.chinook.warehouse), read_only=True)
    yield con
    con.close()


def staged(con, table: str) -> pd.DataFrame:
    """A staging table as pandas holding DuckDB's Python values: DECIMAL as Decimal (exact)."""
    cursor = con.execute(f'select * from chinook."staging_{table}"')
    return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description], dtype=object)


def plain(value):
    """A pandas/numpy cell as the Python value DuckDB returns for the mart's column."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def ratio(numerator, denominator, scale: int) -> Decimal | None:
    """numerator / denominator rounded half away from zero to ``scale`` decimals; None for /0."""
    if not denominator:
        return None
    return (Decimal(plain(numerator)) / Decimal(plain(denominator))).quantize(
        Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP
    )


def ntile(rows: int, buckets: int = 5) -> list[int]:
    """SQL's ntile over ``rows`` ordered rows: equal groups, the first ones one row larger."""
    size, extra = divmod(rows, buckets)
    return [b for b in range(1, buckets + 1) for _ in range(size + (b <= extra))]


def full_name(first, last):
    return None if first is None or last is None else f"{first} {last}"


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


# ---------------------------------------------------------------------------- inputs
@pytest.fixture(scope="module")
def tables(db) -> dict[str, pd.DataFrame]:
    names = ["invoice", "invoice_line", "customer", "employee", "track", "album", "artist", "genre"]
    out = {name: staged(db, name) for name in names}
    assert len(out["invoice"]) > 40 and len(out["invoice_line"]) > len(out["invoice"])
    return out


@pytest.fixture(scope="module")
def invoices(tables) -> pd.DataFrame:
    """One row per staged invoice: its day, its customer's support rep, line count and units."""
    inv = tables["invoice"].copy()
    inv["date_day"] = [t.date() if isinstance(t, dt.datetime) else t for t in inv.invoice_date]
    reps = tables["customer"].set_index("customer_id").support_rep_id
    inv["support_rep_id"] = inv.customer_id.map(reps)
    per_invoice = (
        tables["invoice_line"]
        .groupby("invoice_id")
        .agg(line_count=("invoice_line_id", "size"), units=("quantity", "sum"))
    )
    inv = inv.join(per_invoice, on="invoice_id")
    inv[["line_count", "units"]] = inv[["line_count", "units"]].fillna(0).astype("int64")
    # The generator's invariant the facts rely on: a total is the exact sum of its lines.
    line_sums = (
        tables["invoice_line"]
        .assign(
            amount=lambda d: [
                (p * q).quantize(CENT) for p, q in zip(d.unit_price, d.quantity, strict=True)
            ]
        )
        .groupby("invoice_id")
        .amount.agg(lambda a: sum(a, Decimal(0)))
    )
    assert all(line_sums[i] == t for i, t in zip(inv.invoice_id, inv.total, strict=True))
    assert len({d.month for d in inv.date_day}) == 2  # two months: two retention cohorts
    return inv


@pytest.fixture(scope="module")
def lines(tables, invoices) -> pd.DataFrame:
    """One row per staged line of a staged invoice, with its amount and the track's catalogue
    album, artist and genre (NULL where the track has none)."""
    df = tables["invoice_line"].merge(invoices[["invoice_id"]], on="invoice_id", how="inner")
    df["line_amount"] = [
        (p * q).quantize(CENT) for p, q in zip(df.unit_price, df.quantity, strict=True)
    ]
    track = tables["track"].set_index("track_id")
    album = tables["album"].set_index("album_id")
    df["album_id"] = df.track_id.map(track.album_id)
    df["artist_id"] = df.album_id.map(album.artist_id)
    df["genre_id"] = df.track_id.map(track.genre_id)
    return df


def mart(db, name: str) -> dict[tuple, dict]:
    """The warehouse's mart: key → {column: value} (every column)."""
    cursor = db.execute(f'select * from chinook."{name}"')
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    keyed = {tuple(r[k] for k in MARTS[name]): r for r in rows}
    assert len(keyed) == len(rows), f"{name}: duplicate keys"
    return keyed


def assert_mart_equals(db, name: str, expected: Sequence[dict]) -> None:
    got = mart(db, name)
    expected = [{k: plain(v) for k, v in row.items()} for row in expected]
    want = {tuple(r[k] for k in MARTS[name]): r for r in expected}
    assert len(want) == len(expected), f"{name}: duplicate keys in the recomputation"
    some = next(iter(got.values()))
    assert list(some) == list(expected[0]), f"{name}: columns differ from the recomputation's"
    assert set(got) == set(want), f"{name}: keys differ"
    for key in sorted(want, key=lambda k: tuple((v is None, str(v)) for v in k)):
        assert got[key] == want[key], f"{name} {key}"
    for row in got.values():  # money to the cent: DECIMAL(…, 2) in the warehouse
        for column in MONEY & set(row):
            assert row[column].as_tuple().exponent == -2, (name, column, row[column])


# ---------------------------------------------------------------------------- sales over time
def _sales(group: pd.DataFrame) -> dict:
    return {
        "invoices": len(group),
        "invoice_lines": int(group.line_count.sum()),
        "units": int(group.units.sum()),
        "revenue": sum(group.total, Decimal(0)).quantize(CENT),
        "customers": group.customer_id.nunique(),
    }


def test_sales_per_day_month_and_year(db, invoices):
    daily = [{"date_day": day, **_sales(g)} for day, g in invoices.groupby("date_day")]
    assert_mart_equals(db, "sales_daily", daily)
    months = invoices.assign(month_start=invoices.date_day.map(month_of))
    monthly = [
        {"month_start": m, "year": m.year, "month": m.month, **_sales(g)}
        for m, g in months.groupby("month_start")
    ]
    assert_mart_equals(db, "sales_monthly", monthly)
    years = invoices.assign(year=[d.year for d in invoices.date_day])
    assert_mart_equals(
        db, "sales_yearly", [{"year": y, **_sales(g)} for y, g in years.groupby("year")]
    )
    # customers are distinct per period, not summed from the days
    assert sum(r["customers"] for r in daily) > monthly[0]["customers"]


# ---------------------------------------------------------------------------- customers
def _segment(r: int, f: int, m: int) -> str:
    if r >= 4 and f >= 4 and m >= 4:
        return "Champions"
    if r >= 3 and f >= 4:
        return "Loyal"
    if r >= 4 and f <= 2:
        return "New"
    if r <= 2 and f >= 3:
        return "At risk"
    if r <= 2 and f <= 2:
        return "Hibernating"
    return "Other"


def test_customer_segments_score_recency_frequency_and_money_in_quintiles(db, tables, invoices):
    latest = max(invoices.date_day)
    sales = invoices.groupby("customer_id").agg(
        first_purchase_date=("date_day", "min"),
        last_purchase_date=("date_day", "max"),
        invoices=("invoice_id", "size"),
        lifetime_value=("total", lambda t: sum(t, Decimal(0))),
    )
    sales["lifetime_value"] = [v.quantize(CENT) for v in sales.lifetime_value]
    sales["recency_days"] = [(latest - d).days for d in sales.last_purchase_date]
    ids = list(sales.index)
    # quintiles, 5 = best; equal values split by customer_id
    scores = {}
    for column, by, best_last in (
        ("r_score", "recency_days", False),
        ("f_score", "invoices", True),
        ("m_score", "lifetime_value", True),
    ):
        ordered = sorted(
            ids, key=lambda c: ((sales.at[c, by] if best_last else -sales.at[c, by]), c)
        )
        scores[column] = dict(zip(ordered, ntile(len(ordered)), strict=True))
    customers = tables["customer"].set_index("customer_id")
    expected = []
    for c in ids:
        s = sales.loc[c]
        r, f, m = (scores[k][c] for k in ("r_score", "f_score", "m_score"))
        expected.append(
            {
                "customer_id": c,
                "full_name": full_name(customers.at[c, "first_name"], customers.at[c, "last_name"]),
                "city": customers.at[c, "city"],
                "country": customers.at[c, "country"],
                "support_rep_id": customers.at[c, "support_rep_id"],
                "first_purchase_date": s.first_purchase_date,
                "last_purchase_date": s.last_purchase_date,
                "invoices": s.invoices,
                "lifetime_value": s.lifetime_value,
                "average_order_value": ratio(s.lifetime_value, s.invoices, 2),
                "recency_days": s.recency_days,
                "frequency": s.invoices,
                "monetary": s.lifetime_value,
                "r_score": r,
                "f_score": f,
                "m_score": m,
                "segment": _segment(r, f, m),
            }
        )
    assert len({row["segment"] for row in expected}) >= 3
    assert_mart_equals(db, "customer_segments", expected)


def test_employee_performance_credits_each_invoice_to_its_support_rep(db, tables, invoices):
    customers = tables["customer"]
    employees = tables["employee"].set_index("employee_id")
    per_rep_customers = customers.dropna(subset=["support_rep_id"]).groupby("support_rep_id").size()
    with_rep = invoices.dropna(subset=["support_rep_id"])
    per_rep_sales = with_rep.groupby("support_rep_id").agg(
        invoices=("invoice_id", "size"), revenue=("total", lambda t: sum(t, Decimal(0)))
    )
    total = sum(invoices.total, Decimal(0))
    reps = sorted({int(r) for r in per_rep_customers.index} | {int(r) for r in per_rep_sales.index})
    revenue = {r: (per_rep_sales.revenue.get(r, Decimal(0))).quantize(CENT) for r in reps}
    ranked = sorted(reps, key=lambda r: (-revenue[r], r))
    expected = []
    for r in reps:
        manager = employees.at[r, "reports_to"]
        expected.append(
            {
                "employee_id": r,
                "full_name": full_name(employees.at[r, "first_name"], employees.at[r, "last_name"]),
                "title": employees.at[r, "title"],
                "manager_name": None
                if pd.isna(manager)
                else full_name(
                    employees.at[int(manager), "first_name"],
                    employees.at[int(manager), "last_name"],
                ),
                "customers": int(per_rep_customers.get(r, 0)),
                "invoices": int(per_rep_sales.invoices.get(r, 0)),
                "revenue": revenue[r],
                "revenue_rank": ranked.index(r) + 1,
                "revenue_share": ratio(revenue[r], total, 6) if total else Decimal("0.000000"),
            }
        )
    assert len(expected) >= 2 and sum(row["revenue"] for row in expected) == total
    assert_mart_equals(db, "employee_performance", expected)


def test_retention_cohorts_count_returning_customers_per_month(db, invoices):
    active = {
        (c, month_of(d)) for c, d in zip(invoices.customer_id, invoices.date_day, strict=True)
    }
    cohort = {}
    for customer, month in active:
        cohort[customer] = min(month, cohort.get(customer, month))
    last_month = max(m for _, m in active)
    months, month = [], month_of(min(invoices.date_day))  # the calendar starts at the first sale
    while month <= last_month:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    expected = []
    for start in sorted(set(cohort.values())):
        members = {c for c, m in cohort.items() if m == start}
        for month in (m for m in months if m >= start):
            returning = sum((c, month) in active for c in members)
            expected.append(
                {
                    "cohort_month": start,
                    "activity_month": month,
                    "months_since_first_purchase": (month.year - start.year) * 12
                    + month.month
                    - start.month,
                    "cohort_size": len(members),
                    "active_customers": returning,
                    "retention_rate": ratio(returning, len(members), 6),
                }
            )
    assert len(expected) == 3  # January's cohort in January and February, February's
    assert_mart_equals(db, "retention_cohorts", expected)


# ---------------------------------------------------------------------------- catalogue rankings
def _ranked_sales(lines: pd.DataFrame, by: str) -> list[dict]:
    """Revenue, units and invoices per value of ``by`` (NULL a group of its own), ranked by
    revenue and by units, ties broken by the id (NULL last)."""
    groups = []
    for key, g in lines.groupby(by, dropna=False):
        groups.append(
            {
                by: None if pd.isna(key) else int(key),
                "revenue": sum(g.line_amount, Decimal(0)).quantize(CENT),
                "units": int(g.quantity.sum()),
                "invoices": g.invoice_id.nunique(),
            }
        )

    def tie(row):
        return (row[by] is None, row[by] or 0)

    for measure in ("revenue", "units"):
        for position, row in enumerate(sorted(groups, key=lambda r: (-r[measure], *tie(r))), 1):
            row[f"{measure}_rank"] = position
    return groups


def _lookup(frame: pd.DataFrame, key: str, column: str):
    table = frame.set_index(key)[column]
    return lambda value: None if value is None or value not in table.index else plain(table[value])


def test_top_tracks(db, tables, lines):
    album = _lookup(tables["album"], "album_id", "title")
    album_artist = _lookup(tables["album"], "album_id", "artist_id")
    artist = _lookup(tables["artist"], "artist_id", "name")
    genre = _lookup(tables["genre"], "genre_id", "name")
    track = tables["track"].set_index("track_id")
    expected = []
    for row in _ranked_sales(lines, "track_id"):
        t = track.loc[row["track_id"]]
        album_id = plain(t.album_id)
        genre_id = plain(t.genre_id)
        expected.append(
            {
                "track_id": row["track_id"],
                "track_name": t["name"],
                "album_id": album_id,
                "album_title": album(album_id),
                "artist_id": album_artist(album_id),
                "artist_name": artist(album_artist(album_id)),
                "genre_id": genre_id,
                "genre_name": genre(genre_id),
                **{
                    k: row[k]
                    for k in ("revenue", "units", "invoices", "revenue_rank", "units_rank")
                },
            }
        )
    assert_mart_equals(db, "top_tracks", expected)


def test_top_albums_artists_and_genres(db, tables, lines):
    measures = ("revenue", "units", "invoices", "revenue_rank", "units_rank")
    album = _lookup(tables["album"], "album_id", "title")
    album_artist = _lookup(tables["album"], "album_id", "artist_id")
    artist = _lookup(tables["artist"], "artist_id", "name")
    genre = _lookup(tables["genre"], "genre_id", "name")
    albums = [
        {
            "album_id": r["album_id"],
            "album_title": album(r["album_id"]),
            "artist_id": album_artist(r["album_id"]),
            "artist_name": artist(album_artist(r["album_id"])),
            **{k: r[k] for k in measures},
        }
        for r in _ranked_sales(lines, "album_id")
    ]
    assert_mart_equals(db, "top_albums", albums)
    artists = [
        {
            "artist_id": r["artist_id"],
            "artist_name": artist(r["artist_id"]),
            **{k: r[k] for k in measures},
        }
        for r in _ranked_sales(lines, "artist_id")
    ]
    assert_mart_equals(db, "top_artists", artists)
    genres = [
        {
            "genre_id": r["genre_id"],
            "genre_name": genre(r["genre_id"]),
            **{k: r[k] for k in measures},
        }
        for r in _ranked_sales(lines, "genre_id")
    ]
    assert_mart_equals(db, "top_genres", genres)
    # every sale is in each ranking once
    total = sum(lines.line_amount, Decimal(0))
    for rows in (albums, artists, genres):
        assert sum(r["revenue"] for r in rows) == total


def test_every_chinook_mart_is_recomputed_here():
    from music_dwh_tests.conftest import REPO_ROOT

    models = {p.stem for p in (REPO_ROOT / "sql/models/chinook/marts").glob("*.sql")}
    assert models == set(MARTS)
