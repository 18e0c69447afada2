"""``music-dwh dev``, and the DAGSTER_HOME every command sets up (music_dwh/cli/instance.py)."""

from __future__ import annotations

import pytest

from music_dwh.cli.common import UserError
from music_dwh.cli.instance import SHIPPED_MARKER, dev_environment, ensure_dagster_home
from music_dwh.settings import REPO_ROOT

SHIPPED = (REPO_ROOT / "dagster.yaml").read_text()
# Plug-in modules music_dwh does not have, as an older version of the shipped dagster.yaml
# named them.
OLDER = {
    "instance_class": ("music_dwh.instance.storage", "music_dwh.instance", "MusicDwhInstance"),
    "run_launcher": (
        "music_dwh.instance.launcher",
        "music_dwh.runs.launcher",
        "MonitoredRunLauncher",
    ),
}


def older(text: str, *keys: str) -> str:
    for key in keys:
        now, then, _ = OLDER[key]
        text = text.replace(f"{key}:\n  module: {now}\n", f"{key}:\n  module: {then}\n")
    return text


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.delenv("MUSIC_DWH_DAGSTER_STORAGE", raising=False)
    return tmp_path / "dagster"


def test_a_new_dagster_home_gets_the_shipped_dagster_yaml(home):
    assert ensure_dagster_home() == home
    assert (home / "dagster.yaml").read_text() == SHIPPED


def test_a_copy_of_an_older_shipped_dagster_yaml_is_replaced(home, capsys):
    home.mkdir()
    (home / "dagster.yaml").write_text(older(SHIPPED, *OLDER))
    ensure_dagster_home()
    assert (home / "dagster.yaml").read_text() == SHIPPED
    assert (
        capsys.readouterr().out
        == f"updating {home / 'dagster.yaml'} to this version's dagster.yaml\n"
    )
    from dagster import DagsterInstance

    from music_dwh.instance.launcher import MonitoredRunLauncher
    from music_dwh.instance.storage import MusicDwhInstance

    with DagsterInstance.get() as instance:
        assert isinstance(instance, MusicDwhInstance)
        assert isinstance(instance.run_launcher, MonitoredRunLauncher)


def test_a_hand_written_dagster_yaml_is_kept(home):
    home.mkdir()
    mine = SHIPPED.replace(SHIPPED_MARKER, "# Mine.").replace("enabled: false", "enabled: true")
    (home / "dagster.yaml").write_text(mine)
    ensure_dagster_home()
    assert (home / "dagster.yaml").read_text() == mine


@pytest.mark.parametrize("key", OLDER)
def test_a_hand_written_dagster_yaml_naming_a_class_music_dwh_lacks_is_one_line(home, key):
    home.mkdir()
    mine = older(SHIPPED.replace(SHIPPED_MARKER, "# Mine."), key)
    (home / "dagster.yaml").write_text(mine)
    with pytest.raises(UserError) as raised:
        ensure_dagster_home()
    _, then, name = OLDER[key]
    assert str(raised.value).startswith(f"{home / 'dagster.yaml'} names {then}.{name} as its {key}")
    assert (home / "dagster.yaml").read_text() == mine


def _dagster_processes_of(dagster_home) -> list[int]:
    import psutil

    found = []
    for proc in psutil.process_iter():
        try:
            if (
                proc.environ().get("DAGSTER_HOME") == str(dagster_home)
                and proc.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


@pytest.mark.e2e
def test_make_dev_stops_within_seconds_on_ctrl_c(workspace):
    """The terminal's Ctrl-C (SIGINT to the foreground process group: make and music-dwh)
    stops the UI, the daemon and the code server; `dagster dev` alone takes ~20 s."""
    import os
    import signal
    import subprocess
    import time
    import urllib.request

    from music_dwh_tests.conftest import REPO_ROOT, free_port

    port = free_port()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "dev", f"PORT={port}"],
        cwd=REPO_ROOT,
        env=workspace.env,
        start_new_session=True,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the UI never answered"
            time.sleep(1)
        assert _dagster_processes_of(workspace.dagster_home)  # webserver, daemon, code server
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert took < 10, f"make dev took {took:.1f} s to stop:\n{output[-3000:]}"
    assert "dev stopped by Ctrl-C" in output
    time.sleep(0.5)
    assert _dagster_processes_of(workspace.dagster_home) == []


def test_dev_links_alerts_to_the_ui_it_serves_unless_told_otherwise():
    from music_dwh.cli.main import build_parser

    args = build_parser().parse_args(["dev", "--port", "3001"])
    env = dev_environment(args.host, args.port, {"PATH": "/usr/bin", "MUSIC_DWH_UI_URL": " "})
    assert env == {"PATH": "/usr/bin", "MUSIC_DWH_UI_URL": "http://127.0.0.1:3001"}
    assert dev_environment("::1", 3002, {})["MUSIC_DWH_UI_URL"] == "http://[::1]:3002"
    explicit = {"MUSIC_DWH_UI_URL": "https://dagster.example.org"}
    assert dev_environment("127.0.0.1", 3001, explicit) == explicit
