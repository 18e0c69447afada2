"""What ``music-dwh load`` says when the raw store delivers no day (``layout_problem``)."""

from __future__ import annotations

import pytest

from music_dwh.sources import layout_problem

EXPECTED = "(expected one file per day like /raw/sparkify/log_data/2018/11/2018-11-01-events.json)"


@pytest.mark.parametrize(
    "root, keys, message",
    [
        ("/raw", None, f"/raw does not exist {EXPECTED}"),
        ("/raw/", [], f"/raw is empty {EXPECTED}"),
        (
            "/data/raw/sparkify",
            ["log_data/2018/11/2018-11-01-events.json", "song_data/A/B/C/TRABC.json"],
            "/data/raw/sparkify is a folder inside the layout: "
            "log_data/2018/11/2018-11-01-events.json belongs at "
            "/data/raw/sparkify/log_data/2018/11/2018-11-01-events.json; set MUSIC_DWH_RAW=/data/raw",
        ),
        (
            "s3://bucket/raw/sparkify/log_data",
            ["2018/11/2018-11-02-events.json"],
            "s3://bucket/raw/sparkify/log_data is a folder inside the layout: "
            "2018/11/2018-11-02-events.json belongs at "
            "s3://bucket/raw/sparkify/log_data/2018/11/2018-11-02-events.json; "
            "set MUSIC_DWH_RAW=s3://bucket/raw",
        ),
        (
            "/raw",
            [
                "sparkify/log_data/2018-11-01-events.json",
                "sparkify/log_data/2018-11-02-events.json",
            ],
            "2 file(s) under /raw/sparkify/log_data/ but none in dated folders, "
            f"e.g. sparkify/log_data/2018-11-01-events.json {EXPECTED}",
        ),
        (
            "/raw",
            ["sparkify/song_data/A/B/C/TRABC.json"],
            f"1 file(s) under /raw/sparkify/ but none in dated folders, "
            f"e.g. sparkify/song_data/A/B/C/TRABC.json {EXPECTED}",
        ),
        (
            "/raw",
            ["chinook/invoices/2021/01/01/invoice.csv", "notes.txt"],
            f"nothing under /raw/sparkify/, only e.g. chinook/invoices/2021/01/01/invoice.csv {EXPECTED}",
        ),
    ],
    ids=["missing", "empty", "one-too-deep", "two-too-deep-s3", "flat", "no-logs", "other-system"],
)
def test_each_raw_layout_mistake_is_named(root, keys, message):
    assert layout_problem("sparkify", root, keys) == message


def test_chinook_names_its_own_layout():
    assert layout_problem("chinook", "/raw/chinook", ["invoices/2021/01/01/invoice.csv"]) == (
        "/raw/chinook is a folder inside the layout: invoices/2021/01/01/invoice.csv belongs at "
        "/raw/chinook/invoices/2021/01/01/invoice.csv; set MUSIC_DWH_RAW=/raw"
    )
