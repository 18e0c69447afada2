"""The PostgreSQL loader against a real PostgreSQL server (``postgres_server`` in conftest.py):
atomic partition replacement over COPY, exact values, and a password that is really required."""

from __future__ import annotations

import datetime as dt
import math
import threading
from decimal import Decimal

import pyarrow as pa
import pytest

from music_dwh.resources.postgres import qmark_to_pyformat
from music_dwh.resources.warehouse import TableWrite, Warehouse, WarehouseError

SCHEMA = pa.schema([("day", pa.date32()), ("n", pa.int64()), ("amount", pa.decimal128(10, 2))])


def _batch(day, values):
    return pa.RecordBatch.from_arrays(
        [
            pa.array([day] * len(values), pa.date32()),
            pa.array(values, pa.int64()),
            pa.array([Decimal(v) / 100 for v in values], pa.decimal128(10, 2)),
        ],
        schema=SCHEMA,
    )


@pytest.fixture
def pg_warehouse(postgres_server) -> Warehouse:
    """A Warehouse resource on a fresh database of the test server."""
    return Warehouse(
        url=postgres_server.url(postgres_server.create_database()),
        password=postgres_server.password,
    )


def test_replacing_a_partition_keeps_the_others_and_exact_decimals(pg_warehouse):
    d1, d2 = dt.date(2018, 11, 1), dt.date(2018, 11, 2)
    with pg_warehouse.session() as s:
        assert s.engine == "postgres"
        s.write([TableWrite("t.facts", SCHEMA, [_batch(d1, [1, 2, 3])], {"day": d1})])
        s.write([TableWrite("t.facts", SCHEMA, [_batch(d2, [4])], {"day": d2})])
        w = TableWrite(
            "t.facts", SCHEMA, [_batch(d1, [7]), _batch(d1, []), _batch(d1, [8])], {"day": d1}
        )
        s.write([w])
        assert w.rows_written == 2
        rows = s.query("select day, n, amount from t.facts order by n")
        assert s.columns("t.facts") == [("day", "date"), ("n", "bigint"), ("amount", "numeric")]
        assert s.query(
            "select numeric_precision, numeric_scale from information_schema.columns "
            "where table_name = 'facts' and column_name = ?",
            ["amount"],
        ) == [(10, 2)]
    assert [(r[0], r[1]) for r in rows] == [(d2, 4), (d1, 7), (d1, 8)]
    assert rows[1][2] == Decimal("0.07") and str(rows[1][2]) == "0.07"


def test_a_failing_load_leaves_the_old_partition_and_raises_the_original_error(pg_warehouse):
    d1, d2 = dt.date(2018, 11, 1), dt.date(2018, 11, 2)

    def exploding():
        yield _batch(d1, [10, 11])  # already COPYed when the next batch fails
        raise RuntimeError("killed mid-load")

    with pg_warehouse.session() as s:
        s.write(
            [
                TableWrite("t.facts", SCHEMA, [_batch(d1, [1, 2])], {"day": d1}),
                TableWrite("t.other", SCHEMA, [_batch(d2, [5])], {"day": d2}),
            ]
        )
        with pytest.raises(RuntimeError, match="killed"):
            # the first write succeeds on its own; the second one's failure undoes both
            s.write(
                [
                    TableWrite("t.other", SCHEMA, [_batch(d2, [6])], {"day": d2}),
                    TableWrite("t.facts", SCHEMA, exploding(), {"day": d1}),
                ]
            )
        assert s.query("select n from t.facts order by n") == [(1,), (2,)]
        assert s.query("select n from t.other order by n") == [(5,)]
        # the session is usable after the rollback
        s.write([TableWrite("t.facts", SCHEMA, [_batch(d1, [3])], {"day": d1})])
        assert s.query("select n from t.facts") == [(3,)]


TEXT_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("text", pa.string()),
        ("x", pa.float64()),
        ("money", pa.decimal128(10, 2)),
        ("at", pa.timestamp("us")),
        ("day", pa.date32()),
        ("flag", pa.bool_()),
    ]
)
TEXTS = [
    "plain",
    "",
    None,
    "a,b,c",
    'say "hi"',
    '"',
    '""',
    "line\nbreak",
    "crlf\r\nend",
    "back\\slash",
    "\\N",
    "NULL",
    "  padded  ",
    "tab\there",
    "Björk — Sigur Rós ✓ 🎵",
    "e\u0301",
    "'single'",
    "?",
    "%s %%",
    ",",
    "\n",
    "a" * 20_000,
]
FLOATS = [
    0.1,
    1 / 3,
    -0.0,
    1e-300,
    5e-324,
    1.7976931348623157e308,
    2.0**53 + 2,
    239.0,
    -1.5e-7,
    math.pi,
]


