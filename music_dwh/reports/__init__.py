"""Visual reports, one per source system: the rendering kit (``kit``) and each system's report
content (``sparkify``, ``chinook``). The Dagster assets that publish them are in
``music_dwh/assets/reports.py``; nothing here knows about Dagster.

Importing this package (or any module of it) imports neither matplotlib nor numpy: the charts
load them when they draw, or ``kit.warm_up`` does in a background thread.
"""
