"""A suite's verdict counted in the warehouse, before any great-expectations validation.

One aggregate query per suite (``SqlVerdict``, DuckDB and PostgreSQL) counts, for every
expectation it can translate (values not null, in a set, between bounds, unique, compound
unique), the rows GX would consider and the unexpected ones, per day of the run's window; a
second one finds duplicate keys in the window. The counts are judged with GX's own rule
(``mostly_success``: ``mostly`` over the rows considered, empty passes). The translation errs
on the strict side (a float NaN, missing for GX on pandas and a value for GX's SQL path, counts
as missing for NotBeNull and as unexpected for a set or a range; duplicates are looked for
across the whole window), so a pass in SQL is a pass in GX, and a failure costs a GX validation
(``gx_validation.py``). Nothing here imports great-expectations.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from music_dwh.checks.suite import Expect, Suite, Window, window_clause
from music_dwh.resources.base import qualified, quote
from music_dwh.resources.warehouse import WarehouseSession

# Engines the warehouse verdict runs on: its SQL (CASE sums, a NaN literal, GROUP BY … HAVING)
# was verified against GX on DuckDB and PostgreSQL; Redshift keeps GX's own SQL path.
SQL_VERDICT_ENGINES = ("duckdb", "postgres")

# Column types whose values can be NaN.
_FLOAT_TYPES = ("double", "float", "real", "numeric")
_STRING_TYPES = ("varchar", "char", "text", "string")
_NUMBER_TYPES = ("int", "double", "float", "real", "numeric", "decimal")
# Expectation arguments the translation understands; any other one (row_condition, strict
# bounds …) sends the expectation to GX.
_KNOWN_KWARGS = {"column", "column_list", "value_set", "min_value", "max_value", "mostly"}


def _literal(value: Any) -> str | None:
    """A SQL literal for a str, int or finite float; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int) or (
        isinstance(value, float) and value == value and abs(value) != float("inf")
    ):
        return repr(value)
    return None


@dataclass(frozen=True)
class Counted:
    """How SQL judges one expectation: ``considered`` and ``unexpected`` are SQL conditions
    (counted per day) for a column-map rule; ``key`` the columns of a uniqueness rule."""

    considered: str = ""
    unexpected: str = ""
    key: tuple[str, ...] = ()
    whole_table_rows: bool = False  # NotBeNull: every row is considered, missing or not


