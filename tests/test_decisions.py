"""Reviewer decisions: append-only storage, re-screen, optimistic concurrency, final levels, kappa."""

from __future__ import annotations

import sqlite3

import pytest
from review_helpers import make_assessment, make_workspace
from sklearn.metrics import cohen_kappa_score

from evaluator.types import LEVELS
from evaluator.workspace import decisions as dec
from evaluator.workspace.migrations import PG_MIGRATIONS
from evaluator.workspace.store import MIGRATIONS


@pytest.fixture
def ws_doc(tmp_path, database):
    ws, [a] = make_workspace(tmp_path, database=database)
    return ws, a


def test_migration_brings_schema_to_latest(ws_doc):
    ws, _ = ws_doc
    with ws.connect() as conn:
        if ws.postgres:
            assert conn.execute("SELECT max(version) FROM evaluator_schema").fetchone()[0] == len(
                PG_MIGRATIONS
            )
            query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        else:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        tables = {r[0] for r in conn.execute(query)}
    assert {"decisions", "evidence_decisions", "consensus", "users", "sessions", "document_files"} <= tables
    assert len(MIGRATIONS) == len(PG_MIGRATIONS)  # one schema version, whichever the backend


def test_accept_takes_the_suggested_level_and_provenance(ws_doc):
    ws, a = ws_doc
    rec = dec.record_decision(ws, a.document.sha256, "1", reviewer="Ana", action="accept")
    d = rec.decision
    assert (d.level, d.suggested_level, d.action, d.reviewer) == ("assuring", "assuring", "accept", "Ana")
    assert d.assessment_id == ws.current(a.document.sha256).id
    assert "test-judge" in d.provenance and "fake-encoder" in d.provenance
    assert not rec.conflicted


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reviewer": " ", "action": "accept"}, "Enter your name"),
        ({"reviewer": "Ana", "action": "override", "level": "maximising"}, "needs a reason"),
        ({"reviewer": "Ana", "action": "override", "level": "great", "reason": "x"}, "Choose a level"),
        ({"reviewer": "Ana", "action": "delete"}, "Unknown action"),
    ],
)
def test_invalid_decisions_are_refused_with_a_message(ws_doc, kwargs, message):
    ws, a = ws_doc
    with pytest.raises(dec.DecisionError, match=message):
        dec.record_decision(ws, a.document.sha256, "1", **kwargs)
    assert dec.decisions_for(ws, a.document.sha256) == []


def test_unknown_hallmark_and_document_are_refused(ws_doc):
    ws, a = ws_doc
    with pytest.raises(dec.DecisionError, match="Unknown hallmark"):
        dec.record_decision(ws, a.document.sha256, "9", reviewer="Ana", action="accept")
    with pytest.raises(dec.DecisionError, match="No suggestion"):
        dec.record_decision(ws, "f" * 64, "1", reviewer="Ana", action="accept")


@pytest.mark.parametrize("table", ["decisions", "evidence_decisions", "consensus"])
def test_records_are_append_only(ws_doc, table):
    ws, a = ws_doc
    sha = a.document.sha256
    dec.record_decision(ws, sha, "1", reviewer="Ana", action="override", level="none", reason="health only")
    dec.record_evidence_verdict(ws, sha, "1.A.1", passage_index=0, verdict="confirm", reviewer="Ana")
    dec.record_consensus(ws, sha, "1", level="none", recorded_by="Ana", reason="agreed")
    column = "level" if table != "evidence_decisions" else "verdict"
    if ws.postgres:  # even the database owner, connected directly, is refused by the triggers
        import psycopg

        statements = [
            f"UPDATE {table} SET {column} = 'maximising'",
            f"DELETE FROM {table}",
            f"TRUNCATE {table}",
        ]
        for statement in statements:
            with (
                psycopg.connect(ws.database) as conn,
                pytest.raises(psycopg.IntegrityError, match="append-only"),
            ):
                conn.execute(statement)
    else:
        conn = sqlite3.connect(ws.db_path)
        try:
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(f"UPDATE {table} SET {column} = 'maximising'")
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(f"DELETE FROM {table}")
        finally:
            conn.close()
    assert len(dec.decisions_for(ws, sha)) == 1


