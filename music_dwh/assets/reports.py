"""Visual reports: one HTML page per source system, and the same charts in the Dagster UI.

``sparkify_report`` and ``chinook_report`` build their system's report (``music_dwh/reports/``:
the content per system, the rendering kit) from the marts through the warehouse resource, and

* attach it to the materialization as markdown with the images inlined (base64 PNG data
  URIs) plus the key figures as numbers, so the asset's page in the UI shows the report;
* write a self-contained HTML file (images embedded, no external files or scripts) to
  ``<MUSIC_DWH_REPORTS>/<system>.html``, atomically (a reader never sees half a file).
"""

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

from music_dwh.reports import chinook, sparkify
from music_dwh.reports.kit import (
    Report,
    render_html,
    render_markdown,
    report_path,
    write_report,
)
from music_dwh.resources.warehouse import Warehouse
from music_dwh.tags import WAREHOUSE_POOL

OWNERS = ["team:analytics-engineering"]


def publish(context: AssetExecutionContext, report: Report) -> MaterializeResult:
    """Write the HTML file and return the materialization with the report in its metadata."""
    path = report_path(report.system)
    write_report(path, render_html(report))
    context.log.info(
        f"{report.system} report: {report.charts} charts, {len(report.sections)} sections → {path}"
    )
    metadata: dict[str, Any] = {
        "report_path": MetadataValue.path(str(path)),
        "charts": report.charts,
        "report": MetadataValue.md(render_markdown(report)),
    }
    for figure in report.figures:
        if isinstance(figure.value, bool) or figure.value is None:
            continue
        metadata[figure.key] = (
            MetadataValue.int(figure.value)
            if isinstance(figure.value, int)
            else MetadataValue.float(float(figure.value))
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
    deps=[AssetKey(["sparkify", mart]) for mart in sparkify.MARTS],
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
        report = sparkify.build_report(session)
    return publish(context, report)


@asset(
    key=["chinook", "chinook_report"],
    deps=[AssetKey(["chinook", mart]) for mart in chinook.MARTS],
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
        "and written to `<MUSIC_DWH_REPORTS>/chinook.html` "
        "(self-contained; default ./data/reports)."
    ),
)
def chinook_report(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    with warehouse.session() as session:
        report = chinook.build_report(session)
    return publish(context, report)


assets = [sparkify_report, chinook_report]
