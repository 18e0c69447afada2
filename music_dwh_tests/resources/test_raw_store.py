"""The raw store against a real folder and a real S3 API (moto's server on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from music_dwh.resources.raw_store import SINGLE_PUT_BYTES, RawStoreError, open_raw_store


def test_local_store_lists_reads_and_writes_atomically(tmp_path):
    store = open_raw_store(str(tmp_path))
    store.write_bytes("sparkify/log_data/2018/11/2018-11-01-events.json", b'{"a":1}')
    store.write_bytes("sparkify/log_data/2018/11/2018-11-10-events.json", b'{"a":2}')
    keys = [o.key for o in store.list("sparkify/log_data/2018/11/2018-11-1")]
    assert keys == ["sparkify/log_data/2018/11/2018-11-10-events.json"]
    # the full-date prefix never matches the 10th for the 1st
    assert [o.key for o in store.list("sparkify/log_data/2018/11/2018-11-01-")] == [
        "sparkify/log_data/2018/11/2018-11-01-events.json"
    ]
    assert store.read_bytes("sparkify/log_data/2018/11/2018-11-01-events.json") == b'{"a":1}'
    with pytest.raises(ZeroDivisionError), store.open_write("x/half.json") as fh:
        fh.write(b"partial")
        raise ZeroDivisionError
    assert not store.exists("x/half.json")
    assert list(tmp_path.rglob(".tmp-*")) == []


def test_a_changed_file_gets_a_new_version(tmp_path):
    store = open_raw_store(str(tmp_path))
    store.write_bytes("a.json", b"1")
    first = next(store.list("a.json")).version
    store.write_bytes("a.json", b"22")
    assert next(store.list("a.json")).version != first


def test_missing_file_is_a_clear_error(tmp_path):
    store = open_raw_store(str(tmp_path))
    with pytest.raises(RawStoreError, match="no such file"), store.open("nope.json"):
        pass


@pytest.fixture
def s3_store(s3_server, monkeypatch):  # s3_server: music_dwh_tests/conftest.py
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(
        Bucket="raw-test"
    )
    return open_raw_store("s3://raw-test/landing", endpoint_url=s3_server, region_name="us-east-1")


def test_s3_store_paginates_streams_and_writes(s3_store):
    for i in range(1005):  # more than one page of list_objects_v2
        s3_store.write_bytes(f"sparkify/song_data/A/B/C/TR{i:016d}.json", b"{}\n")
    listed = list(s3_store.list("sparkify/song_data/"))
    assert len(listed) == 1005
    assert listed[0].key == "sparkify/song_data/A/B/C/TR0000000000000000.json"
    assert all(o.version for o in listed)
    big = b"".join(b'{"n": %d}\n' % i for i in range(50_000))
    s3_store.write_bytes("sparkify/log_data/2018/11/2018-11-01-events.json", big)
    with s3_store.open("sparkify/log_data/2018/11/2018-11-01-events.json") as fh:
        lines = sum(1 for _ in fh)
    assert lines == 50_000
    assert s3_store.exists("sparkify/log_data/2018/11/2018-11-01-events.json")
    assert not s3_store.exists("sparkify/log_data/2018/11/2018-11-02-events.json")
    assert s3_store.delete_keys(o.key for o in listed) == 1005
    assert list(s3_store.list("sparkify/song_data/")) == []


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_read_many_returns_each_object_in_order(backend, tmp_path, request):
    """Many small objects at once (the song catalogue): S3's GETs run concurrently, the
    contents still come back in the order asked; a missing key is a clear error."""
    local = backend == "local"
    store = open_raw_store(str(tmp_path)) if local else request.getfixturevalue("s3_store")
    keys = [f"sparkify/song_data/A/B/C/TR{i:016d}.json" for i in range(300)]
    expected = [b'{"n": %d}\n' % i * (i % 3) for i in range(300)]  # some empty
    for i in reversed(range(300)):  # written out of order
        store.write_bytes(keys[i], expected[i])
    assert list(store.read_many(keys, workers=8)) == expected
    with pytest.raises(RawStoreError, match="nope.json"):
        list(store.read_many([keys[0], "sparkify/song_data/nope.json"]))


def test_delete_keys_removes_exactly_the_keys_given(folder_or_s3_store):
    store = folder_or_s3_store
    for key in ("a/2018-11-1/x.json", "a/2018-11-1/y.json", "a/2018-11-10/x.json", "b/z.json"):
        store.write_bytes(key, b"1")
    assert store.delete_keys(["a/2018-11-1/x.json", "a/2018-11-1/y.json"]) == 2
    store.delete_keys(["a/2018-11-1/x.json"])  # already gone: nothing to do
    assert [o.key for o in store.list("")] == ["a/2018-11-10/x.json", "b/z.json"]
    if not store.is_s3:  # the folder it emptied goes, the one still holding a file stays
        assert sorted(p.name for p in (Path(store.location) / "a").iterdir()) == ["2018-11-10"]


def test_open_write_reports_the_object_as_the_listing_shows_it(folder_or_s3_store):
    """Right after writing, ``written`` gets the size and version a listing shows; on S3 also
    for an object large enough to go up in parts."""
    store = folder_or_s3_store
    seen = []
    with store.open_write("k/small.json", written=seen.append) as fh:
        fh.write(b'{"n": 1}')
    with store.open_write("k/big.bin", written=seen.append) as fh:
        fh.write(b"x" * (SINGLE_PUT_BYTES + 1))
    assert sorted(seen, key=lambda o: o.key) == list(store.list("k/"))
    assert all(o.version for o in seen)
