"""Why a run failed, from its events (music_dwh/automation/failures.py): the user's exception inside
Dagster's wrappers, without class names. Real in-process runs on an ephemeral instance."""

from __future__ import annotations

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    ConfigurableResource,
    Definitions,
    Failure,
    asset,
    asset_check,
)

from music_dwh.automation.failures import failure_of
from music_dwh.resources.base import WarehouseError
from music_dwh.resources.writer_lock import LockTimeout


def run(*defs_args, **defs_kwargs):
    from dagster import DagsterInstance

    defs = Definitions(*defs_args, **defs_kwargs)
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, raise_on_error=False
        )
    assert not result.success
    return failure_of(result.all_events)


def test_a_step_error_is_the_users_exception_without_its_class_or_cause():
    @asset
    def staged():
        try:
            raise OSError("disk detail")
        except OSError as exc:
            raise WarehouseError("the warehouse refused the write; retry") from exc

    assert run(assets=[staged]).reason == "the warehouse refused the write; retry"


def test_python_errors_keep_their_name():
    @asset
    def staged():
        raise KeyError("song_id")

    assert run(assets=[staged]).reason == "KeyError: 'song_id'"


def test_a_failure_says_its_description():
    @asset
    def staged():
        raise Failure(description="staging_events for 2018-11-03: too many bad\nwhat to do")

    assert run(assets=[staged]).reason == "staging_events for 2018-11-03: too many bad\nwhat to do"


class Holder(ConfigurableResource):
    """A resource that cannot start: the warehouse is held by another program."""

    def setup_for_execution(self, context) -> None:
        raise LockTimeout("gave up after 2 s waiting for the warehouse")


def test_a_resource_that_cannot_start_fails_the_run_with_its_reason():
    @asset
    def staged(holder: Holder):
        return None

    failure = run(assets=[staged], resources={"holder": Holder()})
    assert failure.reason == "gave up after 2 s waiting for the warehouse"


@pytest.mark.parametrize("blocking", [True, False])
def test_a_failed_blocking_check_is_the_reason_with_its_description(blocking):
    @asset
    def staged():
        return None

    @asset_check(asset=staged, blocking=blocking)
    def levels():
        return AssetCheckResult(
            passed=False, severity=AssetCheckSeverity.ERROR, description="e.g. 'premium'"
        )

    @asset(deps=[staged])
    def star():
        raise RuntimeError("star failed")

    failure = run(assets=[staged, star], asset_checks=[levels])
    if blocking:
        assert failure.reason == "blocking check levels on staged failed: e.g. 'premium'"
        assert [c.check_name for c in failure.checks] == ["levels"]
    else:  # the check only reports; the next step's error is the reason
        assert failure.reason == "RuntimeError: star failed" and failure.checks == []
