"""Chinook staging: CSV rows staged or quarantined with a reason; money exact; days atomic."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from music_dwh.staging import chinook as staging

DAY = dt.date(2021, 1, 2)
INVOICE_HEADER = (
    "invoice_id,customer_id,invoice_date,billing_address,billing_city,billing_state,"
    "billing_country,billing_postal_code,total"
)
LINE_HEADER = "invoice_line_id,invoice_id,track_id,unit_price,quantity"
TRACK_HEADER = (
    "track_id,name,album_id,media_type_id,genre_id,composer,milliseconds,bytes,unit_price"
)


def write_day(store, invoices: list[str], lines: list[str], inv_header=INVOICE_HEADER):
    base = f"chinook/invoices/{DAY:%Y/%m/%d}/"
    store.write_bytes(base + "invoice.csv", ("\n".join([inv_header, *invoices]) + "\n").encode())
    store.write_bytes(base + "invoice_line.csv", ("\n".join([LINE_HEADER, *lines]) + "\n").encode())


def load_day(store, warehouse, tracks=frozenset({1, 2}), customers=frozenset({7})):
    with warehouse.session() as s:
        inv, lines = staging.load_invoice_day(store, s, DAY, 1.0, set(tracks), set(customers))
        staged_inv = s.query("select invoice_id, total from chinook.staging_invoice order by 1")
        staged_lines = s.query(
            "select invoice_line_id, unit_price, quantity from chinook.staging_invoice_line order by 1"
        )
        quarantine = s.query(
            "select target_table, line_number, reason from chinook.quarantine order by target_table, line_number"
        )
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
        # Physical ranges: values no real sale can have, each named with its accepted range.
        (
            "2,1,2,1000.00,1",
            "column 'unit_price': 1000.00 is out of range (accepted: 0.00 to 999.99)",
        ),
        ("2,1,2,1e30,1", "column 'unit_price': 1e30 is out of range (accepted: 0.00 to 999.99)"),
        ("2,1,2,0.99,0", "column 'quantity': 0 is out of range (accepted: 1 to 1,000)"),
        ("2,1,2,0.99,1001", "column 'quantity': 1001 is out of range (accepted: 1 to 1,000)"),
        (
            "2,1,2,0.99,99999999999999999999",
            "column 'quantity': 99999999999999999999 is out of range",
        ),
        (
            "2,1,2147483648,0.99,1",
            "column 'track_id': 2147483648 is out of range (accepted: 1 to 2,147,483,647)",
        ),
        (
            "0,1,2,0.99,1",
            "column 'invoice_line_id': 0 is out of range (accepted: 1 to 2,147,483,647)",
        ),
        ("2," + "9" * 60 + ",2,0.99,1", "column 'invoice_id': " + "9" * 40 + "… is out of range"),
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
    write_day(
        store,
        [GOOD_INVOICE, "2,7,2021-01-02 00:00:00,a,b,,c,d,5.00"],
        ["1,1,1,0.99,1", "2,1,2,0.99,1", "3,2,1,1.99,2"],
    )
    inv, lines, quarantine = load_day(store, warehouse)
    assert inv == [(1, Decimal("1.98"))] and [r[0] for r in lines] == [1, 2]
    assert quarantine == [
        ("staging_invoice", 3, "total 5.00 differs from the sum of its lines 3.98"),
        ("staging_invoice_line", 4, "its invoice 2 is quarantined (total differs from its lines)"),
    ]


@pytest.mark.parametrize(
    "bad_invoice, reason",
    [
        (
            "2,7,2021-01-02 00:00:00,a,b,,c,d,1000000.00",
            "column 'total': 1000000.00 is out of range (accepted: 0.00 to 999,999.99)",
        ),
        ("2,7,2021-01-02 00:00:00,a,b,,c,d,-1.00", "column 'total': -1.00 is out of range"),
        ("2,7,2021-01-02 00:00:00,a,b,,c,d,1E+400", "column 'total': 1E+400 is out of range"),
        ("2,0,2021-01-02 00:00:00,a,b,,c,d,0.99", "column 'customer_id': 0 is out of range"),
        (
            "2147483648,7,2021-01-02 00:00:00,a,b,,c,d,0.99",
            "column 'invoice_id': 2147483648 is out of range",
        ),
        (
            "2,7,9999-01-02 00:00:00,a,b,,c,d,0.99",
            "column 'invoice_date': 9999-01-02 00:00:00 is out of range (accepted: 2000-01-01 to 2099-12-31)",
        ),
        (
            "2,7,1999-12-31 23:59:59,a,b,,c,d,0.99",
            "column 'invoice_date': 1999-12-31 23:59:59 is out of range",
        ),
        (
            "2,7,2021-01-02T00:00:00+05:00,a,b,,c,d,0.99",
            "column 'invoice_date': '2021-01-02T00:00:00+05:00' is not a date-time (YYYY-MM-DD HH:MM:SS)",
        ),
        (
            "2,7,2021-01-02 00:00:00,a\x00b,b,,c,d,0.99",
            "column 'billing_address': text contains a NUL character (U+0000), which PostgreSQL",
        ),
    ],
)
def test_invoices_out_of_their_physical_range_are_quarantined(
    store, warehouse, bad_invoice, reason
):
    write_day(store, ["1,7,2021-01-02 00:00:00,a,b,,c,d,0.99", bad_invoice], ["1,1,1,0.99,1"])
    inv, lines, quarantine = load_day(store, warehouse)
    assert inv == [(1, Decimal("0.99"))] and [r[0] for r in lines] == [1]
    assert quarantine == [("staging_invoice", 3, quarantine[0][2])]
    assert quarantine[0][2].startswith(reason)


def test_sales_at_the_edges_of_the_ranges_are_staged(store, warehouse):
    # The largest line (999.99 x 1,000) and an invoice of it; the last key; the last day.
    write_day(
        store,
        [f"{2**31 - 1},7,2021-01-02 23:59:59,a,b,,c,d,999990.00"],
        [f"{2**31 - 1},{2**31 - 1},1,999.99,1000"],
    )
    inv, lines, quarantine = load_day(store, warehouse)
    assert quarantine == []
    assert inv == [(2**31 - 1, Decimal("999990.00"))] and lines == [
        (2**31 - 1, Decimal("999.99"), 1000)
    ]


def test_a_header_that_does_not_match_quarantines_the_file(store, warehouse):
    swapped = INVOICE_HEADER.replace("customer_id,invoice_id", "x").replace(
        "invoice_id,customer_id", "customer_id,invoice_id"
    )
    write_day(store, [GOOD_INVOICE], ["1,1,1,0.99,1"], inv_header=swapped)
    inv, lines, quarantine = load_day(store, warehouse)
    assert inv == [] and lines == []
    assert (
        quarantine[0][:2] == ("staging_invoice", 2)
        and "does not match the expected columns" in quarantine[0][2]
    )
    assert quarantine[1] == (
        "staging_invoice_line",
        2,
        "invoice_id 1 is not in this day's invoice file",
    )


def test_unknown_customer_and_wrong_day(store, warehouse):
    write_day(
        store,
        ["1,8,2021-01-02 00:00:00,a,b,,c,d,0.00", "2,7,2021-01-03 00:00:00,a,b,,c,d,0.00"],
        [],
    )
    inv, _, quarantine = load_day(store, warehouse)
    assert inv == []
    assert [r[2] for r in quarantine] == [
        "customer_id 8 is not in the customer snapshot",
        "invoice_date 2021-01-03 00:00:00 is not the folder's day 2021-01-02",
    ]


def test_a_day_without_sales_is_an_empty_partition(store, warehouse):
    write_day(store, [GOOD_INVOICE], ["1,1,1,0.99,1", "2,1,2,0.99,1"])
    load_day(store, warehouse)
    store.delete_keys([o.key for o in store.list("chinook/invoices/")])
    inv, lines, quarantine = load_day(store, warehouse)
    assert (inv, lines, quarantine) == ([], [], [])


def test_a_day_over_the_threshold_names_the_days_its_transaction_rolled_back(
    store, warehouse, monkeypatch
):
    """Three records a day, four at most a transaction: days 1-2 are written together, then
    day 3. Day 2 over the threshold rolls back day 1 too; day 3 is never written."""
    from music_dwh.staging.common import QuarantineThresholdExceeded

    days = [DAY + dt.timedelta(days=n) for n in range(3)]
    for n, day in enumerate(days):
        invoice = f"{n + 1},7,{day} 00:00:00,a,b,,c,d,1.98"
        good = [f"{2 * n + 1},{n + 1},1,0.99,1", f"{2 * n + 2},{n + 1},2,0.99,1"]
        lines = [good[0], f"{2 * n + 2},{n + 1},99,0.99,1"] if n == 1 else good
        base = f"chinook/invoices/{day:%Y/%m/%d}/"
        store.write_bytes(base + "invoice.csv", f"{INVOICE_HEADER}\n{invoice}\n".encode())
        store.write_bytes(base + "invoice_line.csv", "\n".join([LINE_HEADER, *lines]).encode())
    monkeypatch.setattr(staging, "TRANSACTION_RECORDS", 4)
    delivered = staging.invoice_files_by_day(store, days[0], days[-1])
    with warehouse.session() as s:
        with pytest.raises(QuarantineThresholdExceeded) as info:
            staging.load_invoice_days(store, s, days, 0.05, {1, 2}, {7}, delivered)
        assert s.query("select count(*) from chinook.staging_invoice")[0][0] == 0
    assert info.value.transaction_days == days[:2] and info.value.later_days == 1
    assert (
        str(info.value)
        .splitlines()[0]
        .endswith(
            "not staged, their previous rows kept: 2021-01-03, 2021-01-02 (rolled back with it: "
            "the same transaction) and the 1 later day(s) of the run (not tried)."
        )
    )


def test_reference_snapshot_with_quoted_fields_and_bad_rows(store, warehouse):
    store.write_bytes(
        "chinook/reference/track.csv",
        "\n".join(
            [
                TRACK_HEADER,
                '1,"For Those About To Rock (We Salute You)",1,1,1,'
                '"Angus Young, Malcolm Young, Brian Johnson",343719,11170334,0.99',
                "2,Balls to the Wall,2,2,1,,342562,5510424,0.99",
                "3,,3,2,1,,230619,3990994,0.99",
                "4,Restless and Wild,3,2,1,,252051,4331779,-0.99",
            ]
        ).encode()
        + b"\n",
    )
    with warehouse.session() as s:
        stats = staging.load_reference_table(store, s, "track", 1.0)
        rows = s.query(
            "select track_id, name, composer, unit_price from chinook.staging_track order by 1"
        )
        reasons = s.query("select line_number, reason, raw_text from chinook.quarantine order by 1")
    assert rows == [
        (
            1,
            "For Those About To Rock (We Salute You)",
            "Angus Young, Malcolm Young, Brian Johnson",
            Decimal("0.99"),
        ),
        (2, "Balls to the Wall", None, Decimal("0.99")),
    ]
    assert [(n, r) for n, r, _ in reasons] == [
        (4, "column 'name' is empty"),
        (5, "column 'unit_price': -0.99 is negative"),
    ]
    assert reasons[0][2] == "3,,3,2,1,,230619,3990994,0.99"
    assert stats.reconciles and stats.records == 4


def test_reference_rows_out_of_their_physical_range_are_quarantined(store, warehouse):
    tracks = [
        TRACK_HEADER,
        "1,Longest Possible,1,1,1,,86400000,1000000000000,999.99",
        "2,Longer Than A Day,1,1,1,,86400001,5510424,0.99",
        "3,A Petabyte,1,1,1,,342562,1000000000001,0.99",
        "4,Too Dear,1,1,1,,342562,5510424,1000.00",
        "5,No Genre Id,1,1,0,,342562,5510424,0.99",
    ]
    employees = [
        "employee_id,last_name,first_name,title,reports_to,birth_date,hire_date,address,city,state,"
        + "country,postal_code,phone,fax,email",
        "1,Adams,Andrew,General Manager,,1962-02-18 00:00:00,2002-08-14 00:00:00,a,b,c,d,e,f,g,h",
        "2,Old,Very,Agent,1,1899-12-31 00:00:00,2002-08-14 00:00:00,a,b,c,d,e,f,g,h",
        "3,Future,Hire,Agent,1,1962-02-18 00:00:00,2100-01-01 00:00:00,a,b,c,d,e,f,g,h",
        "4,Nobody,Reports,Agent,-1,1962-02-18 00:00:00,2002-08-14 00:00:00,a,b,c,d,e,f,g,h",
    ]
    store.write_bytes("chinook/reference/track.csv", ("\n".join(tracks) + "\n").encode())
    store.write_bytes("chinook/reference/employee.csv", ("\n".join(employees) + "\n").encode())
    with warehouse.session() as s:
        track_stats = staging.load_reference_table(store, s, "track", 1.0)
        employee_stats = staging.load_reference_table(store, s, "employee", 1.0)
        staged = s.query(
            "select track_id from chinook.staging_track union all "
            "select employee_id from chinook.staging_employee"
        )
        reasons = s.query(
            "select target_table, line_number, reason from chinook.quarantine order by 1, 2"
        )
    assert staged == [(1,), (1,)]
    assert reasons == [
        (
            "staging_employee",
            3,
            "column 'birth_date': 1899-12-31 00:00:00 is out of range (accepted: 1900-01-01 to 2099-12-31)",
        ),
        (
            "staging_employee",
            4,
            "column 'hire_date': 2100-01-01 00:00:00 is out of range (accepted: 1900-01-01 to 2099-12-31)",
        ),
        (
            "staging_employee",
            5,
            "column 'reports_to': -1 is out of range (accepted: 1 to 2,147,483,647)",
        ),
        (
            "staging_track",
            3,
            "column 'milliseconds': 86400001 is out of range (accepted: 0 to 86,400,000 (one day))",
        ),
        (
            "staging_track",
            4,
            "column 'bytes': 1000000000001 is out of range (accepted: 0 to 1,000,000,000,000 (1 TB))",
        ),
        (
            "staging_track",
            5,
            "column 'unit_price': 1000.00 is out of range (accepted: 0.00 to 999.99)",
        ),
        ("staging_track", 6, "column 'genre_id': 0 is out of range (accepted: 1 to 2,147,483,647)"),
    ]
    assert track_stats.reconciles and employee_stats.reconciles
    assert (track_stats.records, employee_stats.records) == (5, 4)
