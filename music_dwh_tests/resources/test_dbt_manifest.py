"""The dbt project parsed in-process once and kept (music_dwh/resources/dbt_manifest.py): a new
process loads the parse from the on-disk cache and builds with it; the cache key follows the
environment and every project file; a bad cache file is a miss; ensure_manifest leaves both
manifest.json and the parsed Manifest for the run's dbt step."""

from __future__ import annotations

import json

import pytest

from music_dwh.dbt_project import QUIET_ENV, SQL_DIR
from music_dwh.resources import dbt_cli, dbt_manifest
from music_dwh.resources.dbt_process import WINDOW_VARIABLES
from music_dwh.settings import temporary_environ
from music_dwh_tests.resources.test_dbt_cli import (
    PARSE_EVENTS,
    SONGS_BUILD,
    _count_in_another_process,
    songs_warehouse,
)


@pytest.fixture
def warehouse(tmp_path):
    return songs_warehouse(tmp_path)


def _manifest(env):
    return dbt_manifest.parsed_manifest(env)


def test_a_new_process_loads_the_parsed_manifest_from_the_cache_and_builds_with_it(
    warehouse, tmp_path
):
    """A process's first dbt step loads the Manifest an earlier parse for the same environment
    and project saved, instead of parsing; dbt then builds models and runs their generic tests
    (whose kwargs a manifest rebuilt from manifest.json would lack) with it."""
    path, env = warehouse
    parsed = _manifest(env)  # parsed in this process earlier, or parsed now: either way cached
    cache = dbt_manifest.ManifestCache(SQL_DIR, env)
    assert cache.path.exists()
    dbt_manifest._MANIFESTS.clear()  # as in a new process
    with temporary_environ({**QUIET_ENV, **env}, unset=list(WINDOW_VARIABLES)):
        loaded = cache.load()
    assert loaded is not None and loaded is not parsed
    assert set(loaded.nodes) == set(parsed.nodes) and set(loaded.macros) == set(parsed.macros)
    assert (
        loaded.nodes["model.music_dwh.songplays"].config.pre_hook
        == parsed.nodes["model.music_dwh.songplays"].config.pre_hook
    )
    from_cache = dbt_manifest.parsed_manifest(env)
    assert from_cache is not parsed  # loaded, not the object parsed before
    # Every run's window shares it (the window is never read at parse time).
    window = {"MUSIC_DWH_WINDOW_START": "2018-11-05", "MUSIC_DWH_WINDOW_END": "2018-11-06"}
    assert dbt_manifest.parsed_manifest({**env, **window}) is from_cache
    built = dbt_cli.invoke(SONGS_BUILD, env=env, target_path=tmp_path / "t", manifest=from_cache)
    assert built.success, built.errors
    assert not (PARSE_EVENTS & set(built.event_names))
    statuses = {r.node.unique_id: str(r.status) for r in built.result.results}
    assert sum(uid.startswith("test.") for uid in statuses) == 8 and set(statuses.values()) == {
        "success",
        "pass",
    }
    assert _count_in_another_process(path, "select count(*) from sparkify.artists") == 2


def test_the_cache_key_follows_the_environment_and_every_project_file(warehouse, tmp_path):
    import shutil

    _, env = warehouse
    project = tmp_path / "sql"
    shutil.copytree(SQL_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    digest = dbt_manifest.ManifestCache.digest
    first = digest(project, env)
    assert digest(project, dict(env)) == first  # stable
    assert digest(project, {**env, "MUSIC_DWH_DUCKDB_PATH": "/elsewhere.duckdb"}) != first
    model = project / "models" / "sparkify" / "songs.sql"
    model.write_text(model.read_text() + "\n-- changed\n")
    assert digest(project, env) != first
    (project / "macros" / "new_macro.sql").write_text("{% macro m() %}1{% endmacro %}\n")
    assert len({first, digest(project, env)}) == 2


def test_an_unreadable_or_mismatched_cache_file_is_a_miss(warehouse, tmp_path):
    _, env = warehouse
    _manifest(env)
    cache = dbt_manifest.ManifestCache(SQL_DIR, env)
    # A variable the parse read (the window, unset then) now set: dbt's partial parsing would
    # re-parse the files reading it; the cache does not serve that manifest.
    with temporary_environ({"MUSIC_DWH_WINDOW_START": "2018-11-01"}):
        assert cache.load() is None
    assert cache.load() is not None
    copy = dbt_manifest.ManifestCache(SQL_DIR, env)
    copy.path = tmp_path / "truncated.pickle"
    copy.path.write_bytes(cache.path.read_bytes()[:1000])
    assert copy.load() is None


def test_ensure_manifest_parses_in_process_and_leaves_the_manifest_for_the_dbt_step(warehouse):
    """`music-dwh load`'s manifest check parses in its own process when the prepared manifest is
    stale: manifest.json for @dbt_assets, and the same Manifest object for the run's dbt step
    (kept in the process and in the cache), so the step does not parse again."""
    from music_dwh.resources.dbt_manifest import ensure_manifest, manifest_is_stale

    _, env = warehouse
    dbt_manifest._MANIFESTS.clear()
    path = ensure_manifest(env, force=True)
    written = json.loads(path.read_text())
    assert "model.music_dwh.songplays" in written["nodes"] and "test" in {
        n["resource_type"] for n in written["nodes"].values()
    }
    assert not manifest_is_stale(env)
    parsed = list(dbt_manifest._MANIFESTS.values())
    assert len(parsed) == 1 and dbt_manifest.parsed_manifest(env) is parsed[0]
    assert dbt_manifest.ManifestCache(SQL_DIR, {k: v for k, v in env.items()}).path.exists()
