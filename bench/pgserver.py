"""A throw-away PostgreSQL server: the benchmark's PostgreSQL approaches run on one, and the tests'
``postgres_server`` fixtures (``music_dwh_tests/conftest.py``) start theirs with this class.

``initdb`` in a new temporary directory, then ``pg_ctl start`` listening on 127.0.0.1 only, on a
free port. TCP clients give a password (scram-sha-256), or none at all with ``trust=True``.
UTF-8 with the ``C.UTF-8`` locale: ``lower()`` and ``[[:alnum:]]`` then treat 'ö' as a letter,
as DuckDB does (in the plain C locale they are ASCII-only). As root, initdb and postgres refuse
to run: they run as ``nobody`` in a directory it owns. :meth:`LocalPostgres.stop` stops the
server and removes its directory (callers call it in a ``finally``).

Durability is relaxed (``fsync=off``, ``synchronous_commit=off``, ``full_page_writes=off``): the
data is thrown away, every PostgreSQL approach of the bench runs on the same server, so the
comparison between them stays fair, and a noisy shared disk matters less.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SERVER_OPTIONS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: PATH, ``pg_config --bindir``, /usr/lib/postgresql/*/bin."""
    candidates = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    if shutil.which("pg_config"):
        proc = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        )
        if proc.returncode == 0:
            candidates.append(Path(proc.stdout.strip()))
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalPostgres:
    bindir: Path
    base: Path
    port: int
    password: str | None  # None: the server trusts every TCP client on 127.0.0.1
    user: str = "postgres"
    host: str = "127.0.0.1"
    _prefix: list[str] = field(default_factory=list)
    _running: bool = False

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def start(cls, password: str | None = None, *, trust: bool = False) -> LocalPostgres:
        """A running server; its password is ``password`` (a random one when not given), or
        none with ``trust=True``."""
        bindir = postgres_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl) not found; install them with "
                "`apt-get install -y postgresql`"
            )
        if not trust and password is None:
            password = f"pg-{secrets.token_hex(12)}"
        server = cls(
            bindir=bindir,
            base=Path(tempfile.mkdtemp(prefix="music-dwh-pg-")),
            port=free_port(),
            password=None if trust else password,
        )
        try:
            server._init_and_start()
        except BaseException:
            server.stop()
            raise
        return server

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
        }
        # pg_ctl -w gives up after 60 s by itself; the timeout only catches a hung initdb.
        proc = subprocess.run([*self._prefix, *args], capture_output=True, text=True, env=env,
                              cwd=self.base, timeout=120, check=False)  # fmt: skip
        if check and proc.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stdout}{proc.stderr}\n{tail}")
        return proc

    def _init_and_start(self) -> None:
        pwfile = self.base / "pwfile"
        if self.password is None:
            auth = ["--auth=trust"]
        else:
            pwfile.write_text(self.password + "\n")
            auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        if os.geteuid() == 0:
            import pwd

            nobody = pwd.getpwnam("nobody")
            for path in (self.base, *self.base.glob("pwfile")):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
            self._prefix = ["runuser", "-u", "nobody", "--"]
        if pwfile.exists():
            os.chmod(pwfile, 0o600)
        data = self.base / "data"
        self._pg(str(self.bindir / "initdb"), "-D", str(data), "-U", self.user, *auth,
                 "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        pwfile.unlink(missing_ok=True)
        options = f"-h {self.host} -p {self.port} -k {self.base} " + " ".join(
            f"-c {o}" for o in SERVER_OPTIONS
        )
        self._running = True
        self._pg(str(self.bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                 str(self.base / "server.log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        # Immediate: the data directory is removed next, nothing needs a clean checkpoint.
        if self._running:
            self._pg(str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), "-m", "immediate",
                     "-w", "stop", check=False)  # fmt: skip
            self._running = False
        shutil.rmtree(self.base, ignore_errors=True)

    # ------------------------------------------------------------------ use
    @property
    def postmaster_pid(self) -> int | None:
        pidfile = self.base / "data" / "postmaster.pid"
        try:
            return int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def url(self, database: str = "postgres") -> str:
        """A music_dwh warehouse URL (never with the password: that travels in its own
        variable, MUSIC_DWH_WAREHOUSE_PASSWORD)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname=database)  # fmt: skip

    def _execute(self, *statements: str) -> None:
        con = self.connect()
        con.autocommit = True
        try:
            with con.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            con.close()

    def create_database(self) -> str:
        """A new empty database with a name of its own, so every test starts from nothing."""
        name = f"music_dwh_{uuid.uuid4().hex[:12]}"
        self._execute(f'create database "{name}"')
        return name

    def recreate_database(self, name: str) -> None:
        """Drop ``name`` if it exists and create it empty."""
        self._execute(f'drop database if exists "{name}" with (force)', f'create database "{name}"')

    def version(self) -> str:
        con = self.connect()
        try:
            with con.cursor() as cur:
                cur.execute("show server_version")
                return cur.fetchone()[0]
        finally:
            con.close()

    def client_args(self, database: str) -> list[str]:
        """Connection options for the baseline scripts (the password goes in PGPASSWORD)."""
        return ["--host", self.host, "--port", str(self.port), "--user", self.user,
                "--dbname", database]  # fmt: skip
