"""The team backend: a workspace on a real PostgreSQL server (started by tests/postgres.py).

What a team relies on: the application role cannot change or remove a reviewer's record; the
documents live in the database, so the review server draws pages without the screener's disk; every
command takes --database; a wrong URL or a server that is down is one line, not a traceback.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from review_helpers import make_assessment, make_workspace
from support import SAMPLE_CORPUS
from test_screen import fake_pipeline

from evaluator.cli import main
from evaluator.errors import WorkspaceError
from evaluator.review.app import create_app
from evaluator.workspace import accounts
from evaluator.workspace import decisions as dec
from evaluator.workspace.audit import verify
from evaluator.workspace.batch import screen
from evaluator.workspace.copy import table_digests
from evaluator.workspace.store import Workspace


def _role_url(url: str, role: str) -> str:
    return url.replace("postgres@", f"{role}@", 1)


def test_application_role_appends_but_never_changes_reviewer_records(postgres, tmp_path):
    owner = postgres.new_database()
    role = f"app_{owner.rsplit('_', 1)[-1]}"
    postgres.sql(f"CREATE ROLE {role} LOGIN")
    result = CliRunner().invoke(main, ["workspace", "grant", role, "--database", owner])
    assert result.exit_code == 0, result.output
    app_url = _role_url(owner, role)
    ws, [a] = make_workspace(tmp_path, database=app_url)  # the application screens and decides
    sha = a.document.sha256
    dec.record_decision(ws, sha, "1", reviewer="Ana", action="override", level="none", reason="health only")
    dec.record_consensus(ws, sha, "1", level="none", recorded_by="Ben", reason="agreed")
    for statement in (
        "UPDATE decisions SET level = 'maximising'",
        "DELETE FROM decisions",
        "TRUNCATE decisions",
        "DELETE FROM consensus",
        "UPDATE evidence_decisions SET verdict = 'reject'",
        "DROP TRIGGER decisions_append_only ON decisions",
    ):
        with psycopg.connect(app_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    [d] = dec.decisions_for(ws, sha)
    assert (d.reviewer, d.level) == ("Ana", "none")


def test_application_role_cannot_create_the_schema_and_says_who_can(postgres, tmp_path):
    url = postgres.new_database()
    role = f"app_{url.rsplit('_', 1)[-1]}"
    postgres.sql(f"CREATE ROLE {role} LOGIN")
    postgres.sql(
        f"REVOKE CREATE ON SCHEMA public FROM PUBLIC; REVOKE CREATE ON SCHEMA public FROM {role}",
        url.rsplit("/", 1)[1],
    )
    with pytest.raises(WorkspaceError, match="database owner"):
        Workspace(tmp_path / "ws", database=_role_url(url, role))


def test_documents_live_in_the_database_once_and_pages_render_elsewhere(postgres, tmp_path):
    """Screened on one machine; the server, with another folder and without the PDFs, draws the pages."""
    url = postgres.new_database()
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("eastbridge-hws-2023.pdf", "harrowfield-hws-2024.pdf"):
        shutil.copy(SAMPLE_CORPUS / name, docs / name)
    laptop = Workspace(tmp_path / "laptop", database=url)
    summary = screen([docs], laptop, workers=1, quiet=True, pipeline_factory=fake_pipeline, reports=False)
    assert len(summary.ok) == 2
    shutil.copy(docs / "eastbridge-hws-2023.pdf", docs / "same-bytes-again.pdf")
    screen([docs], laptop, workers=1, quiet=True, pipeline_factory=fake_pipeline, reports=False)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT sha256) FROM document_files").fetchone() == (
            2,
            2,
        )
    shutil.rmtree(docs)
    server = Workspace(tmp_path / "server", database=url, create=True)
    client = TestClient(create_app(server), base_url="http://127.0.0.1")
    for stored in server.current_assessments():
        page = client.get(f"/documents/{stored.sha256}/pages/1")
        assert page.status_code == 200 and "no longer there" not in page.text
        png = client.get(f"/documents/{stored.sha256}/pages/1.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert server.rubric().id == laptop.rubric().id


def test_every_command_takes_database(postgres, tmp_path):
    url = postgres.new_database()
    ws, [a] = make_workspace(tmp_path, database=url)
    dec.record_decision(ws, a.document.sha256, "1", reviewer="Ana", action="accept")
    runner = CliRunner()
    out = tmp_path / "out.json"
    for args in (
        ["export", "--database", url, "--format", "json", "--out", str(out)],
        ["report", "--database", url, "--out", str(tmp_path / "reports")],
        ["audit", "--database", url],
        ["export", "--workspace", url, "--format", "csv", "--out", str(tmp_path / "out.csv")],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
    assert "1 decisions" in runner.invoke(main, ["audit"], env={"EVALUATOR_DATABASE": url}).output
    assert (tmp_path / "reports" / "summary.csv").exists() and out.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x@localhost/db", "takes a PostgreSQL URL"),
        ("postgresql://nobody@127.0.0.1:1/none", "Cannot connect to the workspace database"),
    ],
)
def test_bad_database_urls_are_one_line(tmp_path, url, message):
    result = CliRunner().invoke(
        main, ["export", "--database", url, "--format", "json", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def _screen_process(docs, folder, url: str) -> subprocess.Popen:
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_screen import slow_pipeline
        from evaluator.workspace.batch import screen
        from evaluator.workspace.store import Workspace
        ws = Workspace({str(folder)!r}, database={url!r})
        screen([{str(docs)!r}], ws, workers=1, quiet=True, pipeline_factory=slow_pipeline, reports=False,
               claim_lease=3)
    """)
    return subprocess.Popen([sys.executable, "-c", script])


