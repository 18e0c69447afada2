"""Shared fixtures: a private raw store, DuckDB warehouse and Dagster instance per test, the
public samples (skipped with a reason when ../shared is absent) and warehouse snapshots."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.pgserver import LocalPostgres, PostgresUnavailable, free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
BIN = Path(sys.executable).parent

# Tests send SIGINT to `music-dwh` and expect Python's Ctrl-C. A suite started as a background
# job of a non-interactive shell (`make test &`) inherits SIGINT *ignored*, and Python then
# keeps ignoring it in every child: give this process a handler, which exec resets to the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# ---------------------------------------------------------------------------- how the suite runs
# Two xdist workers (pyproject addopts), one test module per work unit so module fixtures (a
# `dagster dev` server, a loaded warehouse) are built once. The end-to-end modules are
# CPU-bound Dagster/dbt processes of 30-150 s each; they start first, slowest first (measured
# with --durations), so that both workers finish together instead of one waiting on a long
# module picked up last. Modules not listed follow in collection order.
SLOWEST_FIRST = [
    "music_dwh_tests/automation/test_event_driven.py",
    "music_dwh_tests/cli/test_supervisor.py",
    "music_dwh_tests/instance/test_launcher.py",
    "music_dwh_tests/bench/test_harness.py",
    "music_dwh_tests/acceptance/test_public_samples.py",
    "music_dwh_tests/test_warehouse_engines.py",
    "music_dwh_tests/sql/test_unit_tests.py",
    "music_dwh_tests/test_backup.py",
    "music_dwh_tests/test_webserver.py",
    "music_dwh_tests/cli/test_load.py",
    "music_dwh_tests/cli/test_sample_data.py",
    "music_dwh_tests/cli/test_run.py",
    "music_dwh_tests/test_warehouse_password.py",
    "music_dwh_tests/test_physical_ranges.py",
    "music_dwh_tests/assets/test_chinook.py",
    "music_dwh_tests/assets/test_dbt.py",
    # These read the session's `loaded_systems`: one work unit, so it is loaded once.
    "music_dwh_tests/assets/test_reports.py",
    "music_dwh_tests/sql/test_sparkify_marts.py",
    "music_dwh_tests/sql/test_chinook_marts.py",
    "music_dwh_tests/checks/test_sparkify.py",
]
SHARED_UNITS = {
    "music_dwh_tests/sql/test_sparkify_marts.py": "music_dwh_tests/assets/test_reports.py",
    "music_dwh_tests/sql/test_chinook_marts.py": "music_dwh_tests/assets/test_reports.py",
}
# Temporary files (DuckDB files, Dagster's SQLite instances, PostgreSQL's data directory) go
# to RAM when the machine has a tmpfs at /dev/shm: the instances fsync on every event.
RAM_TMP = Path("/dev/shm")


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_configure(config: pytest.Config) -> None:
    if config.option.basetemp is None and not hasattr(config, "workerinput") and _ram_tmp_usable():
        import tempfile

        config.option.basetemp = tempfile.mkdtemp(prefix="music-dwh-tests-", dir=RAM_TMP)
        config._music_dwh_ram_tmp = config.option.basetemp


def _ram_tmp_usable() -> bool:
    if (
        os.environ.get("MUSIC_DWH_TESTS_TMP") == "disk"
        or not RAM_TMP.is_dir()
        or not os.access(RAM_TMP, os.W_OK)
    ):
        return False
    stats = os.statvfs(RAM_TMP)
    return stats.f_bavail * stats.f_frsize > 4 * 1024**3  # the suite peaks well below this


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Kept after a failure (the path is printed), removed after a clean run: RAM is not a bin.
    ram_tmp = getattr(session.config, "_music_dwh_ram_tmp", None)
    if ram_tmp and exitstatus == 0:
        import shutil

        shutil.rmtree(ram_tmp, ignore_errors=True)
    elif ram_tmp:
        print(f"\ntest files kept in {ram_tmp}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    stale = [m for m in [*SLOWEST_FIRST, *SHARED_UNITS] if not (REPO_ROOT / m).is_file()]
    if stale:
        raise pytest.UsageError(f"conftest.py names test modules that do not exist: {stale}")
    rank = {module: i for i, module in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(_module(item.nodeid), len(rank)))  # stable: keeps the rest


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = _module(nodeid)
            return SHARED_UNITS.get(module, module)

    return ByModule(config, log)


@dataclass
class Workspace:
    """Where one test's data lives; ``env`` is what a subprocess needs to use it."""

    root: Path
    raw: Path
    warehouse: Path
    dagster_home: Path

    @property
    def warehouse_url(self) -> str:
        return f"duckdb:///{self.warehouse}"  # absolute path → duckdb:////tmp/…

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "MUSIC_DWH_RAW": str(self.raw),
            "MUSIC_DWH_WAREHOUSE": self.warehouse_url,
            "DAGSTER_HOME": str(self.dagster_home),
            "MUSIC_DWH_REPORTS": str(self.root / "reports"),
            "DO_NOT_TRACK": "1",
            "GX_ANALYTICS_ENABLED": "false",
        }

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: int = 600,
        cwd: Path = REPO_ROOT,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        """Run a console script of this venv (``music-dwh``, ``dagster``) against the workspace,
        in ``cwd``, with ``env`` on top of the workspace's environment."""
        proc = subprocess.run(
            [str(BIN / args[0]), *args[1:]],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {proc.returncode}\n"
                f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}"
            )
        return proc


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    ws = Workspace(
        root=tmp_path,
        raw=tmp_path / "raw",
        warehouse=tmp_path / "warehouse.duckdb",
        dagster_home=tmp_path / "dagster",
    )
    ws.raw.mkdir()
    for key, value in ws.env.items():
        if key.startswith(("MUSIC_DWH_", "DAGSTER_HOME")):
            monkeypatch.setenv(key, value)
    return ws


