"""Issue 12 (hardening): each test is one promise to a user, checked against the running review app,
real workspaces and the real export files. Hostile inputs come from tests/fixtures/make_pdfs.py."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from PIL import Image
from review_helpers import make_workspace, sha256_of
from support import FIXTURE_PDFS as PDFS
from support import TESTS

import evaluator.workspace.batch
from evaluator.cli import main
from evaluator.pipeline import Pipeline
from evaluator.review.app import create_app
from evaluator.review.security import CSRF_COOKIE
from evaluator.stages.embed import HashingEncoder
from evaluator.workspace import decisions as dec
from evaluator.workspace.export import export
from evaluator.workspace.page_images import MAX_PIXELS

sys.path.insert(0, str(TESTS / "fixtures"))
from make_pdfs import FORMULAS, TRAVERSAL_IDS, make_bomb, make_many_pages  # noqa: E402

LOCAL = "http://127.0.0.1"


def fake_pipeline() -> Pipeline:
    return Pipeline(encoder=HashingEncoder())


@pytest.fixture
def app(tmp_path):
    ws, docs = make_workspace(tmp_path, documents=1)
    client = TestClient(create_app(ws.root), base_url=LOCAL, follow_redirects=False)
    return ws, docs[0].document.sha256, client


def form_token(client: TestClient) -> str:
    if CSRF_COOKIE not in client.cookies:
        client.get("/")
    return client.cookies[CSRF_COOKIE]


def screen_fake(monkeypatch, paths: list[Path], ws: Path, *extra: str):
    monkeypatch.setattr(evaluator.workspace.batch, "PipelineSpec", lambda *args: fake_pipeline)
    return CliRunner().invoke(
        main, ["screen", *map(str, paths), "--workspace", str(ws), "--workers", "1", "--quiet", *extra]
    )


def no_formulas(xlsx: Path) -> None:
    """No cell of any sheet is stored as a formula (an <f> element) in the file itself."""
    with zipfile.ZipFile(xlsx) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name


# ----------------------------------------------------------------------------- 1. formula injection


def test_reviewer_text_that_looks_like_a_formula_is_inert_in_every_export(app, tmp_path):
    """A reason or note such as =HYPERLINK(...) reads exactly as typed in the XLSX export (a text cell,
    never a formula) and is quoted in the CSV export, so opening the file runs nothing."""
    ws, sha, _ = app
    for hallmark, formula in zip(("1", "2", "3a", "3b", "4", "5"), FORMULAS, strict=True):
        dec.record_decision(
            ws,
            sha,
            hallmark,
            reviewer="@Ana",
            action="override",
            level="none",
            reason=formula + " reason",
            note=formula + " note",
        )
    export(ws, "xlsx", tmp_path / "out.xlsx")
    no_formulas(tmp_path / "out.xlsx")
    sheet = load_workbook(tmp_path / "out.xlsx").worksheets[1]
    head = [c.value for c in sheet[1]]
    cells = {row[0].value.split()[0]: row for row in sheet.iter_rows(min_row=2)}
    for hallmark, formula in zip(("1", "2", "3a", "3b", "4", "5"), FORMULAS, strict=True):
        reason = cells[hallmark][head.index("Reason")]
        assert (reason.value, reason.data_type) == ((formula + " reason").strip(), "s")
        assert cells[hallmark][head.index("Reviewer")].value == "@Ana"
    export(ws, "csv", tmp_path / "out.csv")
    rows = {
        r["hallmark"]: r for r in csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8", newline=""))
    }
    for hallmark, formula in zip(("1", "2", "3a", "3b", "4", "5"), FORMULAS, strict=True):
        assert rows[hallmark]["reason"] == "'" + (formula + " reason").strip()
        assert rows[hallmark]["note"] == "'" + (formula + " note").strip()
        assert rows[hallmark]["reviewer"] == "'@Ana"


def test_a_pdf_title_that_is_a_formula_is_inert_in_the_corpus_reports(tmp_path, monkeypatch):
    """The summary.csv and summary.xlsx written after every screen never carry a live formula, even when
    a PDF's metadata Title is one."""
    shutil.copy(PDFS / "formula-title.pdf", tmp_path / "formula-title.pdf")
    result = screen_fake(monkeypatch, [tmp_path / "formula-title.pdf"], tmp_path / "ws")
    assert result.exit_code == 0, result.output
    reports = tmp_path / "ws" / "reports"
    [row] = list(csv.DictReader((reports / "summary.csv").open(encoding="utf-8", newline="")))
    assert row["document"] == "'" + FORMULAS[0]
    no_formulas(reports / "summary.xlsx")
    title = load_workbook(reports / "summary.xlsx")["Documents"]["A2"]
    assert (title.value, title.data_type) == (FORMULAS[0], "s")


