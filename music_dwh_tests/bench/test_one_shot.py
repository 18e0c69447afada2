"""The one-shot DuckDB script (``one_shot.sql``): its text repair matches the staging loader's."""

from __future__ import annotations

from bench import common


def test_one_shot_repairs_double_encoded_names_like_the_staging_loader():
    import duckdb
    from ftfy import fix_encoding

    con = duckdb.connect()
    head = common.sql_file("one_shot.sql").split("create schema")[0]
    for statement in common.sql_statements(head):
        con.execute(statement)
    names = ["Björk", "Hélène Dvořák", "Земфира", "坂本龍一", "Sigur Rós", "plain ASCII"]
    for name in names:
        mangled = name.encode("utf-8").decode("latin-1").encode("utf-8").decode("latin-1")
        assert (
            con.execute("select repair_text(?)", [mangled]).fetchone()[0]
            == fix_encoding(mangled)
            == name
        )
        assert con.execute("select repair_text(?)", [name]).fetchone()[0] == name
