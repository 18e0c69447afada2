"""Run lifecycle: who executes a run, what happens when that process dies, how a run is
stopped. Shared by ``music-dwh load`` (``supervisor``), the daemon (``launcher``) and the
warehouse writer lock."""
