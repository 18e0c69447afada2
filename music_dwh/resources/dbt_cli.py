"""dagster-dbt's ``DbtCliResource`` without the ``dbt --version`` subprocess it runs once per
process before the first dbt command (≈2.5 s of every `music-dwh load`, measured by the
benchmark). dagster-dbt needs the version to pick dbt-core or Fusion behaviour; when the
executable is the dbt installed beside this interpreter, that version is the installed
dbt-core's, read from the package metadata."""

import importlib.metadata
import sys
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version


class DbtCli(DbtCliResource):
    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == Path(sys.executable).with_name("dbt"):
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version