def test_copy_keeps_every_value_exactly(pg_warehouse):
    n = len(TEXTS)
    floats = (FLOATS * 3)[:n]
    floats[2] = None
    money = [Decimal("0.01"), Decimal("-0.01"), Decimal("99999999.99"), None, Decimal("0.10")] + [
        Decimal(i) for i in range(n - 5)
    ]
    stamps = [dt.datetime(2018, 11, 1, 23, 59, 59, 999999), None] + [
        dt.datetime(1970, 1, 1, 0, 0, i % 60) for i in range(n - 2)
    ]
    days = [dt.date(1, 1, 1), dt.date(9999, 12, 31)] + [dt.date(2018, 11, 1)] * (n - 2)
    flags = [True, False, None] + [i % 2 == 0 for i in range(n - 3)]
    table = pa.table(
        [list(range(n)), TEXTS, floats, money, stamps, days, flags], schema=TEXT_SCHEMA
    )
    # several small batches: each is its own COPY inside the one transaction
    with pg_warehouse.session() as s:
        s.write([TableWrite("t.texts", TEXT_SCHEMA, table.to_batches(max_chunksize=4))])
        rows = s.query("select * from t.texts order by id")
        nulls = s.query(
            "select count(*) filter (where text is null), count(*) filter (where text = '') from t.texts"
        )
    assert [r[1] for r in rows] == TEXTS
    assert nulls == [(1, 1)]
    for got, want in zip([r[2] for r in rows], floats, strict=True):
        assert (got is None and want is None) or (
            got == want and math.copysign(1, got) == math.copysign(1, want)
        )
    assert [r[3] for r in rows] == money
    assert [str(r[3]) for r in rows[:3]] == ["0.01", "-0.01", "99999999.99"]
    assert [r[4] for r in rows] == stamps
    assert [r[5] for r in rows] == days
    assert [r[6] for r in rows] == flags


def test_schema_drift_is_a_clear_error(pg_warehouse):
    with pg_warehouse.session() as s:
        s.write([TableWrite("t.facts", SCHEMA, [_batch(dt.date(2018, 11, 1), [1])])])
        other = pa.schema([("day", pa.date32()), ("m", pa.int64())])
        with pytest.raises(WarehouseError, match="drop table t.facts"):
            s.write([TableWrite("t.facts", other, [])])
        assert s.query("select count(*) from t.facts") == [(1,)]


def test_queries_take_qmark_parameters(pg_warehouse):
    assert (
        qmark_to_pyformat("select '?', \"a?\", ? -- ?\n where x like '%a' and y = ?")
        == "select '?', \"a?\", %s -- ?\n where x like '%%a' and y = %s"
    )
    with pg_warehouse.session() as s:
        s.write([TableWrite("t.facts", SCHEMA, [_batch(dt.date(2018, 11, 1), [1, 250])])])
        assert s.query(
            "select n, '?' from t.facts where day = ? and amount > ? and 'x%' like '%'",
            [dt.date(2018, 11, 1), Decimal("1.00")],
        ) == [(250, "?")]
        table = s.query_arrow("select * from t.facts where n = ?", [250])
        assert table.schema == SCHEMA
        assert table.to_pylist() == [
            {"day": dt.date(2018, 11, 1), "n": 250, "amount": Decimal("2.50")}
        ]
        assert s.query_arrow("select * from t.facts where n < 0").num_rows == 0
        assert s.table_exists("t.facts") and not s.table_exists("t.nope")


def test_partitions_load_in_parallel_sessions(pg_warehouse):
    """Two processes' loads of different days (and the first create table) at the same time."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def load(day: dt.date) -> None:
        try:
            with pg_warehouse.session() as s:
                barrier.wait(timeout=30)
                s.write(
                    [TableWrite("par.facts", SCHEMA, [_batch(day, [day.day] * 1000)], {"day": day})]
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(dt.date(2018, 11, d),)) for d in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with pg_warehouse.session() as s:
        assert s.query("select day, count(*) from par.facts group by day order by day") == [
            (dt.date(2018, 11, d), 1000) for d in range(1, 5)
        ]


def test_the_password_is_required_and_never_in_the_error(postgres_server, monkeypatch, tmp_path):
    from music_dwh_tests.conftest import PASSWORD_VARIABLES

    for name in PASSWORD_VARIABLES:  # nothing for libpq to fall back on
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))
    database = postgres_server.create_database()
    wrong = Warehouse(url=postgres_server.url(database), password="not-the-Password-42")
    with pytest.raises(WarehouseError) as info, wrong.session():
        pass
    message = str(info.value)
    assert "refused the password for user postgres (from MUSIC_DWH_WAREHOUSE_PASSWORD)" in message
    assert "not-the-Password-42" not in message and postgres_server.password not in message
    assert f"postgres@127.0.0.1:{postgres_server.port}/{database}" in message  # says where
    with (
        pytest.raises(WarehouseError, match="asks for a password and none is set"),
        Warehouse(url=postgres_server.url(database)).session(),
    ):
        pass


def test_dbt_gets_the_password_only_as_a_dbt_secret(postgres_server):
    env = Warehouse(url=postgres_server.url("analytics"), password="s3cr3t").dbt_env()
    assert env["DBT_ENV_SECRET_WAREHOUSE_PASSWORD"] == "s3cr3t"
    assert [k for k, v in env.items() if v == "s3cr3t"] == ["DBT_ENV_SECRET_WAREHOUSE_PASSWORD"]
    assert env["MUSIC_DWH_DBT_TARGET"] == "postgres"
    assert (env["MUSIC_DWH_DB_HOST"], env["MUSIC_DWH_DB_PORT"], env["MUSIC_DWH_DB_NAME"]) == (
        "127.0.0.1",
        str(postgres_server.port),
        "analytics",
    )