# ------------------------------------------------------------------ 4. memory cap on untrusted files


@pytest.mark.parametrize("workers", [1, 2])
def test_a_decompression_bomb_fails_alone_and_the_batch_goes_on(tmp_path, monkeypatch, workers):
    """A 306 KB PDF that inflates to 300 MiB fails with a one-line reason (over the memory cap), the
    other documents are assessed; with one worker (in-process batch) and with worker processes."""
    monkeypatch.setenv("EVALUATOR_MEMORY_LIMIT_MB", "200")
    docs = tmp_path / "docs"
    docs.mkdir()
    make_bomb(docs / "bomb.pdf", 300)
    shutil.copy(PDFS / "heading.pdf", docs / "heading.pdf")
    make_many_pages(docs / "many.pdf", 12)  # enough pages for worker processes
    summary = evaluator.workspace.batch.screen(
        [docs],
        tmp_path / "ws",
        workers=workers,
        quiet=True,
        timeout=60,
        pipeline_factory=fake_pipeline,
        reports=False,
    )
    [failed] = summary.failed
    assert Path(failed.path).name == "bomb.pdf"
    assert "ran out of memory (over 200 MB" in failed.reason and "\n" not in failed.reason
    assert sorted(Path(o.path).name for o in summary.ok) == ["heading.pdf", "many.pdf"]


def test_an_oversized_text_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    """A .txt input over the size cap fails with a one-line reason; the batch goes on."""
    big = tmp_path / "huge.txt"
    with big.open("wb") as fh:  # sparse: 64 MB on paper, nothing on disk
        fh.truncate(64 << 20)
    small = tmp_path / "small.md"
    small.write_text("# Wellbeing\n\nWe will measure wellbeing every year.\n", encoding="utf-8")
    result = screen_fake(monkeypatch, [big, small], tmp_path / "ws")
    assert result.exit_code == 1
    assert f"failed {big}: {big} is over 20 MB, too large for a text strategy" in result.output
    assert "1 assessed, 0 skipped (unchanged), 1 failed" in result.output


# ----------------------------------------------------- 2. cross-site requests, bounded page-image cache


