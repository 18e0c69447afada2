"""Shared fixtures: a private raw store, DuckDB warehouse and Dagster instance per test, the
public samples (skipped with a reason when ../shared is absent) and warehouse snapshots."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
BIN = Path(sys.executable).parent


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

    def run(self, *args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
        """Run a console script of this venv (``music-dwh``, ``dagster``) against the workspace."""
        proc = subprocess.run(
            [str(BIN / args[0]), *args[1:]],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}"
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
        pytest.skip(f"public sample not found at {path} (the acceptance data lives in ../shared/data beside the checkout)")
    return path


def snapshot(warehouse_path: Path, schema: str, ignore: tuple[str, ...] = ("loaded_at",)) -> dict[str, list[tuple]]:
    """Every table of ``schema`` as sorted rows, without load-time columns."""
    import duckdb

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
        ).fetchall()]
        result = {}
        for table in tables:
            cols = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall() if r[0] not in ignore]
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
