"""Where a workspace's database lives: a SQLite file (the default) or a PostgreSQL server (a team).

The rest of the workspace layer writes its SQL once, with ``?`` placeholders, against ``Connection``:
one transaction on either backend. What differs is here and only here: how to connect, how a new
row's id comes back (``insert``), how writers take turns (``lock``), how the schema is migrated
(``MIGRATIONS`` per dialect in ``migrations``) and how driver errors become one-line messages.
"""

from __future__ import annotations

import os
import queue
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from evaluator.errors import WorkspaceError
from evaluator.workspace.migrations import DELETABLE, MIGRATIONS, PG_MIGRATIONS, UPDATABLE, Migration

POSTGRES_SCHEMES = ("postgresql", "postgres")
SCHEMA_LOCK = 7_345_201  # pg_advisory_xact_lock key for migrations


class Row(Protocol):
    def __getitem__(self, key: int | str) -> Any: ...
    def keys(self) -> Sequence[str]: ...


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class PgRow:
    """A PostgreSQL row read like ``sqlite3.Row``: by position or by column name, ``keys()``, ``dict(row)``."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: Sequence[Any]):
        self._names, self._values = names, values

    def __getitem__(self, key: int | str) -> Any:
        return self._values[key if isinstance(key, int) else self._names[key]]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._names, self._values, strict=True))!r})"


def _pg_rows(cursor: Any) -> Any:
    names = {c.name: i for i, c in enumerate(cursor.description or ())}
    return lambda values: PgRow(names, values)


def is_postgres_url(database: str | os.PathLike | None) -> bool:
    return isinstance(database, str) and urlsplit(database).scheme in POSTGRES_SCHEMES


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class Connection:
    """One transaction on either backend. SQL uses ``?`` placeholders; PostgreSQL gets ``%s``."""

    def __init__(self, raw: Any, dialect: str):
        self.raw, self.dialect = raw, dialect

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    def _sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s") if self.postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.raw.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self.postgres:
            with self.raw.cursor() as cur:
                cur.executemany(self._sql(sql), rows)
        else:
            self.raw.executemany(sql, rows)

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT into a table with an ``id`` column; the new row's id."""
        if self.postgres:
            return int(self.raw.execute(self._sql(sql) + " RETURNING id", params).fetchone()[0])
        return int(self.raw.execute(sql, params).lastrowid or 0)

    def lock(self, name: str) -> None:
        """Writers of ``name`` take turns until this transaction ends (SQLite: the whole database)."""
        if self.postgres:
            self.raw.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"evaluator:{name}",))
        elif not self.raw.in_transaction:
            self.raw.execute("BEGIN IMMEDIATE")

    @property
    def skip_locked(self) -> str:
        """Appended to a SELECT that claims rows: other claimers skip them instead of waiting."""
        return " FOR UPDATE SKIP LOCKED" if self.postgres else ""


class Backend(Protocol):
    dialect: str
    label: str  # the file or the redacted URL, for messages
    read_only: bool

    def connect(self) -> Any: ...  # a context manager yielding Connection
    def migrate(self) -> None: ...
    def check_schema(self) -> None: ...


def _refuse_newer(label: str, version: int, latest: int) -> None:
    if version > latest:
        raise WorkspaceError(
            f"{label} was written by a newer evaluator (schema {version}). Upgrade the evaluator."
        )