def png_url(sha: str, box: str = "72,60,300,90") -> str:
    return f"/documents/{sha}/pages/1.png?box={box}"


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"},
        {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "image"},  # another port of localhost
        {"Origin": "http://example.invalid"},
        {"Origin": "null"},
    ],
)
def test_another_site_cannot_make_the_app_render_or_probe_documents(app, headers):
    """An <img> or fetch from another site gets 403 on every route: nothing is rendered or cached, and a
    document that exists answers exactly like one that does not."""
    ws, sha, client = app
    for url in (png_url(sha), png_url("0" * 64), f"/documents/{sha}", "/", "/static/style.css"):
        r = client.get(url, headers=headers)
        assert r.status_code == 403, url
        assert r.text == "Requests from other sites are refused. Open the review app's own address."
    assert not (ws.root / "cache" / "pages").exists()
    assert client.get(png_url(sha), headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert client.get(f"/documents/{sha}", headers={"Sec-Fetch-Site": "none"}).status_code == 200


def test_the_page_image_cache_stays_within_its_size_limit(app, monkeypatch):
    """Many distinct box parameters never grow the rendered-page cache past its limit; the oldest
    images go first and the newest stays cached."""
    import evaluator.workspace.page_images

    ws, sha, client = app
    first = client.get(png_url(sha))
    limit = 3 * len(first.content)
    monkeypatch.setattr(evaluator.workspace.page_images, "PAGE_CACHE_BYTES", limit, raising=False)
    for i in range(8):
        assert client.get(png_url(sha, f"72,{60 + i},300,90")).status_code == 200
    cache = ws.root / "cache" / "pages"
    sizes = [p.stat().st_size for p in cache.glob("*.png")]
    assert sum(sizes) <= limit and len(sizes) < 9
    newest = max(cache.glob("*.png"), key=lambda p: p.stat().st_mtime)
    assert newest.read_bytes() == client.get(png_url(sha, "72,67,300,90")).content


# ----------------------------------------------------------------------- 3. pixel cap when drawing


def test_a_huge_page_is_drawn_within_the_pixel_cap(tmp_path):
    """A 337-byte PDF with one 4000 pt page is drawn within MAX_PIXELS through the app (today's code
    drew it at 5556 x 5556 pixels, about 300 MB at its peak)."""
    ws, [assessment] = make_workspace(tmp_path)
    pdf = tmp_path / "oversized-page.pdf"
    shutil.copy(PDFS / "oversized-page.pdf", pdf)
    assessment.document.path, assessment.document.sha256 = str(pdf), sha256_of(pdf)
    ws.save_assessment(assessment, cache_key="oversized")
    client = TestClient(create_app(ws.root), base_url=LOCAL)
    r = client.get(f"/documents/{sha256_of(pdf)}/pages/1.png")
    assert r.status_code == 200
    width, height = Image.open(io.BytesIO(r.content)).size
    assert width * height <= MAX_PIXELS and width == height > 1000


# ------------------------------------------------------------------ 6. consensus needs a reason


def test_a_consensus_needs_a_reason_and_exports_show_who_and_why(app, tmp_path):
    """A consensus overrides every reviewer, so the app refuses one without a reason (keeping what was
    typed), and the CSV and XLSX exports say who recorded it and why."""
    ws, sha, client = app
    form = {
        "csrf_token": form_token(client),
        "reviewer": "Ben",
        "hallmark_id": "1",
        "level": "none",
        "note": "met on Tuesday",
    }
    refused = client.post(f"/documents/{sha}/consensus", data=form)
    assert refused.status_code == 400 and "A consensus needs a reason" in refused.text
    assert 'value="met on Tuesday"' in refused.text
    assert dec.consensus_for(ws, sha) == {}
    saved = client.post(f"/documents/{sha}/consensus", data={**form, "reason": "no wellbeing definition"})
    assert saved.status_code == 303
    export(ws, "csv", tmp_path / "out.csv")
    row = next(
        r for r in csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")) if r["hallmark"] == "1"
    )
    assert (row["source"], row["consensus_recorded_by"], row["consensus_reason"]) == (
        "consensus",
        "Ben",
        "no wellbeing definition",
    )
    export(ws, "xlsx", tmp_path / "out.xlsx")
    sheet = load_workbook(tmp_path / "out.xlsx").worksheets[1]
    head = [c.value for c in sheet[1]]
    h1 = [c.value for c in sheet[2]]
    assert (h1[head.index("Consensus by")], h1[head.index("Consensus reason")]) == (
        "Ben",
        "no wellbeing definition",
    )


# -------------------------------------------------------- 7. append-only for real, tamper-evident log


def decided(ws, sha: str) -> None:
    dec.record_decision(ws, sha, "1", reviewer="Ana", action="accept")
    dec.record_decision(ws, sha, "2", reviewer="Ana", action="override", level="none", reason="health only")
    dec.record_decision(ws, sha, "3a", reviewer="Ben", action="accept")
    dec.record_evidence_verdict(ws, sha, "1.A.1", passage_index=0, verdict="confirm", reviewer="Ana")
    dec.record_consensus(ws, sha, "1", level="none", recorded_by="Ana", reason="agreed")


@pytest.mark.parametrize("table", ["decisions", "evidence_decisions", "consensus"])
def test_insert_or_replace_cannot_rewrite_a_recorded_decision(app, table):
    """INSERT OR REPLACE on an existing id (which fired neither the UPDATE nor the DELETE trigger) is refused."""
    ws, sha, _ = app
    decided(ws, sha)
    conn = sqlite3.connect(ws.db_path)
    try:
        row = conn.execute(f"SELECT * FROM {table} WHERE id = 1").fetchone()
        columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(f"INSERT OR REPLACE INTO {table} VALUES ({', '.join('?' * len(row))})", row)
        with pytest.raises(sqlite3.IntegrityError):  # and a record without its chained hash
            conn.execute(
                f"INSERT INTO {table} ({', '.join(columns[1:-1])}) VALUES "
                f"({', '.join('?' * (len(columns) - 2))})",
                row[1:-1],
            )
    finally:
        conn.close()
    assert CliRunner().invoke(main, ["audit", "--workspace", str(ws.root)]).exit_code == 0


def test_audit_names_the_first_record_changed_behind_the_evaluators_back(app):
    """Someone drops the trigger and edits a reason in the database file: `evaluator audit` exits 1 and
    names that decision; an untouched workspace passes."""
    ws, sha, _ = app
    decided(ws, sha)
    ok = CliRunner().invoke(main, ["audit", "--workspace", str(ws.root)])
    assert ok.exit_code == 0 and "OK: 3 decisions, 1 evidence verdict(s), 1 consensus record(s)" in ok.output
    conn = sqlite3.connect(ws.db_path)
    with conn:
        conn.execute("DROP TRIGGER decisions_no_update")
        conn.execute("UPDATE decisions SET reason = 'nothing to see' WHERE id = 2")
    conn.close()
    bad = CliRunner().invoke(main, ["audit", "--workspace", str(ws.root)])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    [line] = bad.output.strip().splitlines()
    assert line.startswith("Error: decision #2 (by Ana, ") and "does not match the chain" in line


def test_an_existing_workspace_migrates_and_its_decisions_get_their_chain(tmp_path):
    """A workspace written before decisions carried hashes (schema 2) opens, its decisions are chained
    on migration, and `evaluator audit` passes; new decisions continue the chain."""
    from evaluator.workspace.store import MIGRATIONS, Workspace

    ws, [a] = make_workspace(tmp_path)
    sha = a.document.sha256
    old = tmp_path / "old"
    old.mkdir()
    conn = sqlite3.connect(old / "evaluator.sqlite")
    conn.executescript(f"{MIGRATIONS[0]} {MIGRATIONS[1]} PRAGMA user_version = 2;")
    with conn:
        src = sqlite3.connect(ws.db_path)
        for table in ("documents", "assessments"):
            rows = src.execute(f"SELECT * FROM {table}").fetchall()
            conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
        src.close()
        conn.execute(
            "INSERT INTO decisions (assessment_id, sha256, hallmark_id, reviewer, action, level, reason,"
            " suggested_level, created_at) VALUES (1, ?, '1', 'Ana', 'override', 'none', 'old', 'assuring',"
            " '2024-01-01T00:00:00+00:00')",
            (sha,),
        )
        conn.execute(
            "INSERT INTO consensus (sha256, hallmark_id, level, recorded_by, created_at)"
            " VALUES (?, '1', 'none', 'Ana', '2024-01-02T00:00:00+00:00')",
            (sha,),
        )
    conn.close()
    migrated = Workspace(old, create=False)
    dec.record_decision(migrated, sha, "2", reviewer="Ben", action="accept")
    assert [d.reason for d in dec.decisions_for(migrated, sha)] == ["old", ""]
    result = CliRunner().invoke(main, ["audit", "--workspace", str(old)])
    assert result.exit_code == 0 and "OK: 2 decisions" in result.output, result.output


# ------------------------------------------------------------------------- 5. token mode off loopback

TOKEN = "t" * 40


def serve_cli(monkeypatch, ws: Path, *args: str, env: dict | None = None):
    """`evaluator review` with uvicorn.run replaced: what it would serve, and what it printed."""
    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    result = CliRunner().invoke(main, ["review", "--workspace", str(ws), *args], env=env or {})
    return result, served


def test_off_loopback_the_token_is_strong_and_never_on_the_command_line(app, monkeypatch, tmp_path):
    """Without a token a strong one is generated; a short one is refused; the token comes from an
    environment variable or a file, never from argv (where `ps` shows it)."""
    ws, _, _ = app
    result, served = serve_cli(monkeypatch, ws.root, "--host", "0.0.0.0")
    assert result.exit_code == 0, result.output
    generated = result.output.split("?token=")[1].split()[0]
    assert len(generated) >= 43 and served["host"] == "0.0.0.0"
    short, served = serve_cli(
        monkeypatch, ws.root, "--host", "0.0.0.0", env={"EVALUATOR_REVIEW_TOKEN": "abc"}
    )
    assert short.exit_code == 1 and "use at least 32" in short.output and not served
    (tmp_path / "token").write_text(TOKEN + "\n")
    from_file, served = serve_cli(
        monkeypatch, ws.root, "--host", "0.0.0.0", "--token-file", str(tmp_path / "token")
    )
    assert from_file.exit_code == 0 and TOKEN not in from_file.output
    client = TestClient(served["app"], base_url="http://10.0.0.5:8765", follow_redirects=False)
    assert client.get("/", params={"token": TOKEN}).status_code == 303
    argv, _ = serve_cli(monkeypatch, ws.root, "--host", "0.0.0.0", "--token", TOKEN)
    assert argv.exit_code == 2 and "No such option" in argv.output


def test_repeated_wrong_tokens_are_slowed_down(app):
    """After a few wrong tokens from one address every token attempt is refused (429) for a while, so
    guessing gets nowhere; the session cookie is a fresh random id, HttpOnly, SameSite and Secure
    behind TLS."""
    ws, sha, _ = app
    client = TestClient(
        create_app(ws.root, token=TOKEN), base_url="https://review.example", follow_redirects=False
    )
    ok = client.get("/", params={"token": TOKEN})
    cookie = ok.headers["set-cookie"]
    assert ok.status_code == 303 and TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
    codes = [client.get("/", params={"token": f"guess-{i}"}).status_code for i in range(20)]
    assert codes[:5] == [403] * 5 and set(codes[5:]) == {429}
    assert client.get("/", params={"token": TOKEN}).status_code == 429


# ------------------------------------------------------------------ 8. no unhandled 500s, nothing lost


@pytest.mark.parametrize("decided", ["²", "١٢", "99999999999999999999999", "-1", "1e3"])
def test_odd_numbers_in_the_address_give_a_400_with_a_message(app, decided):
    _, sha, client = app
    r = client.get(f"/documents/{sha}", params={"decided": decided})
    assert r.status_code == 400 and "decided must be a whole number" in r.text


def test_a_failed_save_shows_the_form_again_with_what_was_typed(app, monkeypatch):
    """The disk is full when a reviewer saves an override: the page says the decision was not saved and
    the form still holds the level, reason and note they typed."""
    ws, sha, client = app

    class FullDisk(sqlite3.Connection):
        def execute(self, sql, *args):
            if sql.lstrip().upper().startswith("INSERT INTO DECISIONS"):
                raise sqlite3.OperationalError("database or disk is full")
            return super().execute(sql, *args)

    token = form_token(client)
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: real_connect(*a, **{**k, "factory": FullDisk}))
    r = client.post(
        f"/documents/{sha}/decisions",
        data={
            "csrf_token": token,
            "reviewer": "Ana",
            "hallmark_id": "2",
            "action": "override",
            "level": "maximising",
            "reason": "ward targets & <b>budgets</b>",
            "note": "see p. 4",
        },
    )
    assert r.status_code == 503 and "Your decision was not saved" in r.text and "disk is full" in r.text
    assert 'value="ward targets &amp; &lt;b&gt;budgets&lt;/b&gt;"' in r.text and 'value="see p. 4"' in r.text
    assert '<option value="maximising" selected>' in r.text
    monkeypatch.undo()
    assert dec.decisions_for(ws, sha) == []


