"""The reports' rendering kit (music_dwh/reports/kit.py): escaping, atomic writes, number
formats, and the matplotlib warm-up."""

from __future__ import annotations

import datetime as dt

import pytest

from music_dwh.reports import kit


def test_html_is_escaped_and_written_atomically(tmp_path):
    report = kit.Report(
        system="sparkify",
        title="T <b>",
        subtitle="s & t",
        figures=[kit.KeyFigure("plays", "plays", 3, "3")],
        sections=[
            kit.Section("<script>alert(1)</script>", columns=["a"], rows=[["<i>x</i>"]]),
            kit.Section("Nothing", empty="No data."),
        ],
    )
    page = kit.render_html(report)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;i&gt;x&lt;/i&gt;" in page and "T &lt;b&gt;" in page and "No data." in page
    target = tmp_path / "out" / "r.html"
    kit.write_atomically(target, "first")
    kit.write_atomically(target, page)
    assert target.read_text() == page
    assert [p.name for p in target.parent.iterdir()] == ["r.html"]


def test_a_report_replaces_an_earlier_report_but_never_another_file(tmp_path):
    page = kit.render_html(kit.Report(system="sparkify", title="T", subtitle="s"))
    ours, theirs = tmp_path / "sparkify.html", tmp_path / "chinook.html"
    kit.write_report(ours, page.replace("<h1>", "<h1>old "))
    kit.write_report(ours, page)
    assert ours.read_text() == page
    theirs.write_text("<html>my own chinook notes</html>")
    with pytest.raises(kit.ReportError) as refused:
        kit.write_report(theirs, page)
    assert str(refused.value) == (
        f"{theirs} exists and is not a music_dwh report; move it away or set MUSIC_DWH_REPORTS "
        "to another folder (a report never replaces a file it did not write)"
    )
    assert theirs.read_text() == "<html>my own chinook notes</html>"


def test_report_numbers_read_well():
    from decimal import Decimal

    assert kit.number(Decimal(12)) == 12 and isinstance(kit.number(Decimal(12)), int)
    assert kit.number(Decimal("1.50")) == 1.5
    assert kit.growth(Decimal("0.2500")) == "+25 %" and kit.growth(Decimal("-0.1")) == "-10 %"
    assert kit.cell(Decimal("1063.30")) == "1,063.30" and kit.cell(12345) == "12,345"
    assert kit.cell(dt.date(2021, 1, 2)) == "2021-01-02" and kit.cell(None) == ""


def test_the_warm_up_finishes_before_the_first_chart_and_charts_are_unchanged(monkeypatch):
    """`music-dwh load` warms matplotlib up in a background thread while earlier steps run;
    the first chart waits for it, so no two threads ever draw at once, and the charts are the
    same PNGs as without it."""
    days = [dt.date(2018, 11, 1) + dt.timedelta(days=i) for i in range(7)]
    values = [3, 1, 4, 1, 5, 9, 2]
    cold = kit.line_chart(days, values, "Plays per day", "plays")
    monkeypatch.setattr(kit, "_WARM_UP", None)
    kit.warm_up()
    thread = kit._WARM_UP
    assert thread is not None and thread.daemon
    kit.warm_up()  # once per process
    assert kit._WARM_UP is thread
    warm = kit.line_chart(days, values, "Plays per day", "plays")
    assert not thread.is_alive()  # joined before drawing
    assert warm == cold and warm.startswith(b"\x89PNG")
