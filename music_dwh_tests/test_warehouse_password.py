"""The warehouse password is optional, and a configuration mistake is one line.

* Unset ``MUSIC_DWH_WAREHOUSE_PASSWORD`` means no password: libpq's own sources apply
  (``PGPASSWORD``, the password file ``PGPASSFILE``/``~/.pgpass``, or none at all for trust and
  peer authentication). Proven against the real password-protected server (``postgres_server``)
  for each part that connects: the loader's session, dbt and great-expectations.
* A wrong or unreachable warehouse, through ``music-dwh``: one line on stderr naming the setting
  and what to do, exit status 2, no traceback.

(The public Sparkify month on a trust-authentication server without any password is in
``acceptance/test_public_samples.py``.)
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import pytest

from music_dwh.resources.warehouse import Warehouse, WarehouseError, libpq_password, pgpass_lookup
from music_dwh.settings import WarehouseTarget, parse_warehouse_url
from music_dwh_tests.conftest import (
    BIN,
    PASSWORD_VARIABLES,
    REPO_ROOT,
    free_port,
    without_passwords,
)

URL = "postgresql://postgres@127.0.0.1:5432/dwh"


def _pgpass(folder: Path, text: str, mode: int = 0o600) -> Path:
    path = folder / "pgpass"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def no_passwords(monkeypatch, tmp_path):
    """This process without any password source for libpq (see ``without_passwords``)."""
    for name in PASSWORD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))


# ---------------------------------------------------------------------------- where a password comes from
def test_the_password_file_is_read_as_libpq_reads_it(tmp_path):
    target = WarehouseTarget(
        url="", engine="postgres", host="db.example", port=6432, user="dw:user", database="sales"
    )
    lines = [
        "# a comment",
        "db.example:6432:other:dw\\:user:not-this-database",
        "db.example:5432:*:dw\\:user:not-this-port",
        "db.example:6432:*:dw\\:user:p\\:w\\\\d:trailing field",
        "*:*:*:*:too-late",
    ]
    path = _pgpass(tmp_path, "\n".join(lines) + "\n")
    env = {"PGPASSFILE": str(path)}
    assert pgpass_lookup(target, env) == "p:w\\d"
    assert libpq_password(target, None, env) == ("p:w\\d", f"the password file {path}")
    # libpq's order: the setting, then PGPASSWORD, then the file.
    assert libpq_password(target, None, {**env, "PGPASSWORD": "pgpw"}) == ("pgpw", "PGPASSWORD")
    assert libpq_password(target, "set", {**env, "PGPASSWORD": "pgpw"}) == (
        "set",
        "MUSIC_DWH_WAREHOUSE_PASSWORD",
    )
    # Wildcards, and a file others may read is ignored (libpq ignores it too).
    assert pgpass_lookup(parse_warehouse_url("postgresql://x@h:1/d"), env) == "too-late"
    path.chmod(0o644)
    assert libpq_password(target, None, env) == (None, None)
    assert libpq_password(target, None, {"PGPASSFILE": str(tmp_path / "missing")}) == (None, None)


def test_dbt_gets_the_password_libpq_would_use(tmp_path, no_passwords, monkeypatch):
    """dbt-postgres hands libpq '' when the profile has no password, which hides PGPASSWORD (the
    password file still applies); dbt-redshift reads neither: dbt gets them as a dbt secret."""
    secret = "DBT_ENV_SECRET_WAREHOUSE_PASSWORD"
    assert secret not in Warehouse(url=URL).dbt_env()
    assert Warehouse(url=URL, password="set").dbt_env()[secret] == "set"
    monkeypatch.setenv("PGPASSWORD", "from-env")
    assert Warehouse(url=URL).dbt_env()[secret] == "from-env"
    assert Warehouse(url=URL, password="set").dbt_env()[secret] == "set"
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("PGPASSFILE", str(_pgpass(tmp_path, "*:*:*:*:from-file\n")))
    assert secret not in Warehouse(url=URL).dbt_env()  # libpq reads the file itself
    assert (
        Warehouse(url="redshift://awsuser@cluster.example:5439/dev").dbt_env()[secret]
        == "from-file"
    )


def test_the_definitions_pass_the_password_only_when_it_is_set():
    """Unset (or empty) → None, never an EnvVar that fails the run; set → a Dagster EnvVar."""
    code = (
        "from dagster import EnvVar\n"
        "from music_dwh.definitions import defs\n"
        "p = defs.resources['warehouse'].password\n"
        "print('envvar' if isinstance(p, EnvVar) else repr(p))\n"
    )
    seen = {}
    for name, value in (("unset", None), ("empty", ""), ("set", "s3cr3t")):
        env = {k: v for k, v in os.environ.items() if k not in PASSWORD_VARIABLES}
        env["MUSIC_DWH_WAREHOUSE"] = URL
        if value is not None:
            env["MUSIC_DWH_WAREHOUSE_PASSWORD"] = value
        proc = subprocess.run(
            [str(BIN / "python"), "-c", code],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        seen[name] = proc.stdout.strip().splitlines()[-1]
    assert seen == {"unset": "None", "empty": "None", "set": "envvar"}


# ---------------------------------------------------------------------------- against a server that wants one
@pytest.fixture
def pg_database(postgres_server):
    """A fresh database holding a small table, on the password-protected server."""
    database = postgres_server.create_database()
    con = postgres_server.connect(database)
    with con, con.cursor() as cur:
        cur.execute("create schema t; create table t.days (day date not null, n int not null)")
        cur.execute("insert into t.days values ('2018-11-01', 1), ('2018-11-02', 2)")
    con.close()
    return database


@pytest.mark.parametrize("source", ["PGPASSWORD", "PGPASSFILE"])
def test_without_the_setting_every_client_uses_libpqs_password(
    source, postgres_server, pg_database, no_passwords, monkeypatch, tmp_path
):
    """MUSIC_DWH_WAREHOUSE_PASSWORD unset, the password in PGPASSWORD or in a password file: the
    loader's session, dbt and great-expectations all connect."""
    if source == "PGPASSWORD":
        monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    else:
        line = f"{postgres_server.host}:{postgres_server.port}:*:{postgres_server.user}:{postgres_server.password}\n"
        monkeypatch.setenv("PGPASSFILE", str(_pgpass(tmp_path, line)))
    warehouse = Warehouse(url=postgres_server.url(pg_database))
    assert warehouse.password is None

    # The loader's session.
    warehouse.check_connection()
    with warehouse.session() as session:
        assert session.query("select current_user, current_database()") == [
            ("postgres", pg_database)
        ]

    # dbt, with the environment the run gives it.
    env = {**os.environ, **warehouse.dbt_env(), "DO_NOT_TRACK": "1"}
    sql = REPO_ROOT / "sql"
    proc = subprocess.run(
        [
            str(BIN / "dbt"),
            "debug",
            "--connection",
            "--project-dir",
            str(sql),
            "--profiles-dir",
            str(sql),
            "--log-path",
            str(tmp_path / "dbt-logs"),
        ],
        cwd=sql,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "OK connection ok" in proc.stdout, (
        proc.stdout[-3000:] + proc.stderr[-3000:]
    )
    assert postgres_server.password not in proc.stdout + proc.stderr

    # great-expectations' SQL datasource (a fresh GX context: no engine kept from another test).
    from music_dwh.checks import expectations as ex
    from music_dwh.checks.gx_validation import _gx_context

    _gx_context.cache_clear()
    suite = ex.Suite(
        name=f"password_{source.lower()}",
        table="t.days",
        blocking=True,
        partition_column="day",
        expectations=(ex.Expect("ExpectColumnValuesToNotBeNull", {"column": "n"}),),
    )
    with warehouse.session() as session:
        result = ex.run_suite(
            suite, warehouse, session, [dt.date(2018, 11, 1), dt.date(2018, 11, 2)]
        )
    _gx_context.cache_clear()
    rows = result.metadata["rows_validated"]
    assert result.passed and getattr(rows, "value", rows) == 2


def test_connection_errors_say_which_password_was_refused(
    postgres_server, pg_database, no_passwords, monkeypatch, tmp_path
):
    url = postgres_server.url(pg_database)
    with pytest.raises(WarehouseError) as info:
        Warehouse(url=url).check_connection()
    assert "asks for a password and none is set: set MUSIC_DWH_WAREHOUSE_PASSWORD" in str(
        info.value
    )
    assert "PGPASSWORD" in str(info.value) and "~/.pgpass" in str(info.value)

    monkeypatch.setenv("PGPASSWORD", "wrong-From-Env-1")
    with pytest.raises(WarehouseError) as info:
        Warehouse(url=url).check_connection()
    assert "refused the password for user postgres (from PGPASSWORD): correct PGPASSWORD" in str(
        info.value
    )
    # The setting wins over PGPASSWORD, as in libpq.
    Warehouse(url=url, password=postgres_server.password).check_connection()

    monkeypatch.delenv("PGPASSWORD")
    path = _pgpass(tmp_path, "*:*:*:*:wrong-In-File-2\n")
    monkeypatch.setenv("PGPASSFILE", str(path))
    with pytest.raises(WarehouseError) as info:
        Warehouse(url=url).check_connection()
    assert f"(from the password file {path})" in str(info.value)
    for message in (str(info.value),):
        assert (
            "\n" not in message
            and "wrong-" not in message
            and postgres_server.password not in message
        )


# ---------------------------------------------------------------------------- mistakes through music-dwh
@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    subprocess.run(
        [
            str(BIN / "music-dwh"),
            "generate",
            "sparkify",
            "--days",
            "1",
            "--events-per-day",
            "60",
            "--songs",
            "60",
            "--out",
            str(raw),
        ],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return raw


def _music_dwh(
    tmp_path: Path, raw: Path, url: str, *args: str, **env: str
) -> subprocess.CompletedProcess:
    base = without_passwords(dict(os.environ), tmp_path)
    base.update(
        MUSIC_DWH_RAW=str(raw),
        MUSIC_DWH_WAREHOUSE=url,
        DAGSTER_HOME=str(tmp_path / "dagster"),
        MUSIC_DWH_REPORTS=str(tmp_path / "reports"),
        DO_NOT_TRACK="1",
        GX_ANALYTICS_ENABLED="false",
    )
    return subprocess.run(
        [str(BIN / "music-dwh"), *args],
        cwd=REPO_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _mistakes(postgres_server) -> dict[str, tuple[str, dict, str]]:
    """name → (warehouse URL, extra environment, what the one line must say)."""
    good = postgres_server.url()
    return {
        "not a warehouse URL": (
            "mysql://root@127.0.0.1/dwh",
            {},
            r"MUSIC_DWH_WAREHOUSE='mysql://root@127\.0\.0\.1/dwh' is not a supported warehouse URL; use",
        ),
        "password in the URL": (
            f"postgresql://postgres:hunter2@127.0.0.1:{postgres_server.port}/postgres",
            {},
            "must not contain a password; put it in MUSIC_DWH_WAREHOUSE_PASSWORD",
        ),
        "not a port": (
            "postgresql://postgres@127.0.0.1:54x/postgres",
            {},
            "MUSIC_DWH_WAREHOUSE='postgresql://postgres@127.0.0.1:54x/postgres' has no valid port",
        ),
        "nothing listens": (
            f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
            {},
            r"cannot reach the warehouse at 127\.0\.0\.1:\d+ \(Connection refused\): correct the "
            "host and port in MUSIC_DWH_WAREHOUSE or start the server",
        ),
        "unknown host": (
            "postgresql://postgres@warehouse.invalid:5432/postgres",
            {},
            "cannot reach the warehouse at warehouse.invalid:5432 .*correct the host and port in "
            "MUSIC_DWH_WAREHOUSE",
        ),
        "wrong password": (
            good,
            {"MUSIC_DWH_WAREHOUSE_PASSWORD": "hunter2-Wrong"},
            "refused the password for user postgres \\(from MUSIC_DWH_WAREHOUSE_PASSWORD\\): "
            "correct MUSIC_DWH_WAREHOUSE_PASSWORD",
        ),
        "no password": (
            good,
            {},
            "asks for a password and none is set: set MUSIC_DWH_WAREHOUSE_PASSWORD",
        ),
        "no such database": (
            postgres_server.url("no_such_db"),
            {"PGPASSWORD": postgres_server.password},
            "the database no_such_db does not exist on 127.0.0.1:\\d+: create it",
        ),
    }


def _assert_one_line(
    proc: subprocess.CompletedProcess, expected: str, secrets: tuple[str, ...]
) -> None:
    assert proc.returncode == 2, (
        f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    assert "Traceback" not in proc.stderr and "Stack Trace" not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("music-dwh: "), proc.stderr[-3000:]
    assert re.search(expected, lines[0]), lines[0]
    assert not any(s in proc.stdout + proc.stderr for s in secrets)


MISTAKES = [
    "not a warehouse URL",
    "password in the URL",
    "not a port",
    "nothing listens",
    "unknown host",
    "wrong password",
    "no password",
    "no such database",
]


@pytest.mark.e2e
@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_warehouse_mistake_is_one_line_from_summary(mistake, postgres_server, raw, tmp_path):
    url, env, expected = _mistakes(postgres_server)[mistake]
    proc = _music_dwh(tmp_path, raw, url, "summary", **env)
    _assert_one_line(proc, expected, ("hunter2", postgres_server.password))


@pytest.mark.e2e
@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_warehouse_mistake_is_one_line_from_load(mistake, postgres_server, raw, tmp_path):
    url, env, expected = _mistakes(postgres_server)[mistake]
    proc = _music_dwh(tmp_path, raw, url, "load", "sparkify", **env)
    _assert_one_line(proc, expected, ("hunter2", postgres_server.password))


@pytest.mark.e2e
def test_load_with_the_password_only_in_pgpassword(postgres_server, raw, tmp_path):
    """A whole run (staging, dbt build, expectation suites) with MUSIC_DWH_WAREHOUSE_PASSWORD
    unset and the password in PGPASSWORD."""
    database = postgres_server.create_database()
    proc = _music_dwh(
        tmp_path,
        raw,
        postgres_server.url(database),
        "load",
        "sparkify",
        PGPASSWORD=postgres_server.password,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert re.search(r"sparkify: checks \d+ passed, 0 failed", proc.stdout), proc.stdout[-4000:]
    con = postgres_server.connect(database)
    with con, con.cursor() as cur:
        cur.execute("select count(*) from sparkify.staging_events where page = 'NextSong'")
        plays = cur.fetchone()[0]
        cur.execute("select count(*) from sparkify.songplays")
        assert cur.fetchone()[0] == plays > 0
    con.close()
    # PGPASSWORD's value reached dbt as a dbt secret: printed nowhere, stored nowhere.
    secret = postgres_server.password
    assert secret not in proc.stdout + proc.stderr
    assert [
        p for p in tmp_path.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()
    ] == []