@pytest.fixture
def store(workspace: Workspace):
    from music_dwh.resources.raw_store import open_raw_store

    return open_raw_store(str(workspace.raw))


@pytest.fixture
def warehouse(workspace: Workspace):
    from music_dwh.resources.warehouse import Warehouse

    return Warehouse(url=workspace.warehouse_url)


def require_shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"public sample not found at {path} (the acceptance data lives in ../shared/data beside the checkout)"
        )
    return path


def spoil_log_day(raw: Path, day: str, bad_lines: int = 40) -> Path:
    """Append ``bad_lines`` malformed lines to a generated Sparkify log day: far over the
    default quarantine threshold (5 %) for a small day, so its staging step fails."""
    path = raw / "sparkify/log_data" / day[:4] / day[5:7] / f"{day}-events.json"
    with path.open("ab") as fh:
        fh.write(b"\n" + b"\n".join([b"not json"] * bad_lines))
    return path


def snapshot(
    warehouse_path: Path, schema: str, ignore: tuple[str, ...] = ("loaded_at",)
) -> dict[str, list[tuple]]:
    """Every table of ``schema`` as sorted rows, without load-time columns."""
    import duckdb

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1",
                [schema],
            ).fetchall()
        ]
        result = {}
        for table in tables:
            cols = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if r[0] not in ignore
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            rows = con.execute(f'select {select} from "{schema}"."{table}"').fetchall()
            result[table] = sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))
        return result
    finally:
        con.close()


def query(warehouse_path: Path, sql: str, params: list | None = None) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------------------- servers
# Real servers for the warehouse and S3 tests, started once per test session: a local S3 API
# (moto) and a PostgreSQL instance made with initdb in a temporary directory. Both bind to
# 127.0.0.1 only and are always stopped at the end.


