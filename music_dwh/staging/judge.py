"""The in-memory DuckDB a column-at-a-time judge works in (``sparkify_duckdb.EventJudge``,
``chinook_duckdb.CsvJudge``): one connection per judge under the warehouse's memory limit,
lent to one caller at a time."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Self

import duckdb


class DuckDBJudge:
    """``borrow`` lends the process's idle judge of the class (connecting costs more than
    judging a small file); each subclass keeps its own idle judges."""

    _idle: ClassVar[dict[str, DuckDBJudge]]
    _lock: ClassVar[threading.Lock]

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._idle, cls._lock = {}, threading.Lock()

    @classmethod
    @contextlib.contextmanager
    def borrow(cls, memory_limit: str) -> Iterator[Self]:
        with cls._lock:
            judge = cls._idle.pop(memory_limit, None)
        if judge is not None and judge.pid != os.getpid():
            judge = None  # inherited through fork(): DuckDB's threads did not come along
        if judge is None:
            judge = cls(memory_limit)
        try:
            yield judge
        except BaseException:
            judge.close()  # an interrupted file may leave results open: never lend it again
            raise
        with cls._lock:
            if memory_limit in cls._idle:
                judge.close()
            else:
                cls._idle[memory_limit] = judge

    def __init__(self, memory_limit: str) -> None:
        self.pid = os.getpid()
        # Past the memory limit DuckDB spills here; it creates the folder only then, and removes
        # its files (and the folder it made) when the connection closes.
        spill = Path(tempfile.gettempdir()) / f"music_dwh-staging-{os.getpid()}"
        self.con = duckdb.connect(
            ":memory:", config={"memory_limit": memory_limit, "temp_directory": str(spill)}
        )

    def close(self) -> None:
        self.con.close()
