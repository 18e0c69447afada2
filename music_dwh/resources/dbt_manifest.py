"""The dbt project parsed in this process, once, and the parse kept: ``parsed_manifest`` for the
run's dbt step, ``ensure_manifest`` for the ``manifest.json`` the definitions read.

* **Parse once per process, or not at all.** The first dbt step of a process loads the
  ``Manifest`` a previous parse for the same environment and project files saved
  (``ManifestCache``, ``sql/target/.manifest-cache``, ≈0.3 s); only when there is none does it
  parse the project in-process (``dbt parse``, partial when ``sql/target/partial_parse.msgpack``
  matches) and save it. The ``Manifest`` object is kept, keyed by the warehouse's dbt
  environment and the project files; later steps hand it to ``dbtRunner(manifest=…)``
  (``dbt_cli.py``), which then skips parsing. The ``Manifest`` must come from a ``parse``
  invocation: one rebuilt from ``manifest.json`` loses the generic tests' kwargs (every test
  fails with ``'_dbt_generic_test_kwargs' is undefined``).
* **Definitions never parse**: ``@dbt_assets`` reads the prepared ``sql/target/manifest.json``,
  which ``ensure_manifest`` (``music-dwh prepare`` and ``load``) keeps current.
* **Nothing per run, nothing secret.** A parse never connects: secrets are left out of its
  environment, and the partition window is unset, so nothing rendered at parse time
  (``config()``, YAML) can depend on it and every window of every run shares one manifest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from music_dwh.dbt_project import (
    QUIET_ENV,
    SQL_DIR,
    dbt_project,
    project_files,
    project_fingerprint,
)
from music_dwh.resources.dbt_process import (
    INVOKE_LOCK,
    SECRET_PREFIX,
    VERIFIED,
    WINDOW_VARIABLES,
    common_args,
    forget_invocation_state,
    logger,
    release_dbt_connections,
    warn_once_about_versions,
)
from music_dwh.settings import temporary_environ

# Parsed manifests of this process, by environment and project files (one in practice).
_MANIFESTS: dict[tuple, Any] = {}


def parsed_manifest(
    dbt_env: Mapping[str, str], project_dir: Path = SQL_DIR, profiles_dir: Path = SQL_DIR
):
    """dbt's ``Manifest`` for this environment, parsed in-process once per process (and again
    only when a project file changes). Parsing never connects: secrets are left out, and the
    partition window is unset so nothing can depend on it.

    A process's first call loads the ``Manifest`` a previous process parsed for the same
    environment and project files from ``<project>/target/.manifest-cache`` (≈0.3 s) instead of
    parsing (≈1.5-4 s: dbt's partial parsing is thrown away whenever another warehouse, a test
    or ``music-dwh prepare`` for another profile, parsed in between, since dbt keeps one
    ``partial_parse.msgpack`` per target folder and the profile is part of its check)."""
    # The parse sees neither secrets nor the window (unset below): neither is part of the key,
    # so every window of every run shares one parsed manifest.
    env = {
        k: v
        for k, v in dbt_env.items()
        if not k.startswith(SECRET_PREFIX) and k not in WINDOW_VARIABLES
    }
    key = (tuple(sorted(env.items())), str(project_dir), project_fingerprint(Path(project_dir)))
    with INVOKE_LOCK:
        if key in _MANIFESTS:
            return _MANIFESTS[key]
        warn_once_about_versions()
        target = Path(project_dir) / "target"
        target.mkdir(parents=True, exist_ok=True)
        unset = [*WINDOW_VARIABLES, *(k for k in os.environ if k.startswith(SECRET_PREFIX))]
        started = time.monotonic()
        with temporary_environ({**QUIET_ENV, **env}, unset=unset):
            cache = ManifestCache(Path(project_dir), env)
            manifest = cache.load()
            if manifest is not None:
                logger.info(
                    f"Loaded the dbt project's parsed manifest in {time.monotonic() - started:.2f} s."
                )
                _MANIFESTS.clear()
                _MANIFESTS[key] = manifest
                return manifest
            # A private target folder: the shared sql/target/manifest.json (read by @dbt_assets
            # in other processes) is never rewritten here. The prepared partial-parse state is
            # copied in so the parse is partial when the project and environment match it.
            with tempfile.TemporaryDirectory(dir=target, prefix=".inprocess-parse-") as scratch:
                prepared = target / "partial_parse.msgpack"
                if prepared.exists():
                    shutil.copy(prepared, Path(scratch) / prepared.name)
                result = _parse(
                    ["parse", *common_args(Path(project_dir), Path(profiles_dir), Path(scratch))],
                    project_dir,
                )
            # Saved before any invocation compiles nodes in place: the cached copy is a fresh parse.
            cache.save(result.result)
        logger.info(f"Parsed the dbt project in-process in {time.monotonic() - started:.1f} s.")
        _MANIFESTS.clear()  # one environment per process in practice: keep only the latest
        _MANIFESTS[key] = result.result
        return result.result


def _parse(args: list[str], project_dir: Path):
    """One in-process ``dbt parse``: its result, or a RuntimeError quoting dbt's errors."""
    from dbt.cli.main import dbtRunner

    errors: list[str] = []
    try:
        result = dbtRunner(callbacks=[_error_collector(errors)]).invoke(args)
    finally:
        release_dbt_connections()
        forget_invocation_state()
    if not result.success or result.result is None:
        detail = "\n".join(errors) or repr(result.exception)
        raise RuntimeError(f"dbt parse failed in {project_dir}:\n{detail}")
    return result


