"""A throwaway PostgreSQL primary with a streaming replica, for the tests that need real replication.

The primary is a fresh `initdb` cluster on a free port (trust authentication on 127.0.0.1,
replication allowed); the replica is `pg_basebackup -R` of it, started as a hot standby. Both run
from the machine's PostgreSQL binaries when `pg_config` names them, otherwise from the ones the
pinned `pgserver` package ships. PostgreSQL refuses to run as root, so under root (CI) every server
command runs as the `postgres` system user (or pgserver's own user where there is none).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.ops.processes import free_port


def _bindir() -> Path:
    try:
        found = Path(
            subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        )
        if (found / "pg_basebackup").exists() and (found / "initdb").exists():
            return found
    except (OSError, subprocess.CalledProcessError):
        pass
    import pgserver  # the bundled binaries, only where the machine has none (slow import)

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def system_user() -> str | None:
    """The user server processes run as under root (PostgreSQL and PgBouncer refuse root)."""
    return _system_user()


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
        return "postgres"
    except KeyError:
        from pgserver.utils import ensure_user_exists  # creates pgserver's user, as pgserver itself does

        ensure_user_exists("pgserver")
        return "pgserver"


@dataclass
class Server:
    name: str
    port: int
    data: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> list[tuple]:
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cursor = conn.execute(statement)
            return cursor.fetchall() if cursor.description else []


class Cluster:
    """Runs the binaries as the right user and knows both servers."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.bin = _bindir()
        self.user = _system_user()
        self.primary = Server("primary", free_port(), base / "primary")
        self.replica = Server("replica", free_port(), base / "replica")

    def run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.base)
        if result.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
            )

    def _configure(self, server: Server) -> None:
        with (server.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {server.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.base}'\n"
                "fsync = off\nfull_page_writes = off\nsynchronous_commit = off\nmax_wal_senders = 5\n"
                "hot_standby = on\nmax_connections = 60\nshared_buffers = 32MB\n"
            )

    def start(self, server: Server) -> None:
        self.run("pg_ctl", "-D", str(server.data), "-l", str(self.base / f"{server.name}.log"), "-w", "start")

    def stop(self, server: Server, mode: str = "fast") -> None:
        if (server.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(server.data), "-m", mode, "-w", "stop")

    def create(self, *, replica: bool = True) -> None:
        self.run("initdb", "-D", str(self.primary.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        with (self.primary.data / "pg_hba.conf").open("a") as hba:
            hba.write("\nhost replication all 127.0.0.1/32 trust\n")
        self._configure(self.primary)
        self.start(self.primary)
        if not replica:
            return
        self.run(
            "pg_basebackup",
            "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
            "-D", str(self.replica.data), "-R", "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        self._configure(self.replica)
        self.start(self.replica)

    def wait_replayed(self, timeout: float = 30) -> None:
        """Block until the replica has replayed everything the primary has written so far.

        The target is the WAL *insert* position: both servers run with `synchronous_commit = off`,
        so a just-committed transaction's commit record may still sit in the primary's WAL buffers
        (the WAL writer writes them out within `wal_writer_delay`), beyond `pg_current_wal_lsn()`.
        Waiting for that position could return before the replica has the last commit: a read
        after it then missed the newest row (bosco.replica takes the same position for its cookie).
        """
        target = self.primary.sql("SELECT pg_current_wal_insert_lsn()::text")[0][0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            behind = self.replica.sql(f"SELECT pg_last_wal_replay_lsn() < '{target}'::pg_lsn")[0][0]
            if not behind:
                return
            time.sleep(0.1)
        raise AssertionError(f"the replica did not replay up to {target} within {timeout}s")


@contextmanager
def primary_with_replica(*, replica: bool = True) -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="bosco-pg-", dir="/tmp"))
    base.chmod(0o755)
    cluster = Cluster(base)
    if cluster.user:
        entry = pwd.getpwnam(cluster.user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    try:
        cluster.create(replica=replica)
        yield cluster
    finally:
        for server in (cluster.replica, cluster.primary):
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                cluster.stop(server, "immediate")
        shutil.rmtree(base, ignore_errors=True)
