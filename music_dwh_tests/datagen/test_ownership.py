"""The sample-data writers never delete or overwrite a file they did not write
(music_dwh/datagen/ownership.py), in a folder and in S3 (moto): they write beside someone
else's files with ``force``, replace only their own unchanged output, and keep their manifests
where no source looks. Their refusals (exit status, message, nothing changed) and the demo are
tested through the command line in music_dwh_tests/cli/test_sample_data.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from music_dwh.datagen import chinook, ownership, sparkify
from music_dwh.datagen.ownership import ForeignFilesError
from music_dwh.resources.raw_store import RawStore, open_raw_store
from music_dwh.sources import SYSTEMS, delivered_days
from music_dwh.sources import chinook as chinook_source
from music_dwh.sources import sparkify as sparkify_source
from music_dwh_tests.datagen.foreign_data import (
    NOTES,
    WRITERS,
    fill_with_foreign_data,
    generate_chinook,
    generate_sparkify,
    listing,
    writers_to_try,
)


@pytest.fixture(params=["sample", "generated"])
def foreign(request, folder_or_s3_store, tmp_path) -> RawStore:
    """A raw store (folder or S3) holding data and notes that no writer wrote there."""
    fill_with_foreign_data(folder_or_s3_store, request.param, tmp_path / "elsewhere")
    return folder_or_s3_store


# ---------------------------------------------------------------------------- the rule
def test_with_force_the_writers_write_their_files_and_keep_every_other(foreign, tmp_path):
    # One after the other in the same store: the chinook/ files of `generate chinook` are not
    # the export's own either.
    after = listing(foreign)
    for command in writers_to_try():
        writer, run = WRITERS[command]
        before = after
        clean = open_raw_store(str(tmp_path / command.replace(" ", "-")))
        run(clean)
        generated = {k: v for k, v in listing(clean).items() if k != writer.manifest_key}

        run(foreign, force=True)
        after = listing(foreign)
        # Its files are there, exactly as in an empty store; every other file is as it was.
        assert {k: after[k] for k in generated} == generated, command
        kept = {k: v for k, v in before.items() if k not in generated and k != writer.manifest_key}
        assert {k: after.get(k) for k in kept} == kept, command
        assert set(after) == set(kept) | set(generated) | {writer.manifest_key}
        assert set(ownership.survey(foreign, writer).own) == set(generated)
    assert {k: foreign.read_bytes(k) for k in NOTES} == NOTES


@pytest.mark.parametrize("command", ["generate sparkify", "generate chinook"])
def test_running_again_replaces_its_own_output_and_leaves_no_stale_day(folder_or_s3_store, command):
    store = folder_or_s3_store
    writer, run = WRITERS[command]
    run(store, days=3)
    run(store, days=1, seed=5)  # no force needed: everything there is its own
    keys = [o.key for o in store.list("")]
    days = {
        sparkify_source.LOG_PREFIX: {"sparkify/log_data/2018/11/2018-11-01-events.json"},
        chinook_source.INVOICE_PREFIX: {
            "chinook/invoices/2021/01/01/invoice.csv",
            "chinook/invoices/2021/01/01/invoice_line.csv",
        },
    }
    daily = next(p for p in days if p.startswith(writer.scope))
    assert {k for k in keys if k.startswith(daily)} == days[daily]
    if command == "generate sparkify":
        assert [k for k in keys if k.startswith(sparkify.TRUTH_PREFIX)] == [
            "_truth/sparkify/plays/2018-11-01.csv"
        ]
    assert set(ownership.survey(store, writer).own) == {
        k for k in keys if k.startswith(writer.scope)
    }
    if not store.is_s3:  # the folders of the removed days go too
        root = Path(store.location)
        assert [p for p in root.rglob("*") if p.is_dir() and not any(p.iterdir())] == []


def test_a_file_changed_since_it_was_written_is_not_its_own(folder_or_s3_store):
    store = folder_or_s3_store
    generate_sparkify(store, days=3)
    edited = "sparkify/log_data/2018/11/2018-11-03-events.json"
    store.write_bytes(edited, b'{"edited": "by hand"}')
    before = listing(store)
    with pytest.raises(ForeignFilesError) as refused:
        generate_sparkify(store, days=1)
    assert str(refused.value).startswith(
        f"{store.describe()} holds 1 file that music-dwh generate sparkify did not write "
        f"({edited}); nothing was changed."
    )
    assert listing(store) == before
    # Forced, it removes its own stale day (the 2nd) but never the edited one (the 3rd).
    generate_sparkify(store, days=1, force=True)
    logs = [o.key for o in store.list(sparkify_source.LOG_PREFIX)]
    assert logs == ["sparkify/log_data/2018/11/2018-11-01-events.json", edited]
    assert store.read_bytes(edited) == b'{"edited": "by hand"}'


def test_an_interrupted_run_still_knows_the_files_it_wrote(tmp_path):
    store = open_raw_store(str(tmp_path))
    generate_sparkify(store, days=3)

    def stop_after_the_first_day(message: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_sparkify(store, days=3, seed=9, progress=stop_after_the_first_day)
    assert ownership.survey(store, sparkify.WRITER).foreign == []
    generate_sparkify(store, days=2)  # no force needed
    assert ownership.survey(store, sparkify.WRITER).foreign == []


def test_a_file_at_the_manifest_key_that_is_not_a_manifest_is_someone_elses(tmp_path):
    store = open_raw_store(str(tmp_path))
    generate_chinook(store)
    store.write_bytes(chinook.WRITER.manifest_key, b"my own list of files\n")
    with pytest.raises(ForeignFilesError, match="music-dwh generate chinook did not write"):
        generate_chinook(store)
    assert store.read_bytes(chinook.WRITER.manifest_key) == b"my own list of files\n"


def test_the_manifests_are_data_to_no_source(tmp_path):
    """Outside every source's prefix and layout: the sensors, raw assets, ``load`` and the
    reconciliation checks list only under a source's prefix and keep keys of its layout."""
    from music_dwh.staging.sparkify import count_records

    store = open_raw_store(str(tmp_path))
    generate_sparkify(store)
    generate_chinook(store)
    keys = [o.key for o in store.list("")]
    manifests = [k for k in keys if k.startswith(ownership.MANIFEST_PREFIX)]
    assert manifests == [chinook.WRITER.manifest_key, sparkify.WRITER.manifest_key]
    for key in manifests:
        for contract in SYSTEMS.values():
            assert not key.startswith(contract.PREFIX) and contract.day_of(key) is None
        assert not sparkify_source.is_song_file(key)
        assert chinook_source.reference_table_of(key) is None
    data = [k for k in keys if k not in manifests]
    for system in SYSTEMS:
        assert delivered_days(system, keys) == delivered_days(system, data) != []
    records = count_records(store, "")
    store.delete_keys(manifests)
    assert count_records(store, "") == records
