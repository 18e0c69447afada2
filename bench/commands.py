"""``music-dwh`` as the bench runs it: the command line, the environment of a measured
process, and the untimed ``music-dwh prepare`` before a timed run."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.model import DEFAULT_START, BenchError


def music_dwh_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "music_dwh.cli", *args]


def music_dwh_env(
    raw: Path, warehouse_url: str, dagster_home: Path, reports: Path, password: str | None = None
) -> dict[str, str]:
    from bench.monitor import proc_env

    env = proc_env(
        {
            "MUSIC_DWH_RAW": str(raw),
            "MUSIC_DWH_WAREHOUSE": warehouse_url,
            "DAGSTER_HOME": str(dagster_home),
            "MUSIC_DWH_REPORTS": str(reports),
            "MUSIC_DWH_SPARKIFY_START": DEFAULT_START.isoformat(),
        }
    )
    if password:
        env["MUSIC_DWH_WAREHOUSE_PASSWORD"] = password
    return env


def prepare_manifest(env: dict[str, str], log: Path) -> None:
    """``music-dwh prepare`` (untimed): parse the dbt project for this warehouse, as ``make``
    does at install, so a timed run does not pay a re-parse caused by the previous approach."""
    import subprocess

    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.run(
            music_dwh_argv("prepare"),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
            check=False,
        )
    if proc.returncode != 0:
        raise BenchError(f"music-dwh prepare failed; see {log}")
