"""The dbt CLI resource knows the dbt version without running `dbt --version`."""

import re
import subprocess

from music_dwh.dbt_project import DBT_EXECUTABLE, dbt_project
from music_dwh.resources.dbt_cli import DbtCli


def test_the_version_is_the_one_dbt_itself_reports_and_no_process_is_started(monkeypatch):
    reported = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True).stdout
    expected = re.search(r"(\d+\.\d+\.\d+)", reported).group(1)

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    resource = DbtCli(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
    monkeypatch.setattr("dagster_dbt.core.resource.check_output", no_subprocess)
    assert str(resource._cli_version) == expected


def test_another_executable_is_still_asked(monkeypatch, tmp_path):
    other = tmp_path / "dbt"  # a dbt elsewhere (say, a Fusion build): its version is unknown
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    asked = []

    def fake_check_output(argv):
        asked.append(argv)
        return b"Core:\n  - installed: 1.11.0\n"

    monkeypatch.setattr("dagster_dbt.core.resource.check_output", fake_check_output)
    resource = DbtCli(project_dir=dbt_project, dbt_executable=str(other))
    assert str(resource._cli_version) == "1.11.0"
    assert asked == [[str(other), "--version"]]
