"""``music-dwh``, the command line (``main``: the parser and the commands, by topic), and the
run machinery only it uses: ``supervisor`` (the command answers signals) starts ``worker`` (the
process that executes the runs), whose ``run`` is one Dagster run per source system, shown
by ``progress``."""
