from pathlib import Path

import pytest

from music_dwh.settings import (
    Settings,
    SettingsError,
    parse_day,
    parse_warehouse_url,
    read_env_file,
)


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


@pytest.mark.parametrize(
    "text, message",
    [
        ("2018-11-31", "2018-11-31 does not exist: November 2018 has 30 days"),
        ("2019-02-29", "2019-02-29 does not exist: February 2019 has 28 days"),
        ("2018-13-01", "2018-13-01 does not exist: a month is 01 to 12"),
        ("2018-1-01", "'2018-1-01' is not a date; use YYYY-MM-DD"),
        ("yesterday", "'yesterday' is not a date; use YYYY-MM-DD"),
    ],
)
def test_a_day_that_does_not_exist_says_so(text, message):
    with pytest.raises(ValueError) as caught:
        parse_day(text)
    assert str(caught.value) == message


def test_a_leap_day_and_a_start_setting_are_days():
    assert parse_day("2020-02-29").isoformat() == "2020-02-29"
    with pytest.raises(
        SettingsError, match=r"^MUSIC_DWH_SPARKIFY_START: 2018-11-31 does not exist"
    ):
        Settings.from_env({"MUSIC_DWH_SPARKIFY_START": "2018-11-31"})


def test_the_env_file_in_the_working_directory_wins_as_in_dagster_dev(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSIC_DWH_RAW", "/from/the/shell")
    monkeypatch.delenv("MUSIC_DWH_TIMEZONE", raising=False)
    (tmp_path / ".env").write_text(
        "# a comment\nMUSIC_DWH_RAW=/from/the/file\nMUSIC_DWH_TIMEZONE='Europe/Paris'\nEMPTY\n"
    )
    monkeypatch.chdir(tmp_path)
    assert read_env_file() == ["MUSIC_DWH_RAW", "MUSIC_DWH_TIMEZONE"]
    assert Settings.from_env().raw == "/from/the/file"
    assert Settings.from_env().timezone == "Europe/Paris"
    assert read_env_file(tmp_path / "elsewhere") == []
