"""The dbt project in ``sql/``, on its own so ``dagster-dbt project prepare-and-package`` (and
``music-dwh``'s own manifest check, ``resources/dbt_manifest.ensure_manifest``) can find the project
without loading the assets."""

import contextlib
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"

dbt_project = DbtProject(project_dir=SQL_DIR, profiles_dir=SQL_DIR)

# The dbt installed beside this interpreter (the venv), even when the venv is not activated.
_dbt_beside_python = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = (
    str(_dbt_beside_python) if _dbt_beside_python.exists() else (shutil.which("dbt") or "dbt")
)

QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "GX_ANALYTICS_ENABLED": "false",
}


def project_files(project_dir: Path = SQL_DIR) -> list[Path]:
    """Every file a parse of the dbt project reads."""
    sources = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "seeds", "macros", "tests", "analyses"):
        sources += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    return sources


def project_fingerprint(project_dir: Path = SQL_DIR) -> tuple:
    """Changes whenever a project file is added, removed or modified (names and mtimes): the
    in-process parse cache's key (resources/dbt_manifest.py)."""
    stats = []
    for path in project_files(project_dir):
        with contextlib.suppress(OSError):
            stats.append((str(path), path.stat().st_mtime_ns))
    return tuple(sorted(stats))
