"""``music-dwh prepare``, ``dev`` and ``prune``: the Dagster instance at DAGSTER_HOME (default
``./data/dagster``), which every command that runs Dagster sets up first
(``ensure_dagster_home``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from music_dwh.cli.common import UserError, add_command, day_count, positive, say
from music_dwh.settings import REPO_ROOT, get_settings

DEFAULT_DAGSTER_HOME = "./data/dagster"
# The first words of the shipped dagster.yaml: a DAGSTER_HOME copy starting so is ours to update.
SHIPPED_MARKER = "# Instance settings shipped with music_dwh."


# ---------------------------------------------------------------------------- DAGSTER_HOME
def ensure_dagster_home() -> Path:
    """Use DAGSTER_HOME (default ./data/dagster), giving it the project's dagster.yaml: a copy
    made from an older version of that file is replaced (a hand-written one is kept, and must
    name music_dwh's plug-ins where they are)."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    shipped = (REPO_ROOT / "dagster.yaml").read_text()
    config = home / "dagster.yaml"
    current = config.read_text() if config.exists() else None
    if current != shipped and (current is None or current.startswith(SHIPPED_MARKER)):
        if current is not None:
            say(f"updating {config} to this version's dagster.yaml")
        tmp = config.with_suffix(".yaml.tmp")
        tmp.write_text(shipped)
        tmp.replace(config)
    elif current is not None:
        check_plugins(config)
    os.environ["DAGSTER_HOME"] = str(home)
    check_instance_storage()
    return home


def check_plugins(config: Path) -> None:
    """Every music_dwh class a hand-written ``dagster.yaml`` names exists: a wrong one is one
    line naming it and where the right names are, not a traceback from inside Dagster. Read
    from the modules' source: importing them would import Dagster here."""
    import ast
    import importlib.util

    import yaml

    try:
        sections = yaml.safe_load(config.read_text()) or {}
    except yaml.YAMLError:
        return  # Dagster's own message says where the file is malformed
    for key, section in sections.items() if isinstance(sections, dict) else ():
        if not isinstance(section, dict) or not isinstance(section.get("module"), str):
            continue
        module, name = section["module"], section.get("class")
        if module.split(".")[0] != "music_dwh":
            continue
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            spec = None
        tree = ast.parse(Path(spec.origin).read_text()) if spec and spec.origin else None
        if tree is None or not any(
            isinstance(node, ast.ClassDef) and node.name == name for node in tree.body
        ):
            raise UserError(
                f"{config} names {module}.{name} as its {key}, which music_dwh does not have: "
                f"the dagster.yaml shipped with music_dwh ({REPO_ROOT / 'dagster.yaml'}) names "
                "the classes to use"
            )


def check_instance_storage() -> None:
    """With ``MUSIC_DWH_DAGSTER_STORAGE=postgresql://…``, connect once: a database that cannot be
    reached or refuses the credentials is one line naming the settings, not a traceback from
    inside Dagster. The driver's message names host, user and database, never the password."""
    from music_dwh.settings import INSTANCE_STORAGE_PASSWORD_VARIABLE as PASSWORD_VARIABLE
    from music_dwh.settings import instance_storage

    target = instance_storage()
    if target.engine != "postgres":
        return
    import psycopg2

    try:
        psycopg2.connect(
            target.sqlalchemy_url().replace("+psycopg2", ""),
            connect_timeout=10,
            password=os.environ.get(PASSWORD_VARIABLE) or None,
        ).close()
    except psycopg2.OperationalError as exc:
        reason = " ".join(str(exc).replace("FATAL:", " ").split())
        raise UserError(
            f"cannot open the Dagster instance storage {target.redacted()} ({reason}): check "
            f"MUSIC_DWH_DAGSTER_STORAGE and the password ({PASSWORD_VARIABLE}, PGPASSWORD or ~/.pgpass)"
        ) from None


# ---------------------------------------------------------------------------- prepare
def prepare() -> None:
    """Give DAGSTER_HOME the project's dagster.yaml and parse the dbt project if needed."""
    from music_dwh.resources.dbt_manifest import ensure_manifest
    from music_dwh.resources.warehouse import Warehouse

    home = ensure_dagster_home()
    manifest = ensure_manifest(Warehouse(url=get_settings().warehouse.url).dbt_env())
    say(f"DAGSTER_HOME={home}\ndbt manifest: {manifest}")


def cmd_prepare(args: argparse.Namespace) -> int:
    prepare()
    return 0


# ---------------------------------------------------------------------------- prune
def cmd_prune(args: argparse.Namespace) -> int:
    """Remove older runs from the Dagster instance (``music_dwh/instance/prune.py``)."""
    from music_dwh.instance.prune import prune_instance

    keep_days = get_settings().run_retention_days if args.keep_days is None else args.keep_days
    ensure_dagster_home()
    prune_instance(keep_days, say, dry_run=args.dry_run)
    return 0


# ---------------------------------------------------------------------------- dev
def ui_address(host: str, port: int) -> str:
    """The UI's address as a browser elsewhere reaches it: a wildcard host (all interfaces)
    is this machine's name."""
    import socket

    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def dev_environment(host: str, port: int, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for ``dagster dev`` on ``host:port``: the daemon's alerts link to this UI
    (``MUSIC_DWH_UI_URL``) unless that is set."""
    env = dict(env)
    if not env.get("MUSIC_DWH_UI_URL", "").strip():
        env["MUSIC_DWH_UI_URL"] = ui_address(host, port)
    return env


def cmd_dev(args: argparse.Namespace) -> int:
    """``dagster dev`` on 127.0.0.1 that stops within seconds on Ctrl-C; runs it leaves
    unfinished are cleaned up on the way out."""
    from music_dwh.cli.supervisor import Interrupted, run_service

    ensure_dagster_home()
    # `dagster dev` and its daemon inherit this process's environment.
    os.environ.update(dev_environment(args.host, args.port, os.environ))
    dagster = Path(sys.executable).with_name("dagster")
    argv = [
        str(dagster) if dagster.exists() else "dagster",
        "dev",
        "-w",
        str(REPO_ROOT / "workspace.yaml"),
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    say(
        f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']}); Ctrl-C stops it"
    )
    try:
        return run_service(argv, say)
    except Interrupted:
        _clean_after_dev()
        raise


def _clean_after_dev() -> None:
    import warnings

    warnings.filterwarnings("ignore")
    from dagster import DagsterInstance

    from music_dwh.instance.cleanup import clean_dead_runs

    with DagsterInstance.get() as instance:
        clean_dead_runs(instance, say)


# ---------------------------------------------------------------------------- parser
def add_commands(sub) -> None:
    from music_dwh.settings import DEFAULTS

    pr = add_command(sub, "prepare", "set up DAGSTER_HOME and the dbt manifest (make does this)")
    pr.set_defaults(func=cmd_prepare)

    dv = add_command(sub, "dev", "the Dagster web UI and daemon (dagster dev); Ctrl-C stops them")
    dv.add_argument("--host", default="127.0.0.1", help="address the web UI listens on")
    dv.add_argument("--port", type=positive, default=3000, help="port of the web UI")
    dv.set_defaults(func=cmd_dev)

    pn = add_command(
        sub, "prune", "remove older runs from the Dagster instance, keeping what its UI shows"
    )
    pn.add_argument(
        "--keep-days",
        type=day_count,
        metavar="N",
        help="keep the runs of the last N days (default: MUSIC_DWH_RUN_RETENTION_DAYS, "
        f"{DEFAULTS['MUSIC_DWH_RUN_RETENTION_DAYS']} unless set)",
    )
    pn.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    pn.set_defaults(func=cmd_prune)
