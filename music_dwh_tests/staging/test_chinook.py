"""Chinook staging: CSV rows staged or quarantined with a reason; money exact; days atomic."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from music_dwh.staging import chinook as staging

DAY = dt.date(2021, 1, 2)
INVOICE_HEADER = "invoice_id,customer_id,invoice_date,billing_address,billing_city,billing_state,billing_country,billing_postal_code,total"
LINE_HEADER = "invoice_line_id,invoice_id,track_id,unit_price,quantity"
TRACK_HEADER = "track_id,name,album_id,media_type_id,genre_id,composer,milliseconds,bytes,unit_price"


def write_day(store, invoices: list[str], lines: list[str], inv_header=INVOICE_HEADER):
    base = f"chinook/invoices/{DAY:%Y/%m/%d}/"
    store.write_bytes(base + "invoice.csv", ("\n".join([inv_header, *invoices]) + "\n").encode())
    store.write_bytes(base + "invoice_line.csv", ("\n".join([LINE_HEADER, *lines]) + "\n").encode())


def load_day(store, warehouse, tracks=frozenset({1, 2}), customers=frozenset({7})):
    with warehouse.session() as s:
        inv, lines = staging.load_invoice_day(store, s, DAY, 1.0, set(tracks), set(customers))
        staged_inv = s.query("select invoice_id, total from chinook.staging_invoice order by 1")
        staged_lines = s.query("select invoice_line_id, unit_price, quantity from chinook.staging_invoice_line order by 1")
        quarantine = s.query(
            "select target_table, line_number, reason from chinook.quarantine order by target_table, line_number")
    for stats in (inv, lines):
        assert stats.reconciles
    return staged_inv, staged_lines, quarantine


GOOD_INVOICE = "1,7,2021-01-02 00:00:00,Theodor-Heuss-Straße 34,Stuttgart,,Germany,70174,1.98"


def test_a_good_day_is_staged_to_the_cent(store, warehouse):
    write_day(store, [GOOD_INVOICE], ["1,1,1,0.99,1", "2,1,2,0.99,1"])
    inv, lines, quarantine = load_day(store, warehouse)
    assert inv == [(1, Decimal("1.98"))]
    assert lines == [(1, Decimal("0.99"), 1), (2, Decimal("0.99"), 1)]
    assert quarantine == []


@pytest.mark.parametrize(
    "bad_line, reason",
    [
        ("2,1,2,0.99", "4 fields, expected 5"),
        ("2,1,2,0.99,1,extra", "6 fields, expected 5"),
        ("2,1,2,abc,1", "column 'unit_price': 'abc' is not an amount"),
        ("2,1,2,0.999,1", "not an amount with at most two decimals"),
        ("2,1,2,0.99,-1", "column 'quantity': -1 is negative"),
        ("2,1,2,0.99,one", "column 'quantity': 'one' is not a whole number"),
        ("2,9,2,0.99,1", "invoice_id 9 is not in this day's invoice file"),
        ("2,1,99,0.99,1", "track_id 99 is not in the track snapshot"),
        ("1,1,2,0.99,1", "duplicate invoice_line_id 1 (first at line 2)"),
    ],
)
def test_bad_lines_are_quarantined(store, warehouse, bad_line, reason):
    # The invoice total counts only the good line, so only the bad line is set aside.
    write_day(store, ["1,7,2021-01-02 00:00:00,a,b,,c,d,0.99"], ["1,1,1,0.99,1", bad_line])
    inv, lines, quarantine = load_day(store, warehouse)
    assert inv == [(1, Decimal("0.99"))] and [r[0] for r in lines] == [1]
    assert quarantine == [("staging_invoice_line", 3, quarantine[0][2])]
    assert reason in quarantine[0][2]


def test_an_invoice_whose_total_differs_waits_in_quarantine_with_its_lines(store, warehouse):
    write_day(store, [GOOD_INVOICE, "2,7,2021-01-02 00:00:00,a,b,,c,d,5.00"],
              ["1,1,1,0.99,1", "2,1,2,0.99,1", "3,2,1,1.99,2"])
    inv, lines, quarantine = load_day(store, warehouse)
    assert inv == [(1, Decimal("1.98"))] and [r[0] for r in lines] == [1, 2]
    assert quarantine == [
        ("staging_invoice", 3, "total 5.00 differs from the sum of its lines 3.98"),
        ("staging_invoice_line", 4, "its invoice 2 is quarantined (total differs from its lines)"),
    ]


def test_a_header_that_does_not_match_quarantines_the_file(store, warehouse):
    swapped = INVOICE_HEADER.replace("customer_id,invoice_id", "x").replace("invoice_id,customer_id", "customer_id,invoice_id")
    write_day(store, [GOOD_INVOICE], ["1,1,1,0.99,1"], inv_header=swapped)
    inv, lines, quarantine = load_day(store, warehouse)
    assert inv == [] and lines == []
    assert quarantine[0][:2] == ("staging_invoice", 2) and "does not match the expected columns" in quarantine[0][2]
    assert quarantine[1] == ("staging_invoice_line", 2, "invoice_id 1 is not in this day's invoice file")


def test_unknown_customer_and_wrong_day(store, warehouse):
    write_day(store, ["1,8,2021-01-02 00:00:00,a,b,,c,d,0.00", "2,7,2021-01-03 00:00:00,a,b,,c,d,0.00"], [])
    inv, _, quarantine = load_day(store, warehouse)
    assert inv == []
    assert [r[2] for r in quarantine] == [
        "customer_id 8 is not in the customer snapshot",
        "invoice_date 2021-01-03 00:00:00 is not the folder's day 2021-01-02",
    ]


def test_a_day_without_sales_is_an_empty_partition(store, warehouse):
    write_day(store, [GOOD_INVOICE], ["1,1,1,0.99,1", "2,1,2,0.99,1"])
    load_day(store, warehouse)
    store.delete_prefix("chinook/invoices/")
    inv, lines, quarantine = load_day(store, warehouse)
    assert (inv, lines, quarantine) == ([], [], [])


def test_reference_snapshot_with_quoted_fields_and_bad_rows(store, warehouse):
    store.write_bytes("chinook/reference/track.csv", "\n".join([
        TRACK_HEADER,
        '1,"For Those About To Rock (We Salute You)",1,1,1,"Angus Young, Malcolm Young, Brian Johnson",343719,11170334,0.99',
        "2,Balls to the Wall,2,2,1,,342562,5510424,0.99",
        "3,,3,2,1,,230619,3990994,0.99",
        "4,Restless and Wild,3,2,1,,252051,4331779,-0.99",
    ]).encode() + b"\n")
    with warehouse.session() as s:
        stats = staging.load_reference_table(store, s, "track", 1.0)
        rows = s.query("select track_id, name, composer, unit_price from chinook.staging_track order by 1")
        reasons = s.query("select line_number, reason, raw_text from chinook.quarantine order by 1")
    assert rows == [
        (1, "For Those About To Rock (We Salute You)", "Angus Young, Malcolm Young, Brian Johnson", Decimal("0.99")),
        (2, "Balls to the Wall", None, Decimal("0.99")),
    ]
    assert [(n, r) for n, r, _ in reasons] == [(4, "column 'name' is empty"), (5, "column 'unit_price': -0.99 is negative")]
    assert reasons[0][2] == "3,,3,2,1,,230619,3990994,0.99"
    assert stats.reconciles and stats.records == 4