class SqlVerdict:
    """Counts, in the warehouse, what GX would count (see the module's docstring)."""

    def __init__(self, suite: Suite, session: WarehouseSession):
        self.suite, self.session = suite, session
        self.quoted = qualified(suite.table)
        types = {name: str(kind).lower() for name, kind in session.columns(suite.table)}
        self.counted: dict[int, Counted] = {}
        for i, expect in enumerate(suite.expectations):
            counted = self._translate(expect, types)
            if counted is not None:
                self.counted[i] = counted

    @staticmethod
    def _nan(column: str, kind: str) -> str | None:
        if any(t in kind for t in _FLOAT_TYPES):
            return f"\"{column}\" = cast('NaN' as double precision)"
        return None

    def _translate(self, expect: Expect, types: dict[str, str]) -> Counted | None:
        kwargs = expect.kwargs
        if set(kwargs) - _KNOWN_KWARGS or any(c not in types for c in expect.columns):
            return None
        mostly = kwargs.get("mostly", 1.0)
        if not isinstance(mostly, int | float) or not 0 <= mostly <= 1:
            return None
        if expect.kind == "ExpectCompoundColumnsToBeUnique":
            columns = tuple(kwargs.get("column_list") or ())
            return Counted(key=columns) if len(columns) > 1 and mostly == 1 else None
        column = kwargs.get("column")
        if not column:
            return None
        kind, quoted = types[column], quote(column)
        # NaN is the one value the two GX paths disagree on: pandas calls it missing, GX's SQL
        # path a value. Here it is whatever is stricter: missing for NotBeNull, and considered
        # but unexpected for a set or a range (where pandas would leave it out).
        nan = self._nan(column, kind)
        considered = f"{quoted} is not null"

        def unexpected_or_nan(condition: str) -> str:
            return f"(({condition}) or {nan})" if nan else condition

        if expect.kind == "ExpectColumnValuesToNotBeNull":
            return Counted(
                considered="1 = 1",
                unexpected=unexpected_or_nan(f"{quoted} is null"),
                whole_table_rows=True,
            )
        if expect.kind == "ExpectColumnValuesToBeUnique":
            return Counted(key=(column,)) if mostly == 1 else None
        if expect.kind == "ExpectColumnValuesToBeInSet":
            values = list(kwargs.get("value_set") or [])
            literals = [_literal(v) for v in values]
            if not values or None in literals:
                return None
            strings = all(isinstance(v, str) for v in values)
            if strings != any(t in kind for t in _STRING_TYPES) or (
                not strings and not any(t in kind for t in _NUMBER_TYPES)
            ):
                return None  # a comparison the two engines might type differently
            return Counted(
                considered=considered,
                unexpected=unexpected_or_nan(f"{quoted} not in ({', '.join(literals)})"),
            )
        if expect.kind == "ExpectColumnValuesToBeBetween":
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            bounds = [b for b in (low, high) if b is not None]
            if not bounds or any(_literal(b) is None or isinstance(b, str) for b in bounds):
                return None
            if not any(t in kind for t in _NUMBER_TYPES):
                return None
            inside = " and ".join(
                ([f"{quoted} >= {_literal(low)}"] if low is not None else [])
                + ([f"{quoted} <= {_literal(high)}"] if high is not None else [])
            )
            return Counted(considered=considered, unexpected=unexpected_or_nan(f"not ({inside})"))
        return None

    def _where(self, window: Window) -> tuple[str, list]:
        return window_clause(self.suite, window)

    def per_day(self, window: Window) -> dict[Any, dict[int, tuple[int, int]]]:
        """day (None for an unpartitioned table) → expectation index → (rows considered,
        unexpected), for the column-map rules."""
        mapped = {i: c for i, c in self.counted.items() if not c.key}
        if not mapped:
            return {}
        where, params = self._where(window)
        sums = []
        for c in mapped.values():
            sums.append(
                "count(*)"
                if c.whole_table_rows
                else f"sum(case when {c.considered} then 1 else 0 end)"
            )
            sums.append(f"sum(case when {c.considered} and {c.unexpected} then 1 else 0 end)")
        if window is None:  # one row, the whole table
            rows = [
                (None, *r)
                for r in self.session.query(f"select {', '.join(sums)} from {self.quoted}")
            ]
        else:
            rows = self.session.query(
                f"select {quote(self.suite.partition_column)}, {', '.join(sums)} "
                f"from {self.quoted} {where} group by 1",
                params,
            )
        out: dict[Any, dict[int, tuple[int, int]]] = {}
        for row in rows:
            d = row[0]
            if d is not None and not isinstance(d, dt.date):
                d = dt.date.fromisoformat(str(d))
            values = [int(v or 0) for v in row[1:]]
            out[d] = {i: (values[2 * k], values[2 * k + 1]) for k, i in enumerate(mapped)}
        return out

    def duplicated_keys(self, window: Window) -> dict[int, int]:
        """Uniqueness rules → how many distinct keys occur more than once in the window (rows
        whose key is entirely missing are left out, as GX does)."""
        out = {}
        where, params = self._where(window)
        for i, c in self.counted.items():
            if not c.key:
                continue
            columns = ", ".join(quote(k) for k in c.key)
            present = " or ".join(f"{quote(k)} is not null" for k in c.key)
            condition = f"{where} and ({present})" if where else f"where ({present})"
            out[i] = int(
                self.session.query(
                    f"select count(*) from (select {columns} from {self.quoted} {condition} "
                    f"group by {columns} having count(*) > 1) duplicated",
                    params,
                )[0][0]
            )
        return out


def mostly_success(considered: int, unexpected: int, mostly: float) -> bool:
    """GX's rule for a map expectation: vacuously true without rows, else the share of
    expected rows at least ``mostly`` (great_expectations.expectations.expectation)."""
    if considered == 0:
        return True
    return (float(considered) - float(unexpected)) / float(considered) >= mostly
