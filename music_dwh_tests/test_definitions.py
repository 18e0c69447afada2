"""The one Definitions loads, validates, and holds exactly the expected assets and groups."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "assets.txt"


def _current() -> list[str]:
    from music_dwh.definitions import defs

    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        partitioned = "daily" if node.partitions_def else "-"
        tags = node.tags
        lines.append(
            f"{node.group_name:<10} {key.to_user_string():<34} {partitioned:<6} {tags.get('layer', '?')}"
        )
    return lines


def test_asset_keys_groups_partitions_and_layers_match_the_snapshot():
    current = _current()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text("\n".join(current) + "\n")
    expected = SNAPSHOT.read_text().splitlines()
    assert current == expected, "asset graph changed: review, then rerun with UPDATE_SNAPSHOTS=1"


def test_every_asset_is_described_owned_and_keyed_by_its_system():
    from music_dwh.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assert key.path[0] in ("sparkify", "chinook"), key
        assert node.group_name == key.path[0], key
        assert node.description and len(node.description) > 20, f"{key} needs a description"
        assert node.owners, f"{key} needs owners"
        assert node.tags.get("source_system") == key.path[0], key


def test_warehouse_writers_share_the_duckdb_pool():
    """The daemon's queue launches one run of the pool at a time (dagster.yaml: one slot, run
    granularity); it knows a run needs the pool only from its steps. What keeps DuckDB to one
    writer whoever starts a run is the warehouse's writer lock (test_backup.py)."""
    from music_dwh.definitions import defs

    for assets_def in defs.resolve_asset_graph().assets_defs:
        writes_warehouse = "warehouse" in assets_def.required_resource_keys
        if writes_warehouse:
            pools = {op.pool for op in assets_def.node_def.iterate_op_defs()}
            assert pools == {"duckdb"}, assets_def.keys


def test_dagster_validates_the_definitions():
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "definitions",
            "validate",
            "-m",
            "music_dwh.definitions",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Validation successful" in proc.stderr + proc.stdout
