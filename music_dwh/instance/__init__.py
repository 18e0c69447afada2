"""The Dagster instance's plug-ins, each named in the shipped ``dagster.yaml``, and what keeps
the instance healthy: its storage (``storage``: the instance class; ``sqlite_storage``,
``postgres_storage``, ``batches``), the daemon's run queue and launcher (``launcher``), which
process executes a run and whether it lives (``liveness``), dead runs failed and their pool
slots freed (``cleanup``), and older runs removed (``prune``)."""