def parse_and_write(
    dbt_env: Mapping[str, str],
    target_path: Path,
    project_dir: Path = SQL_DIR,
    profiles_dir: Path = SQL_DIR,
):
    """``dbt parse`` in this process, writing ``manifest.json`` and ``partial_parse.msgpack``
    into ``target_path`` (``ensure_manifest``: a ``dbt`` subprocess cost ≈5-7 s, of which ≈2.5 s
    starting Python and importing dbt again). The parsed ``Manifest`` is also what the run's
    dbt step uses: it is saved in the ``ManifestCache`` and kept for this process."""
    env = {
        k: v
        for k, v in dbt_env.items()
        if not k.startswith(SECRET_PREFIX) and k not in WINDOW_VARIABLES
    }
    args = ["parse", *common_args(Path(project_dir), Path(profiles_dir), Path(target_path))]
    args[args.index("--no-write-json")] = "--write-json"  # manifest.json for @dbt_assets
    unset = [*WINDOW_VARIABLES, *(k for k in os.environ if k.startswith(SECRET_PREFIX))]
    with INVOKE_LOCK:
        warn_once_about_versions()
        with temporary_environ({**QUIET_ENV, **env}, unset=unset):
            result = _parse(args, project_dir)
            ManifestCache(Path(project_dir), env).save(result.result)
        key = (tuple(sorted(env.items())), str(project_dir), project_fingerprint(Path(project_dir)))
        _MANIFESTS.clear()
        _MANIFESTS[key] = result.result
    return result.result


def _env_marker() -> Path:
    return dbt_project.manifest_path.with_name("music_dwh_parse_env.json")


def manifest_is_stale(env: dict[str, str]) -> bool:
    """True when sql/target/manifest.json is missing, older than any file of the project, or
    was parsed for another warehouse (dbt then re-parses on every run instead of partially)."""
    manifest = dbt_project.manifest_path
    marker = _env_marker()
    if not manifest.exists() or not marker.exists():
        return True
    if json.loads(marker.read_text()) != env:
        return True
    built = manifest.stat().st_mtime
    return any(p.stat().st_mtime > built for p in project_files() if p.exists())


def ensure_manifest(dbt_env: dict[str, str] | None = None, force: bool = False) -> Path:
    """Parse the dbt project (``dbt parse`` in this process, ≈2-4 s) when the manifest is missing
    or stale.

    ``dbt_env`` is the warehouse's dbt environment (``Warehouse.dbt_env()``); parsing under the
    same profile lets every later run reuse the parse (dbt's partial parsing).
    """
    # Parsing never connects: secrets (DBT_ENV_SECRET_*) are neither needed nor written into
    # the marker file.
    dbt_env = {k: v for k, v in (dbt_env or {}).items() if not k.startswith("DBT_ENV_SECRET_")}
    if force or manifest_is_stale(dbt_env):
        # In this process (dbt's programmatic runner; ``music-dwh load``'s worker needs dbt
        # anyway), which also leaves the parsed Manifest for the run's dbt step.
        target = dbt_project.manifest_path.parent
        target.mkdir(parents=True, exist_ok=True)
        # Parse into a private folder, then swap the artifacts in: a process reading the
        # manifest (a test, the webserver) never sees a half-written file.
        with tempfile.TemporaryDirectory(dir=target, prefix=".parse-") as scratch:
            parse_and_write(dbt_env, Path(scratch))
            for name in ("partial_parse.msgpack", "manifest.json"):
                if (Path(scratch) / name).exists():
                    os.replace(Path(scratch) / name, target / name)
        marker = _env_marker()
        tmp_marker = marker.with_name(f".{marker.name}.{os.getpid()}")
        tmp_marker.write_text(json.dumps(dbt_env, sort_keys=True))
        os.replace(tmp_marker, marker)
    return dbt_project.manifest_path


