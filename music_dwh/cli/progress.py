"""``music-dwh load``'s compact progress: a Dagster logger that turns the run's structured
events into one live status line (current step, days staged, records quarantined, days without
a file, tables built, checks, elapsed) and a line per finished step. ``music-dwh load -v`` uses
Dagster's console logger instead; ``Counts`` tallies the run's events for both.

On a terminal the status line is redrawn in place (rich); elsewhere (CI, a pipe, a log file)
only the per-step lines are printed.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field

from dagster import Field, Permissive, logger

LOGGER_NAME = "music_dwh_progress"
_ACTIVE: list[ProgressHandler] = []


@dataclass
class Counts:
    system: str
    layers: dict[str, str]  # asset key "a/b" → layer
    quarantine_table: str = ""  # where staging puts the records it rejects
    started: float = field(default_factory=time.monotonic)
    step: str | None = None
    step_started: float = 0.0
    at_step_start: tuple[int, ...] = (0, 0, 0, 0, 0)
    failed_at_step_start: int = 0
    pending_checks: list = field(default_factory=lambda: [0, 0.0, 0, 0])  # steps, s, checks, failed
    steps_done: int = 0
    days_staged: set = field(default_factory=set)
    days_without_file: set = field(default_factory=set)
    quarantined: int = 0
    built: set = field(default_factory=set)
    checks_passed: int = 0
    checks_failed: int = 0
    failed_steps: list[str] = field(default_factory=list)

    def tallies(self) -> tuple[int, ...]:
        return (
            len(self.days_staged),
            len(self.built),
            self.checks_passed + self.checks_failed,
            self.quarantined,
            len(self.days_without_file),
        )

    def add(self, event) -> None:
        """Count what a materialization or a check evaluation of the run brings: staged days
        (with the records quarantined and the days without a file, from each day's books),
        tables built, checks."""
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            mat = event.step_materialization_data.materialization
            key = mat.asset_key.to_user_string()
            layer = self.layers.get(key)
            if layer == "staging":
                if mat.partition:
                    self.days_staged.add(mat.partition)
                    if _number(mat.metadata.get("files")) == 0:
                        self.days_without_file.add(mat.partition)
                self.quarantined += _number(mat.metadata.get("quarantined")) or 0
            elif layer in ("star", "mart", "report"):
                self.built.add(key)
        elif kind == "ASSET_CHECK_EVALUATION":
            if event.event_specific_data.passed:
                self.checks_passed += 1
            else:
                self.checks_failed += 1

    def data_problems(self, quarantined: int, without_file: int) -> list[str]:
        """Quarantined records and days without a file, in words (nothing when there are none)."""
        problems = []
        if quarantined:
            problems.append(f"{quarantined:,} record(s) quarantined in {self.quarantine_table}")
        if without_file:
            problems.append(f"{without_file:,} day(s) without a file")
        return problems

    def status(self) -> str:
        elapsed = time.monotonic() - self.started
        parts = [
            f"{self.system}: {self.step or 'starting'}",
            f"{len(self.days_staged)} day(s) staged",
            *self.data_problems(self.quarantined, len(self.days_without_file)),
            f"{len(self.built)} table(s) built",
            f"checks {self.checks_passed} passed, {self.checks_failed} failed",
            f"{int(elapsed // 60):02d}:{int(elapsed % 60):02d}",
        ]
        return " │ ".join(parts)


def _number(value) -> int | None:
    """An int metadata entry's value (as stored: a metadata value, or a plain int)."""
    value = getattr(value, "value", value)
    return value if isinstance(value, int) else None


class ProgressHandler(logging.Handler):
    def __init__(self, system: str, layers: dict[str, str], quarantine_table: str = "") -> None:
        super().__init__(level=logging.DEBUG)
        self.counts = Counts(system, layers, quarantine_table)
        self._lock = threading.Lock()
        self._live = None
        if sys.stdout.isatty():
            from rich.console import Console
            from rich.live import Live

            self._console = Console()
            self._live = Live(
                console=self._console,
                refresh_per_second=4,
                transient=True,
                get_renderable=lambda: self.counts.status(),
            )
            self._live.start()

    def _flush_checks(self) -> None:
        """Check steps are many and short: one line for a series of them."""
        steps, seconds, checks, failed = self.counts.pending_checks
        if steps:
            mark = "✗" if failed else "✓"
            self._print(
                f"  {mark} {steps} check step(s): {checks - failed} passed, {failed} failed ({seconds:.1f} s)"
            )
        self.counts.pending_checks = [0, 0.0, 0, 0]

    def _print(self, text: str) -> None:
        if self._live is not None:
            self._console.print(text, markup=False, highlight=False)
        else:
            print(text, flush=True)

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        with self._lock:
            self._on_event(event)

    def _on_event(self, event) -> None:
        kind = event.event_type_value
        c = self.counts
        if kind == "STEP_START":
            c.step, c.step_started = event.step_key, time.monotonic()
            c.at_step_start = c.tallies()
            c.failed_at_step_start = c.checks_failed
        elif kind == "STEP_SUCCESS":
            c.steps_done += 1
            days, built, checks, quarantined, without_file = (
                a - b for a, b in zip(c.tallies(), c.at_step_start, strict=True)
            )
            what = [f"{time.monotonic() - c.step_started:.1f} s"]
            what += [f"{days} day(s) staged"] if days else []
            what += c.data_problems(quarantined, without_file)
            what += [f"{built} table(s) built"] if built else []
            if checks and len(what) == 1:  # a check step: fold into one line
                pending = c.pending_checks
                pending[0] += 1
                pending[1] += time.monotonic() - c.step_started
                pending[2] += checks
                pending[3] += c.checks_failed - c.failed_at_step_start
            else:
                what += [f"{checks} check(s)"] if checks else []
                self._flush_checks()
                self._print(f"  ✓ {event.step_key} ({', '.join(what)})")
            c.step = None
        elif kind == "STEP_FAILURE":
            # Why is said once, after the run (``run_load``): the user's exception without
            # Dagster's wrappers.
            c.failed_steps.append(event.step_key)
            self._flush_checks()
            self._print(f"  ✗ {event.step_key} FAILED ({time.monotonic() - c.step_started:.1f} s)")
            c.step = None
        else:
            c.add(event)

    def close(self) -> None:
        with self._lock:
            self._flush_checks()
        if self._live is not None:
            self._live.stop()
            self._live = None
        super().close()


@logger(
    config_schema={
        "system": Field(str, default_value=""),
        "layers": Field(Permissive(), default_value={}),
        "quarantine_table": Field(str, default_value=""),
    },
    description="Compact progress of a music-dwh load: one status line and a line per step.",
)
def progress_logger(init_context) -> logging.Logger:
    log = logging.Logger(LOGGER_NAME, level=logging.DEBUG)
    config = init_context.logger_config
    handler = ProgressHandler(config["system"], dict(config["layers"]), config["quarantine_table"])
    _ACTIVE.append(handler)
    log.addHandler(handler)
    return log


def close_progress() -> None:
    """Stop the live display (the run is over)."""
    while _ACTIVE:
        _ACTIVE.pop().close()
