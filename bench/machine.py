"""The machine a bench runs on: CPU, memory, platform, load and the versions that matter."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine_info() -> dict:
    import importlib.metadata as md

    import psutil

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in (
        "dagster",
        "dagster-dbt",
        "dagster-postgres",
        "dbt-core",
        "dbt-duckdb",
        "dbt-postgres",
        "duckdb",
        "great_expectations",
        "pandas",
        "pyarrow",
        "psycopg2-binary",
        "orjson",
        "ftfy",
        "psutil",
    ):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    return {
        "cpus_logical": os.cpu_count(),
        "cpus_physical": psutil.cpu_count(logical=False),
        "cpu_model": model or platform.processor() or "unknown",
        "memory_bytes": psutil.virtual_memory().total,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_start": os.getloadavg(),
        "versions": versions,
    }
