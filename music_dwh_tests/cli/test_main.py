"""``music-dwh``'s words to a user who made a mistake or asks for help: one line that says
what is wrong and what to do, the right exit status, and help for every command and option.

In-process (music_dwh/cli/main.py ``main``): nothing here starts a run."""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib.metadata import version

import pytest

from music_dwh.cli.common import HelpFormatter
from music_dwh.cli.main import build_parser, main


def _main(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse: usage errors, --help, --version
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def _subparsers(parser: argparse.ArgumentParser, path=("music-dwh",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _subparsers(child, (*path, name))


def test_every_command_and_option_has_help_and_shows_its_default():
    commands = list(_subparsers(build_parser()))
    assert len(commands) >= 14
    for path, parser in commands:
        if len(path) > 1:
            assert parser.description, f"{' '.join(path)} has no description"
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            name = "/".join(action.option_strings) or action.dest
            assert action.help, f"{' '.join(path)} {name} has no help"
            if action.default not in (None, False, argparse.SUPPRESS):
                assert "default" in HelpFormatter(" ".join(path))._get_help_string(action), (
                    f"{' '.join(path)} {name} does not show its default {action.default!r}"
                )


def test_version_names_the_package_and_its_stack(capsys):
    status, out, _ = _main(capsys, "--version")
    assert status == 0
    assert out.startswith(f"music-dwh {version('music_dwh')} (dagster {version('dagster')}, ")
    assert f"dbt-core {version('dbt-core')}" in out and f"duckdb {version('duckdb')}" in out


@pytest.mark.parametrize(
    "day, message",
    [
        ("2018-11-31", "2018-11-31 does not exist: November 2018 has 30 days"),
        ("2018-11-1", "'2018-11-1' is not a date; use YYYY-MM-DD"),
    ],
)
def test_a_day_that_does_not_exist_says_so(capsys, workspace, day, message):
    status, _, err = _main(capsys, "load", "sparkify", "--start", day)
    assert status == 2
    assert err.splitlines()[-1] == f"music-dwh load: error: argument --start: {message}"


def test_summary_refuses_a_missing_warehouse_and_creates_nothing(capsys, workspace):
    status, out, err = _main(capsys, "summary")
    assert status == 2
    assert err.splitlines()[0] == (
        f"music-dwh: no warehouse at {workspace.warehouse} (MUSIC_DWH_WAREHOUSE="
        f"{workspace.warehouse_url}): check the path, or load data first (`music-dwh load all`, "
        "or `make demo`)"
    )
    assert not workspace.warehouse.exists()
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "files, raw, first_line",
    [
        ([], "missing", "{raw} does not exist (expected one file per day like {example})"),
        ([], ".", "{raw} is empty (expected one file per day like {example})"),
        (
            ["sparkify/log_data/2018/11/2018-11-01-events.json"],
            "sparkify",
            "{raw} is a folder inside the layout: log_data/2018/11/2018-11-01-events.json "
            "belongs at {raw}/log_data/2018/11/2018-11-01-events.json; set MUSIC_DWH_RAW={root}",
        ),
        (
            ["sparkify/log_data/2018-11-01-events.json"],
            ".",
            "1 file(s) under {raw}/sparkify/log_data/ but none in dated folders, "
            "e.g. sparkify/log_data/2018-11-01-events.json (expected one file per day like {example})",
        ),
    ],
    ids=["missing-folder", "empty-folder", "one-level-too-deep", "flat-layout"],
)
def test_each_raw_layout_mistake_says_what_was_expected_and_found(
    capsys, workspace, monkeypatch, files, raw, first_line
):
    for name in files:
        (workspace.raw / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace.raw / name).write_text('{"ts": 1}\n')
    store = (workspace.raw / raw).resolve()
    monkeypatch.setenv("MUSIC_DWH_RAW", str(store))
    status, _, err = _main(capsys, "load", "sparkify")
    assert status == 2
    example = f"{store}/sparkify/log_data/2018/11/2018-11-01-events.json"
    expected = first_line.format(raw=store, root=workspace.raw, example=example)
    assert err.splitlines()[0] == f"music-dwh: no sparkify days in the raw store: {expected}"
    assert err.splitlines()[1] == (
        "Point MUSIC_DWH_RAW at your raw store, or generate sample data: "
        "music-dwh generate sparkify"
    )


def test_the_env_file_of_the_working_directory_is_read(workspace, tmp_path):
    """A subprocess in a folder with a `.env`, as a user runs it: its MUSIC_DWH_RAW applies."""
    (tmp_path / ".env").write_text(f"MUSIC_DWH_RAW={tmp_path / 'from-dotenv'}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "music_dwh.cli", "load", "sparkify"],
        cwd=tmp_path,
        env=workspace.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines[0] == "music-dwh: read MUSIC_DWH_RAW from .env"
    assert lines[1].startswith(
        f"music-dwh: no sparkify days in the raw store: {tmp_path / 'from-dotenv'} does not exist"
    )
