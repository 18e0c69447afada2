"""``music-dwh generate``, ``export-chinook``, ``demo`` and ``clean-demo``
(music_dwh/cli/sample_data.py): they never write over files they did not write, and the demo
writes only under ./data."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from music_dwh.cli.main import main
from music_dwh.datagen import chinook, ownership, sparkify
from music_dwh.datagen.ownership import WHAT_TO_DO
from music_dwh.resources.raw_store import open_raw_store
from music_dwh_tests.conftest import query, require_shared
from music_dwh_tests.datagen.foreign_data import (
    NOTES,
    WRITERS,
    fill_with_foreign_data,
    listing,
    writers_to_try,
)

pytestmark = pytest.mark.e2e


# ---------------------------------------------------------------------------- never delete what it did not write
# The rule itself (manifests, force, own output replaced) is tested in datagen/test_ownership.py;
# here: what a user sees, in a folder and in S3.
def _arguments(command: str) -> list[str]:
    if command == "export-chinook":
        return ["--sqlite", str(require_shared("chinook", "Chinook_Sqlite.sqlite"))]
    return {
        "generate sparkify": ["--days", "3", "--events-per-day", "60", "--songs", "20"],
        "generate chinook": ["--days", "4", "--customers", "5", "--invoices-per-day", "3"],
    }[command]


def _refusal(location: str, who: str, keys: list[str], what_to_do: str) -> str:
    return (
        f"music-dwh: {location} holds {len(keys):,} files that music-dwh {who} did not write "
        f"({keys[0]}, {keys[1]}, {keys[2]} and {len(keys) - 3:,} more); nothing was changed. "
        f"{what_to_do}"
    )


def _in(keys, scope: tuple[str, ...]) -> list[str]:
    """``keys`` in the order a refusal names them: by prefix of the scope, then by key."""
    return [k for prefix in scope for k in sorted(keys) if k.startswith(prefix)]


@pytest.fixture(params=["sample", "generated"])
def foreign(request, folder_or_s3_store, tmp_path):
    """A raw store (folder or S3) holding the public samples or data of another seed, copied in,
    and the user's notes."""
    fill_with_foreign_data(folder_or_s3_store, request.param, tmp_path / "elsewhere")
    return folder_or_s3_store


def test_generate_and_export_refuse_a_store_holding_files_they_did_not_write(foreign, capsys):
    before = listing(foreign)
    for command in writers_to_try():
        status = main([*command.split(), *_arguments(command), "--out", foreign.location])
        first = capsys.readouterr().err.splitlines()[0]
        assert (status, first) == (
            2,
            _refusal(foreign.location, command, _in(before, WRITERS[command][0].scope), WHAT_TO_DO),
        )
    assert listing(foreign) == before


def test_with_force_generate_writes_its_files_beside_the_others(tmp_path, capsys):
    store = open_raw_store(str(tmp_path / "raw"))
    fill_with_foreign_data(store, "generated", tmp_path / "elsewhere")
    before = listing(store)
    args = ["generate", "sparkify", *_arguments("generate sparkify"), "--out", store.location]
    assert main([*args, "--force"]) == 0
    after = listing(store)
    assert {k: after[k] for k in NOTES} == {k: before[k] for k in NOTES}
    assert "sparkify/log_data/2018/11/2018-11-03-events.json" in after
    assert main(args) == 2  # the notes are still not its own
    assert "sparkify/NOTES.txt" in capsys.readouterr().err


