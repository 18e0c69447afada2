"""Generate a synthetic Chinook music store at any scale, in the raw store's delivery layout.

The output has exactly the schema, layout and formatting of :func:`export_chinook` (the column
lists, keys and CSV writer are imported from :mod:`music_dwh.datagen.chinook_export`), so the
warehouse cannot tell a generated store from the public one, except by its size:

* a catalog of Chinook's 25 genres and 5 media types, artists, albums and tracks (the catalog
  grows with the number of customers; ~3,500 tracks for 1,000 customers), priced 0.99 for audio
  and 1.99 for the video media type, composers sometimes unknown (NULL);
* playlists with their ``playlist_track`` bridge rows (one of them empty, like Chinook's);
* employees in a manager hierarchy: one General Manager (``reports_to`` NULL) → Sales Manager
  and IT Manager → Sales Support Agents and IT Staff;
* customers in 22 countries with plausible city/state/postal code (state NULL in most
  non-American countries, company and fax mostly NULL), each served by a Sales Support Agent;
* invoices per day drawn around ``invoices_per_day`` (Poisson, busier at weekends; days with no
  sales get no folder), bought by repeat customers (a few buy much more than most), with 1–14
  lines at the track's price, quantity 1 (occasionally 2), ``total`` the exact Decimal sum of
  the lines, billed to the customer's address at midnight of the day.

The catalog, staff and customers are built by :mod:`music_dwh.datagen.reference.chinook`, the
words and places come from :mod:`music_dwh.datagen.vocabulary.chinook`; this module draws the
invoices and writes every file.

Generation is deterministic: the same arguments give byte-identical files. Invoices are written
day by day, so memory is bounded by the catalog and the customer list, not by the period.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from music_dwh.datagen.chinook_export import Progress, format_size, write_csv
from music_dwh.datagen.ownership import Writer, writing
from music_dwh.datagen.reference.chinook import Catalog, Row, build_customers, build_employees
from music_dwh.datagen.vocabulary.chinook import GENRES, MEDIA_TYPES
from music_dwh.resources.raw_store import RawStore
from music_dwh.sources.chinook import PREFIX as CHINOOK_PREFIX
from music_dwh.sources.chinook import REFERENCE_TABLES, invoice_day_key, reference_key

# --------------------------------------------------------------------------- invoice shape

#: Relative frequency of invoices with 1..14 lines.
_LINE_COUNT_WEIGHTS = (30, 22, 14, 10, 7, 5, 4, 3, 2.5, 2, 1.5, 1.2, 1, 1)
#: Invoice volume by weekday (Monday..Sunday); averages to 1 so ``invoices_per_day`` is the mean.
_WEEKDAY_FACTORS = (0.9, 0.9, 0.95, 1.0, 1.1, 1.15, 1.0)
_DOUBLE_QUANTITY_SHARE = 0.03

#: What it owns of the store: ``chinook/``, as far as it wrote it (an export is not its own).
WRITER = Writer("generate chinook", (CHINOOK_PREFIX,))


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class ChinookGenerationSummary:
    """What :func:`generate_chinook` wrote.

    ``rows`` maps every table name (``artist`` … ``invoice_line``) to its data-row count;
    ``days`` is the length of the period and ``sale_days`` the number of days that had sales
    (one folder each); ``revenue`` is the exact sum of every invoice total.
    """

    target: str
    seed: int
    start: dt.date
    end: dt.date
    days: int
    sale_days: int
    rows: dict[str, int]
    revenue: Decimal
    files: int
    bytes: int

    @property
    def invoices(self) -> int:
        return self.rows.get("invoice", 0)

    @property
    def invoice_lines(self) -> int:
        return self.rows.get("invoice_line", 0)

    def describe(self) -> str:
        """One human line, e.g. for the CLI."""
        return (
            f"Generated synthetic Chinook (seed {self.seed}) into {self.target}: "
            f"{self.invoices} invoices / {self.invoice_lines} lines on {self.sale_days} of "
            f"{self.days} days ({self.start} .. {self.end}), revenue {self.revenue}; "
            f"{self.rows.get('track', 0)} tracks, {self.rows.get('customer', 0)} customers, "
            f"{self.rows.get('employee', 0)} employees; "
            f"{self.files} files, {format_size(self.bytes)}"
        )


# --------------------------------------------------------------------------- entry point


def generate_chinook(
    store: RawStore,
    start: dt.date,
    days: int,
    customers: int,
    invoices_per_day: int,
    seed: int = 42,
    progress: Progress | None = None,
    force: bool = False,
) -> ChinookGenerationSummary:
    """Write a synthetic Chinook store to ``store`` under ``chinook/``, replacing its own
    earlier output; a file there it did not write stops it before any change
    (``ForeignFilesError``) unless ``force``, and is never removed.

    ``start`` is the first day of sales and ``days`` the length of the period; ``customers``
    sets the size of the customer base (the catalog and sales team grow with it); each day gets
    a Poisson-distributed number of invoices with mean ``invoices_per_day`` (modulated by
    weekday). Same arguments → byte-identical files.
    """
    if isinstance(start, dt.datetime):
        start = start.date()
    if not isinstance(start, dt.date):
        raise TypeError(f"start must be a datetime.date, got {start!r}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if invoices_per_day < 0:
        raise ValueError(f"invoices_per_day cannot be negative, got {invoices_per_day}")
    say = progress or (lambda _message: None)

    catalog = Catalog.build(_rng(seed, "catalog"), target_tracks=catalog_size(customers))
    agents = sales_agent_count(customers)
    employees, agent_ids = build_employees(_rng(seed, "employees"), start, agents=agents)
    customer_rows = build_customers(_rng(seed, "customers"), customers, agent_ids)
    reference: dict[str, list[Row]] = {
        "artist": catalog.artists,
        "album": catalog.albums,
        "track": catalog.tracks,
        "genre": [(i, name) for i, (name, _w) in enumerate(GENRES, start=1)],
        "media_type": [(i, name) for i, name in enumerate(MEDIA_TYPES, start=1)],
        "playlist": catalog.playlists,
        "playlist_track": catalog.playlist_tracks,
        "customer": customer_rows,
        "employee": employees,
    }

    rows: dict[str, int] = {}
    files = size = 0
    with writing(store, WRITER, force) as out:
        for table in REFERENCE_TABLES:
            count, written = write_csv(out, reference_key(table), table, reference[table])
            rows[table] = count
            files += 1
            size += written
            say(f"{reference_key(table)}: {count} rows")

        sales = _Sales(_rng(seed, "sales"), catalog, customer_rows, invoices_per_day)
        rows["invoice"] = rows["invoice_line"] = 0
        revenue = Decimal("0.00")
        sale_days = 0
        report_every = max(1, days // 10)
        for offset in range(days):
            day = start + dt.timedelta(days=offset)
            invoices, lines = sales.day(day)
            if invoices:
                sale_days += 1
                revenue += sum((inv[-1] for inv in invoices), Decimal("0.00"))
                for table, table_rows in (("invoice", invoices), ("invoice_line", lines)):
                    key = invoice_day_key(day, table)
                    count, written = write_csv(out, key, table, table_rows)
                    rows[table] += count
                    files += 1
                    size += written
            if (offset + 1) % report_every == 0 or offset + 1 == days:
                say(
                    f"invoices: {offset + 1}/{days} days generated (up to {day}), "
                    f"{rows['invoice']} invoices"
                )
    if out.removed:
        say(f"removed {out.removed} files of its previous run that this one did not write")

    return ChinookGenerationSummary(
        target=store.uri(CHINOOK_PREFIX),
        seed=seed,
        start=start,
        end=start + dt.timedelta(days=days - 1),
        days=days,
        sale_days=sale_days,
        rows=rows,
        revenue=revenue,
        files=files,
        bytes=size,
    )


def catalog_size(customers: int) -> int:
    """Target number of tracks: ~3,500 (Chinook's size) for 1,000 customers, at most 100,000."""
    return min(100_000, 1_500 + 2 * customers)


def sales_agent_count(customers: int) -> int:
    """Sales Support Agents: one per ~250 customers, at least 3 (like Chinook), at most 200."""
    return max(3, min(200, math.ceil(customers / 250)))


# --------------------------------------------------------------------------- helpers


def _rng(seed: int, purpose: str) -> random.Random:
    """An independent, reproducible stream per purpose (string seeds hash with SHA-512)."""
    return random.Random(f"chinook:{seed}:{purpose}")


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; normal approximation for large means)."""
    if mean <= 0:
        return 0
    if mean >= 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


# --------------------------------------------------------------------------- sales


class _Sales:
    """Draws one day of invoices and lines at a time; ids keep increasing across days."""

    _ADDRESS = slice(4, 9)  # address, city, state, country, postal_code in a customer row

    def __init__(
        self, rng: random.Random, catalog: Catalog, customers: list[Row], invoices_per_day: int
    ) -> None:
        self._rng = rng
        self._catalog = catalog
        self.build_customers = customers
        self._mean = invoices_per_day
        # Heavy-tailed loyalty: most customers buy now and then, a few buy very often.
        self._loyalty = list(itertools.accumulate(rng.lognormvariate(0, 1.0) for _ in customers))
        self._line_counts = list(range(1, len(_LINE_COUNT_WEIGHTS) + 1))
        self._next_invoice_id = 1
        self._next_line_id = 1

    def day(self, day: dt.date) -> tuple[list[Row], list[Row]]:
        """The invoices and invoice lines of ``day`` (both sorted by id; empty on a quiet day)."""
        rng = self._rng
        count = _poisson(rng, self._mean * _WEEKDAY_FACTORS[day.weekday()])
        invoice_date = dt.datetime.combine(day, dt.time())
        buyers = rng.choices(self.build_customers, cum_weights=self._loyalty, k=count)
        invoices: list[Row] = []
        lines: list[Row] = []
        tracks = self._catalog.tracks
        for customer in buyers:
            invoice_id = self._next_invoice_id
            self._next_invoice_id += 1
            n_lines = rng.choices(self._line_counts, weights=_LINE_COUNT_WEIGHTS)[0]
            total = Decimal("0.00")
            for track_id in self._catalog.pick_tracks(rng, n_lines):
                unit_price: Decimal = tracks[track_id - 1][8]
                quantity = 2 if rng.random() < _DOUBLE_QUANTITY_SHARE else 1
                total += unit_price * quantity
                lines.append((self._next_line_id, invoice_id, track_id, unit_price, quantity))
                self._next_line_id += 1
            billing = customer[self._ADDRESS]
            invoices.append((invoice_id, customer[0], invoice_date, *billing, total))
        return invoices, lines
