"""The raw store: where source systems land their files (a local folder or an S3 prefix).

Keys are always forward-slash paths relative to the store's root, in the layout the sources
deliver (``sparkify/log_data/2018/11/2018-11-01-events.json``); the same key works for both
backends, so assets, sensors and generators never care which one is configured.
"""

from __future__ import annotations

import io
import itertools
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dagster import ConfigurableResource
from pydantic import PrivateAttr

# Concurrent GETs when many small objects are read (``read_many``): S3 answers each in tens of
# milliseconds whatever its size.
READ_WORKERS = 16
# Objects up to this size go to S3 in one PUT (boto3's own threshold for multipart uploads).
SINGLE_PUT_BYTES = 8 << 20


@dataclass(frozen=True)
class RawObject:
    """One file in the raw store. ``version`` changes whenever the content is re-delivered."""

    key: str
    size: int
    version: str


class RawStoreError(Exception):
    """A user-facing problem with the raw store (missing location, unreadable object)."""


class RawStore(ConfigurableResource):
    """Local folder or ``s3://bucket/prefix``, chosen by ``MUSIC_DWH_RAW``."""

    location: str
    endpoint_url: str | None = None
    region_name: str | None = None

    _client: object | None = PrivateAttr(default=None)

    # ------------------------------------------------------------------ helpers
    @property
    def is_s3(self) -> bool:
        return self.location.startswith("s3://")

    def describe(self) -> str:
        return self.location

    def _bucket_prefix(self) -> tuple[str, str]:
        rest = self.location[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        prefix = prefix.strip("/")
        return bucket, (prefix + "/" if prefix else "")

    def _s3(self):
        if self._client is None:
            # dagster-aws builds the boto3 client; credentials come from the standard AWS
            # environment (AWS_ACCESS_KEY_ID, profiles, instance roles), never from our config.
            from dagster_aws.s3 import S3Resource

            self._client = S3Resource(
                endpoint_url=self.endpoint_url or None, region_name=self.region_name or None
            ).get_client()
        return self._client

    def _path(self, key: str) -> Path:
        return Path(self.location) / key

    def uri(self, key: str) -> str:
        """A human-readable address of ``key`` for messages and metadata."""
        if self.is_s3:
            bucket, prefix = self._bucket_prefix()
            return f"s3://{bucket}/{prefix}{key}"
        return str(self._path(key))

    # ------------------------------------------------------------------ reading
    def list(self, prefix: str = "") -> Iterator[RawObject]:
        """Every object whose key starts with ``prefix``, sorted by key (paginates on S3)."""
        if self.is_s3:
            bucket, root = self._bucket_prefix()
            paginator = self._s3().get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=root + prefix):
                for obj in page.get("Contents", []):
                    yield RawObject(
                        key=obj["Key"][len(root) :],
                        size=int(obj["Size"]),
                        version=str(obj.get("ETag", "")).strip('"'),
                    )
            return
        base = self.location
        if not os.path.isdir(base):
            return
        # Walk the smallest directory that contains the prefix, then filter by key text. Plain
        # strings, not Path objects: a catalogue is thousands of small files.
        start = os.path.join(base, prefix)
        walk_root = start if os.path.isdir(start) else os.path.dirname(start)
        if not os.path.isdir(walk_root):
            return
        found: list[RawObject] = []
        for dirpath, _dirnames, filenames in os.walk(walk_root):
            folder = os.path.relpath(dirpath, base).replace(os.sep, "/")
            folder = "" if folder == "." else folder + "/"
            for name in filenames:
                key = folder + name
                if key.startswith(prefix) and not name.startswith(".tmp-"):
                    found.append(_local_object(key, os.stat(os.path.join(dirpath, name))))
        yield from sorted(found, key=lambda o: o.key)

    def exists(self, key: str) -> bool:
        if self.is_s3:
            bucket, root = self._bucket_prefix()
            try:
                self._s3().head_object(Bucket=bucket, Key=root + key)
                return True
            except Exception as exc:  # botocore ClientError 404
                if getattr(exc, "response", {}).get("Error", {}).get("Code") in (
                    "404",
                    "NoSuchKey",
                    "NotFound",
                ):
                    return False
                raise
        return self._path(key).is_file()

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        """A binary, streaming reader for ``key``; never loads the whole object in memory."""
        if self.is_s3:
            bucket, root = self._bucket_prefix()
            try:
                body = self._s3().get_object(Bucket=bucket, Key=root + key)["Body"]
            except Exception as exc:
                raise RawStoreError(f"cannot read {self.uri(key)}: {exc}") from exc
            try:
                yield io.BufferedReader(_StreamingBodyIO(body), buffer_size=1 << 20)
            finally:
                body.close()
            return
        path = self._path(key)
        if not path.is_file():
            raise RawStoreError(
                f"cannot read {path}: no such file in the raw store {self.location}"
            )
        with open(path, "rb", buffering=1 << 20) as fh:
            yield fh

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()

    def read_many(self, keys: Sequence[str], workers: int = READ_WORKERS) -> Iterator[bytes]:
        """The whole content of each of ``keys`` (small objects: a song catalogue), in order.

        On S3 each object is a round trip: ``workers`` GETs run at once, at most ``2 × workers``
        objects ahead of the consumer. Locally, one plain read per file."""
        if not self.is_s3:
            for key in keys:
                try:
                    with open(os.path.join(self.location, key), "rb", buffering=0) as fh:
                        yield fh.readall()
                except FileNotFoundError:
                    raise RawStoreError(
                        f"cannot read {self.uri(key)}: no such file in the raw store "
                        f"{self.location}"
                    ) from None
            return
        self._s3()  # one client, built before the threads share it (boto3 clients are thread-safe)
        pool = ThreadPoolExecutor(workers, thread_name_prefix="raw-read")
        ahead: deque[Future[bytes]] = deque()
        try:
            pending = iter(keys)
            for key in itertools.islice(pending, 2 * workers):
                ahead.append(pool.submit(self.read_bytes, key))
            while ahead:
                data = ahead.popleft().result()
                for key in itertools.islice(pending, 1):
                    ahead.append(pool.submit(self.read_bytes, key))
                yield data
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ writing
    @contextmanager
    def open_write(
        self, key: str, written: Callable[[RawObject], None] | None = None
    ) -> Iterator[IO[bytes]]:
        """Write ``key`` atomically: readers see the old object or the new one, never half.

        ``written`` is then called with the object as the store reports it right after the
        write (the version a later ``list`` shows while nobody changes it)."""
        if self.is_s3:
            with tempfile.SpooledTemporaryFile(max_size=64 << 20) as tmp:
                yield tmp
                size = tmp.seek(0, io.SEEK_END)
                tmp.seek(0)
                bucket, root = self._bucket_prefix()
                if size <= SINGLE_PUT_BYTES:
                    # One PUT, as upload_fileobj does below its multipart threshold; its answer
                    # carries the ETag, so knowing the version costs no extra request.
                    etag = self._s3().put_object(Bucket=bucket, Key=root + key, Body=tmp.read())[
                        "ETag"
                    ]
                else:
                    self._s3().upload_fileobj(tmp, bucket, root + key)
                    etag = (
                        self._s3().head_object(Bucket=bucket, Key=root + key)["ETag"]
                        if written
                        else ""
                    )
            if written:
                written(RawObject(key, size, etag.strip('"')))
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        try:
            with open(tmp_path, "wb", buffering=1 << 20) as fh:
                yield fh
            os.replace(tmp_path, path)
        finally:
            if tmp_path.exists():
                tmp_path.unlink()
        if written:
            written(_local_object(key, os.stat(path)))

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.open_write(key) as fh:
            fh.write(data)

    def delete_keys(self, keys: Iterable[str]) -> int:
        """Remove exactly ``keys`` (never a prefix: a key that is not listed is never touched);
        keys already gone are skipped. Locally, folders these removals left empty go too.
        Returns how many objects were removed."""
        keys = list(keys)
        if self.is_s3:
            bucket, root = self._bucket_prefix()
            for i in range(0, len(keys), 1000):
                answer = self._s3().delete_objects(
                    Bucket=bucket,
                    Delete={
                        "Objects": [{"Key": root + k} for k in keys[i : i + 1000]],
                        "Quiet": True,
                    },
                )
                errors = answer.get("Errors") or []
                if errors:
                    first = errors[0]
                    raise RawStoreError(
                        f"cannot delete {self.uri(first['Key'][len(root) :])}: "
                        f"{first.get('Message') or first.get('Code')} ({len(errors)} key(s) not deleted)"
                    )
            return len(keys)
        removed = 0
        folders: set[Path] = set()
        for key in keys:
            path = self._path(key)
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
            folders.add(path.parent)
        root = Path(self.location)
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            while folder != root and root in folder.parents:
                try:
                    folder.rmdir()  # only when empty: another file keeps its folder
                except OSError:
                    break
                folder = folder.parent
        return removed


def _local_object(key: str, st: os.stat_result) -> RawObject:
    """A local file as ``list`` reports it: its version changes whenever it is rewritten."""
    return RawObject(key, st.st_size, f"{st.st_mtime_ns}-{st.st_size}")


class _StreamingBodyIO(io.RawIOBase):
    """Adapts botocore's StreamingBody to ``io.RawIOBase`` so it can be buffered and iterated."""

    def __init__(self, body) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._body.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n


def open_raw_store(
    location: str, endpoint_url: str | None = None, region_name: str | None = None
) -> RawStore:
    """A raw store outside Dagster (CLI, generators, tests). Local paths are made absolute."""
    if not location.startswith("s3://"):
        location = str(Path(location).expanduser().resolve())
    if endpoint_url is None:
        endpoint_url = os.environ.get("AWS_ENDPOINT_URL") or None
    if region_name is None:
        region_name = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    return RawStore(location=location, endpoint_url=endpoint_url, region_name=region_name)
