"""``music-dwh load``'s compact progress: a Dagster logger that turns the run's structured
events into one live status line (current step, days staged, tables built, checks, elapsed)
and a line per finished step. ``music-dwh load -v`` uses Dagster's console logger instead.

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
    started: float = field(default_factory=time.monotonic)
    step: str | None = None
    step_started: float = 0.0
    at_step_start: tuple[int, int, int] = (0, 0, 0)
    failed_at_step_start: int = 0
    pending_checks: list = field(default_factory=lambda: [0, 0.0, 0, 0])  # steps, s, checks, failed
    steps_done: int = 0
    days_staged: set = field(default_factory=set)
    built: set = field(default_factory=set)
    checks_passed: int = 0
    checks_failed: int = 0
    failed_steps: list[str] = field(default_factory=list)

    def tallies(self) -> tuple[int, int, int]:
        return len(self.days_staged), len(self.built), self.checks_passed + self.checks_failed

    def status(self) -> str:
        elapsed = time.monotonic() - self.started
        parts = [
            f"{self.system}: {self.step or 'starting'}",
            f"{len(self.days_staged)} day(s) staged",
            f"{len(self.built)} table(s) built",
            f"checks {self.checks_passed} passed, {self.checks_failed} failed",
            f"{int(elapsed // 60):02d}:{int(elapsed % 60):02d}",
        ]
        return " │ ".join(parts)


class ProgressHandler(logging.Handler):
    def __init__(self, system: str, layers: dict[str, str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.counts = Counts(system, layers)
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
            days, built, checks = (a - b for a, b in zip(c.tallies(), c.at_step_start, strict=True))
            what = [f"{time.monotonic() - c.step_started:.1f} s"]
            what += [f"{days} day(s) staged"] if days else []
            what += [f"{built} table(s) built"] if built else []
            if checks and not days and not built:  # a check step: fold into one line
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
            error = event.step_failure_data.error if event.step_failure_data else None
            message = (error.message.strip().splitlines() or [""])[0] if error else ""
            c.failed_steps.append(event.step_key)
            self._flush_checks()
            self._print(f"  ✗ {event.step_key} FAILED: {message[:300]}")
            c.step = None
        elif kind == "ASSET_MATERIALIZATION":
            mat = event.step_materialization_data.materialization
            key = mat.asset_key.to_user_string()
            layer = c.layers.get(key)
            if layer == "staging" and mat.partition:
                c.days_staged.add(mat.partition)
            elif layer in ("star", "mart", "report"):
                c.built.add(key)
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if evaluation.passed:
                c.checks_passed += 1
            else:
                c.checks_failed += 1

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
    },
    description="Compact progress of a music-dwh load: one status line and a line per step.",
)
def progress_logger(init_context) -> logging.Logger:
    log = logging.Logger(LOGGER_NAME, level=logging.DEBUG)
    config = init_context.logger_config
    handler = ProgressHandler(config["system"], dict(config["layers"]))
    _ACTIVE.append(handler)
    log.addHandler(handler)
    return log


def close_progress() -> None:
    """Stop the live display (the run is over)."""
    while _ACTIVE:
        _ACTIVE.pop().close()
