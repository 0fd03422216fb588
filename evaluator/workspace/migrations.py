"""The workspace database's schema, as migrations keyed by ``PRAGMA user_version`` (applied by
``evaluator.workspace.store``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _chain_reviewer_records(conn: sqlite3.Connection) -> None:
    """3: tamper evidence (evaluator.workspace.audit). Every reviewer record gets ``entry_hash`` chained to the one
    before (computed here for existing records); INSERT OR REPLACE, which rewrote a record without firing
    the UPDATE/DELETE triggers, is refused; a consensus needs a reason."""
    from evaluator.workspace.audit import chain_existing

    conn.execute("ALTER TABLE consensus ADD COLUMN reason TEXT NOT NULL DEFAULT ''")
    for table in ("decisions", "evidence_decisions", "consensus"):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN entry_hash TEXT")
        conn.execute(f"DROP TRIGGER {table}_no_update")
    chain_existing(conn)
    for table, what in (
        ("decisions", "decisions"),
        ("evidence_decisions", "evidence decisions"),
        ("consensus", "consensus records"),
    ):
        conn.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{what} are append-only'); END"
        )
        conn.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{what} are append-only'); END"
        )
        conn.execute(
            f"CREATE TRIGGER {table}_chained BEFORE INSERT ON {table} WHEN NEW.entry_hash IS NULL "
            f"BEGIN SELECT RAISE(ABORT, '{what} are recorded by the evaluator, with a chained hash'); END"
        )
    conn.execute(
        "CREATE TRIGGER consensus_needs_reason BEFORE INSERT ON consensus "
        "WHEN length(trim(NEW.reason)) = 0 BEGIN SELECT RAISE(ABORT, 'a consensus needs a reason'); END"
    )


# Each entry migrates the schema from version i to i+1: SQL, or a function for steps that need Python.
# Append; never edit a released step.
MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    """
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        pages INTEGER NOT NULL DEFAULT 0,
        first_seen TEXT NOT NULL
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        tool_version TEXT NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}',
        documents_ok INTEGER NOT NULL DEFAULT 0,
        documents_failed INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE assessments (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id),
        run_id INTEGER REFERENCES runs(id),
        cache_key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        json TEXT NOT NULL,
        superseded_by INTEGER REFERENCES assessments(id)
    );
    CREATE INDEX assessments_current ON assessments(document_id) WHERE superseded_by IS NULL;
    CREATE TABLE failures (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs(id),
        path TEXT NOT NULL,
        error TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # 2: reviewer decisions (evaluator.workspace.decisions). Append-only: triggers forbid UPDATE and DELETE.
    """
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        assessment_id INTEGER NOT NULL REFERENCES assessments(id),
        sha256 TEXT NOT NULL,
        hallmark_id TEXT NOT NULL,
        reviewer TEXT NOT NULL CHECK (length(trim(reviewer)) > 0),
        action TEXT NOT NULL CHECK (action IN ('accept', 'override')),
        level TEXT NOT NULL CHECK (level IN ('none', 'assuring', 'optimising', 'maximising')),
        reason TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '',
        suggested_level TEXT NOT NULL,
        provenance TEXT NOT NULL DEFAULT '',
        based_on_decision_id INTEGER REFERENCES decisions(id),
        created_at TEXT NOT NULL,
        CHECK (action = 'accept' OR length(trim(reason)) > 0)
    );
    CREATE INDEX decisions_by_hallmark ON decisions(sha256, hallmark_id);
    CREATE TABLE evidence_decisions (
        id INTEGER PRIMARY KEY,
        assessment_id INTEGER NOT NULL REFERENCES assessments(id),
        sha256 TEXT NOT NULL,
        descriptor_id TEXT NOT NULL,
        passage_id TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL,
        page INTEGER,
        verdict TEXT NOT NULL CHECK (verdict IN ('confirm', 'reject')),
        reviewer TEXT NOT NULL CHECK (length(trim(reviewer)) > 0),
        created_at TEXT NOT NULL
    );
    CREATE INDEX evidence_decisions_by_doc ON evidence_decisions(sha256);
    CREATE TABLE consensus (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL,
        hallmark_id TEXT NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('none', 'assuring', 'optimising', 'maximising')),
        recorded_by TEXT NOT NULL CHECK (length(trim(recorded_by)) > 0),
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE INDEX consensus_by_hallmark ON consensus(sha256, hallmark_id);
    CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
    CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
    CREATE TRIGGER evidence_decisions_no_update BEFORE UPDATE ON evidence_decisions
        BEGIN SELECT RAISE(ABORT, 'evidence decisions are append-only'); END;
    CREATE TRIGGER evidence_decisions_no_delete BEFORE DELETE ON evidence_decisions
        BEGIN SELECT RAISE(ABORT, 'evidence decisions are append-only'); END;
    CREATE TRIGGER consensus_no_update BEFORE UPDATE ON consensus
        BEGIN SELECT RAISE(ABORT, 'consensus records are append-only'); END;
    CREATE TRIGGER consensus_no_delete BEFORE DELETE ON consensus
        BEGIN SELECT RAISE(ABORT, 'consensus records are append-only'); END;
    """,
    _chain_reviewer_records,
]
