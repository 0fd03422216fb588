"""Tamper evidence for the reviewer records: each one carries a hash chained to the one before it.

Decisions, evidence verdicts and consensus records are append-only (SQLite triggers refuse UPDATE,
DELETE and INSERT OR REPLACE). Beyond that, every record stores ``entry_hash`` = sha256 of the previous
record's hash and this record's fields, so a change made to the database file by other means (a
dropped trigger, a hex editor) breaks the chain from that record on. ``evaluator audit`` recomputes the
chains and names the first broken record. A chain cannot show that its newest records were removed:
note the last hashes ``audit`` prints if you need that.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluator.workspace.backend import Connection, Row
    from evaluator.workspace.store import Workspace

GENESIS = "0" * 64
# The fields each hash covers, fixed here so that a later column never changes an old record's hash.
CHAINED: dict[str, tuple[str, ...]] = {
    "decisions": (
        "id",
        "assessment_id",
        "sha256",
        "hallmark_id",
        "reviewer",
        "action",
        "level",
        "reason",
        "note",
        "suggested_level",
        "provenance",
        "based_on_decision_id",
        "created_at",
    ),
    "evidence_decisions": (
        "id",
        "assessment_id",
        "sha256",
        "descriptor_id",
        "passage_id",
        "text",
        "page",
        "verdict",
        "reviewer",
        "created_at",
    ),
    "consensus": ("id", "sha256", "hallmark_id", "level", "recorded_by", "reason", "note", "created_at"),
}
NAMES = {"decisions": "decision", "evidence_decisions": "evidence verdict", "consensus": "consensus record"}


def entry_hash(previous: str, table: str, row: dict[str, Any] | Row) -> str:
    payload = json.dumps(
        [table, previous, [row[c] for c in CHAINED[table]]], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(conn: Connection, table: str, values: dict[str, Any]) -> int:
    """Insert a record at the end of its table's chain, holding the table's write lock. Returns its id."""
    conn.lock(table)
    last = conn.execute(f"SELECT id, entry_hash FROM {table} ORDER BY id DESC LIMIT 1").fetchone()
    row = {"id": last[0] + 1 if last else 1, **values}
    columns = [*row, "entry_hash"]
    conn.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [*row.values(), entry_hash(last[1] if last else GENESIS, table, row)],
    )
    return row["id"]


def chain_existing(conn: Connection) -> None:
    """Migration: compute the chain of records written before records carried hashes."""
    for table in CHAINED:
        previous = GENESIS
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall():
            previous = entry_hash(previous, table, row)
            conn.execute(f"UPDATE {table} SET entry_hash = ? WHERE id = ?", (previous, row["id"]))


@dataclass
class AuditReport:
    counts: dict[str, int] = field(default_factory=dict)
    last: dict[str, str] = field(default_factory=dict)
    broken: str = ""  # the first record whose hash does not match, described for a person

    @property
    def ok(self) -> bool:
        return not self.broken


def verify(ws: Workspace) -> AuditReport:
    """Recompute every chain; the report names the first record that does not match."""
    report = AuditReport()
    with ws.connect() as conn:
        for table in CHAINED:
            previous = GENESIS
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            report.counts[table] = len(rows)
            for row in rows:
                expected = entry_hash(previous, table, row)
                if row["entry_hash"] != expected:
                    who = row["reviewer"] if "reviewer" in row.keys() else row["recorded_by"]
                    report.broken = (
                        f"{NAMES[table]} #{row['id']} (by {who}, {row['created_at']}) does not match the chain: it, "
                        f"or a record just before it, was changed, removed or inserted outside the evaluator"
                    )
                    return report
                previous = expected
            report.last[table] = previous
    return report