class SQLiteBackend:
    """The workspace's ``evaluator.sqlite``: embedded, nothing to start."""

    dialect = "sqlite"

    def __init__(self, path: Path, read_only: bool):
        self.path, self.read_only, self.label = path, read_only, str(path)
        self._read_only_option = ""

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        try:
            conn = self._open_read_only() if self.read_only else sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as exc:
            raise WorkspaceError(f"Cannot open {self.path}: {exc}. Check the folder is writable.") from None
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            with conn:
                yield Connection(conn, self.dialect)
        except sqlite3.OperationalError as exc:
            raise WorkspaceError(
                f"Workspace database error in {self.path}: {exc}. Check disk space and permissions."
            ) from None
        except sqlite3.IntegrityError:
            raise  # a constraint or trigger refused the change: the caller's concern, not the environment's
        except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
            raise WorkspaceError(
                f"{self.path} is damaged or not an evaluator database ({exc}). "
                "Restore it from a backup, or screen into a new workspace folder."
            ) from None
        finally:
            conn.close()

    def _open_read_only(self) -> sqlite3.Connection:
        """mode=ro; a WAL database in a folder where SQLite cannot create its -shm file needs immutable=1.
        immutable=1 assumes no process writes the database while it is open (someone with write access,
        e.g. a screen still running into it, would make reads inconsistent): docs/operations.md says so. Which
        of the two works is found on the first connection and kept."""
        uri = self.path.resolve().as_uri()
        if not self._read_only_option:
            probe = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30)
            try:
                probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
                self._read_only_option = "mode=ro"
            except sqlite3.OperationalError:
                self._read_only_option = "immutable=1"
            finally:
                probe.close()
        return sqlite3.connect(f"{uri}?{self._read_only_option}", uri=True, timeout=30)

    def check_schema(self) -> None:
        with self.connect() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        _refuse_newer(self.label, version, len(MIGRATIONS))
        if version < len(MIGRATIONS):
            raise WorkspaceError(
                f"{self.path} has an older schema and is read-only here; open it once with write access "
                "(any evaluator command) to upgrade it."
            )

    def migrate(self) -> None:
        with self.connect() as wrapped:
            conn = wrapped.raw
            conn.execute("PRAGMA journal_mode = WAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            _refuse_newer(self.label, version, len(MIGRATIONS))
            for step in range(version, len(MIGRATIONS)):
                migration = MIGRATIONS[step]
                if isinstance(migration, str):
                    conn.executescript(f"BEGIN; {migration} PRAGMA user_version = {step + 1}; COMMIT;")
                    continue
                conn.execute("BEGIN IMMEDIATE")
                if conn.execute("PRAGMA user_version").fetchone()[0] > step:  # another process just did it
                    conn.commit()
                    continue
                migration(wrapped)
                conn.execute(f"PRAGMA user_version = {step + 1}")
                conn.commit()


class PostgresBackend:
    """A PostgreSQL database shared by a team (psycopg 3). Connections are reused from a small pool."""

    dialect = "postgresql"
    POOL = 8

    def __init__(self, url: str, read_only: bool):
        self.url, self.read_only, self.label = url, read_only, redact(url)
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._pid = os.getpid()

    def _open(self) -> Any:
        import psycopg

        if self._pid != os.getpid():  # a forked child never uses its parent's sockets
            self._idle, self._pid = queue.LifoQueue(), os.getpid()
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        options = "-c default_transaction_read_only=on" if self.read_only else ""
        try:
            return psycopg.connect(self.url, row_factory=_pg_rows, options=options, connect_timeout=10)
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise WorkspaceError(
                f"Cannot connect to the workspace database {self.label}: {reason}. "
                "Check the server is running and the URL (user, password, host, port, database name)."
            ) from None

    def _release(self, conn: Any) -> None:
        if conn.closed or conn.info.transaction_status != 0 or self._idle.qsize() >= self.POOL:
            conn.close()
        else:
            self._idle.put(conn)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        import psycopg

        conn = self._open()
        try:
            with conn.transaction():
                yield Connection(conn, self.dialect)
        except psycopg.errors.IntegrityError:
            raise  # a constraint or trigger refused the change
        except psycopg.errors.InsufficientPrivilege as exc:
            raise WorkspaceError(
                f"The database role may not do that in {self.label} ({_first_line(exc)}). "
                "Decisions are append-only; schema changes need the database owner."
            ) from None
        except psycopg.errors.ReadOnlySqlTransaction:
            raise WorkspaceError(f"{self.label} is opened read-only; nothing can be saved.") from None
        except psycopg.Error as exc:
            conn.close()
            raise WorkspaceError(
                f"Workspace database error in {self.label}: {_first_line(exc)}. Check the server and try again."
            ) from None
        finally:
            self._release(conn)

    def _version(self, conn: Connection) -> int:
        conn.execute("CREATE TABLE IF NOT EXISTS evaluator_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) FROM evaluator_schema").fetchone()
        return int(row[0] or 0)

    def check_schema(self) -> None:
        with self.connect() as conn:
            exists = conn.execute("SELECT to_regclass('evaluator_schema')").fetchone()[0]
            version = self._version(conn) if exists else 0
        _refuse_newer(self.label, version, len(PG_MIGRATIONS))
        if version < len(PG_MIGRATIONS):
            raise WorkspaceError(f"{self.label} has an older schema; open it once without --read-only.")

    def migrate(self) -> None:
        import psycopg

        with self.connect() as conn:
            if conn.execute("SELECT to_regclass('evaluator_schema')").fetchone()[0]:
                version = int(conn.execute("SELECT max(version) FROM evaluator_schema").fetchone()[0] or 0)
                _refuse_newer(self.label, version, len(PG_MIGRATIONS))
                if version == len(PG_MIGRATIONS):
                    return  # the common case: no lock, nothing to write (an application role can do this)
        try:
            with self.connect() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
                version = self._version(conn)
                _refuse_newer(self.label, version, len(PG_MIGRATIONS))
                for step in range(version, len(PG_MIGRATIONS)):
                    _apply(conn, PG_MIGRATIONS[step])
                    conn.execute("INSERT INTO evaluator_schema (version) VALUES (?)", (step + 1,))
        except WorkspaceError as exc:
            if "may not do that" in str(exc):
                raise WorkspaceError(
                    f"{self.label} needs its schema created or upgraded, and this role may not: run any "
                    "evaluator command once as the database owner (e.g. `evaluator workspace grant ROLE "
                    "--database OWNER_URL`)."
                ) from None
            raise
        except psycopg.Error as exc:  # pragma: no cover - mapped in connect()
            raise WorkspaceError(f"Cannot migrate {self.label}: {_first_line(exc)}") from None

    def grant(self, role: str) -> None:
        """Let ``role`` (an existing PostgreSQL role) use this workspace as an application: read every
        table, append to every table, change only the tables in ``UPDATABLE``, delete only sessions.
        It gets no UPDATE, DELETE or TRUNCATE on reviewer records, and cannot change the schema."""
        from psycopg import sql

        who = sql.Identifier(role)
        with self.connect() as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = ?", (role,)).fetchone():
                raise WorkspaceError(
                    f"No PostgreSQL role {role!r}: create it first (CREATE ROLE {role} LOGIN PASSWORD '...')."
                )
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
                ).fetchall()
            ]
            db, schema = (
                sql.Identifier(v)
                for v in conn.execute("SELECT current_database(), current_schema()").fetchone()
            )
            conn.raw.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, who))
            conn.raw.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, who))
            for table in tables:
                rights = ["SELECT", "INSERT"]
                rights += ["UPDATE"] if table in UPDATABLE else []
                rights += ["DELETE"] if table in DELETABLE else []
                name = sql.Identifier(table)
                conn.raw.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(name, who))
                conn.raw.execute(sql.SQL("GRANT " + ", ".join(rights) + " ON {} TO {}").format(name, who))
            conn.raw.execute(
                sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, who)
            )


def _apply(conn: Connection, migration: Migration) -> None:
    if isinstance(migration, str):
        if migration.strip():
            conn.raw.execute(migration)  # no parameters: several statements, no placeholder rewriting
    else:
        migration(conn)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_backend(root: Path, database: str | None, read_only: bool) -> Backend:
    if database is None:
        return SQLiteBackend(root / "evaluator.sqlite", read_only)
    if not is_postgres_url(database):
        raise WorkspaceError(
            f"--database takes a PostgreSQL URL (postgresql://user@host/dbname), not {database!r}; "
            "for a SQLite workspace give --workspace FOLDER."
        )
    return PostgresBackend(database, read_only)