def test_export_of_a_missing_database_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.sqlite"
    assert main(["export-chinook", "--sqlite", str(missing), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"music-dwh: {missing}: no such file. Point the export at the Chinook SQLite database "
        "(Chinook_Sqlite.sqlite from https://github.com/lerocha/chinook-database)."
    )


DEMO = ["demo", "--days", "1", "--events-per-day", "100", "--songs", "200", "--customers", "10"]


def _ignores(data: Path, names: str) -> str:
    return f"The demo writes only under {data}; it ignores {names} from the environment"


def test_demo_refuses_files_it_did_not_write_in_data_raw(workspace, tmp_path):
    here = tmp_path / "here"
    raw = open_raw_store(str(here / "data" / "raw"))
    fill_with_foreign_data(raw, "generated", tmp_path / "elsewhere")
    before = listing(raw)
    proc = workspace.run("music-dwh", *DEMO, check=False, cwd=here)
    keys = _in(before, (*sparkify.WRITER.scope, *chinook.WRITER.scope))
    assert proc.returncode == 2
    assert proc.stdout.splitlines()[0] == _ignores(
        here / "data", "MUSIC_DWH_RAW, MUSIC_DWH_WAREHOUSE, MUSIC_DWH_REPORTS, DAGSTER_HOME"
    )
    assert proc.stderr.splitlines()[0] == _refusal(
        raw.location,
        "demo",
        keys,
        f"Move them out of {raw.location}, or add --force to write its files over any at the same "
        "keys (files it does not write are never removed)",
    )
    assert listing(raw) == before
    assert list(workspace.raw.iterdir()) == [] and not workspace.warehouse.exists()
    assert sorted(p.name for p in (here / "data").iterdir()) == ["raw"]


def test_demo_writes_only_under_data_whatever_the_environment_says(
    workspace, tmp_path, s3_server, monkeypatch
):
    """MUSIC_DWH_RAW names a bucket with a user's file, the other variables the workspace:
    the demo writes all of it under ./data, and clean-demo removes exactly that again."""
    import boto3

    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": s3_server,
        "AWS_REGION": "us-east-1",
    }
    for name, value in aws.items():
        monkeypatch.setenv(name, value)
    bucket_name = f"production-raw-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(
        Bucket=bucket_name
    )
    bucket = open_raw_store(f"s3://{bucket_name}/landing", s3_server, "us-east-1")
    bucket.write_bytes("sparkify/NOTES.txt", NOTES["sparkify/NOTES.txt"])
    in_bucket = listing(bucket)
    here = tmp_path / "here"
    here.mkdir()
    data = here / "data"

    proc = workspace.run(
        "music-dwh", *DEMO, cwd=here, env={**aws, "MUSIC_DWH_RAW": bucket.location}
    )
    lines = proc.stdout.splitlines()
    assert lines[:2] == [
        _ignores(data, "MUSIC_DWH_RAW, MUSIC_DWH_WAREHOUSE, MUSIC_DWH_REPORTS, DAGSTER_HOME"),
        f"[1/3] Generating sample data into {data / 'raw'}",
    ]
    raw = open_raw_store(str(data / "raw"))
    generated = 0
    for writer in (sparkify.WRITER, chinook.WRITER):
        found = ownership.survey(raw, writer)
        assert found.own and found.foreign == []
        generated += len(found.own)
    plays = query(data / "warehouse.duckdb", "select count(*) from sparkify.songplays")[0][0]
    invoices = query(data / "warehouse.duckdb", "select count(*) from chinook.fact_invoice")[0][0]
    assert plays > 0 and invoices > 0
    assert sorted(p.name for p in (data / "reports").iterdir()) == ["chinook.html", "sparkify.html"]
    assert (data / "dagster" / "dagster.yaml").is_file()
    assert listing(bucket) == in_bucket
    assert list(workspace.raw.iterdir()) == [] and not workspace.warehouse.exists()
    assert not workspace.dagster_home.exists() and not (workspace.root / "reports").exists()

    raw.write_bytes("chinook/NOTES.txt", NOTES["chinook/NOTES.txt"])  # the user's, now
    clean = workspace.run("music-dwh", "clean-demo", cwd=here)
    assert clean.stdout.splitlines()[0] == (
        f"{data / 'raw'}: removed {generated} generated files, kept 1 it did not write"
    )
    note = NOTES["chinook/NOTES.txt"]
    assert listing(raw) == {"chinook/NOTES.txt": (len(note), note)}
    assert sorted(p.name for p in data.iterdir()) == ["raw"]
