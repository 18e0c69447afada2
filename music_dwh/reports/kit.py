"""The rendering kit of the reports: the report model, number formats, the markdown and the
self-contained HTML page, and the charts (matplotlib, Agg: no display needed).

A system's report module (``sparkify.py``, ``chinook.py``) reads its marts with
``query_rows`` (the queries are ``sql/analyses/report_<system>_*.sql``) and fills a ``Report``
of key figures and sections; ``render_markdown`` gives the asset's metadata (images inlined as
base64 PNG data URIs, which the Dagster UI shows), ``render_html`` the page written with
``write_report`` to ``report_path(system)`` (no external files or scripts; a reader never
sees half a file; a file there that is not a music_dwh report is never written over).

matplotlib and numpy are imported when the first chart is drawn, never at import time.
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

from music_dwh.markdown import markdown_table
from music_dwh.resources.warehouse import WarehouseSession
from music_dwh.settings import REPO_ROOT, get_settings

ANALYSES_DIR = REPO_ROOT / "sql" / "analyses"
# Every page render_html writes carries it: a file without it at a report's path is someone
# else's, and is never written over.
REPORT_MARK = "<footer>music_dwh · "


class ReportError(Exception):
    """A report that cannot be written; the message names the file and what to do."""


# Chart style: one palette for every report.
BLUE, ORANGE, GREY = "#2f6db5", "#e8833a", "#8a8f98"
FIGURE_DPI = 110


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


# ---------------------------------------------------------------------------- number formats
def number(value: Any) -> float | int | None:
    """A warehouse number as a plain int or float (metadata values, chart data)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        # sums of counts arrive as DECIMAL(38,0) from DuckDB (HUGEINT) and PostgreSQL (NUMERIC)
        return int(value) if value.as_tuple().exponent >= 0 else float(value)
    return value


def count(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def money(value: Any) -> str:
    return "–" if value is None else f"${float(value):,.2f}"


def percent(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{float(value) * 100:.{digits}f} %"


def growth(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:+.0f} %"


def cell(value: Any) -> str:
    """A table cell as text."""
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
    figures = [[f.label, f.text] for f in report.figures]
    lines = [f"# {report.title}", "", report.subtitle, ""]
    lines += [markdown_table(["figure", "value"], figures), ""]
    for section in report.sections:
        lines += [f"## {section.heading}", ""]
        if section.note:
            lines += [section.note, ""]
        if section.image:
            lines += [f"![{section.alt or section.heading}]({_data_uri(section.image)})", ""]
        if section.rows:
            rows = [[cell(v) for v in row] for row in section.rows]
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
            alt = esc(section.alt or section.heading)
            parts.append(f'<img src="{_data_uri(section.image)}" alt="{alt}">')
        if section.rows:
            head = "".join(f"<th>{esc(c)}</th>" for c in section.columns)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>")
            for row in section.rows:
                cells = []
                for value in row:
                    numeric = isinstance(value, int | float | Decimal)
                    css = ' class="num"' if numeric and not isinstance(value, bool) else ""
                    cells.append(f"<td{css}>{esc(cell(value))}</td>")
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</tbody></table>")
        if not section.image and not section.rows and section.empty:
            parts.append(f'<p class="empty">{esc(section.empty)}</p>')
        parts.append("</section>")
    parts.append(
        f"{REPORT_MARK}{esc(report.system)} report · generated "
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}</footer></body></html>"
    )
    return "\n".join(parts)


def write_report(path: Path, page: str) -> None:
    """Write a rendered page to ``path``, replacing an earlier report but never another file."""
    try:
        with open(path, "rb") as fh:
            ours = REPORT_MARK.encode() in fh.read()
    except FileNotFoundError:
        ours = True
    except OSError as exc:
        raise ReportError(f"cannot read {path} ({exc}); the report was not written") from exc
    if not ours:
        raise ReportError(
            f"{path} exists and is not a music_dwh report; move it away or set MUSIC_DWH_REPORTS "
            "to another folder (a report never replaces a file it did not write)"
        )
    write_atomically(path, page)


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
    except Exception:  # noqa: BLE001, S110 - best effort: the report step draws without it
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
    days: Sequence[dt.date],
    series: Sequence[tuple[str, Sequence[float], str]],
    title: str,
    ylabel: str,
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
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    xlabel: str,
    *,
    money: bool = False,
    colors: Sequence[str] | None = None,
    legend: Sequence[tuple[str, str]] = (),
) -> bytes:
    """Largest at the top, each bar labelled with its value."""
    height = 1.2 + 0.38 * max(len(labels), 3)
    fig, ax = _figure(height=height)
    positions = list(range(len(labels)))
    bars = ax.barh(positions, values, color=list(colors) if colors else BLUE, height=0.7)
    ax.set_yticks(positions, [_short(label) for label in labels])
    ax.invert_yaxis()
    value_labels = [f"${v:,.2f}" if money else f"{v:,.0f}" for v in values]
    ax.bar_label(bars, labels=value_labels, padding=3, fontsize=9)
    ax.set_xlim(0, max(values, default=0) * 1.15 or 1)
    ax.grid(axis="x", alpha=0.3)
    _thousands(ax, "x", money=money)
    used = [(text, color) for text, color in legend if colors and color in colors]
    if used:
        from matplotlib.patches import Patch

        # below the axis label (constrained layout makes room): never over a bar or the title
        fig.legend(
            handles=[Patch(color=c, label=t) for t, c in used],
            frameon=False,
            loc="outside lower right",
            ncols=len(used),
            fontsize=9,
        )
    _style(ax, title, xlabel, "")
    return _png(fig)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    xlabel: str,
    ylabel: str,
    money: bool,
) -> bytes:
    fig, ax = _figure()
    drawn = ax.bar(range(len(labels)), values, color=BLUE, width=0.7)
    crowded = len(labels) > 8
    ax.set_xticks(
        range(len(labels)),
        labels,
        rotation=45 if crowded else 0,
        ha="right" if crowded else "center",
    )
    value_labels = [f"${v:,.0f}" if money else f"{v:,.0f}" for v in values]
    ax.bar_label(drawn, labels=value_labels, padding=2, fontsize=8)
    ax.set_ylim(0, max(values, default=0) * 1.15 or 1)
    ax.grid(axis="y", alpha=0.3)
    _thousands(ax, money=money)
    _style(ax, title, xlabel, ylabel)
    return _png(fig)


def heatmap(
    matrix: Sequence[Sequence[float]],
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str,
    xlabel: str,
    ylabel: str,
    colorbar_label: str,
    *,
    annotate: Callable[[float], str] | None = None,
    vmax: float | None = None,
    height: float = 4.2,
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
                dark = top and value > 0.6 * (vmax or top)
                ax.text(
                    c,
                    r,
                    annotate(value),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else "#1f2328",
                )
    _style(ax, title, xlabel, ylabel)
    ax.spines[["left", "bottom"]].set_visible(False)
    return _png(fig)
