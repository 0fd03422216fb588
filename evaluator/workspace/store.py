"""The workspace: one folder per project of assessments, with a SQLite database.

Layout of a workspace folder::

    evaluator.sqlite      documents, runs, assessments (suggestions), failures, decisions
    rubric.json           the rubric of the latest screen (reports, review app and exports show its wording)
    assessments/          the assessment JSON per document (latest suggestion)
    cache/                extraction and embedding cache (see evaluator.stages.cache)
    reports/              corpus outputs (CSV, XLSX, heatmap, HTML index)

Suggestions and human decisions are different records. Assessments are appended: a re-screen marks
the previous suggestion for that document as superseded (``superseded_by``) and never deletes it, so
every decision keeps pointing at the suggestion it answered. Schema changes are migrations keyed by
``PRAGMA user_version``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evaluator.errors import WorkspaceError
from evaluator.files import atomic_write
from evaluator.rubric import load_rubric
from evaluator.types import Assessment, Rubric
from evaluator.workspace.migrations import MIGRATIONS

__all__ = ["DB_NAME", "MIGRATIONS", "RUBRIC_NAME", "StoredAssessment", "Workspace", "utc_now"]

DB_NAME = "evaluator.sqlite"
RUBRIC_NAME = "rubric.json"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StoredAssessment:
    id: int
    document_id: int
    sha256: str
    path: str
    created_at: str
    cache_key: str
    assessment: Assessment


class Workspace:
    """A workspace folder and its SQLite database. Cheap to open; safe to open from several processes.

    An existing workspace opened with ``create=False`` in a folder this process cannot write (a shared
    drive, an archived review) opens read-only: reading, reports written elsewhere and exports work;
    any write is a one-line ``WorkspaceError``. ``read_only=True`` asks for that explicitly.
    """

    def __init__(self, root: str | os.PathLike, *, create: bool = True, read_only: bool | None = None):
        self.root = Path(root)
        if not self.root.exists():
            if not create:
                raise WorkspaceError(
                    f"No workspace at {self.root}. Run `evaluator screen PATH --workspace {self.root}` first."
                )
            try:
                self.root.mkdir(parents=True)
            except OSError as exc:
                raise WorkspaceError(
                    f"Cannot create workspace {self.root}: {exc.strerror}. Choose a writable folder."
                ) from None
        elif not self.root.is_dir():
            raise WorkspaceError(f"{self.root} is a file, not a workspace folder. Choose a folder path.")
        self.db_path = self.root / DB_NAME
        if not create and not self.db_path.exists():
            raise WorkspaceError(
                f"No workspace database in {self.root}. Run `evaluator screen PATH --workspace {self.root}` first."
            )
        if read_only is None:
            read_only = not create and not (
                os.access(self.root, os.W_OK) and os.access(self.db_path, os.W_OK)
            )
        self.read_only = read_only
        self._read_only_option = ""
        if read_only:
            self._check_schema()
        else:
            self._migrate()

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction: committed on success, rolled back on error."""
        try:
            conn = self._open_read_only() if self.read_only else sqlite3.connect(self.db_path, timeout=30)
        except sqlite3.Error as exc:
            raise WorkspaceError(
                f"Cannot open {self.db_path}: {exc}. Check the folder is writable."
            ) from None
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            with conn:
                yield conn
        except sqlite3.OperationalError as exc:
            raise WorkspaceError(
                f"Workspace database error in {self.db_path}: {exc}. Check disk space and permissions."
            ) from None
        except sqlite3.IntegrityError:
            raise  # a constraint or trigger refused the change: the caller's concern, not the environment's
        except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
            raise WorkspaceError(
                f"{self.db_path} is damaged or not an evaluator database ({exc}). "
                "Restore it from a backup, or screen into a new workspace folder."
            ) from None
        finally:
            conn.close()

    def _open_read_only(self) -> sqlite3.Connection:
        """mode=ro; a WAL database in a folder where SQLite cannot create its -shm file needs immutable=1.
        immutable=1 assumes no process writes the database while it is open (someone with write access,
        e.g. a screen still running into it, would make reads inconsistent): the README says so. Which
        of the two works is found on the first connection and kept."""
        uri = self.db_path.resolve().as_uri()
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

    def _refuse_newer(self, version: int) -> None:
        if version > len(MIGRATIONS):
            raise WorkspaceError(
                f"{self.db_path} was written by a newer evaluator (schema {version}). Upgrade the evaluator."
            )

    def _check_schema(self) -> None:
        with self.connect() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        self._refuse_newer(version)
        if version < len(MIGRATIONS):
            raise WorkspaceError(
                f"{self.db_path} has an older schema and is read-only here; open it once with write access "
                "(any evaluator command) to upgrade it."
            )

    def _migrate(self) -> None:
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            self._refuse_newer(version)
            for step in range(version, len(MIGRATIONS)):
                migration = MIGRATIONS[step]
                if isinstance(migration, str):
                    conn.executescript(f"BEGIN; {migration} PRAGMA user_version = {step + 1}; COMMIT;")
                    continue
                conn.execute("BEGIN IMMEDIATE")
                if conn.execute("PRAGMA user_version").fetchone()[0] > step:  # another process just did it
                    conn.commit()
                    continue
                migration(conn)
                conn.execute(f"PRAGMA user_version = {step + 1}")
                conn.commit()

    @property
    def page_cache(self) -> Path | None:
        """Where rendered page images are kept; None for a read-only workspace (render, do not keep)."""
        return None if self.read_only else self.root / "cache" / "pages"

    def folder(self, name: str) -> Path:
        path = self.root / name
        try:
            path.mkdir(exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(
                f"Cannot create {path}: {exc.strerror}. Check the workspace folder is writable."
            ) from None
        return path

    # ---------------------------------------------------------------------- runs

    def start_run(self, tool_version: str, settings: dict) -> int:
        with self.connect() as conn:
            cur = conn.execute(
                "INSERT INTO runs (started_at, tool_version, settings) VALUES (?, ?, ?)",
                (utc_now(), tool_version, json.dumps(settings, sort_keys=True)),
            )
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, ok: int, failed: int) -> None:
        with self.connect() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, documents_ok = ?, documents_failed = ? WHERE id = ?",
                (utc_now(), ok, failed, run_id),
            )

    def record_failure(self, run_id: int | None, path: str, error: str) -> None:
        with self.connect() as conn:
            conn.execute(
                "INSERT INTO failures (run_id, path, error, created_at) VALUES (?, ?, ?, ?)",
                (run_id, path, error, utc_now()),
            )

    def failures(self, run_id: int | None = None) -> list[sqlite3.Row]:
        with self.connect() as conn:
            if run_id is None:
                return conn.execute("SELECT * FROM failures ORDER BY id").fetchall()
            return conn.execute("SELECT * FROM failures WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()

    # --------------------------------------------------------------- assessments

    def save_assessment(self, assessment: Assessment, *, cache_key: str, run_id: int | None = None) -> int:
        """Append a suggestion; the document's previous current suggestion becomes superseded."""
        doc = assessment.document
        now = utc_now()
        with self.connect() as conn:
            conn.execute(
                "INSERT INTO documents (sha256, path, title, pages, first_seen) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(sha256) DO UPDATE SET path = excluded.path, title = excluded.title, pages = excluded.pages",
                (doc.sha256, doc.path, doc.title, doc.pages, now),
            )
            document_id = conn.execute("SELECT id FROM documents WHERE sha256 = ?", (doc.sha256,)).fetchone()[
                0
            ]
            cur = conn.execute(
                "INSERT INTO assessments (document_id, run_id, cache_key, created_at, json) VALUES (?, ?, ?, ?, ?)",
                (document_id, run_id, cache_key, now, assessment.model_dump_json()),
            )
            new_id = int(cur.lastrowid or 0)
            conn.execute(
                "UPDATE assessments SET superseded_by = ? WHERE document_id = ? AND superseded_by IS NULL AND id != ?",
                (new_id, document_id, new_id),
            )
        return new_id

    def current(self, sha256: str) -> StoredAssessment | None:
        """The current (not superseded) suggestion for a document, if any."""
        rows = self._assessment_rows("d.sha256 = ? AND a.superseded_by IS NULL", (sha256,))
        return rows[0] if rows else None

    def current_assessments(self) -> list[StoredAssessment]:
        return self._assessment_rows("a.superseded_by IS NULL", ())

    def assessment(self, assessment_id: int) -> StoredAssessment | None:
        rows = self._assessment_rows("a.id = ?", (assessment_id,))
        return rows[0] if rows else None

    def save_rubric(self, rubric: Rubric) -> None:
        """Keep the rubric a screen used, so what shows the assessments shows its titles and wording."""
        path = self.root / RUBRIC_NAME
        if self.read_only or (path.exists() and path.read_text(encoding="utf-8") == rubric.model_dump_json()):
            return
        atomic_write(path, rubric.model_dump_json())

    def rubric(self) -> Rubric:
        """The rubric of the latest screen into this workspace; the shipped one before any."""
        path = self.root / RUBRIC_NAME
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return load_rubric()
        except OSError as exc:
            raise WorkspaceError(
                f"Cannot read {path}: {exc.strerror}. Check the folder's permissions."
            ) from None
        try:
            return Rubric.model_validate_json(text)
        except ValueError:
            raise WorkspaceError(
                f"{path} is not a rubric; screen the documents again to rewrite it."
            ) from None

    def document_file(self, stored: StoredAssessment, source: str = "") -> Path:
        """The stored document's file (never a path from a request); a relative one is tried from the
        workspace too. For an area, ``source`` names one of its documents (``Assessment.documents`` id);
        a ``KeyError`` if it names none that was assessed."""
        if stored.assessment.is_area or source:
            found = [d for d in stored.assessment.documents if d.id == source and not d.error]
            if not found:
                raise KeyError(source)
            path = Path(found[0].path)
        else:
            path = Path(stored.path)
        if not path.is_absolute() and not path.exists() and (self.root / path).exists():
            return self.root / path
        return path

    def history(self, sha256: str) -> list[StoredAssessment]:
        """Every suggestion ever made for a document, oldest first."""
        return self._assessment_rows("d.sha256 = ?", (sha256,))

    def _assessment_rows(self, where: str, params: tuple) -> list[StoredAssessment]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT a.id, a.document_id, d.sha256, d.path, a.created_at, a.cache_key, a.json "
                f"FROM assessments a JOIN documents d ON d.id = a.document_id WHERE {where} ORDER BY a.id",
                params,
            ).fetchall()
        return [
            StoredAssessment(
                id=r["id"],
                document_id=r["document_id"],
                sha256=r["sha256"],
                path=r["path"],
                created_at=r["created_at"],
                cache_key=r["cache_key"],
                assessment=Assessment.model_validate_json(r["json"]),
            )
            for r in rows
        ]