class ManifestCache:
    """Parsed ``Manifest`` objects on disk, one file per environment and project content.

    What is stored is the ``Manifest`` dataclass's public fields, pickled (nodes, macros,
    files …: unlike a manifest rebuilt from ``manifest.json``, everything a parse left, the
    generic tests' kwargs included); the private lookups, caches and lock are left to their
    defaults and rebuilt on first use. (dbt's own ``Manifest.__reduce_ex__`` cannot be used: in
    dbt-core 1.11 its arguments are shifted by one field from ``fixtures`` on, so a manifest it
    restores fails every ``ref()``.) The file name is a digest of what a parse depends on: the
    dbt environment (profile target and credentials, secrets excluded), the project folder, the
    content of every project file, and the Python and verified package versions. A loaded
    manifest is also checked against what dbt recorded reading from the environment while
    parsing (``Manifest.env_vars``, as dbt's partial parsing does). Anything unreadable or not
    matching is a miss: the project is parsed and the file rewritten. Files are written to a
    temporary name and renamed; the newest ``KEEP`` are kept."""

    KEEP = 8
    FOLDER = ".manifest-cache"
    # What dbt records for a variable read with env_var() while it was unset.
    UNSET = "DBT_DEFAULT_PLACEHOLDER"

    def __init__(self, project_dir: Path, env: Mapping[str, str]):
        self.folder = Path(project_dir) / "target" / self.FOLDER
        self.path = self.folder / f"{self.digest(Path(project_dir), env)}.pickle"

    @staticmethod
    def digest(project_dir: Path, env: Mapping[str, str]) -> str:
        import hashlib
        import json
        import sys

        h = hashlib.sha256()
        versions = {}
        for package in [*VERIFIED, "dbt-postgres", "dbt-redshift"]:
            try:
                versions[package] = importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                versions[package] = None
        h.update(
            json.dumps(
                {
                    "env": sorted(env.items()),
                    "project": str(project_dir),
                    "python": sys.version,
                    "versions": versions,
                }
            ).encode()
        )
        for path in sorted(project_files(project_dir)):
            try:
                content = path.read_bytes()
            except OSError:
                continue
            h.update(b"\0" + str(path.relative_to(project_dir)).encode() + b"\0")
            h.update(hashlib.sha256(content).digest())
        return h.hexdigest()[:40]

    def load(self):
        """The cached manifest, or None. Call with the parse's environment in ``os.environ``."""
        import pickle

        try:
            data = self.path.read_bytes()
        except OSError:
            return None
        try:
            from dbt.contracts.graph.manifest import Manifest

            manifest = Manifest(**pickle.loads(data))
        except Exception:  # a truncated or foreign file: parse instead
            logger.debug(f"dbt manifest cache: {self.path.name} unreadable, parsing")
            return None
        recorded = dict(getattr(manifest, "env_vars", None) or {})
        if any(os.environ.get(name, self.UNSET) != value for name, value in recorded.items()):
            return None
        with contextlib.suppress(OSError):
            os.utime(self.path)  # recently used: kept by the clean-up below
        return manifest

    def save(self, manifest) -> None:
        import pickle

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            state = {
                f.name: getattr(manifest, f.name)
                for f in dataclasses.fields(manifest)
                if not f.name.startswith("_")
            }
            tmp.write_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(tmp, self.path)
            cached = sorted(
                self.folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True
            )
            for old in cached[self.KEEP :]:
                old.unlink(missing_ok=True)
        except (OSError, pickle.PicklingError, TypeError) as exc:  # a cache: never fails a run
            logger.debug(f"dbt manifest cache: not written ({exc})")


def _error_collector(errors: list[str]):
    def collect(msg) -> None:
        if msg.info.level == "error":
            errors.append(msg.info.msg)

    return collect
