"""Visual reports: one HTML page per source system, and the same charts in the Dagster UI.

``sparkify_report`` and ``chinook_report`` read the marts through the warehouse resource (the
queries are ``sql/analyses/report_<system>_*.sql``), draw charts with matplotlib (Agg, no
display needed) and

* attach them to the materialization as markdown with the images inlined (base64 PNG data
  URIs) plus the key figures as numbers, so the asset's page in the UI shows the report;
* write a self-contained HTML file (images embedded, no external files or scripts) to
  ``<MUSIC_DWH_REPORTS>/<system>.html``, atomically (a reader never sees half a file).

What is clearer as a table (trending artists, segments, session lengths …) is a table.
"""

import base64
import datetime as dt
import html
import io
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AutomationCondition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from music_dwh.assets.metadata import markdown_table
from music_dwh.assets.sparkify import WAREHOUSE_POOL
from music_dwh.resources.warehouse import Warehouse, WarehouseSession
from music_dwh.settings import REPO_ROOT, get_settings

ANALYSES_DIR = REPO_ROOT / "sql" / "analyses"
OWNERS = ["team:analytics-engineering"]

# The marts each report reads (dbt models under sql/models/<system>/marts).
SPARKIFY_MARTS = (
    "plays_by_level_daily",
    "song_plays_daily",
    "artist_plays_daily",
    "usage_by_hour",
    "trending_artists",
    "session_length_by_level",
    "user_demographics",
    "level_transitions_daily",
)
CHINOOK_MARTS = (
    "sales_daily",
    "sales_monthly",
    "top_genres",
    "customer_segments",
    "employee_performance",
    "retention_cohorts",
)

