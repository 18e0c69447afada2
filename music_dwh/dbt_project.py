"""The dbt project in ``sql/``, on its own so ``dagster-dbt project prepare-and-package`` (and
``music-dwh``'s own manifest check) can prepare the manifest without loading the assets."""

import contextlib
import json
import os
import shutil
import tempfile
import sys
from pathlib import Path

from dagster_dbt import DbtProject

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"

dbt_project = DbtProject(project_dir=SQL_DIR, profiles_dir=SQL_DIR)

# The dbt installed beside this interpreter (the venv), even when the venv is not activated.
_dbt_beside_python = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_dbt_beside_python) if _dbt_beside_python.exists() else (shutil.which("dbt") or "dbt")

QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "GX_ANALYTICS_ENABLED": "false",
}


def _env_marker() -> Path:
    return dbt_project.manifest_path.with_name("music_dwh_parse_env.json")


def manifest_is_stale(env: dict[str, str]) -> bool:
    """True when sql/target/manifest.json is missing, older than any file of the project, or
    was parsed for another warehouse (dbt then re-parses on every run instead of partially)."""
    manifest = dbt_project.manifest_path
    marker = _env_marker()
    if not manifest.exists() or not marker.exists():
        return True
    if json.loads(marker.read_text()) != env:
        return True
    built = manifest.stat().st_mtime
    return any(p.stat().st_mtime > built for p in project_files() if p.exists())


def project_files(project_dir: Path = SQL_DIR) -> list[Path]:
    """Every file a parse of the dbt project reads."""
    sources = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests", "analyses"):
        sources += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    return sources


def project_fingerprint(project_dir: Path = SQL_DIR) -> tuple:
    """Changes whenever a project file is added, removed or modified (names and mtimes): the
    in-process parse cache's key (resources/dbt_cli.py)."""
    stats = []
    for path in project_files(project_dir):
        with contextlib.suppress(OSError):
            stats.append((str(path), path.stat().st_mtime_ns))
    return tuple(sorted(stats))


def ensure_manifest(dbt_env: dict[str, str] | None = None, force: bool = False) -> Path:
    """Parse the dbt project (``dbt parse`` in this process, ≈2-4 s) when the manifest is missing
    or stale.

    ``dbt_env`` is the warehouse's dbt environment (``Warehouse.dbt_env()``); parsing under the
    same profile lets every later run reuse the parse (dbt's partial parsing).
    """
    # Parsing never connects: secrets (DBT_ENV_SECRET_*) are neither needed nor written into
    # the marker file.
    dbt_env = {k: v for k, v in (dbt_env or {}).items() if not k.startswith("DBT_ENV_SECRET_")}
    if force or manifest_is_stale(dbt_env):
        # In this process (dbt's programmatic runner; ``music-dwh load``'s worker needs dbt
        # anyway), which also leaves the parsed Manifest for the run's dbt step.
        from music_dwh.resources.dbt_cli import parse_and_write

        target = dbt_project.manifest_path.parent
        target.mkdir(parents=True, exist_ok=True)
        # Parse into a private folder, then swap the artifacts in: a process reading the
        # manifest (a test, the webserver) never sees a half-written file.
        with tempfile.TemporaryDirectory(dir=target, prefix=".parse-") as scratch:
            parse_and_write(dbt_env, Path(scratch))
            for name in ("partial_parse.msgpack", "manifest.json"):
                if (Path(scratch) / name).exists():
                    os.replace(Path(scratch) / name, target / name)
        marker = _env_marker()
        tmp_marker = marker.with_name(f".{marker.name}.{os.getpid()}")
        tmp_marker.write_text(json.dumps(dbt_env, sort_keys=True))
        os.replace(tmp_marker, marker)
    return dbt_project.manifest_path
