"""A throwaway PostgreSQL server: initdb into a temp dir, pg_ctl start on a free port, stop at the
end of the session. Each test gets its own database from ``postgres_dsn``."""

from __future__ import annotations

import glob
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

import pytest

from tests.servers import free_port, wait_for_port


def _bin_dir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError("PostgreSQL binaries not found; run tools/deps/postgres.sh")


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return name


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A fresh server for as long as the block runs (also used by benchmarks/)."""
    bindir = _bin_dir()
    # initdb refuses to run as root, so the server runs as the postgres OS user then.
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    data = Path(tempfile.mkdtemp(prefix="tweetsense-pg-"))
    if as_root:
        pw = pwd.getpwnam("postgres")
        os.chown(data, pw.pw_uid, pw.pw_gid)
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True}
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    subprocess.run([*prefix, *initdb, "--no-sync", "-E", "UTF8", "--locale=C"], **run)
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off"
    opts += " -c synchronous_commit=off -c full_page_writes=off"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
    subprocess.run([*prefix, *pg_ctl, "-w", "-l", str(data / "log"), "-o", opts, "start"], **run)
    try:
        wait_for_port(port)
        yield PostgresServer("127.0.0.1", port, "postgres")
    finally:
        subprocess.run([*prefix, *pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> str:
    """A DSN of a fresh, empty database on the session's server."""
    return postgres_server.dsn(postgres_server.create_database())
