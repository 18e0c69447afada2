"""Chinook's sales report: what it says, from the marts in schema chinook (the queries are
``sql/analyses/report_chinook_*.sql``). How it looks is ``kit``'s."""

import datetime as dt

from music_dwh.reports.kit import (
    KeyFigure,
    Report,
    Section,
    bars,
    count,
    heatmap,
    horizontal_bars,
    money,
    number,
    query_rows,
)
from music_dwh.resources.warehouse import WarehouseSession

SYSTEM = "chinook"
# The marts the report reads (dbt models under sql/models/chinook/marts).
MARTS = (
    "sales_daily",
    "sales_monthly",
    "top_genres",
    "customer_segments",
    "employee_performance",
    "retention_cohorts",
)

NO_SALES = "No sales loaded yet."


def _customers(n: int) -> str:
    return f"{n:,} customer" + ("" if n == 1 else "s")


def _month_label(value: dt.date) -> str:
    return value.strftime("%b %Y")


def build_report(session: WarehouseSession) -> Report:
    k = query_rows(session, "report_chinook_key_figures")[0]
    period = f"{k['first_day']} – {k['last_day']}" if k["first_day"] else "no sales loaded"
    report = Report(
        system=SYSTEM,
        title="Chinook sales report",
        subtitle=f"Invoices from {period} ({k['sales_days'] or 0} days with sales), "
        "from the marts in schema chinook.",
        figures=[
            KeyFigure("revenue", "revenue", number(k["revenue"]), money(k["revenue"])),
            KeyFigure("invoices", "invoices", number(k["invoices"]), count(k["invoices"])),
            KeyFigure(
                "customers", "customers who bought", number(k["customers"]), count(k["customers"])
            ),
            KeyFigure(
                "average_order_value",
                "average order",
                number(k["average_order_value"]),
                money(k["average_order_value"]),
            ),
            KeyFigure(
                "average_lifetime_value",
                "average customer lifetime value",
                number(k["average_lifetime_value"]),
                money(k["average_lifetime_value"]),
            ),
        ],
    )

    monthly = query_rows(session, "report_chinook_revenue_per_month")
    section = Section(
        "Revenue per month",
        note=f"Invoice totals per calendar month, {period} (the first and last months may be "
        "partial).",
        empty=NO_SALES,
    )
    if monthly:
        section.image = bars(
            [_month_label(r["month_start"]) for r in monthly],
            [number(r["revenue"]) for r in monthly],
            "Revenue per month",
            "Month",
            "Revenue ($)",
            money=True,
        )
        section.alt = "Bar chart of revenue per month"
    report.sections.append(section)

    genres = query_rows(session, "report_chinook_top_genres")
    section = Section(
        "Top genres by revenue", note="The 10 genres with the most revenue.", empty=NO_SALES
    )
    if genres:
        section.image = horizontal_bars(
            [r["genre_name"] for r in genres],
            [number(r["revenue"]) for r in genres],
            "Top genres by revenue",
            "Revenue ($)",
            money=True,
        )
        section.alt = "Horizontal bar chart of revenue by genre"
    report.sections.append(section)

    countries = query_rows(session, "report_chinook_revenue_by_country")
    section = Section(
        "Revenue by country",
        note="Customers' lifetime value by their country (the 15 largest).",
        empty=NO_SALES,
    )
    if countries:
        section.image = horizontal_bars(
            [f"{r['country']} ({_customers(r['customers'])})" for r in countries],
            [number(r["revenue"]) for r in countries],
            "Revenue by customer country",
            "Revenue ($)",
            money=True,
        )
        section.alt = "Horizontal bar chart of revenue by country"
    report.sections.append(section)

    reps = query_rows(session, "report_chinook_support_reps")
    section = Section(
        "Support rep ranking",
        note="Support reps by the revenue of the invoices credited to them.",
        empty=NO_SALES,
    )
    if reps:
        section.image = horizontal_bars(
            [f"#{r['revenue_rank']} {r['full_name']} ({_customers(r['customers'])})" for r in reps],
            [number(r["revenue"]) for r in reps],
            "Support reps by revenue",
            "Revenue ($)",
            money=True,
        )
        section.alt = "Horizontal bar chart of revenue per support rep"
    report.sections.append(section)

    cohorts = query_rows(session, "report_chinook_retention_cohorts")
    section = Section(
        "Customer retention by cohort",
        note="Share of each first-purchase month's customers who bought again N months later "
        "(month 0 is the first purchase: 100 %).",
        empty=NO_SALES,
    )
    if cohorts:
        months = sorted({r["cohort_month"] for r in cohorts})
        horizon = max(r["months_since_first_purchase"] for r in cohorts)
        cells = {
            (r["cohort_month"], r["months_since_first_purchase"]): float(r["retention_rate"]) * 100
            for r in cohorts
        }
        sizes = {r["cohort_month"]: r["cohort_size"] for r in cohorts}
        section.image = heatmap(
            [[cells.get((m, n), float("nan")) for n in range(horizon + 1)] for m in months],
            [f"{_month_label(m)} (n={sizes[m]})" for m in months],
            [str(n) for n in range(horizon + 1)],
            "Customer retention by first-purchase month",
            "Months since first purchase",
            "Cohort (first purchase)",
            "Retention (% of cohort)",
            annotate=lambda v: f"{v:.0f}%",
            vmax=100,
            height=max(2.6, 1.4 + 0.45 * len(months)),
        )
        section.alt = "Heatmap of retention by cohort month and months since first purchase"
    report.sections.append(section)

    segments = query_rows(session, "report_chinook_segments")
    report.sections.append(
        Section(
            "Customer segments",
            note="RFM segments of customers with at least one invoice (rules in the "
            "customer_segments mart).",
            columns=[
                "segment",
                "customers",
                "revenue ($)",
                "average recency (days)",
                "average invoices",
            ],
            rows=[
                [
                    r["segment"],
                    r["customers"],
                    r["revenue"],
                    r["average_recency_days"],
                    r["average_invoices"],
                ]
                for r in segments
            ],
            empty="No customers with invoices yet.",
        )
    )
    return report
