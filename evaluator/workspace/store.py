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

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evaluator.errors import WorkspaceError
from evaluator.files import atomic_write
from evaluator.rubric import load_rubric
from evaluator.types import Assessment, Rubric
from evaluator.workspace.backend import Backend, Connection, Row, open_backend, redact
from evaluator.workspace.migrations import MIGRATIONS

__all__ = [
    "DB_NAME",
    "MIGRATIONS",
    "RUBRIC_NAME",
    "AssessmentSummary",
    "HallmarkSummary",
    "StoredAssessment",
    "Workspace",
    "summary_json",
    "utc_now",
]

DB_NAME = "evaluator.sqlite"
RUBRIC_NAME = "rubric.json"


def _local_folder(database: str) -> Path:
    """This machine's folder (cache, reports) for a workspace on a database server."""
    from evaluator.stages.cache import default_cache_dir

    key = hashlib.sha256(redact(database).encode()).hexdigest()[:16]
    return default_cache_dir() / "workspaces" / key


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

    @property
    def summary(self) -> AssessmentSummary:
        return AssessmentSummary.of(self.id, self.sha256, self.path, summary_json(self.assessment))


@dataclass(frozen=True)
class HallmarkSummary:
    id: str
    level: str
    confidence: float
    needs_review: bool


@dataclass(frozen=True)
class AssessmentSummary:
    """What a list of documents shows of a suggestion: no descriptors, no evidence. Kept beside each
    assessment (``assessment_summaries``), so a list of many documents parses none of their JSON."""

    id: int
    sha256: str
    path: str
    title: str
    pages: int
    hallmarks: tuple[HallmarkSummary, ...]

    @property
    def levels(self) -> dict[str, str]:
        return {h.id: h.level for h in self.hallmarks}

    @classmethod
    def of(cls, assessment_id: int, sha256: str, path: str, text: str) -> AssessmentSummary:
        data = json.loads(text)
        hallmarks = tuple(HallmarkSummary(**h) for h in data["hallmarks"])
        return cls(assessment_id, sha256, path, data["title"], data["pages"], hallmarks)


def summary_json(assessment: Assessment) -> str:
    """An assessment's row of ``assessment_summaries``."""
    return json.dumps(
        {
            "title": assessment.document.title,
            "pages": assessment.document.pages,
            "hallmarks": [
                {"id": h.id, "level": h.level, "confidence": h.confidence, "needs_review": h.needs_review}
                for h in assessment.hallmarks
            ],
        },
        ensure_ascii=False,
    )


