"""The benchmark harness (``music-dwh bench``) and its baselines.

* ``harness.py``: the entry point (options, run, report files); ``options.py``: the arguments;
  ``model.py``: approaches, targets and result types; ``runner.py``: runs and measures every
  approach and part; ``dataset.py``: the generated data; ``commands.py``: ``music-dwh`` as the
  bench runs it; ``profile.py``: where a load spent its time (its Dagster instance, dbt's
  ``run_results.json``); ``storage.py``: rows and bytes per table; ``query_timing.py``: query
  latency; ``machine.py``: the machine and versions;
* ``orchestration.py``: issue 13's orchestration costs (``orchestration_report.py``: its
  targets and report section);
* ``report.py``: the markdown report and the targets (``text.py``: number formats);
* ``monitor.py``: wall time, CPU and peak memory of a process tree;
* ``pgserver.py``: the throw-away PostgreSQL server the PostgreSQL approaches run on (the
  tests' ``postgres_server`` fixtures start theirs with it too);
* ``latency.py``: ``music-dwh bench-latency`` (file landed → rows, through the daemon);
* approach scripts, each run as its own process: ``floor.py`` (``floor.sql``),
  ``one_shot.py`` (``one_shot.sql``), ``seed_elt.py`` (``seed_elt/*.sql``),
  ``row_by_row.py`` (``row_by_row/*.sql``); music_dwh itself runs as ``music-dwh load``;
* ``queries/*.sql``: the seeds' analytic questions, timed on the star schema.
"""