@pytest.fixture(scope="session")
def s3_server():
    """URL of a moto S3 server on 127.0.0.1 (reachable from subprocesses too)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(params=["folder", "s3"])
def folder_or_s3_store(request, tmp_path, monkeypatch):
    """An empty raw store: a folder, or a prefix of a new bucket on the moto server. The AWS
    variables are set, so ``open_raw_store`` and the CLI in this process reach the same bucket."""
    from music_dwh.resources.raw_store import open_raw_store

    if request.param == "folder":
        return open_raw_store(str(tmp_path / "raw"))
    import uuid

    import boto3

    endpoint = request.getfixturevalue("s3_server")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"raw-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return open_raw_store(f"s3://{bucket}/landing", endpoint_url=endpoint, region_name="us-east-1")


def _postgres(**start):
    """Start a PostgreSQL server on 127.0.0.1 (``bench/pgserver.py``, which the benchmark uses
    too), yield it, stop it afterwards."""
    try:
        server = LocalPostgres.start(**start)
    except PostgresUnavailable as exc:
        pytest.fail(f"{exc} (`make test` does this when they are missing)")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on 127.0.0.1 (password required over TCP), stopped at the end."""
    import secrets

    # Distinctive, so the tests can prove it never appears in logs or run storage.
    yield from _postgres(password=f"pg-Secret-{secrets.token_hex(8)}")


@pytest.fixture(scope="session")
def postgres_trust_server():
    """A real PostgreSQL server on 127.0.0.1 that asks TCP clients for no password (trust
    authentication), stopped at the end."""
    yield from _postgres(trust=True)


PASSWORD_VARIABLES = (
    "MUSIC_DWH_WAREHOUSE_PASSWORD",
    "PGPASSWORD",
    "PGPASSFILE",
    "DBT_ENV_SECRET_WAREHOUSE_PASSWORD",
)


def without_passwords(env: dict[str, str], folder: Path) -> dict[str, str]:
    """``env`` with no password for libpq to find: no MUSIC_DWH_WAREHOUSE_PASSWORD, no
    PGPASSWORD, and a password file (``PGPASSFILE``, read instead of ~/.pgpass) that does not
    exist in ``folder``."""
    env = {k: v for k, v in env.items() if k not in PASSWORD_VARIABLES}
    return {**env, "PGPASSFILE": str(folder / "no-such-pgpass")}


# ---------------------------------------------------------------------------- loaded systems
# One small dataset per source system, generated and loaded through `music-dwh load` once per
# test session and shared by the mart and report tests (read-only: tests never write to it).
# The two systems load in parallel into their own DuckDB file and Dagster instance.


@dataclass
class LoadedSystems:
    sparkify: Workspace
    chinook: Workspace

    def report(self, system: str) -> Path:
        return getattr(self, system).root / "reports" / f"{system}.html"


@pytest.fixture(scope="session")
def loaded_systems(tmp_path_factory: pytest.TempPathFactory) -> LoadedSystems:
    root = tmp_path_factory.mktemp("loaded")
    spaces = {}
    for system in ("sparkify", "chinook"):
        base = root / system
        spaces[system] = Workspace(
            root=base,
            raw=base / "raw",
            warehouse=base / "warehouse.duckdb",
            dagster_home=base / "dagster",
        )
        spaces[system].raw.mkdir(parents=True)
    # 7 days from Thursday 2018-11-01: two ISO weeks, and the end of US daylight saving time (Nov 4).
    spaces["sparkify"].run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "7",
        "--events-per-day",
        "300",
        "--songs",
        "120",
        "--out",
        str(spaces["sparkify"].raw),
    )
    # 20 days across a month boundary: two retention cohorts.
    spaces["chinook"].run(
        "music-dwh",
        "generate",
        "chinook",
        "--start",
        "2021-01-20",
        "--days",
        "20",
        "--customers",
        "40",
        "--invoices-per-day",
        "4",
        "--out",
        str(spaces["chinook"].raw),
    )
    loads = {
        system: subprocess.Popen(
            [str(BIN / "music-dwh"), "load", system],
            cwd=REPO_ROOT,
            env=ws.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for system, ws in spaces.items()
    }
    failures = []
    for system, proc in loads.items():
        stdout, stderr = proc.communicate(timeout=600)
        if proc.returncode != 0:
            failures.append(
                f"load {system} exited {proc.returncode}\n--- stdout\n{stdout[-4000:]}\n--- stderr\n{stderr[-4000:]}"
            )
    assert not failures, "\n".join(failures)
    return LoadedSystems(**spaces)
