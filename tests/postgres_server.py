"""A throwaway PostgreSQL server for the sandbox's PostgreSQL leg: initdb into a temporary
directory, started on a free loopback port, removed afterwards.

The binaries are the machine's PostgreSQL (`/usr/lib/postgresql/<version>/bin`, 15 preferred).
PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to the `postgres` user.
Without the binaries the callers skip, saying why; with `CI` set, they fail instead, so that a CI
machine that lost its PostgreSQL cannot pass without the leg.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from waiting import wait_until

from payment_kit_sandbox.server import free_port

__all__ = ["PostgresServer", "find_binaries", "require_postgres", "running_postgres", "unavailable_reason"]

PASSWORD = "sandbox-test-secret"
USER = "sandbox"


def find_binaries() -> Path | None:
    root = Path("/usr/lib/postgresql")
    versions = sorted(root.glob("*/bin/initdb"), key=lambda p: (p.parent.parent.name != "15", p.parent.parent.name))
    return versions[0].parent if versions else None


def unavailable_reason() -> str | None:
    """Why this machine cannot run the PostgreSQL leg (None: it can)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'blocklet-payment-kit[postgres]')"
    if find_binaries() is None:
        return "no PostgreSQL binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the server as"
    return None


def require_postgres() -> None:
    """Skip the calling test (or fixture) when this machine cannot run the leg, saying why; under
    CI (`CI` set), fail instead."""
    import pytest

    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL leg, but {reason}")
    pytest.skip(f"the PostgreSQL leg needs PostgreSQL on this machine: {reason}")


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A server for the duration of the block (the calling test skips without PostgreSQL)."""
    require_postgres()
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class PostgresServer:
    port: int
    directory: Path
    bin: Path
    run_as: list[str]

    @classmethod
    def start(cls) -> PostgresServer:
        reason = unavailable_reason()
        if reason is not None:
            raise RuntimeError(reason)
        bin_dir = find_binaries()
        assert bin_dir is not None
        directory = Path(tempfile.mkdtemp(prefix="payment-kit-pg-"))
        run_as: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(directory, account.pw_uid, account.pw_gid)
            run_as = ["runuser", "-u", "postgres", "--"]
        pwfile = directory / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if run_as:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        data = directory / "data"
        subprocess.run(
            [*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}",
             "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        port = free_port()
        server = cls(port, directory, bin_dir, run_as)
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(directory / "log"), "-w", "-t", "30",
             "-o", f"-h 127.0.0.1 -p {port} -k {directory} -c fsync=off -c synchronous_commit=off "
             "-c full_page_writes=off -c max_connections=200", "start"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        return server

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on this server; its URL."""
        import psycopg

        name = f"sandbox_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate", "stop"],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def removed() -> bool:  # the server's processes may still hold files for a moment
            try:
                shutil.rmtree(self.directory)
            except OSError:
                return False
            return True

        with contextlib.suppress(AssertionError):  # best effort, as before: a leftover directory fails no test
            wait_until(removed, timeout=5, message=f"removing {self.directory}")


if __name__ == "__main__":  # `make pytest-postgres` asks first: exit 1, printing why, when the leg cannot run
    import sys

    missing = unavailable_reason()
    print(missing or "PostgreSQL is available")
    sys.exit(1 if missing else 0)
