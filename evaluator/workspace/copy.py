"""Copying a workspace between backends (SQLite <-> PostgreSQL), every record with its id and hash.

Ids are kept, so decisions still point at the suggestions they answered and every chained hash still
verifies. The copy is one transaction into an empty workspace; afterwards each table's row count and
content digest are compared between the two, and the chains are verified, before it is reported done.
Sessions and screening claims are not copied: they belong to the running server and screens.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from evaluator.errors import WorkspaceError
from evaluator.workspace.audit import verify
from evaluator.workspace.store import Workspace

# In an order where every reference points at a row already copied (assessments.superseded_by is
# filled in afterwards: it points forward).
TABLES = (
    "documents",
    "runs",
    "assessments",
    "assessment_summaries",
    "failures",
    "decisions",
    "evidence_decisions",
    "consensus",
    "document_files",
    "users",
    "meta",
)
KEYS = {"document_files": "sha256", "meta": "key", "assessment_summaries": "assessment_id"}
CHUNK = 500


@dataclass(frozen=True)
class CopyReport:
    counts: dict[str, int]
    digests: dict[str, str]
    files_added: int  # documents whose bytes the source only had on disk, now kept in the copy


def table_digests(ws: Workspace) -> dict[str, tuple[int, str]]:
    """Per table: row count and a sha256 over every row's values (by column name), in key order."""
    out = {}
    with ws.connect() as conn:
        for table in TABLES:
            digest, count = hashlib.sha256(), 0
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY {KEYS.get(table, 'id')}"):
                values = {
                    k: row[k].hex() if isinstance(row[k], bytes | memoryview) else row[k] for k in row.keys()
                }
                digest.update(json.dumps(values, sort_keys=True, ensure_ascii=False).encode("utf-8"))
                count += 1
            out[table] = (count, digest.hexdigest())
    return out


def copy_workspace(src: Workspace, dst: Workspace) -> CopyReport:
    """Copy ``src`` into the empty workspace ``dst``; raise ``WorkspaceError`` if anything differs."""
    if dst.read_only:
        raise WorkspaceError(f"{dst.label} is read-only; copy into a workspace you can write.")
    with dst.connect() as conn:
        for table in ("documents", "decisions", "users"):
            if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                raise WorkspaceError(f"{dst.label} already holds a workspace; copy into a new, empty one.")
    with src.connect() as read, dst.connect() as write:
        for table in TABLES:
            cursor = read.execute(f"SELECT * FROM {table} ORDER BY {KEYS.get(table, 'id')}")
            rows = cursor.fetchall()
            if not rows:
                continue
            columns = list(rows[0].keys())
            values = [[None if (c == "superseded_by") else r[c] for c in columns] for r in rows]
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for start in range(0, len(values), CHUNK):
                write.executemany(sql, values[start : start + CHUNK])
            if table == "assessments":
                write.executemany(
                    "UPDATE assessments SET superseded_by = ? WHERE id = ?",
                    [(r["superseded_by"], r["id"]) for r in rows if r["superseded_by"] is not None],
                )
            if write.postgres and "id" in columns:  # new rows continue after the copied ids
                write.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
    before, after = table_digests(src), table_digests(dst)
    if before != after:
        differ = ", ".join(t for t in TABLES if before[t] != after[t])
        raise WorkspaceError(f"The copy in {dst.label} differs from {src.label} in {differ}; do not use it.")
    audit = verify(dst)
    if not audit.ok:
        raise WorkspaceError(f"The copy's decision chain does not verify: {audit.broken}.")
    dst.save_rubric(src.rubric())  # a workspace from before the rubric was kept in the database
    added = sum(dst.store_document_file(sha, path) for sha, path in document_files(src))
    return CopyReport({t: n for t, (n, _) in after.items()}, {t: d for t, (_, d) in after.items()}, added)


def document_files(ws: Workspace) -> list[tuple[str, Path]]:
    """(sha256, file) of every current document, an area's member documents included."""
    files = []
    for stored in ws.current_assessments():
        if stored.assessment.is_area:
            files += [
                (d.sha256, ws.document_file(stored, d.id)) for d in stored.assessment.documents if not d.error
            ]
        else:
            files.append((stored.sha256, ws.document_file(stored)))
    return files
