"""dbt's Jinja context for sqlfluff's jinja templater (library_path in sql/.sqlfluff).

sqlfluff's dbt builtins stand in for ref, source, config, var, this and is_incremental, but
not for adapter.dispatch, env_var or target, which sql/macros use. With these the models
render as dbt renders them for the DuckDB target, offline: no dbt parse, no connection.
"""

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
