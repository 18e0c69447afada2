"""The dbt unit tests (``unit_tests:`` beside the models in sql/models) run on DuckDB and on
PostgreSQL, in-process as the runs invoke dbt, and every one declared runs and passes.

Production builds leave them out (``--exclude-resource-type unit_test``,
music_dwh/resources/dbt_cli.py), so this module is where they run. dbt reads the column types
of a unit test's inputs from the warehouse: the staging tables and every model's table are
created empty first, and the seeds loaded (as a run on a new warehouse does).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import yaml

from music_dwh.dbt_project import SQL_DIR
from music_dwh.resources import dbt_cli
from music_dwh.resources.warehouse import Warehouse

pytestmark = pytest.mark.e2e

SYSTEMS = ("sparkify", "chinook")


def declared_unit_tests() -> set[str]:
    """``unit_test.music_dwh.<model>.<name>`` of every unit test in the models' YAML files."""
    declared = set()
    for path in sorted((SQL_DIR / "models").rglob("*.yml")):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests") or []:
            declared.add(f"unit_test.music_dwh.{test['model']}.{test['name']}")
    return declared


def run_unit_tests(warehouse: Warehouse, target: Path) -> dbt_cli.DbtInvocation:
    # The staging modules name their tables when imported (a run imports them through its
    # assets).
    for system in SYSTEMS:
        importlib.import_module(f"music_dwh.staging.{system}")
    assert warehouse.ensure_staging_tables()  # a new warehouse: every staging table created
    env = warehouse.dbt_env()
    manifest = dbt_cli.parsed_manifest(env)
    empty = dbt_cli.invoke(
        list(dbt_cli.CREATE_EMPTY), env=env, target_path=target / "empty", manifest=manifest
    )
    assert empty.success, empty.failures() or empty.errors
    return dbt_cli.invoke(
        ["test", "--select", "test_type:unit"],
        env=env,
        target_path=target / "unit",
        manifest=manifest,
    )


def assert_every_declared_unit_test_passed(invocation: dbt_cli.DbtInvocation) -> None:
    results = {
        r.node.unique_id: str(getattr(r.status, "value", r.status))
        for r in invocation.result.results
    }
    failed = {k: v for k, v in results.items() if v != "pass"}
    assert not failed, "\n\n".join(invocation.failures()) or failed
    assert invocation.success, invocation.errors
    # A unit test dbt did not select or run (a typo in `model:`, a YAML file it skips) would
    # pass silently: the run must hold exactly the declared ones, and nothing else.
    declared = declared_unit_tests()
    assert len(declared) >= 5
    assert set(results) == declared
    assert len(invocation.result.results) == len(declared)


def test_the_unit_tests_pass_on_duckdb(tmp_path):
    warehouse = Warehouse(url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    assert_every_declared_unit_test_passed(run_unit_tests(warehouse, tmp_path))


def test_the_unit_tests_pass_on_postgres(tmp_path, postgres_server):
    database = postgres_server.create_database()
    warehouse = Warehouse(url=postgres_server.url(database), password=postgres_server.password)
    assert_every_declared_unit_test_passed(run_unit_tests(warehouse, tmp_path))


def test_a_run_s_dbt_build_leaves_the_unit_tests_out(tmp_path):
    """A run's ``dbt build`` selects a whole system by path (dagster-dbt's ``path:models/<system>``),
    which takes the unit tests beside its models too; the runs' extra arguments leave them out
    (fixtures prove nothing about a run's data) and nothing else."""
    env = Warehouse(url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}").dbt_env()
    manifest = dbt_cli.parsed_manifest(env)
    selection = [
        "--select",
        " ".join(f"path:models/{s}" for s in SYSTEMS),
        "--output",
        "json",
        "--output-keys",
        "unique_id",
    ]

    def listed(*extra: str) -> set[str]:
        invocation = dbt_cli.invoke(
            ["ls", *selection, *extra], env=env, target_path=tmp_path / "ls", manifest=manifest
        )
        assert invocation.success, invocation.errors
        return {json.loads(line)["unique_id"] for line in invocation.result}

    everything = listed()
    built = listed(*dbt_cli.BUILD_EXCLUDE)
    assert {u for u in everything if u.startswith("unit_test.")} == declared_unit_tests()
    assert built == {u for u in everything if not u.startswith("unit_test.")}
    assert any(u.startswith("model.") for u in built) and any(u.startswith("test.") for u in built)
