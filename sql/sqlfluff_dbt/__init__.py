"""dbt's Jinja context for sqlfluff's jinja templater (library_path in sql/.sqlfluff).

sqlfluff's dbt builtins stand in for ref, source, config, var, this and is_incremental, but
not for adapter.dispatch, env_var, target or dbt's own macros (dbt.dateadd …), which the models
and sql/macros use. With these the models render as dbt renders them for the DuckDB target,
offline: no dbt parse, no connection.
"""

import functools
from pathlib import Path

import jinja2


class _Target:
    type = "duckdb"
    name = "duckdb"
    schema = "main"
    database = "warehouse"


class _Adapter:
    @staticmethod
    @jinja2.pass_context
    def dispatch(context, macro_name, macro_namespace=None):
        # dbt's search order for the duckdb target: the engine's implementation, then default.
        for prefix in (f"{target.type}__", "default__"):
            macro = context.get(prefix + macro_name)
            if macro is not None:
                return macro
        raise jinja2.UndefinedError(f"no {macro_name} implementation for {target.type}")


def env_var(name, default=None):
    # The defaults are a hand-run dbt build's (every day); an unset variable without one
    # fails in dbt, so it fails here too.
    if default is None:
        raise jinja2.UndefinedError(f"env_var {name!r} has no default")
    return default


target = _Target()
adapter = _Adapter()


@functools.cache
def _dbt_macros():
    """dbt's cross-database macros as dbt renders them for DuckDB: the files of dbt-core's and
    dbt-duckdb's macros/utils, as one template (their macros call each other)."""
    import dbt.include.duckdb
    import dbt.include.global_project
    from dbt.adapters.duckdb.column import DuckDBColumn
    from sqlfluff.core.templaters.builtins.dbt import DBT_BUILTINS, DbtSandboxedEnvironment

    folders = [
        Path(package.__file__).parent / "macros" / "utils"
        for package in (dbt.include.global_project, dbt.include.duckdb)
    ]
    source = "\n".join(f.read_text() for d in folders for f in sorted(d.glob("*.sql")))
    context = {
        **DBT_BUILTINS,
        "adapter": adapter,
        "target": target,
        "dbt": dbt,
        "api": type("api", (), {"Column": DuckDBColumn}),
    }
    environment = DbtSandboxedEnvironment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
    return environment.from_string(source, globals=context).module


class _Dbt:
    """The ``dbt`` namespace of dbt's own macros: ``dbt.date_trunc(...)``."""

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(_dbt_macros(), name)


dbt = _Dbt()
