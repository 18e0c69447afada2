"""What an expectation suite is here, in plain data: importing it imports neither
great-expectations nor a database driver. ``checks/expectations.py`` runs a suite as a Dagster
check; ``sql_verdict.py`` and ``gx_validation.py`` judge it."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from music_dwh.resources.base import quote


@dataclass(frozen=True)
class Expect:
    """One expectation: a great_expectations.expectations class name and its arguments."""

    kind: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [c for c in [self.kwargs.get("column"), *self.kwargs.get("column_list", [])] if c]

    @property
    def label(self) -> str:
        target = self.kwargs.get("column") or ",".join(self.kwargs.get("column_list", []))
        return f"{self.kind}({target})" if target else self.kind


@dataclass(frozen=True)
class Suite:
    """The expectations one table must meet.

    ``blocking`` suites guard correctness (keys, required values): a failure stops everything
    downstream in the run. The others describe distributions and only warn.
    """

    name: str
    table: str  # schema.table
    expectations: tuple[Expect, ...]
    blocking: bool
    partition_column: str | None = None
    description: str = ""

    @property
    def columns(self) -> list[str]:
        return self.columns_of(range(len(self.expectations)))

    def columns_of(self, indices: Sequence[int]) -> list[str]:
        """The columns the expectations at ``indices`` read: all a validation needs to fetch."""
        cols: list[str] = []
        for i in indices:
            for c in self.expectations[i].columns:
                if c not in cols:
                    cols.append(c)
        return cols


# The rows a validation covers: (first day, last day), inclusive; None for the whole table.
Window = tuple[dt.date, dt.date] | None


def window_clause(suite: Suite, window: Window) -> tuple[str, list]:
    """The ``where`` clause (``?`` placeholders) and its parameters selecting ``window``."""
    if window is None:
        return "", []
    column = quote(suite.partition_column)
    return f"where {column} >= ? and {column} <= ?", list(window)


@dataclass
class ExpectationOutcome:
    """One expectation's result over the run's rows: what the check's metadata reports."""

    label: str
    mostly: float | None = None
    success: bool = True
    unexpected: int = 0
    # Passed somewhere on the cheap format, which counts nothing, while ``mostly`` lets some
    # values be unexpected: the count there is only known to be within the allowance.
    uncounted: bool = False
    observed: Any = None
    sample: list = field(default_factory=list)
    failing_days: list[str] = field(default_factory=list)

    def passed_cheaply(self) -> None:
        if self.mostly is not None and self.mostly < 1:
            self.uncounted = True

    @property
    def unexpected_cell(self) -> str | int:
        if self.success and self.uncounted:
            return f"≤ {100 * (1 - self.mostly):g} %"
        return self.unexpected
