"""The benchmark harness (``music-dwh bench``) and its baselines.

* ``harness.py``: generates the data, runs and measures every approach, writes the report;
* ``report.py``: the markdown report and the targets;
* ``monitor.py``: wall time, CPU and peak memory of a process tree;
* ``pgserver.py``: the local PostgreSQL server the PostgreSQL approaches run on;
* approach scripts, each run as its own process: ``floor.py`` (``floor.sql``),
  ``one_shot.py`` (``one_shot.sql``), ``seed_elt.py`` (``seed_elt/*.sql``),
  ``row_by_row.py`` (``row_by_row/*.sql``); music_dwh itself runs as ``music-dwh load``;
* ``queries/*.sql``: the seeds' analytic questions, timed on the star schema.
"""
