"""The workspace database's schema, as migrations per dialect (applied by ``evaluator.workspace.backend``).

SQLite keys its version by ``PRAGMA user_version``, PostgreSQL by the ``evaluator_schema`` table. Step
numbers agree: PostgreSQL's step 1 creates what SQLite reached in three steps (2 and 3 are empty there),
and from step 4 on each step is written once per dialect. Both enforce the same rules: reviewer records
are append-only (triggers) and carry a chained hash; a consensus needs a reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evaluator.workspace.backend import Connection

Migration = str | Callable[["Connection"], None]
APPEND_ONLY = {
    "decisions": "decisions",
    "evidence_decisions": "evidence decisions",
    "consensus": "consensus records",
}


def _chain_reviewer_records(conn: Connection) -> None:
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


def _summarise_assessments(conn: Connection) -> None:
    """5: ``assessment_summaries``, what a list of documents shows of a suggestion (title, pages, each
    hallmark's level, confidence and needs_review: ``evaluator.workspace.store.summary_json``), so the
    list reads no assessment JSON. A table of its own: in SQLite a column after ``assessments.json``
    is read by walking the JSON's overflow pages. Filled in here for the assessments already stored,
    a hundred at a time."""
    from evaluator.types import Assessment
    from evaluator.workspace.store import summary_json

    key = "BIGINT" if conn.postgres else "INTEGER"
    conn.execute(
        f"CREATE TABLE assessment_summaries (assessment_id {key} PRIMARY KEY REFERENCES assessments(id), "
        "summary TEXT NOT NULL)"
    )
    last = 0
    while rows := conn.execute(
        "SELECT id, json FROM assessments WHERE id > ? ORDER BY id LIMIT 100", (last,)
    ).fetchall():
        conn.executemany(
            "INSERT INTO assessment_summaries (assessment_id, summary) VALUES (?, ?)",
            [(r["id"], summary_json(Assessment.model_validate_json(r["json"]))) for r in rows],
        )
        last = rows[-1]["id"]


# Each entry migrates the schema from version i to i+1: SQL, or a function for steps that need Python.
# Append; never edit a released step.
MIGRATIONS: list[Migration] = [
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
    # 4: a team's workspace. The documents themselves (content-addressed: once per sha256), settings
    # such as the rubric, accounts and their server-side sessions, and claims on documents by the
    # screens of several machines (a lease, renewed while the document is assessed).
    """
    CREATE TABLE document_files (
        sha256 TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        content BLOB NOT NULL,
        stored_at TEXT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
        role TEXT NOT NULL CHECK (role IN ('reviewer', 'adjudicator', 'admin')),
        password_hash TEXT NOT NULL,
        must_change INTEGER NOT NULL DEFAULT 1,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE claims (
        cache_key TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        owner TEXT NOT NULL DEFAULT '',
        lease_until REAL NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0
    );
    """,
    _summarise_assessments,
]

_PG_APPEND_ONLY = "\n".join(
    f"""
    CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION evaluator_append_only('{what}');
    CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION evaluator_append_only('{what}');
    """
    for table, what in APPEND_ONLY.items()
)


def postgres_sql(sqlite_sql: str) -> str:
    """A SQLite schema step in PostgreSQL's words: identity ids, BIGINT references, BYTEA, DOUBLE
    PRECISION; SQLite's triggers are left out (PostgreSQL's are in ``_PG_APPEND_ONLY``)."""
    sql = re.sub(r"CREATE TRIGGER .*?END;", "", sqlite_sql, flags=re.S)
    sql = re.sub(
        r"(?<!\w)id INTEGER PRIMARY KEY", "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql
    )
    sql = re.sub(r"INTEGER( NOT NULL)? REFERENCES", r"BIGINT\1 REFERENCES", sql)
    return sql.replace(" BLOB ", " BYTEA ").replace(" REAL ", " DOUBLE PRECISION ")


# PostgreSQL's step 1 is SQLite's steps 1-3 (3's Python only chained existing records: there are none).
PG_MIGRATIONS: list[Migration] = [
    postgres_sql(str(MIGRATIONS[0]) + str(MIGRATIONS[1]))
    + "ALTER TABLE consensus ADD COLUMN reason TEXT NOT NULL CHECK (length(trim(reason)) > 0);"
    + "".join(f"ALTER TABLE {table} ADD COLUMN entry_hash TEXT NOT NULL;" for table in APPEND_ONLY)
    + """
    CREATE FUNCTION evaluator_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% are append-only', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
    END $$;
    """
    + _PG_APPEND_ONLY,
    "",  # 2 and 3: in step 1
    "",
    postgres_sql(str(MIGRATIONS[3])),
    _summarise_assessments,
]
# What an application role may change (``evaluator workspace grant``); everything else it may only
# read and append to. Reviewer records (APPEND_ONLY) are never among these.
UPDATABLE = ("documents", "runs", "assessments", "meta", "users", "sessions", "claims")
DELETABLE = ("sessions",)
