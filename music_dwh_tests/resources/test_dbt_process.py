"""What dbt keeps per process (music_dwh/resources/dbt_process.py): the dagster-dbt and
dbt-core internals used are the verified versions, and pyproject.toml pins the same ranges."""

from __future__ import annotations

import tomllib

from music_dwh.resources import dbt_process
from music_dwh_tests.conftest import REPO_ROOT


def test_dbt_internals_are_the_verified_versions_and_pyproject_pins_them():
    """Fails on any dagster-dbt / dbt-core / dbt-common / dbt-adapters / dbt-duckdb outside the
    ranges whose internals were verified: re-verify what VERIFIED lists, then widen both."""
    from packaging.requirements import Requirement

    assert dbt_process.unverified_versions() == []
    pins = {}
    for line in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]:
        requirement = Requirement(line)
        pins[requirement.name] = str(requirement.specifier)
    for package, (spec, _) in dbt_process.VERIFIED.items():
        from packaging.specifiers import SpecifierSet

        assert package in pins and SpecifierSet(pins[package]) == SpecifierSet(spec), (
            f"pyproject.toml must pin {package}{spec} (the verified range), not {pins.get(package)}"
        )