# ---------------------------------------------------------------------- 9. size caps, CSRF first


def test_oversized_fields_and_forms_are_refused_and_nothing_is_stored(app):
    """A 900 KB note is refused before the form is parsed (413); a note over the field cap gets a 400
    that keeps what was typed; a form without the CSRF cookie is refused before parsing (403)."""
    ws, sha, client = app
    form = {
        "csrf_token": form_token(client),
        "reviewer": "Ana",
        "hallmark_id": "1",
        "action": "override",
        "level": "none",
        "reason": "r",
    }
    huge = client.post(f"/documents/{sha}/decisions", data={**form, "note": "x" * 900_000})
    assert huge.status_code == 413 and "Shorten the reason or note" in huge.text
    long = client.post(f"/documents/{sha}/decisions", data={**form, "note": "y" * 2500})
    assert long.status_code == 400 and "keep it under 2,000" in long.text and "y" * 2500 in long.text
    client.cookies.clear()
    assert client.post(f"/documents/{sha}/decisions", data={**form, "note": "x" * 900_000}).status_code == 403
    assert dec.decisions_for(ws, sha) == []


# --------------------------------------------------------------------------------- 10. smaller items


@pytest.mark.parametrize("doc_id", TRAVERSAL_IDS)
def test_a_manifest_cannot_point_outside_its_folder(tmp_path, monkeypatch, doc_id):
    """A MANIFEST.tsv doc_id like ../x is a failure with a one-line reason; nothing outside is read and the
    other listed documents are assessed."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(PDFS / "heading.pdf", folder / "good.pdf")
    shutil.copy(PDFS / "table.pdf", tmp_path / "outside.pdf")
    (folder / "MANIFEST.tsv").write_text(f"doc_id\ngood\n{doc_id}\n", encoding="utf-8")
    result = screen_fake(monkeypatch, [folder], tmp_path / "ws")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"MANIFEST.tsv doc_id {doc_id!r} is not a file name in" in result.output
    assert "1 assessed, 0 skipped (unchanged), 1 failed" in result.output


def test_every_response_carries_the_security_headers(tmp_path):
    """Early refusals (400, 403, 303) carry the same headers as pages, and the CSP sets base-uri."""
    ws, _ = make_workspace(tmp_path)
    local = TestClient(create_app(ws.root), base_url="http://evil.example", follow_redirects=False)
    tokened = TestClient(create_app(ws.root, token=TOKEN), base_url="http://10.0.0.5", follow_redirects=False)
    for r in (local.get("/"), tokened.get("/"), tokened.get("/", params={"token": TOKEN})):
        assert r.status_code in (400, 403, 303)
        assert "base-uri 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