def _holds(url: str, pid: int) -> bool:
    with psycopg.connect(url) as conn:
        return bool(
            conn.execute(
                "SELECT count(*) FROM claims WHERE owner LIKE %s AND done = 0", (f"%:{pid}:%",)
            ).fetchone()[0]
        )


def _assessed_by_run(url: str) -> dict[int, int]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT run_id, count(*) FROM assessments GROUP BY run_id").fetchall())


def test_two_machines_share_a_screen_and_one_takes_over_when_the_other_is_killed(postgres, tmp_path):
    """The sample corpus's PDFs (each made slow) screened by two processes into one database: every
    document is assessed exactly once; the first is killed mid-way and the second finishes its work,
    including the document the first had claimed, once that claim's lease runs out."""
    url = postgres.new_database()
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs = sorted(SAMPLE_CORPUS.glob("*.pdf"))
    for pdf in pdfs:
        shutil.copy(pdf, docs / f"slow-{pdf.name}")
    Workspace(tmp_path / "a", database=url)  # the schema, before two processes race to create it
    first = _screen_process(docs, tmp_path / "a", url)
    second = _screen_process(docs, tmp_path / "b", url)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (len(_assessed_by_run(url)) < 2 or not _holds(url, first.pid)):
            time.sleep(0.1)  # until both machines have saved a document, and the first is assessing one
        assert first.poll() is None, "the first screen finished before it could be killed"
        first.kill()
        assert _holds(url, first.pid)  # killed holding a claim: that document is left to the second
        first.wait()
        assert second.wait(timeout=180) == 0
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
    with psycopg.connect(url) as conn:
        per_document = conn.execute(
            "SELECT document_id, count(*) FROM assessments GROUP BY document_id"
        ).fetchall()
        claims = conn.execute("SELECT count(*), sum(done) FROM claims").fetchone()
    assert len(per_document) == len(pdfs) and all(n == 1 for _, n in per_document)  # each exactly once
    assert claims == (len(pdfs), len(pdfs))
    by_run = _assessed_by_run(url)
    assert len(by_run) == 2 and sum(by_run.values()) == len(pdfs)  # both machines did some of the work


def test_workspace_copy_sqlite_to_postgresql_and_back(postgres, tmp_path):
    """Every decision and its history survive both ways: counts and digests equal, chains verify, and
    the copies answer like the original."""
    ws, docs = make_workspace(tmp_path, documents=2)
    sha = docs[0].document.sha256
    dec.record_decision(ws, sha, "1", reviewer="Ana", action="accept")
    dec.record_decision(ws, sha, "1", reviewer="Ben", action="override", level="none", reason="health only")
    dec.record_evidence_verdict(ws, sha, "1.A.1", passage_index=0, verdict="confirm", reviewer="Ana")
    dec.record_consensus(ws, sha, "1", level="none", recorded_by="Chris", reason="agreed")
    ws.save_assessment(
        make_assessment(tmp_path / "strategy-0.pdf", title="Northby Strategy 0"), cache_key="again"
    )
    accounts.add_user(ws, "Ana", "reviewer")
    ws.save_rubric(ws.rubric())
    for d in docs:
        ws.store_document_file(d.document.sha256, d.document.path)
    url = postgres.new_database()
    runner = CliRunner()
    there = runner.invoke(main, ["workspace", "copy", str(ws.root), url])
    assert there.exit_code == 0, there.output
    assert "Copied 2 document(s), 3 suggestion(s), 2 decision(s)" in there.output
    back = runner.invoke(main, ["workspace", "copy", url, str(tmp_path / "back")])
    assert back.exit_code == 0, back.output
    server, home = Workspace(None, database=url), Workspace(tmp_path / "back", create=False)
    assert table_digests(server) == table_digests(ws) == table_digests(home)
    for copy in (server, home):
        assert dec.final_levels(copy, sha) == dec.final_levels(ws, sha)
        assert [d.entry_hash for d in dec.decisions_for(copy, sha)] == [
            d.entry_hash for d in dec.decisions_for(ws, sha)
        ]
        assert verify(copy).ok
    dec.record_decision(server, sha, "2", reviewer="Ana", action="accept")  # new ids follow the copied ones
    assert [d.id for d in dec.decisions_for(server, sha)] == [1, 2, 3]
    again = runner.invoke(main, ["workspace", "copy", str(ws.root), url])
    assert again.exit_code == 1 and "already holds a workspace" in again.output


def test_a_claimed_document_is_open_again_when_planned_again(database, tmp_path):
    """Done claims do not stop a later screen: a failed or superseded document is assessed again,
    while one another machine already saved with the same key is not taken twice."""
    from evaluator.workspace.claims import ClaimQueue

    ws, [a] = make_workspace(tmp_path, database=database)
    sha = a.document.sha256
    work = [(Path(a.document.path), 2, sha)]
    first = ClaimQueue(ws, work, lambda s: "key-1")
    assert first.take() == 0 and first.take() is None  # held
    first.finished(0)
    assert not first.more()
    first.close()
    again = ClaimQueue(ws, work, lambda s: "key-1")  # e.g. it failed: planned again
    assert again.more() and again.take() == 0
    again.close()
    saved = ClaimQueue(ws, [(Path(a.document.path), 2, sha)], lambda s: "test-0")  # the current key
    assert saved.take() is None and not saved.more()  # already assessed with that key: closed, not taken
    saved.close()
