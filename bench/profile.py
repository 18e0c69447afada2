"""Where a measured ``music-dwh load`` spent its time, read after it exited: its run and
step timings from the Dagster instance it wrote (``DagsterInstance.get()``), dbt's
own execution from ``run_results.json``, and the checks summary from its output."""

from __future__ import annotations

import json
from pathlib import Path


def _dbt_run_results(step: str, run_id: str) -> float | None:
    """dbt's own execution time (models and tests, without start-up and parse) of a step, from
    the run_results.json each of its invocations leaves in sql/target/<step>-<run id>-<uuid>/:
    summed, since a step on an empty warehouse runs two (``dbt run --empty`` for the missing
    tables, then the build)."""
    from music_dwh.dbt_project import dbt_project

    target = Path(dbt_project.project_dir) / "target"
    total, found = 0.0, False
    for folder in target.glob(f"{step}-{run_id[:7]}-*"):
        path = folder / "run_results.json"
        if path.exists():
            try:
                total += float(json.loads(path.read_text()).get("elapsed_time"))
                found = True
            except (ValueError, TypeError, OSError):
                return None
    return total if found else None


def pipeline_profile(dagster_home: Path, process_started: float, process_ended: float) -> dict:
    """Where a ``music-dwh load`` process spent its time, from its Dagster instance: start-up
    (interpreter, imports, manifest check, definitions) before the run, each step, and for dbt
    steps the time before dbt starts (selection, and the in-process parse on a process's first
    dbt step), the dbt invocation (models and tests, in the run's process) and after it (table
    metadata, Dagster events), from the "Running/Finished dbt command" lines that
    ``resources/dbt_cli.py`` logs and the ``run_results.json`` it writes."""
    import warnings

    warnings.filterwarnings("ignore")
    from dagster import DagsterInstance

    from music_dwh.settings import temporary_environ

    with temporary_environ({"DAGSTER_HOME": str(Path(dagster_home).resolve())}):
        instance = DagsterInstance.get()
    try:
        records = instance.get_run_records()
        if not records:
            return {}
        record = records[0]
        run_id = record.dagster_run.run_id
        created = record.create_timestamp.timestamp()
        steps: dict[str, dict] = {}
        for entry in instance.all_logs(run_id):
            key = entry.step_key
            if not key:
                continue
            step = steps.setdefault(key, {})
            kind = entry.dagster_event_type.value if entry.dagster_event_type else ""
            message = entry.user_message or ""
            if kind == "STEP_START":
                step["start"] = entry.timestamp
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
                step["end"] = entry.timestamp
            elif message.startswith("Running dbt command"):
                step["dbt_start"] = entry.timestamp
            elif message.startswith("Finished dbt command"):
                step["dbt_end"] = entry.timestamp
        out_steps = []
        for key, s in steps.items():
            if "start" not in s or "end" not in s:
                continue
            row = {"step": key, "seconds": s["end"] - s["start"], "start": s["start"]}
            if "dbt_start" in s and "dbt_end" in s:
                row["before_dbt"] = s["dbt_start"] - s["start"]
                row["dbt_process"] = s["dbt_end"] - s["dbt_start"]
                row["after_dbt"] = s["end"] - s["dbt_end"]
                row["dbt_execution"] = _dbt_run_results(key, run_id)
            out_steps.append(row)
        out_steps.sort(key=lambda r: r["start"])
        for row in out_steps:
            row.pop("start")
        return {
            "run_id": run_id,
            "startup": created - process_started,
            "run_setup": (record.start_time or created) - created,
            "run": (record.end_time or created) - (record.start_time or created),
            "shutdown": process_ended - (record.end_time or created),
            "steps": out_steps,
        }
    finally:
        instance.dispose()


def checks_line(log: Path) -> str:
    try:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("sparkify: checks"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""
