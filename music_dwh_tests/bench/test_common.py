"""Helpers shared by the approach scripts: the SQL splitting and the streamed log lines."""

from __future__ import annotations

from pathlib import Path

from bench import common


def test_sql_statements_split_on_line_ends_and_drop_comment_only_chunks():
    text = (
        "-- heading\ncreate table a (x int);\n-- a comment\ninsert into a values (1);\n-- the end\n"
    )
    assert common.sql_statements(text) == [
        "-- heading\ncreate table a (x int)",
        "-- a comment\ninsert into a values (1)",
    ]


def test_every_bench_sql_file_splits_into_statements():
    files = sorted(common.PACKAGE_DIR.rglob("*.sql"))
    assert {p.parent.name for p in files} >= {"bench", "seed_elt", "row_by_row", "queries"}
    for path in files:
        assert common.sql_statements(path.read_text()), path


def test_chained_lines_adds_the_missing_newlines_between_files(tmp_path: Path):
    (tmp_path / "a.json").write_bytes(b'{"a":1}\n{"a":2}')  # no final newline, like the logs
    (tmp_path / "b.json").write_bytes(b'{"b":1}\n')
    (tmp_path / "c.json").write_bytes(b'{"c":1}')
    reader = common.ChainedLines(sorted(tmp_path.glob("*.json")))
    data = b"".join(iter(lambda: reader.read(3), b""))
    assert data == b'{"a":1}\n{"a":2}\n{"b":1}\n{"c":1}\n'