class Workspace:
    """A workspace: a folder, and its database (a SQLite file in the folder, or PostgreSQL).

    Cheap to open; safe to open from several processes (and, on PostgreSQL, several machines). With
    ``database`` (a ``postgresql://`` URL) the folder only holds this machine's cache and reports; it
    defaults to one under the evaluator's cache folder.

    An existing SQLite workspace opened with ``create=False`` in a folder this process cannot write (a
    shared drive, an archived review) opens read-only: reading, reports written elsewhere and exports
    work; any write is a one-line ``WorkspaceError``. ``read_only=True`` asks for that explicitly.
    """

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        *,
        create: bool = True,
        read_only: bool | None = None,
        database: str | None = None,
    ):
        if root is None:
            if database is None:
                raise WorkspaceError("Give a workspace folder (--workspace) or a database URL (--database).")
            root = _local_folder(database)
            create = True
        self.root = Path(root)
        self.database = database
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
        if database is None and not create and not self.db_path.exists():
            raise WorkspaceError(
                f"No workspace database in {self.root}. Run `evaluator screen PATH --workspace {self.root}` first."
            )
        if read_only is None:
            read_only = (
                database is None
                and not create
                and not (os.access(self.root, os.W_OK) and os.access(self.db_path, os.W_OK))
            )
        self.read_only = read_only
        self.backend: Backend = open_backend(self.root, database, read_only)
        if read_only:
            self.backend.check_schema()
        else:
            self.backend.migrate()

    @property
    def label(self) -> str:
        """Where the database is, for messages: the SQLite file or the PostgreSQL URL without password."""
        return self.backend.label

    @property
    def postgres(self) -> bool:
        return self.backend.dialect == "postgresql"

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection in one transaction: committed on success, rolled back on error."""
        with self.backend.connect() as conn:
            yield conn

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
            return conn.insert(
                "INSERT INTO runs (started_at, tool_version, settings) VALUES (?, ?, ?)",
                (utc_now(), tool_version, json.dumps(settings, sort_keys=True)),
            )

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

    def failures(self, run_id: int | None = None) -> list[Row]:
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
            new_id = conn.insert(
                "INSERT INTO assessments (document_id, run_id, cache_key, created_at, json) VALUES (?, ?, ?, ?, ?)",
                (document_id, run_id, cache_key, now, assessment.model_dump_json()),
            )
            conn.execute(
                "INSERT INTO assessment_summaries (assessment_id, summary) VALUES (?, ?)",
                (new_id, summary_json(assessment)),
            )
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

    def current_summaries(self) -> list[AssessmentSummary]:
        """The current suggestions' summaries, in the order of ``current_assessments`` (their JSON unread)."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT a.id, d.sha256, d.path, s.summary FROM assessments a "
                "JOIN documents d ON d.id = a.document_id JOIN assessment_summaries s ON s.assessment_id = a.id "
                "WHERE a.superseded_by IS NULL ORDER BY a.id"
            ).fetchall()
        return [AssessmentSummary.of(r["id"], r["sha256"], r["path"], r["summary"]) for r in rows]

    def assessment(self, assessment_id: int) -> StoredAssessment | None:
        rows = self._assessment_rows("a.id = ?", (assessment_id,))
        return rows[0] if rows else None

    def save_rubric(self, rubric: Rubric) -> None:
        """Keep the rubric a screen used, so what shows the assessments shows its titles and wording
        (in the database, where every machine of a team reads it; a SQLite workspace also keeps
        ``rubric.json`` beside it)."""
        if self.read_only:
            return
        text = rubric.model_dump_json()
        with self.connect() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('rubric', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (text,),
            )
        path = self.root / RUBRIC_NAME
        if self.postgres or (path.exists() and path.read_text(encoding="utf-8") == text):
            return
        atomic_write(path, text)

    def rubric(self) -> Rubric:
        """The rubric of the latest screen into this workspace; the shipped one before any."""
        with self.connect() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'rubric'").fetchone()
        path = self.root / RUBRIC_NAME
        try:
            text = row[0] if row else path.read_text(encoding="utf-8")
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
                f"The rubric stored in {self.label} is not a rubric; screen the documents again to rewrite it."
            ) from None

    def store_document_file(self, sha256: str, path: str | os.PathLike) -> bool:
        """Keep the document's bytes in the database, once per sha256 (False: already kept, or the file
        changed since it was hashed), so the review app can draw its pages on any machine."""
        path = Path(path)
        with self.connect() as conn:
            if conn.execute("SELECT 1 FROM document_files WHERE sha256 = ?", (sha256,)).fetchone():
                return False
        try:
            content = path.read_bytes()
        except OSError:
            return False
        if hashlib.sha256(content).hexdigest() != sha256:
            return False
        with self.connect() as conn:
            conn.execute(
                "INSERT INTO document_files (sha256, name, size, content, stored_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (sha256) DO NOTHING",
                (sha256, path.name, len(content), content, utc_now()),
            )
        return True

    def document_file(self, stored: StoredAssessment, source: str = "") -> Path:
        """The stored document's file (never a path from a request): the bytes kept in the database,
        written once to this machine's cache; else the screened path (a relative one is tried from the
        workspace too). For an area, ``source`` names one of its documents (``Assessment.documents`` id);
        a ``KeyError`` if it names none that was assessed."""
        if stored.assessment.is_area or source:
            found = [d for d in stored.assessment.documents if d.id == source and not d.error]
            if not found:
                raise KeyError(source)
            sha256, path = found[0].sha256, Path(found[0].path)
        else:
            sha256, path = stored.sha256, Path(stored.path)
        kept = self.root / "cache" / "documents" / f"{sha256}{path.suffix.lower()}"
        if kept.is_file():
            return kept
        with self.connect() as conn:
            row = conn.execute("SELECT content FROM document_files WHERE sha256 = ?", (sha256,)).fetchone()
        if row is not None and not self.read_only:
            try:
                kept.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(kept, bytes(row[0]))
                return kept
            except (OSError, WorkspaceError):
                pass
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
