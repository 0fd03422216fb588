"""Robust on real-world input: bad files, faults and interruptions lose nothing.

Promises tested here:

* ``evaluator screen`` over a folder mixing every bad fixture, a 1,000-page PDF and good PDFs finishes,
  assesses what can be read (with warnings where pages were not read), lists every unreadable file with
  its one-line reason, exits 1, never prints a traceback, and keeps worker memory bounded.
* The per-document time limit really stops a long document, also when assessing in-process.
* A read-only, full or damaged workspace gives a one-line error naming the workspace and what to do,
  a non-zero exit, and leaves the existing database and assessment files intact (no half-written file).
  A read-only workspace can still be exported and reported (into a writable --out).
* Two reviewers deciding on the same hallmark at the same moment: both decisions are stored, the later
  one is reported as a conflict.
* Matching and judging never crash on arbitrary text, always rate 57 descriptors, cite only text that is
  on the cited page, and produce probabilities in [0, 1] and finite features.

Kill -9 in the middle of a batch, then resume, is covered by test_screen.py::test_kill_9_mid_run_then_resume.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import FIXTURE_PDFS as PDFS
from support import TESTS

import evaluator.workspace.batch
from evaluator.cli import main
from evaluator.pipeline import Analysis, Pipeline, embed_passages
from evaluator.stages.embed import HashingEncoder
from evaluator.stages.match import match
from evaluator.stages.segment import segment
from evaluator.types import Assessment, Block, Document, Line, Page
from evaluator.workspace import decisions as dec
from evaluator.workspace.store import Workspace

sys.path.insert(0, str(TESTS / "fixtures"))
from make_pdfs import make_many_pages  # noqa: E402

# What `screen` does with each fixture: failed with this reason, or assessed with these warnings.
UNREADABLE = {
    "empty.pdf": "is empty (0 bytes); re-download or re-export it.",
    "truncated.pdf": "could not be parsed as a PDF (corrupt or truncated): PSEOF: Unexpected EOF. Re-download or re-export it.",
    "random-bytes.pdf": "is not a PDF (no %PDF- header); check that you have the right file.",
    "html-saved-as.pdf": "is not a PDF but a web page (HTML) saved as .pdf; download the PDF itself.",
    "password.pdf": "is password-protected; save an unprotected copy and try again.",
}
PARTLY_READ = {  # assessed on the pages that could be read; the warning says which were not
    "image-only.pdf": ["page 2 has no text layer (scanned image?); it was not assessed"],
    "garbled-font.pdf": [
        "page 1 has a garbled text layer (font without a Unicode map?); it was not assessed"
    ],
}
READ_IN_FULL = ["markup-and-control.pdf", "file with spaces é.pdf", "two-columns.pdf", "header-footer.pdf"]
MAX_PAGES = 50  # the bound that applies to the 1,000-page PDF in the real-pipeline screen
CONTROL = {chr(c) for c in [*range(0, 9), *range(11, 32), *range(127, 160)]}


def fake_pipeline() -> Pipeline:
    return Pipeline(encoder=HashingEncoder())


def _no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text


# --------------------------------------------------------------------------------------------------
# 1. A folder of real-world bad input, real pipeline


HOOKED_CLI = textwrap.dedent("""
    import json, sys
    import evaluator.workspace.corpus_report as corpus_report
    show = corpus_report.print_summary

    def print_and_keep(summary, console=None):  # the CLI's own summary, plus the figures for the test
        with open(sys.argv[1], "w") as out:
            json.dump({"rss": summary.worker_peak_rss_mb, "seconds": summary.seconds}, out)
        show(summary, console)

    corpus_report.print_summary = print_and_keep
    from evaluator.cli import main
    main(args=sys.argv[2:], prog_name="evaluator")