# Chart style: one palette for both reports.
BLUE, ORANGE, GREY = "#2f6db5", "#e8833a", "#8a8f98"
FIGURE_DPI = 110
WEEKDAYS_FROM_MONDAY = (1, 2, 3, 4, 5, 6, 0)  # extract(dow): 0 = Sunday
WEEKDAY_LABELS = {0: "Sun", 1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat"}


def report_path(system: str) -> Path:
    """Where a system's HTML report is written: ``<MUSIC_DWH_REPORTS>/<system>.html``."""
    return get_settings().reports_dir / f"{system}.html"


def read_analysis(name: str) -> str:
    """The SQL of ``sql/analyses/<name>.sql``."""
    return (ANALYSES_DIR / f"{name}.sql").read_text()


def query_rows(session: WarehouseSession, name: str) -> list[dict[str, Any]]:
    """Rows of an analysis as dicts, column names lower-cased (PostgreSQL folds them anyway)."""
    table = session.query_arrow(read_analysis(name))
    return [{k.lower(): v for k, v in row.items()} for row in table.to_pylist()]


# ---------------------------------------------------------------------------- report model
@dataclass
class KeyFigure:
    key: str  # metadata key
    label: str
    value: int | float | None
    text: str  # how it reads in the report ("12,345", "83.2 %")


@dataclass
class Section:
    heading: str
    note: str = ""
    image: bytes | None = None  # PNG
    alt: str = ""
    columns: Sequence[str] = ()
    rows: Sequence[Sequence[Any]] = ()
    empty: str = ""  # shown instead of the chart/table when there is no data


@dataclass
class Report:
    system: str
    title: str
    subtitle: str
    figures: list[KeyFigure] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    @property
    def charts(self) -> int:
        return sum(1 for s in self.sections if s.image)


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        # sums of counts arrive as DECIMAL(38,0) from DuckDB (HUGEINT) and PostgreSQL (NUMERIC)
        return int(value) if value.as_tuple().exponent >= 0 else float(value)
    return value


def _count(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def _money(value: Any) -> str:
    return "–" if value is None else f"${float(value):,.2f}"


def _percent(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{float(value) * 100:.{digits}f} %"


def _growth(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:+.0f} %"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,}"  # as many decimals as the mart's scale
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------------------- rendering
def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_markdown(report: Report) -> str:
    """The report as markdown for the asset's metadata (the Dagster UI renders data URIs)."""
    lines = [f"# {report.title}", "", report.subtitle, ""]
    lines += [markdown_table(["figure", "value"], [[f.label, f.text] for f in report.figures]), ""]
    for section in report.sections:
        lines += [f"## {section.heading}", ""]
        if section.note:
            lines += [section.note, ""]
        if section.image:
            lines += [f"![{section.alt or section.heading}]({_data_uri(section.image)})", ""]
        if section.rows:
            rows = [[_cell(v) for v in row] for row in section.rows]
            lines += [markdown_table(list(section.columns), rows), ""]
        if not section.image and not section.rows and section.empty:
            lines += [f"_{section.empty}_", ""]
    return "\n".join(lines)


_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 0 auto; max-width: 1040px; padding: 24px; color: #1f2328; background: #fff; }
h1 { margin-bottom: 4px; }
.subtitle { color: #59636e; margin-top: 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px;
           margin: 20px 0 8px; }
.figure { border: 1px solid #d1d9e0; border-radius: 8px; padding: 10px 14px; }
.figure .value { font-size: 1.5em; font-weight: 600; }
.figure .label { color: #59636e; font-size: 0.9em; }
section { margin-top: 28px; }
h2 { border-bottom: 1px solid #d1d9e0; padding-bottom: 4px; }
.note { color: #59636e; }
img { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; margin-top: 8px; font-size: 0.95em; }
th, td { border: 1px solid #d1d9e0; padding: 4px 10px; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: #59636e; font-style: italic; }
footer { margin-top: 36px; color: #59636e; font-size: 0.85em; }
"""


def render_html(report: Report) -> str:
    """A self-contained page: inline CSS, images as data URIs, no scripts or external files."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(report.title)}</h1>",
        f'<p class="subtitle">{esc(report.subtitle)}</p>',
        '<div class="figures">',
    ]
    for figure in report.figures:
        parts.append(
            f'<div class="figure"><div class="value">{esc(figure.text)}</div>'
            f'<div class="label">{esc(figure.label)}</div></div>'
        )
    parts.append("</div>")
    for section in report.sections:
        parts.append(f"<section><h2>{esc(section.heading)}</h2>")
        if section.note:
            parts.append(f'<p class="note">{esc(section.note)}</p>')
        if section.image:
            parts.append(f'<img src="{_data_uri(section.image)}" alt="{esc(section.alt or section.heading)}">')
        if section.rows:
            parts.append("<table><thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in section.columns) + "</tr></thead><tbody>")
            for row in section.rows:
                cells = []
                for value in row:
                    numeric = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
                    css = ' class="num"' if numeric else ""
                    cells.append(f"<td{css}>{esc(_cell(value))}</td>")
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</tbody></table>")
        if not section.image and not section.rows and section.empty:
            parts.append(f'<p class="empty">{esc(section.empty)}</p>')
        parts.append("</section>")
    parts.append(
        f"<footer>music_dwh · {esc(report.system)} report · generated "
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}</footer></body></html>"
    )
    return "\n".join(parts)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------- charts
_WARM_UP: threading.Thread | None = None


def warm_up() -> None:
    """Import matplotlib and draw a first throw-away chart in a background thread, so that a
    run whose report step comes last pays neither (≈0.8 s: the import, and the fonts and
    caches the first drawing loads) on its critical path. Runs while earlier steps wait on the
    warehouse or dbt; the report's first chart waits for it to finish (``_figure``). Best
    effort: a failure here only means the report step does the work itself."""
    global _WARM_UP
    if _WARM_UP is None:
        _WARM_UP = threading.Thread(target=_warm, name="music_dwh-report-warm-up", daemon=True)
        _WARM_UP.start()


def _warm() -> None:
    try:
        fig, ax = _new_figure(3.0, 2.0)
        ax.plot([0, 1], [0, 1])
        _style(ax, "warm-up", "x", "y")
        _png(fig)
    except Exception:
        pass


def _figure(width: float = 9.0, height: float = 4.2):
    if _WARM_UP is not None and _WARM_UP.is_alive():
        _WARM_UP.join()  # matplotlib's global state is never touched by two threads at once
    return _new_figure(width, height)


def _new_figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=FIGURE_DPI, layout="constrained")
    return fig, fig.add_subplot()


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def _style(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=13, loc="left", pad=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)


def _date_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _thousands(ax, axis: str = "y", money: bool = False) -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: f"${v:,.0f}" if money else f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _short(text: str, limit: int = 42) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_chart(days: Sequence[dt.date], values: Sequence[float], title: str, ylabel: str) -> bytes:
    fig, ax = _figure()
    ax.plot(days, values, color=BLUE, marker="o", markersize=3.5, linewidth=1.8)
    ax.fill_between(days, values, color=BLUE, alpha=0.08)
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    _date_axis(ax)
    _thousands(ax)
    _style(ax, title, "Day (UTC)", ylabel)
    return _png(fig)


def stacked_bars(
    days: Sequence[dt.date], series: Sequence[tuple[str, Sequence[float], str]], title: str, ylabel: str
) -> bytes:
    fig, ax = _figure()
    bottom = [0.0] * len(days)
    for label, values, color in series:
        ax.bar(days, values, bottom=bottom, label=label, color=color, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.legend(frameon=False, loc="upper left", ncols=len(series))
    ax.set_ylim(0, max(bottom, default=0) * 1.15 or 1)
    ax.grid(axis="y", alpha=0.3)
    _date_axis(ax)
    _thousands(ax)
    _style(ax, title, "Day (UTC)", ylabel)
    return _png(fig)


def horizontal_bars(
    labels: Sequence[str], values: Sequence[float], title: str, xlabel: str, *, money: bool = False,
    colors: Sequence[str] | None = None, legend: Sequence[tuple[str, str]] = (),
) -> bytes:
    """Largest at the top, each bar labelled with its value."""
    height = 1.2 + 0.38 * max(len(labels), 3)
    fig, ax = _figure(height=height)
    positions = list(range(len(labels)))
    bars = ax.barh(positions, values, color=list(colors) if colors else BLUE, height=0.7)
    ax.set_yticks(positions, [_short(label) for label in labels])
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[f"${v:,.2f}" if money else f"{v:,.0f}" for v in values], padding=3, fontsize=9)
    ax.set_xlim(0, max(values, default=0) * 1.15 or 1)
    ax.grid(axis="x", alpha=0.3)
    _thousands(ax, "x", money=money)
    used = [(text, color) for text, color in legend if colors and color in colors]
    if used:
        from matplotlib.patches import Patch

        # below the axis label (constrained layout makes room): never over a bar or the title
        fig.legend(handles=[Patch(color=c, label=t) for t, c in used], frameon=False,
                   loc="outside lower right", ncols=len(used), fontsize=9)
    _style(ax, title, xlabel, "")
    return _png(fig)


def bars(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str, ylabel: str, money: bool) -> bytes:
    fig, ax = _figure()
    drawn = ax.bar(range(len(labels)), values, color=BLUE, width=0.7)
    ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 8 else 0, ha="right" if len(labels) > 8 else "center")
    ax.bar_label(drawn, labels=[f"${v:,.0f}" if money else f"{v:,.0f}" for v in values], padding=2, fontsize=8)
    ax.set_ylim(0, max(values, default=0) * 1.15 or 1)
    ax.grid(axis="y", alpha=0.3)
    _thousands(ax, money=money)
    _style(ax, title, xlabel, ylabel)
    return _png(fig)


def heatmap(
    matrix: Sequence[Sequence[float]], row_labels: Sequence[str], column_labels: Sequence[str], title: str,
    xlabel: str, ylabel: str, colorbar_label: str, *, annotate: Callable[[float], str] | None = None,
    vmax: float | None = None, height: float = 4.2,
) -> bytes:
    fig, ax = _figure(height=height)
    import numpy as np

    data = np.array(matrix, dtype=float)
    image = ax.imshow(data, aspect="auto", cmap="Blues", vmin=0, vmax=vmax)
    ax.set_xticks(range(len(column_labels)), column_labels)
    ax.set_yticks(range(len(row_labels)), row_labels)
    colorbar = fig.colorbar(image, ax=ax, pad=0.01)
    colorbar.set_label(colorbar_label)
    if annotate:
        top = np.nanmax(data) if data.size and not np.all(np.isnan(data)) else 0
        for (r, c), value in np.ndenumerate(data):
            if not np.isnan(value):
                ax.text(c, r, annotate(value), ha="center", va="center", fontsize=8,
                        color="white" if top and value > 0.6 * (vmax or top) else "#1f2328")
    _style(ax, title, xlabel, ylabel)
    ax.spines[["left", "bottom"]].set_visible(False)
    return _png(fig)


# ---------------------------------------------------------------------------- Sparkify
def build_sparkify_report(session: WarehouseSession) -> Report:
    k = query_rows(session, "report_sparkify_key_figures")[0]
    per_day = query_rows(session, "report_sparkify_plays_per_day")
    plays = _number(k["plays"]) or 0
    matched_share = (_number(k["matched_plays"]) or 0) / plays if plays else None
    period = f"{k['first_day']} – {k['last_day']}" if k["first_day"] else "no plays loaded"
    report = Report(
        system="sparkify",
        title="Sparkify listening report",
        subtitle=f"Plays from {period} ({k['days'] or 0} days with plays), from the marts in schema sparkify.",
        figures=[
            KeyFigure("plays", "plays", int(plays), _count(plays)),
            KeyFigure("listeners", "listeners with plays", _number(k["listeners"]), _count(k["listeners"])),
            KeyFigure("paid_listeners", "of them paying now", _number(k["paid_listeners"]), _count(k["paid_listeners"])),
            KeyFigure("sessions", "sessions", _number(k["sessions"]), _count(k["sessions"])),
            KeyFigure("songs_per_session", "songs per session", _number(k["average_songs_per_session"]),
                      "–" if k["average_songs_per_session"] is None else f"{float(k['average_songs_per_session']):.1f}"),
            KeyFigure("minutes_per_session", "minutes per session", _number(k["average_minutes_per_session"]),
                      "–" if k["average_minutes_per_session"] is None else f"{float(k['average_minutes_per_session']):.1f}"),
            KeyFigure("matched_share", "plays matched to the catalogue",
                      None if matched_share is None else round(matched_share, 4), _percent(matched_share)),
            KeyFigure("upgrades", "upgrades (free → paid)", _number(k["upgrades"]), _count(k["upgrades"])),
            KeyFigure("downgrades", "downgrades (paid → free)", _number(k["downgrades"]), _count(k["downgrades"])),
        ],
    )
    no_plays = "No plays loaded yet."
    days = [r["date_day"] for r in per_day]

    section = Section("Plays per day", note="Every song played (NextSong event), by UTC day.", empty=no_plays)
    if per_day:
        section.image = line_chart(days, [_number(r["plays"]) for r in per_day], "Plays per day", "Plays (count)")
        section.alt = "Line chart of plays per day"
    report.sections.append(section)

    section = Section(
        "Top 10 songs",
        note=f"Most played songs, {period}. Plays of songs outside the catalogue count under the title "
        "and artist as logged (orange).",
        empty=no_plays,
    )
    top_songs = query_rows(session, "report_sparkify_top_songs")
    if top_songs:
        section.image = horizontal_bars(
            [f"{r['song_title']} — {r['artist_name']}" for r in top_songs],
            [_number(r["plays"]) for r in top_songs],
            "Top 10 songs by plays", "Plays (count)",
            colors=[BLUE if r["in_catalogue"] else ORANGE for r in top_songs],
            legend=[("in the catalogue", BLUE), ("as logged (not in the catalogue)", ORANGE)],
        )
        section.alt = "Horizontal bar chart of the 10 most played songs"
    report.sections.append(section)

    section = Section(
        "Top 10 artists",
        note=f"Most played artists, {period}. A song outside the catalogue counts for the catalogue "
        "artist of the same (normalized) name, else under the artist name as logged (orange).",
        empty=no_plays,
    )
    top_artists = query_rows(session, "report_sparkify_top_artists")
    if top_artists:
        section.image = horizontal_bars(
            [r["artist_name"] for r in top_artists], [_number(r["plays"]) for r in top_artists],
            "Top 10 artists by plays", "Plays (count)",
            colors=[BLUE if r["in_catalogue"] else ORANGE for r in top_artists],
            legend=[("in the catalogue", BLUE), ("as logged (not in the catalogue)", ORANGE)],
        )
        section.alt = "Horizontal bar chart of the 10 most played artists"
    report.sections.append(section)

    hourly = query_rows(session, "report_sparkify_usage_by_hour")
    local = sum(_number(r["local_time_plays"]) for r in hourly)
    total = sum(_number(r["plays"]) for r in hourly)
    section = Section(
        "Peak listening times",
        note="Plays by weekday and hour in the listener's local time, from the US state of the "
        "location logged with the play (daylight saving time included); plays without a US "
        f"location count in UTC. Local time: {_percent(local / total if total else None)} of plays.",
        empty=no_plays,
    )
    if total:
        cells = {(r["weekday"], r["hour"]): _number(r["plays"]) for r in hourly}
        section.image = heatmap(
            [[cells.get((w, h), 0) for h in range(24)] for w in WEEKDAYS_FROM_MONDAY],
            [WEEKDAY_LABELS[w] for w in WEEKDAYS_FROM_MONDAY],
            [str(h) for h in range(24)],
            "Plays by hour of day and weekday", "Hour of day (listener's local time)", "Weekday",
            "Plays (count)",
        )
        section.alt = "Heatmap of plays by weekday and hour of day"
    report.sections.append(section)

    section = Section(
        "Free and paid plays",
        note="Plays per day by the level logged with each play.",
        empty=no_plays,
    )
    if per_day:
        free = [_number(r["free_plays"]) for r in per_day]
        paid = [_number(r["paid_plays"]) for r in per_day]
        section.image = stacked_bars(
            days, [("free", free, GREY), ("paid", paid, BLUE)], "Plays per day by level (free vs paid)",
            "Plays (count)",
        )
        section.alt = "Stacked bar chart of free and paid plays per day"
    report.sections.append(section)

    trending = query_rows(session, "report_sparkify_trending_artists")
    note = (
        "Week-over-week growth of plays (weeks start on Monday, UTC); only artists with at least 5 "
        "plays in both weeks are ranked."
    )
    if trending:
        first = trending[0]
        note += (
            f" Week of {first['week_start']}: {first['week_days_with_plays']} of 7 days with plays "
            f"(previous week {first['previous_week_days_with_plays']} of 7)."
        )
    report.sections.append(Section(
        "Trending artists",
        note=note,
        columns=["rank", "artist", "plays", "previous week", "growth"],
        rows=[[r["trend_rank"], r["artist_name"], r["plays"], r["previous_week_plays"],
               _growth(r["growth_rate"])] for r in trending],
        empty="No artist has enough plays in two consecutive weeks yet.",
    ))

    sessions = query_rows(session, "report_sparkify_sessions_by_level")
    report.sections.append(Section(
        "Session length by level",
        note="Sessions by the level they started at; a play lasts its song's length.",
        columns=["level", "sessions", "songs per session", "minutes per session", "longest (songs)",
                 "longest (minutes)"],
        rows=[[r["level"], r["sessions"], r["average_songs"], r["average_minutes"], r["longest_songs"],
               r["longest_minutes"]] for r in sessions],
        empty="No sessions loaded yet.",
    ))

    demographics = query_rows(session, "report_sparkify_demographics")
    report.sections.append(Section(
        "Listeners by gender and level",
        note="Identified users by gender and current level, with their plays.",
        columns=["gender", "level", "users", "plays", "plays per user"],
        rows=[[r["gender"], r["level"], r["users"], r["plays"], r["plays_per_user"]] for r in demographics],
        empty="No users loaded yet.",
    ))

    states = query_rows(session, "report_sparkify_states")
    report.sections.append(Section(
        "Listeners by state",
        note="US state of each user's latest location and the time zone used for local time.",
        columns=["state", "time zone", "users", "plays"],
        rows=[[r["state_code"], r["time_zone"], r["users"], r["plays"]] for r in states],
        empty="No users loaded yet.",
    ))
    return report


# ---------------------------------------------------------------------------- Chinook
def _customers(count: int) -> str:
    return f"{count:,} customer" + ("" if count == 1 else "s")


def _month_label(value: dt.date) -> str:
    return value.strftime("%b %Y")


def build_chinook_report(session: WarehouseSession) -> Report:
    k = query_rows(session, "report_chinook_key_figures")[0]
    period = f"{k['first_day']} – {k['last_day']}" if k["first_day"] else "no sales loaded"
    report = Report(
        system="chinook",
        title="Chinook sales report",
        subtitle=f"Invoices from {period} ({k['sales_days'] or 0} days with sales), from the marts in schema chinook.",
        figures=[
            KeyFigure("revenue", "revenue", _number(k["revenue"]), _money(k["revenue"])),
            KeyFigure("invoices", "invoices", _number(k["invoices"]), _count(k["invoices"])),
            KeyFigure("customers", "customers who bought", _number(k["customers"]), _count(k["customers"])),
            KeyFigure("average_order_value", "average order", _number(k["average_order_value"]),
                      _money(k["average_order_value"])),
            KeyFigure("average_lifetime_value", "average customer lifetime value",
                      _number(k["average_lifetime_value"]), _money(k["average_lifetime_value"])),
        ],
    )
    no_sales = "No sales loaded yet."

    monthly = query_rows(session, "report_chinook_revenue_per_month")
    section = Section(
        "Revenue per month",
        note=f"Invoice totals per calendar month, {period} (the first and last months may be partial).",
        empty=no_sales,
    )
    if monthly:
        section.image = bars(
            [_month_label(r["month_start"]) for r in monthly], [_number(r["revenue"]) for r in monthly],
            "Revenue per month", "Month", "Revenue ($)", money=True,
        )
        section.alt = "Bar chart of revenue per month"
    report.sections.append(section)

    genres = query_rows(session, "report_chinook_top_genres")
    section = Section("Top genres by revenue", note="The 10 genres with the most revenue.", empty=no_sales)
    if genres:
        section.image = horizontal_bars(
            [r["genre_name"] for r in genres], [_number(r["revenue"]) for r in genres],
            "Top genres by revenue", "Revenue ($)", money=True,
        )
        section.alt = "Horizontal bar chart of revenue by genre"
    report.sections.append(section)

    countries = query_rows(session, "report_chinook_revenue_by_country")
    section = Section(
        "Revenue by country",
        note="Customers' lifetime value by their country (the 15 largest).",
        empty=no_sales,
    )
    if countries:
        section.image = horizontal_bars(
            [f"{r['country']} ({_customers(r['customers'])})" for r in countries],
            [_number(r["revenue"]) for r in countries],
            "Revenue by customer country", "Revenue ($)", money=True,
        )
        section.alt = "Horizontal bar chart of revenue by country"
    report.sections.append(section)

    reps = query_rows(session, "report_chinook_support_reps")
    section = Section(
        "Support rep ranking",
        note="Support reps by the revenue of the invoices credited to them.",
        empty=no_sales,
    )
    if reps:
        section.image = horizontal_bars(
            [f"#{r['revenue_rank']} {r['full_name']} ({_customers(r['customers'])})" for r in reps],
            [_number(r["revenue"]) for r in reps],
            "Support reps by revenue", "Revenue ($)", money=True,
        )
        section.alt = "Horizontal bar chart of revenue per support rep"
    report.sections.append(section)

    cohorts = query_rows(session, "report_chinook_retention_cohorts")
    section = Section(
        "Customer retention by cohort",
        note="Share of each first-purchase month's customers who bought again N months later "
        "(month 0 is the first purchase: 100 %).",
        empty=no_sales,
    )
    if cohorts:
        months = sorted({r["cohort_month"] for r in cohorts})
        horizon = max(r["months_since_first_purchase"] for r in cohorts)
        cells = {(r["cohort_month"], r["months_since_first_purchase"]): float(r["retention_rate"]) * 100 for r in cohorts}
        sizes = {r["cohort_month"]: r["cohort_size"] for r in cohorts}
        section.image = heatmap(
            [[cells.get((m, n), float("nan")) for n in range(horizon + 1)] for m in months],
            [f"{_month_label(m)} (n={sizes[m]})" for m in months],
            [str(n) for n in range(horizon + 1)],
            "Customer retention by first-purchase month", "Months since first purchase",
            "Cohort (first purchase)", "Retention (% of cohort)",
            annotate=lambda v: f"{v:.0f}%", vmax=100, height=max(2.6, 1.4 + 0.45 * len(months)),
        )
        section.alt = "Heatmap of retention by cohort month and months since first purchase"
    report.sections.append(section)

    segments = query_rows(session, "report_chinook_segments")
    report.sections.append(Section(
        "Customer segments",
        note="RFM segments of customers with at least one invoice (rules in the customer_segments mart).",
        columns=["segment", "customers", "revenue ($)", "average recency (days)", "average invoices"],
        rows=[[r["segment"], r["customers"], r["revenue"], r["average_recency_days"], r["average_invoices"]]
              for r in segments],
        empty="No customers with invoices yet.",
    ))
    return report


# ---------------------------------------------------------------------------- assets
def publish(context: AssetExecutionContext, report: Report) -> MaterializeResult:
    """Write the HTML file and return the materialization with the report in its metadata."""
    path = report_path(report.system)
    write_atomically(path, render_html(report))
    context.log.info(f"{report.system} report: {report.charts} charts, {len(report.sections)} sections → {path}")
    metadata: dict[str, Any] = {
        "report_path": MetadataValue.path(str(path)),
        "charts": report.charts,
        "report": MetadataValue.md(render_markdown(report)),
    }
    for figure in report.figures:
        if isinstance(figure.value, bool) or figure.value is None:
            continue
        metadata[figure.key] = (
            MetadataValue.int(figure.value) if isinstance(figure.value, int) else MetadataValue.float(float(figure.value))
        )
    return MaterializeResult(metadata=metadata)


# Like the marts: rebuilt when a run updated a mart without rebuilding the report.
_REFRESH = (
    AutomationCondition.any_deps_updated().since_last_handled()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
).with_label("refresh after a mart is rebuilt")


@asset(
    key=["sparkify", "sparkify_report"],
    deps=[AssetKey(["sparkify", mart]) for mart in SPARKIFY_MARTS],
    group_name="sparkify",
    owners=OWNERS,
    tags={"layer": "report", "source_system": "sparkify"},
    kinds={"python", "html"},
    backfill_policy=BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    automation_condition=_REFRESH,
    code_version="1",
    description=(
        "Sparkify listening report: plays per day, top 10 songs and artists, peak hours by weekday "
        "(listener's local time), free vs paid plays, trending artists, session lengths and "
        "listeners. Shown on this page (metadata `report`) and written to "
        "`<MUSIC_DWH_REPORTS>/sparkify.html` (self-contained; default ./data/reports)."
    ),
)
def sparkify_report(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    with warehouse.session() as session:
        report = build_sparkify_report(session)
    return publish(context, report)


@asset(
    key=["chinook", "chinook_report"],
    deps=[AssetKey(["chinook", mart]) for mart in CHINOOK_MARTS],
    group_name="chinook",
    owners=OWNERS,
    tags={"layer": "report", "source_system": "chinook"},
    kinds={"python", "html"},
    backfill_policy=BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    automation_condition=_REFRESH,
    code_version="1",
    description=(
        "Chinook sales report: revenue per month, top genres, revenue by country, support-rep "
        "ranking, retention cohorts and customer segments. Shown on this page (metadata `report`) "
        "and written to `<MUSIC_DWH_REPORTS>/chinook.html` (self-contained; default ./data/reports)."
    ),
)
def chinook_report(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    with warehouse.session() as session:
        report = build_chinook_report(session)
    return publish(context, report)


assets = [sparkify_report, chinook_report]
