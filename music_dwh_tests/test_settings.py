from pathlib import Path

import pytest

from music_dwh.settings import Settings, SettingsError, parse_warehouse_url


def test_defaults_are_the_embedded_warehouse_and_a_local_raw_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.raw == str(tmp_path / "data" / "raw")
    assert settings.warehouse.engine == "duckdb"
    assert settings.warehouse.path == tmp_path / "data" / "warehouse.duckdb"
    assert settings.sparkify_start.isoformat() == "2018-11-01"
    assert settings.chinook_start.isoformat() == "2021-01-01"
    assert settings.quarantine_threshold == 0.05
    assert settings.duckdb_memory_limit == "1GB"
    assert settings.run_retention_days == 30


def test_duckdb_urls_follow_the_sqlalchemy_convention(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_warehouse_url("duckdb:///rel/w.duckdb").path == tmp_path / "rel" / "w.duckdb"
    assert parse_warehouse_url("duckdb:////abs/w.duckdb").path == Path("/abs/w.duckdb")


def test_server_urls_are_parsed_and_redacted():
    target = parse_warehouse_url("postgresql://etl@db.internal:6543/music")
    assert (target.engine, target.host, target.port, target.user, target.database) == (
        "postgres",
        "db.internal",
        6543,
        "etl",
        "music",
    )
    assert target.redacted() == "postgres://etl@db.internal:6543/music"
    assert parse_warehouse_url("redshift://awsuser@cluster:5439/dev").engine == "redshift"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"MUSIC_DWH_WAREHOUSE": "mysql://x"}, "not a supported warehouse URL"),
        ({"MUSIC_DWH_WAREHOUSE": "postgresql://u:secret@h/db"}, "must not contain a password"),
        ({"MUSIC_DWH_WAREHOUSE": "mysql://u:secret@h/db"}, "must not contain a password"),
        (
            {"MUSIC_DWH_WAREHOUSE": "postgresql://u@h:5432x/db"},
            "has no valid port; use a number from 1 to 65535",
        ),
        ({"MUSIC_DWH_SPARKIFY_START": "2018-13-01"}, "MUSIC_DWH_SPARKIFY_START"),
        ({"MUSIC_DWH_QUARANTINE_THRESHOLD": "5%"}, "fraction"),
        ({"MUSIC_DWH_QUARANTINE_THRESHOLD": "1.5"}, "between 0 and 1"),
        (
            {"MUSIC_DWH_DUCKDB_MEMORY_LIMIT": "lots"},
            "MUSIC_DWH_DUCKDB_MEMORY_LIMIT='lots' is not a size",
        ),
        (
            {"MUSIC_DWH_SENSOR_INTERVAL": "often"},
            "MUSIC_DWH_SENSOR_INTERVAL='often' is not a duration",
        ),
        (
            {"MUSIC_DWH_SNAPSHOT_SENSOR_INTERVAL": "0"},
            "MUSIC_DWH_SNAPSHOT_SENSOR_INTERVAL must be at least 1 second",
        ),
        (
            {"MUSIC_DWH_RUN_RETENTION_DAYS": "-5"},
            "MUSIC_DWH_RUN_RETENTION_DAYS='-5' is not a number of days",
        ),
    ],
)
def test_bad_configuration_names_the_variable(env, message):
    with pytest.raises(SettingsError, match=message) as info:
        Settings.from_env(env)
    assert "secret" not in str(info.value)


def test_sensor_intervals_default_to_30_and_120_seconds_and_take_durations():
    default = Settings.from_env({})
    assert (default.sensor_interval_seconds, default.snapshot_sensor_interval_seconds) == (30, 120)
    custom = Settings.from_env(
        {"MUSIC_DWH_SENSOR_INTERVAL": "5", "MUSIC_DWH_SNAPSHOT_SENSOR_INTERVAL": "2m"}
    )
    assert (custom.sensor_interval_seconds, custom.snapshot_sensor_interval_seconds) == (5, 120)