def test_rescreen_keeps_every_decision(ws_doc, tmp_path):
    ws, a = ws_doc
    sha = a.document.sha256
    first = ws.current(sha).id
    d1 = dec.record_decision(ws, sha, "1", reviewer="Ana", action="accept").decision
    d2 = dec.record_decision(
        ws, sha, "2", reviewer="Ben", action="override", level="none", reason="no wellbeing", based_on=None
    ).decision
    # re-screen: a new suggestion for the same document
    again = make_assessment(
        tmp_path / "strategy-0.pdf", levels={"1": "optimising"}, title="Northby Strategy 0"
    )
    second = ws.save_assessment(again, cache_key="rescreen")
    assert second != first and ws.current(sha).id == second
    kept = dec.decisions_for(ws, sha)
    assert [d.id for d in kept] == [d1.id, d2.id]
    assert all(d.assessment_id == first for d in kept)
    # the reviewers' levels still count after the re-screen
    finals = dec.final_levels(ws, sha)
    assert (finals["1"].level, finals["1"].source, finals["1"].suggested_level) == (
        "assuring",
        "reviewed",
        "optimising",
    )
    assert (finals["2"].level, finals["2"].source) == ("none", "reviewed")
    # the document page marks them as decided on an earlier suggestion
    from evaluator.review.views import document_detail

    detail = document_detail(ws, ws.current(sha))
    history = {h["id"]: h["history"] for h in detail["hallmarks"]}
    assert history["1"][0]["earlier"] and history["2"][0]["earlier"]
    assert detail["earlier_suggestions"] == 1


def test_stale_view_conflicts_but_nothing_is_lost(ws_doc):
    ws, a = ws_doc
    sha = a.document.sha256
    # Ana and Ben both load the page when there is no decision yet (based_on=None)
    ana = dec.record_decision(ws, sha, "3a", reviewer="Ana", action="accept", based_on=None)
    assert not ana.conflicted
    ben = dec.record_decision(
        ws,
        sha,
        "3a",
        reviewer="Ben",
        action="override",
        level="optimising",
        reason="clear ward-level measures",
        based_on=None,
    )
    assert ben.conflicted
    assert [c.id for c in ben.conflicts] == [ana.decision.id]
    assert [d.reviewer for d in dec.decisions_for(ws, sha, "3a")] == ["Ana", "Ben"]
    # Ana reloads (sees Ben's decision) and decides again: no conflict
    again = dec.record_decision(ws, sha, "3a", reviewer="Ana", action="accept", based_on=ben.decision.id)
    assert not again.conflicted
    # other hallmarks do not conflict with 3a
    other = dec.record_decision(ws, sha, "4", reviewer="Ben", action="accept", based_on=None)
    assert not other.conflicted
    # an old view: everything after it conflicts
    old = dec.record_decision(ws, sha, "3a", reviewer="Cy", action="accept", based_on=ana.decision.id)
    assert [c.reviewer for c in old.conflicts] == ["Ben", "Ana"]
    # a based_on from another hallmark counts as "saw nothing"
    foreign = dec.record_decision(ws, sha, "3a", reviewer="Cy", action="accept", based_on=other.decision.id)
    assert foreign.conflicted and len(foreign.conflicts) == 4
    assert dec.latest_decision(ws, sha, "3a").reviewer == "Cy"
    assert dec.latest_decision(ws, sha, "3a", reviewer="Ben").level == "optimising"


