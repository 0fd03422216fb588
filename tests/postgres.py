"""A real PostgreSQL server for the tests: Debian's package, a fresh cluster in a temporary folder.

``initdb`` and ``pg_ctl`` run as the ``postgres`` user when the tests run as root (CI does; PostgreSQL
refuses to run as root). Each test gets its own database. Without PostgreSQL the tests that need it
fail, saying how to install it; ``EVALUATOR_TEST_POSTGRES=0`` skips them instead, on purpose.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SKIP_ENV = "EVALUATOR_TEST_POSTGRES"
_counter = itertools.count()


def bin_dir() -> Path | None:
    if os.environ.get("EVALUATOR_PG_BIN"):
        return Path(os.environ["EVALUATOR_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Server:
    def __init__(self) -> None:
        pg = bin_dir()
        if pg is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (or run .ci/run)")
        self.data = Path(tempfile.mkdtemp(prefix="evaluator-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self.port = _free_port()
        self.pg_ctl = str(pg / "pg_ctl")
        run = {"check": True, "capture_output": True, "text": True, "cwd": "/"}
        subprocess.run(
            _as_postgres([str(pg / "initdb"), "-D", str(self.data / "db"), "-U", "postgres", "-A", "trust"])
            + ["--no-sync", "-E", "UTF8", "--locale", "C"],
            **run,
        )
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        subprocess.run(
            _as_postgres(
                [self.pg_ctl, "-D", str(self.data / "db"), "-o", options, "-l", str(self.data / "log")]
            )
            + ["-w", "-t", "60", "start"],
            **run,
        )
        self.admin_url = self.url("postgres")

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)

    def new_database(self) -> str:
        name = f"ws_{os.getpid()}_{next(_counter)}"
        self.sql(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([self.pg_ctl, "-D", str(self.data / "db"), "-m", "immediate", "stop"]),
            capture_output=True,
            cwd="/",
        )
        shutil.rmtree(self.data, ignore_errors=True)


def start() -> Iterator[Server]:
    if os.environ.get(SKIP_ENV) == "0":
        pytest.skip(f"{SKIP_ENV}=0: PostgreSQL tests skipped on purpose")
    try:
        server = Server()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        pytest.fail(
            f"Cannot start PostgreSQL for the tests: {detail.strip()[-500:]}. Install Debian's postgresql "
            f"package (.ci/run does), or set {SKIP_ENV}=0 to skip these tests.",
            pytrace=False,
        )
    try:
        yield server
    finally:
        server.stop()