""")


@pytest.mark.model
def test_screen_of_every_bad_input_finishes_and_says_why(tmp_path: Path) -> None:
    """All bad fixtures + a 1,000-page PDF + two good PDFs, real model, two worker processes.

    The 1,000-page PDF is bounded by --max-pages (only its first 50 pages are read, and a warning
    says so); --timeout is the backstop for a document that is slow for any other reason.
    """
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in [*UNREADABLE, *PARTLY_READ, *READ_IN_FULL]:
        shutil.copy(PDFS / name, docs / name)
    make_many_pages(docs / "many-pages.pdf", 1000)
    ws = tmp_path / "ws"
    figures = tmp_path / "figures.json"
    env = {**os.environ, "COLUMNS": "250"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            HOOKED_CLI,
            str(figures),
            "screen",
            str(docs),
            "--workspace",
            str(ws),
            "--workers",
            "2",
            "--timeout",
            "120",
            "--max-pages",
            str(MAX_PAGES),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    output = proc.stdout + proc.stderr
    _no_traceback(output)
    assert proc.returncode == 1, output
    n_ok = len(PARTLY_READ) + len(READ_IN_FULL) + 1
    assert f"{n_ok} assessed, 0 skipped (unchanged), {len(UNREADABLE)} failed" in proc.stdout, output
    for name, reason in UNREADABLE.items():  # each unreadable file, with its reason, on one line
        assert f"failed {docs / name}: {docs / name} {reason}" in proc.stdout.splitlines(), output

    stored = {Path(s.path).name: s.assessment for s in Workspace(ws, create=False).current_assessments()}
    assert sorted(stored) == sorted([*PARTLY_READ, *READ_IN_FULL, "many-pages.pdf"])
    for name, warnings in PARTLY_READ.items():
        assert stored[name].warnings == warnings
        assert stored[name].document.pages == 2
        for warning in warnings:
            assert f"warning {docs / name}: {warning}" in proc.stdout.splitlines(), output
    many = stored["many-pages.pdf"]
    assert many.document.pages == MAX_PAGES
    assert many.warnings == [f"only the first {MAX_PAGES} of 1000 pages were read (max_pages={MAX_PAGES})"]
    assert f"warning {docs / 'many-pages.pdf'}: {many.warnings[0]}" in proc.stdout.splitlines()
    for name in READ_IN_FULL:
        assert stored[name].warnings == [], name
    for name, assessment in stored.items():
        assert len(assessment.hallmarks) == 7 and len(assessment.descriptor_results()) == 57, name
        for result in assessment.descriptor_results().values():
            for ev in result.evidence:
                assert not CONTROL & set(ev.text), (name, ev.text)
                assert ev.page is not None and 1 <= ev.page <= assessment.document.pages
    markup = [
        ev.text for r in stored["markup-and-control.pdf"].descriptor_results().values() for ev in r.evidence
    ]
    assert all("<" not in t or "<script>" in t for t in markup)  # markup is kept as text, never interpreted

    workspace = Workspace(ws, create=False)
    assert {Path(f["path"]).name: f["error"].split(" ", 1)[1] for f in workspace.failures()} == {
        name: reason for name, reason in UNREADABLE.items()
    }
    index = (ws / "reports" / "index.html").read_text(encoding="utf-8")
    assert all(name in index for name in UNREADABLE)
    peak = json.loads(figures.read_text())["rss"]
    assert peak and max(peak) < 1500, peak


def test_time_limit_stops_a_long_document_when_assessing_in_process(tmp_path: Path, monkeypatch) -> None:
    """--timeout is enforced with --workers 1 too: the 1,000-page PDF without --max-pages is stopped and
    recorded as timed out (it used to be swallowed by the per-page error handler of extraction, which
    then assessed the document with one page silently missing)."""
    monkeypatch.setattr(evaluator.workspace.batch, "PipelineSpec", lambda *args: fake_pipeline)
    docs = tmp_path / "docs"
    docs.mkdir()
    make_many_pages(docs / "many-pages.pdf", 1000)
    shutil.copy(PDFS / "heading.pdf", docs / "heading.pdf")
    result = CliRunner().invoke(
        main,
        [
            "screen",
            str(docs),
            "--workspace",
            str(tmp_path / "ws"),
            "--workers",
            "1",
            "--timeout",
            "2",
            "--quiet",
        ],
    )
    _no_traceback(result.output)
    assert result.exit_code == 1, result.output
    assert f"failed {docs / 'many-pages.pdf'}: timed out after 2 s" in result.output
    assert "1 assessed, 0 skipped (unchanged), 1 failed" in result.output
    [stored] = Workspace(tmp_path / "ws").current_assessments()
    assert Path(stored.path).name == "heading.pdf" and stored.assessment.warnings == []


# --------------------------------------------------------------------------------------------------
# 2. Faults: read-only, full or damaged workspace


def _screen(args: list[str]):
    return CliRunner().invoke(main, ["screen", *args, "--workers", "1", "--quiet"])


@pytest.fixture
def screened(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """A workspace with two assessed documents and a reviewer decision; returns (workspace, a new document)."""
    monkeypatch.setattr(evaluator.workspace.batch, "PipelineSpec", lambda *args: fake_pipeline)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("heading.pdf", "table.pdf"):
        shutil.copy(PDFS / name, docs / name)
    ws = tmp_path / "ws"
    result = _screen([str(docs), "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    workspace = Workspace(ws)
    sha = workspace.current_assessments()[0].sha256
    dec.record_decision(workspace, sha, "1", reviewer="Ana", action="override", level="assuring", reason="r")
    new = tmp_path / "new" / "two-columns.pdf"
    new.parent.mkdir()
    shutil.copy(PDFS / "two-columns.pdf", new)
    return ws, new


def _snapshot(ws: Path) -> dict:
    """What must survive a fault: the stored suggestions, decisions and the assessment files."""
    with sqlite3.connect(ws / "evaluator.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {
            t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
            for t in ("documents", "assessments", "decisions")
        }
    conn.close()
    files = {p.name: p.read_bytes() for p in (ws / "assessments").iterdir()}
    for data in files.values():
        Assessment.model_validate_json(data)  # every file left is a whole assessment
    return {"tables": tables, "files": files}


def _one_line_error(result, *fragments: str) -> str:
    _no_traceback(result.output)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (
        result.exception,
        result.output,
    )
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: ")
    for fragment in fragments:
        assert fragment in line, line
    return line


def _setpriv_drops_root_powers(probe: Path) -> bool:
    if shutil.which("setpriv") is None:
        return False
    probe.write_text("x")
    probe.chmod(0o444)
    try:
        done = subprocess.run(
            [
                "setpriv",
                "--bounding-set=-all",
                "--inh-caps=-all",
                "--",
                sys.executable,
                "-c",
                f"open({str(probe)!r}, 'a')",
            ],
            capture_output=True,
            timeout=60,
        )
    finally:
        probe.chmod(0o644)
    return done.returncode != 0


def test_read_only_workspace_says_so_and_changes_nothing(screened, tmp_path: Path) -> None:
    """chmod 555 on the folders and 444 on the files, then screen as root without its capabilities (tests
    run as root, which ignores file modes): a one-line error naming the database, nothing written."""
    ws, new = screened
    if os.geteuid() == 0 and not _setpriv_drops_root_powers(tmp_path / "probe"):
        pytest.skip("cannot drop root's file-permission override here (no setpriv or no CAP_SETPCAP)")
    before = _snapshot(ws)
    tree = {
        p: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in sorted(ws.rglob("*"))
    }
    for path in [ws, *ws.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        import evaluator.workspace.batch
        from test_robustness import fake_pipeline
        evaluator.workspace.batch.PipelineSpec = lambda *args: fake_pipeline
        from evaluator.cli import main
        main(args=sys.argv[1:], prog_name="evaluator")
    """)
    prefix = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"] if os.geteuid() == 0 else []
    try:
        proc = subprocess.run(
            [
                *prefix,
                sys.executable,
                "-c",
                script,
                "screen",
                str(new),
                "--workspace",
                str(ws),
                "--workers",
                "1",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        for path in [ws, *ws.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    _no_traceback(proc.stdout, proc.stderr)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"Error: Workspace database error in {ws / 'evaluator.sqlite'}: attempt to write a "
        "readonly database. Check disk space and permissions."
    )
    assert {
        p: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in sorted(ws.rglob("*"))
    } == tree
    assert _snapshot(ws) == before


def test_read_only_workspace_still_exports_and_reports_elsewhere(screened, tmp_path: Path) -> None:
    """An archived workspace (folders 555, files 444, no root override): export and report --out work from
    it, report without --out says where to write, and the workspace is left byte for byte as it was."""
    ws, _ = screened
    if os.geteuid() == 0 and not _setpriv_drops_root_powers(tmp_path / "probe"):
        pytest.skip("cannot drop root's file-permission override here (no setpriv or no CAP_SETPCAP)")
    for fmt in ("csv", "html"):
        expected = CliRunner().invoke(
            main,
            ["export", "--workspace", str(ws), "--format", fmt, "--out", str(tmp_path / f"writable.{fmt}")],
        )
        assert expected.exit_code == 0, expected.output
    shutil.rmtree(ws / "cache" / "pages", ignore_errors=True)
    tree = {
        p: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in sorted(ws.rglob("*"))
    }
    out = tmp_path / "out"
    out.mkdir()
    prefix = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"] if os.geteuid() == 0 else []

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*prefix, sys.executable, "-m", "evaluator.cli", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    for path in [ws, *ws.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        csv_export = run(
            "export", "--workspace", str(ws), "--format", "csv", "--out", str(out / "levels.csv")
        )
        html_export = run(
            "export", "--workspace", str(ws), "--format", "html", "--out", str(out / "levels.html")
        )
        refused = run("report", "--workspace", str(ws))
        reports = run("report", "--workspace", str(ws), "--out", str(out / "reports"))
    finally:
        for path in [ws, *ws.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    for proc in (csv_export, html_export, refused, reports):
        _no_traceback(proc.stdout, proc.stderr)
    assert csv_export.returncode == 0, csv_export.stderr
    assert (out / "levels.csv").read_text() == (
        tmp_path / "writable.csv"
    ).read_text()  # the reviewer's override
    assert html_export.returncode == 0, html_export.stderr

    def without_time(html: str) -> str:
        return re.sub(r"Exported \S+ by", "Exported by", html)

    assert without_time((out / "levels.html").read_text()) == without_time(
        (tmp_path / "writable.html").read_text()
    )
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"Error: {ws} is read-only: write the reports elsewhere with --out DIR."
    assert reports.returncode == 0, reports.stderr
    assert {p.name for p in (out / "reports").iterdir()} >= {
        "index.html",
        "summary.csv",
        "summary.xlsx",
        "heatmap.png",
    }
    assert {
        p: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in sorted(ws.rglob("*"))
    } == tree


def test_disk_full_while_writing_an_assessment_file(screened, monkeypatch) -> None:
    """ENOSPC half way through the JSON file: one-line error, no half-written or temporary file left, the
    database unchanged; once there is space again the same command completes the batch."""
    ws, new = screened
    before = _snapshot(ws)
    real_write = Path.write_text

    def disk_full(self: Path, data: str, *args, **kwargs):
        if self.parent == ws / "assessments":
            real_write(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", disk_full)
    result = _screen([str(new), "--workspace", str(ws)])
    line = _one_line_error(
        result, str(ws / "assessments"), "No space left on device", "Free disk space", "run the same command"
    )
    assert line.startswith("Error: Cannot write ")
    assert _snapshot(ws) == before
    assert not [p for p in ws.rglob("*.tmp")]
    monkeypatch.setattr(Path, "write_text", real_write)
    again = _screen([str(new), "--workspace", str(ws)])
    assert again.exit_code == 0 and "1 assessed, 0 skipped (unchanged), 0 failed" in again.output, (
        again.output
    )
    assert len(Workspace(ws).current_assessments()) == 3


class _FullDisk(sqlite3.Connection):
    def execute(self, sql, *args):
        if sql.lstrip().startswith("INSERT INTO assessments"):
            raise sqlite3.OperationalError("database or disk is full")
        return super().execute(sql, *args)


def test_database_full_at_save_time(screened, monkeypatch) -> None:
    """SQLite reports a full disk when the new assessment is saved: one line naming the database, the
    transaction rolled back, every earlier suggestion, decision and file intact; the same command
    completes the batch once there is space again."""
    ws, new = screened
    before = _snapshot(ws)
    real_connect = sqlite3.connect
    monkeypatch.setattr(
        sqlite3, "connect", lambda *args, **kwargs: real_connect(*args, factory=_FullDisk, **kwargs)
    )
    result = _screen([str(new), "--workspace", str(ws)])
    monkeypatch.setattr(sqlite3, "connect", real_connect)
    _one_line_error(result, str(ws / "evaluator.sqlite"), "database or disk is full", "Check disk space")
    after = _snapshot(ws)
    assert after["tables"] == before["tables"]
    assert all(after["files"][name] == data for name, data in before["files"].items())
    again = _screen([str(new), "--workspace", str(ws)])
    assert again.exit_code == 0 and "1 assessed, 0 skipped (unchanged), 0 failed" in again.output, (
        again.output
    )
    assert len(Workspace(ws).current_assessments()) == 3


def test_disk_full_while_writing_the_reports(screened, monkeypatch) -> None:
    """The corpus reports are written after the assessments are saved: a full disk there is a one-line
    error that says the assessments are saved, and leaves no temporary report file."""
    ws, new = screened
    real_write = Path.write_text

    def disk_full(self: Path, data: str, *args, **kwargs):
        if "reports" in self.parts:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", disk_full)
    result = _screen([str(new), "--workspace", str(ws)])
    _one_line_error(
        result, str(ws / "reports"), "No space left on device", "evaluator report", "assessments are saved"
    )
    assert len(Workspace(ws).current_assessments()) == 3
    assert not [p for p in ws.rglob("*.tmp*")]


@pytest.mark.parametrize(
    "damage, message",
    [
        ("parent is a file", "Cannot create workspace {ws}: Not a directory. Choose a writable folder."),
        (
            "database is a folder",
            "Cannot open {db}: unable to open database file. Check the folder is writable.",
        ),
        (
            "database is garbage",
            "{db} is damaged or not an evaluator database (file is not a database). Restore it "
            "from a backup, or screen into a new workspace folder.",
        ),
    ],
)
def test_unusable_workspace_is_one_line(tmp_path: Path, monkeypatch, damage: str, message: str) -> None:
    monkeypatch.setattr(evaluator.workspace.batch, "PipelineSpec", lambda *args: fake_pipeline)
    ws = tmp_path / "ws"
    if damage == "parent is a file":
        (tmp_path / "file").write_text("x")
        ws = tmp_path / "file" / "ws"
    elif damage == "database is a folder":
        (ws / "evaluator.sqlite").mkdir(parents=True)
    else:
        ws.mkdir()
        (ws / "evaluator.sqlite").write_bytes(b"not a database " * 300)
    garbage = (ws / "evaluator.sqlite").read_bytes() if damage == "database is garbage" else None
    result = _screen([str(PDFS / "heading.pdf"), "--workspace", str(ws)])
    line = _one_line_error(result)
    assert line == "Error: " + message.format(ws=ws, db=ws / "evaluator.sqlite")
    if garbage is not None:
        assert (ws / "evaluator.sqlite").read_bytes() == garbage  # never "repaired" by overwriting


# --------------------------------------------------------------------------------------------------
# 2b. Two review sessions deciding at the same moment


def test_simultaneous_decisions_are_all_kept_and_the_later_ones_conflict(tmp_path: Path) -> None:
    """Six reviewers submit a decision on the same document+hallmark at once, each having loaded the page
    after the same earlier decision (same based_on). Every decision is stored; in the order they were
    stored, each one comes back with exactly the decisions stored before it as conflicts."""
    from review_helpers import make_workspace

    ws, [a] = make_workspace(tmp_path)
    sha = a.document.sha256
    seen = dec.record_decision(ws, sha, "2", reviewer="Zoe", action="accept").decision.id
    n = 6
    barrier = threading.Barrier(n)
    results: dict[int, dec.RecordedDecision] = {}
    errors: list[BaseException] = []

    def session(i: int) -> None:
        own = Workspace(ws.root)  # each review session has its own connection
        barrier.wait()
        try:
            results[i] = dec.record_decision(
                own,
                sha,
                "2",
                reviewer=f"Reviewer {i}",
                action="override",
                level="optimising",
                reason=f"reason {i}",
                based_on=seen,
            )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == n
    stored = dec.decisions_for(ws, sha, "2")
    assert [d.reviewer for d in stored[:1]] == ["Zoe"]
    assert sorted(d.reviewer for d in stored[1:]) == sorted(f"Reviewer {i}" for i in range(n))
    by_id = sorted(results.values(), key=lambda r: r.decision.id)
    assert [r.decision.id for r in by_id] == [d.id for d in stored[1:]]
    for k, rec in enumerate(by_id):
        assert [c.id for c in rec.conflicts] == [r.decision.id for r in by_id[:k]]
    assert not by_id[0].conflicted and all(r.conflicted for r in by_id[1:])


# --------------------------------------------------------------------------------------------------
# 3. Matching and judging on arbitrary text


@pytest.fixture(scope="module")
def hashing_pipeline() -> Pipeline:
    pipeline = Pipeline(encoder=HashingEncoder())
    pipeline.index  # noqa: B018  (prepare the rubric once)
    return pipeline


ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=80)
WORDS = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "Zs", "So", "Sm")), min_size=1, max_size=12
)
SCRIPTS = st.sampled_from(
    [
        "wellbeing",
        "Wellbeing",
        "life satisfaction",
        "ONS4",
        "WEMWBS",
        "we will",
        "loneliness",
        "الرفاهية",
        "שביעות רצון מהחיים",
        "\u202ebidi override\u202c",
        "😀👍🏽",
        "👨‍👩‍👧",
        "café",
        "ﬁnance",
        "\u200b",
        "\u00ad",
        "\ufffd",
        "(cid:12)",
        "residents.",
        "Priority 1:",
        "|",
    ]
)
SENTENCE_LIKE = st.lists(st.one_of(WORDS, SCRIPTS), max_size=40).map(" ".join)
LONG_SENTENCE = st.builds(
    lambda word, n: " ".join([word] * n), st.one_of(WORDS, SCRIPTS), st.integers(200, 4000)
)
LINE = st.one_of(ANY_TEXT, SENTENCE_LIKE, SENTENCE_LIKE, LONG_SENTENCE)
BLOCK = st.tuples(
    st.sampled_from(["text", "text", "heading", "table_row"]), st.lists(LINE, min_size=1, max_size=4)
)
PAGES = st.lists(st.lists(BLOCK, max_size=5), max_size=4)


def _document(pages: list[list[tuple[str, list[str]]]]) -> Document:
    return Document(
        path="arbitrary.pdf",
        sha256="0" * 64,
        kind="pdf",
        pages=[
            Page(
                number=n,
                width=600,
                height=800,
                blocks=[
                    Block(
                        kind=kind,
                        lines=[
                            Line(text=t, bbox=(50, 20 + 12 * i, 500, 30 + 12 * i))
                            for i, t in enumerate(lines)
                        ],
                    )
                    for kind, lines in blocks
                ],
            )
            for n, blocks in enumerate(pages, start=1)
        ],
    )


def _squash(text: str) -> str:
    return " ".join(text.split())


def _check_assessment(doc: Document, pipeline: Pipeline) -> None:
    passages = segment(doc)
    vectors = embed_passages(pipeline.encoder, passages)
    assert vectors.shape[0] == len(passages) and bool(vectors.size == 0 or (vectors == vectors).all())
    analysis = Analysis(doc, passages, vectors, match(passages, vectors, pipeline.index))
    assert len(analysis.matches) == 57
    for m in analysis.matches:
        assert all(math.isfinite(v) for v in m.features.values()), m.features
        for _passage, score in m.evidence:
            assert 0.0 <= score <= 1.0
    assessment = pipeline.judge_analysis(analysis)
    Assessment.model_validate_json(assessment.model_dump_json())  # the JSON contract holds
    results = assessment.descriptor_results()
    assert len(results) == 57 and len(assessment.hallmarks) == 7
    pages = {p.number: _squash(p.text) for p in doc.pages}
    for h in assessment.hallmarks:
        assert 0.0 <= h.confidence <= 1.0 and h.level in ("none", "assuring", "optimising", "maximising")
    for r in results.values():
        assert 0.0 <= r.probability <= 1.0
        for ev in r.evidence:
            assert ev.page in pages, ev.page
            assert _squash(ev.text) and _squash(ev.text) in pages[ev.page]
            assert 0.0 <= ev.score <= 1.0


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(PAGES)
def test_matching_and_judging_hold_on_arbitrary_text(hashing_pipeline: Pipeline, pages) -> None:
    """No crash; 57 descriptors; evidence quoted verbatim from its own page; everything in [0, 1] and finite."""
    _check_assessment(_document(pages), hashing_pipeline)


@pytest.mark.parametrize(
    "pages",
    [
        [],  # no pages at all
        [[]],  # one empty page
        [[("text", [""])]],  # an empty line
        [[("text", ["wellbeing"])]],  # one word
        [[("heading", ["Wellbeing"])]],  # only a heading
        [[("text", ["سنقيس الرفاهية كل عام في كل حي."]), ("text", ["נמדוד את שביעות הרצון מהחיים."])]],  # RTL
        [[("text", ["We will measure wellbeing 😀👍🏽 every year, with ONS4 and WEMWBS 👨‍👩‍👧."])]],  # emoji
        [[("text", ["wellbeing " * 5000])], [("table_row", ["A | B"])]],  # a 50,000-character sentence
        [[("text", ["\x00\x07\u202e\ufffd(cid:3)"])]],  # control and replacement characters only
    ],
    ids=[
        "no-pages",
        "empty-page",
        "empty-line",
        "one-word",
        "heading-only",
        "rtl",
        "emoji",
        "long-sentence",
        "control-only",
    ],
)
def test_matching_and_judging_hold_on_edge_cases(hashing_pipeline: Pipeline, pages) -> None:
    _check_assessment(_document(pages), hashing_pipeline)