def test_final_levels_sources(ws_doc):
    ws, a = ws_doc
    sha = a.document.sha256
    assert {f.source for f in dec.final_levels(ws, sha).values()} == {"suggested"}
    dec.record_decision(ws, sha, "1", reviewer="Ana", action="override", level="none", reason="health only")
    dec.record_decision(ws, sha, "2", reviewer="Ana", action="accept")
    dec.record_decision(ws, sha, "2", reviewer="Ben", action="override", level="optimising", reason="more")
    finals = dec.final_levels(ws, sha)
    assert (finals["1"].level, finals["1"].source, finals["1"].disputed) == ("none", "reviewed", False)
    assert (finals["2"].level, finals["2"].disputed, set(finals["2"].reviewers)) == (
        "optimising",
        True,
        {"Ana", "Ben"},
    )
    dec.record_consensus(
        ws, sha, "2", level="assuring", recorded_by="Ana", reason="ward data", note="agreed in meeting"
    )
    finals = dec.final_levels(ws, sha)
    assert (finals["2"].level, finals["2"].source) == ("assuring", "consensus")
    assert (finals["4"].level, finals["4"].source) == ("assuring", "suggested")


def test_evidence_verdicts_are_kept_per_passage(ws_doc):
    ws, a = ws_doc
    sha = a.document.sha256
    dec.record_evidence_verdict(ws, sha, "1.A.1", passage_index=0, verdict="confirm", reviewer="Ana")
    dec.record_evidence_verdict(ws, sha, "1.A.1", passage_index=0, verdict="reject", reviewer="Ben")
    text = a.hallmark("1").descriptors[0].evidence[0].text
    rows = dec.evidence_verdicts(ws, sha)[("1.A.1", text)]
    assert [(r["reviewer"], r["verdict"], r["page"]) for r in rows] == [
        ("Ana", "confirm", 1),
        ("Ben", "reject", 1),
    ]
    with pytest.raises(dec.DecisionError, match="No evidence passage"):
        dec.record_evidence_verdict(ws, sha, "1.A.1", passage_index=5, verdict="confirm", reviewer="Ana")
    with pytest.raises(dec.DecisionError, match="Unknown verdict"):
        dec.record_evidence_verdict(ws, sha, "1.A.1", passage_index=0, verdict="maybe", reviewer="Ana")


def test_weighted_kappa_between_reviewers_and_against_the_tool(tmp_path, database):
    ws, docs = make_workspace(tmp_path, documents=2, database=database)
    ana = ["none", "assuring", "optimising", "maximising", "assuring", "none", "optimising"]
    ben = ["none", "optimising", "optimising", "maximising", "none", "none", "assuring"]
    items = [(d.document.sha256, hid) for d in docs for hid in ("1", "2", "3a", "3b")][: len(ana)]
    for (sha, hid), la, lb in zip(items, ana, ben, strict=True):
        dec.record_decision(
            ws, sha, hid, reviewer="Ana", action="override", level="maximising", reason="first"
        )
        dec.record_decision(ws, sha, hid, reviewer="Ana", action="override", level=la, reason="changed mind")
        dec.record_decision(ws, sha, hid, reviewer="Ben", action="override", level=lb, reason="r")
    [pair] = dec.reviewer_agreement(ws)
    expected = cohen_kappa_score(
        [LEVELS.index(x) for x in ana], [LEVELS.index(x) for x in ben], weights="quadratic"
    )
    assert (pair.a, pair.b, pair.n) == ("Ana", "Ben", len(ana))  # only each reviewer's latest decision counts
    assert pair.kappa == pytest.approx(expected)
    assert pair.percent == pytest.approx(4 / 7)
    tool = {t.b: t for t in dec.tool_agreement(ws)}
    assert set(tool) == {"Ana", "Ben", "all reviewers"}
    expected_tool = cohen_kappa_score(
        [1] * len(ana), [LEVELS.index(x) for x in ana], weights="quadratic", labels=[0, 1, 2, 3]
    )
    assert tool["Ana"].kappa == pytest.approx(expected_tool)
    assert tool["all reviewers"].n == 2 * len(ana)


def test_kappa_is_undefined_without_enough_items():
    assert dec.weighted_kappa([], []) is None
    assert dec.weighted_kappa(["none"], ["none"]) is None
    assert dec.weighted_kappa(["none", "none"], ["none", "none"]) is None  # no variation at all
    assert dec.weighted_kappa(["none", "maximising"], ["none", "maximising"]) == pytest.approx(1.0)
