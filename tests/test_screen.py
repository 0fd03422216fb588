"""Batch screening: bad files, resume, re-scoring from the cache, time limits, kill -9 and resume.

Most tests use the deterministic HashingEncoder (no model); the one marked ``model`` screens two small
real PDFs with all-MiniLM-L6-v2 in worker processes. Factories are module-level so spawned workers
can import them.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import FIXTURE_PDFS as PDFS
from support import SAMPLE_CORPUS
from support import SHARED_CORPUS as SHARED

import evaluator.pipeline
import evaluator.workspace.batch
from evaluator.cli import main
from evaluator.pipeline import Pipeline
from evaluator.rubric import default_rubric_path, load_rubric
from evaluator.stages.embed import HashingEncoder
from evaluator.stages.judge import JUDGE
from evaluator.types import Assessment
from evaluator.workspace.batch import find_documents, screen
from evaluator.workspace.store import Workspace

GOOD = ["heading.pdf", "two-columns.pdf", "table.pdf"]


def fake_pipeline(rubric_path: str | None = None) -> Pipeline:
    return Pipeline(rubric=load_rubric(rubric_path), encoder=HashingEncoder())


class SlowPipeline(Pipeline):
    """Sleeps on files named stuck*: a document that never finishes."""

    def assess(self, path, sha256=None):
        if Path(path).name.startswith("stuck"):
            time.sleep(120)
        if Path(path).name.startswith("slow"):
            time.sleep(1.5)
        return super().assess(path, sha256)


def slow_pipeline() -> Pipeline:
    return SlowPipeline(encoder=HashingEncoder())


_HELD: list[bytearray] = []


class LeakyPipeline(Pipeline):
    """Keeps 40 MB for the life of the process with every document: a library that never lets go."""

    def assess(self, path, sha256=None):
        ballast = bytearray(40 * 1024 * 1024)
        ballast[::4096] = b"x" * len(ballast[::4096])  # touched, so resident
        _HELD.append(ballast)
        return super().assess(path, sha256)


def leaky_pipeline() -> Pipeline:
    return LeakyPipeline(encoder=HashingEncoder())


def edited_rubric(tmp_path: Path) -> Path:
    text = default_rubric_path().read_text(encoding="utf-8")
    text = text.replace(
        "        queries:\n",
        '        queries:\n          - "We ask residents every year how satisfied they are with life."\n',
        1,
    )
    out = tmp_path / "edited-rubric.yaml"
    out.write_text(text, encoding="utf-8")
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three good PDFs, one Markdown file, and two bad PDFs."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in GOOD:
        shutil.copy(PDFS / name, docs / name)
    (docs / "notes.md").write_text("# Our plan\n\nWe will improve wellbeing for all residents.\n")
    (docs / "random-bytes.pdf").write_bytes(os.urandom(4096))
    (docs / "empty.pdf").write_bytes(b"")
    return docs


def test_find_documents_sorted_deduplicated_hidden_skipped(tmp_path: Path) -> None:
    (tmp_path / "b.pdf").write_bytes(b"x")
    (tmp_path / "a.TXT").write_text("x")
    (tmp_path / "c.docx").write_text("x")
    (tmp_path / ".hidden.pdf").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "d.pdf").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.md").write_text("x")
    (tmp_path / "sub" / "f.markdown").write_text("x")  # assess reads .markdown: so does screen
    (tmp_path / "README.md").write_text("about this folder")
    found = find_documents([tmp_path, tmp_path / "b.pdf", tmp_path / "sub"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.TXT",
        "b.pdf",
        "sub/e.md",
        "sub/f.markdown",
    ]


def test_a_folder_with_a_manifest_is_screened_as_listed(tmp_path: Path) -> None:
    """The sample corpus keeps its Markdown sources beside the PDFs; its manifest says what to screen."""
    (tmp_path / "one.pdf").write_bytes(b"x")
    (tmp_path / "two.md").write_text("x")
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "one.md").write_text("x")
    (tmp_path / "MANIFEST.tsv").write_text("doc_id\ttitle\none\tOne\ntwo\tTwo\nthree\tMissing\n")
    found = find_documents([tmp_path])
    assert [p.name for p in found] == ["one.pdf", "three.pdf", "two.md"]  # three: reported as missing


def test_bad_files_are_recorded_and_the_good_assessed(folder: Path, tmp_path: Path) -> None:
    summary = screen([folder], tmp_path / "ws", workers=1, quiet=True, pipeline_factory=fake_pipeline)
    assert sorted(Path(o.path).name for o in summary.ok) == sorted([*GOOD, "notes.md"])
    reasons = {Path(o.path).name: o.reason for o in summary.failed}
    assert set(reasons) == {"random-bytes.pdf", "empty.pdf"}
    assert "is empty (0 bytes)" in reasons["empty.pdf"] and "not a PDF" in reasons["random-bytes.pdf"]
    assert summary.line() == "4 assessed, 0 skipped (unchanged), 2 failed"
    ws = Workspace(tmp_path / "ws", create=False)
    assert {Path(f["path"]).name for f in ws.failures(summary.run_id)} == set(reasons)
    files = sorted(p.name for p in (tmp_path / "ws" / "assessments").glob("*.json"))
    assert len(files) == 4 and all(name.count("-") >= 1 for name in files)
    for path in (tmp_path / "ws" / "assessments").glob("*.json"):
        Assessment.model_validate_json(path.read_text())  # the JSON contract reads back
    assert (tmp_path / "ws" / "reports" / "index.html").exists()


def test_cli_exit_code_1_and_summary_lists_the_failure(folder: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(evaluator.workspace.batch, "PipelineSpec", lambda *args: fake_pipeline)
    result = CliRunner().invoke(
        main, ["screen", str(folder), "--workspace", str(tmp_path / "ws"), "--workers", "1", "--quiet"]
    )
    assert result.exit_code == 1, result.output
    assert "4 assessed, 0 skipped (unchanged), 2 failed" in result.output
    assert "random-bytes.pdf" in result.output and "not a PDF" in result.output
    again = CliRunner().invoke(
        main, ["screen", str(folder / "heading.pdf"), "--workspace", str(tmp_path / "ws"), "--quiet"]
    )
    assert again.exit_code == 0, again.output
    assert "0 assessed, 1 skipped (unchanged), 0 failed" in again.output
    report = CliRunner().invoke(main, ["report", "--workspace", str(tmp_path / "ws")])
    assert report.exit_code == 0 and "index.html" in report.output


def test_rerun_skips_unchanged_documents(folder: Path, tmp_path: Path) -> None:
    first = screen([folder], tmp_path / "ws", workers=1, quiet=True, pipeline_factory=fake_pipeline)
    ids = {o.path: o.assessment_id for o in first.ok}
    second = screen([folder], tmp_path / "ws", workers=1, quiet=True, pipeline_factory=fake_pipeline)
    assert not second.ok and len(second.skipped) == 4
    assert {o.path: o.assessment_id for o in second.skipped} == ids
    assert len(Workspace(tmp_path / "ws").current_assessments()) == 4


def test_rubric_change_rescores_without_re_extracting(folder: Path, tmp_path: Path, monkeypatch) -> None:
    first = screen([folder], tmp_path / "ws", workers=1, quiet=True, pipeline_factory=fake_pipeline)
    calls: list[str] = []
    real_extract = (
        evaluator.workspace.batch.extract_isolated
    )  # the screen parses untrusted files in a capped child
    monkeypatch.setattr(
        evaluator.workspace.batch,
        "extract_isolated",
        lambda path, **kw: calls.append(str(path)) or real_extract(path, **kw),
    )
    factory = functools.partial(fake_pipeline, str(edited_rubric(tmp_path)))
    second = screen([folder], tmp_path / "ws", workers=1, quiet=True, pipeline_factory=factory)
    assert len(second.ok) == 4 and not second.skipped
    # only the failure is retried (the empty file is rejected when hashed, before any extraction)
    assert sorted(Path(c).name for c in calls) == ["random-bytes.pdf"]
    ws = Workspace(tmp_path / "ws")
    old_keys = {s.cache_key for s in ws.current_assessments()}
    assert not old_keys & {ws.history(o.sha256)[0].cache_key for o in first.ok}
    assert {o.assessment_id for o in second.ok}.isdisjoint({o.assessment_id for o in first.ok})


def test_timeout_inline_records_the_stuck_document(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(PDFS / "heading.pdf", docs / "stuck.pdf")
    shutil.copy(PDFS / "table.pdf", docs / "table.pdf")
    started = time.monotonic()
    summary = screen(
        [docs], tmp_path / "ws", workers=1, quiet=True, timeout=1, pipeline_factory=slow_pipeline
    )
    assert time.monotonic() - started < 60
    assert [(Path(o.path).name, o.reason) for o in summary.failed] == [("stuck.pdf", "timed out after 1 s")]
    assert [Path(o.path).name for o in summary.ok] == ["table.pdf"]


def test_timeout_kills_the_stuck_worker_and_the_rest_finish(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(
        evaluator.workspace.batch, "INLINE_MAX_PAGES", 0
    )  # use worker processes even for tiny files
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(PDFS / "hyphenation.pdf", docs / "stuck.pdf")
    for name in GOOD:
        shutil.copy(PDFS / name, docs / name)
    summary = screen(
        [docs], tmp_path / "ws", workers=2, quiet=True, timeout=4, pipeline_factory=slow_pipeline
    )
    assert [(Path(o.path).name, o.reason) for o in summary.failed] == [("stuck.pdf", "timed out after 4 s")]
    assert sorted(Path(o.path).name for o in summary.ok) == sorted(GOOD)


def test_the_last_documents_read_on_idle_cores_are_assessed_as_if_read_whole(tmp_path: Path) -> None:
    """With nothing left to hand out, the last long document is read in page ranges by as many readers
    as there are workers; what is stored is what reading it whole gives (a one-worker screen)."""
    sys.path.insert(0, str(PDFS.parent))
    from make_pdfs import make_many_pages

    docs = tmp_path / "docs"
    docs.mkdir()
    make_many_pages(docs / "forty.pdf", n=40)
    make_many_pages(docs / "thirty.pdf", n=30)
    pooled = screen([docs], tmp_path / "pool", workers=2, quiet=True, pipeline_factory=fake_pipeline)
    inline = screen([docs], tmp_path / "inline", workers=1, quiet=True, pipeline_factory=fake_pipeline)
    assert len(pooled.ok) == len(inline.ok) == 2

    def stored(ws: Path) -> dict[str, list]:
        return {
            Path(s.path).name: [h.model_dump() for h in s.assessment.hallmarks]
            + [s.assessment.document.pages]
            for s in Workspace(ws).current_assessments()
        }

    assert stored(tmp_path / "pool") == stored(tmp_path / "inline")


def test_worker_memory_is_its_own_not_the_parents(tmp_path: Path, monkeypatch) -> None:
    """The per-worker peak RSS the benchmark reports must not count the parent's pages."""
    monkeypatch.setattr(evaluator.workspace.batch, "INLINE_MAX_PAGES", 0)
    ballast = bytearray(800 * 1024 * 1024)  # the parent holds 800 MB, touched
    ballast[::4096] = b"x" * len(ballast[::4096])
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in GOOD:
        shutil.copy(PDFS / name, docs / name)
    summary = screen([docs], tmp_path / "ws", workers=2, quiet=True, pipeline_factory=fake_pipeline)
    assert len(summary.ok) == 3 and len(summary.worker_peak_rss_mb) == 2
    assert max(summary.worker_peak_rss_mb) < 700, summary.worker_peak_rss_mb
    del ballast


def test_a_worker_whose_memory_keeps_growing_is_replaced_and_nothing_is_lost(
    tmp_path: Path, monkeypatch
) -> None:
    """A long screen keeps each worker's memory bounded: a worker that has grown by more than the bound
    since it was ready is replaced between documents, and every document is still assessed once,
    as it would have been without replacing."""
    monkeypatch.setattr(evaluator.workspace.batch, "INLINE_MAX_PAGES", 0)
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):  # six distinct files (a comment after %%EOF), so none is skipped as a duplicate
        pdf = (PDFS / GOOD[i % len(GOOD)]).read_bytes()
        (docs / f"doc-{i}.pdf").write_bytes(pdf + f"\n% copy {i}\n".encode())
    screen_leaky = functools.partial(
        screen, [docs], workers=2, quiet=True, pipeline_factory=leaky_pipeline, reports=False
    )
    kept = screen_leaky(tmp_path / "kept", recycle_growth_mb=float("inf"))
    replaced = screen_leaky(tmp_path / "replaced", recycle_growth_mb=65)
    assert kept.workers_replaced == 0
    assert replaced.workers_replaced >= 1
    assert len(replaced.ok) == 6 and not replaced.failed
    assert sorted(o.path for o in replaced.ok) == sorted(o.path for o in kept.ok)
    assert {o.path: o.levels for o in replaced.ok} == {o.path: o.levels for o in kept.ok}
    # bounded: a worker past the bound (resident memory since it was ready) takes no further document
    workers = [r for r in replaced.worker_resident_mb if r]  # a worker started as the work ran out has none
    assert any(len(r) > 2 for r in workers)  # some took a second document while under the bound
    for ready, *after_each in workers:
        assert all(mb - ready <= 65 for mb in after_each[:-1]), replaced.worker_resident_mb
    assert max(max(r) - r[0] for r in kept.worker_resident_mb if r) >= 100  # without it, the leak shows


def test_the_worker_memory_bound_can_be_set_on_the_command_line(tmp_path: Path, monkeypatch) -> None:
    """An analyst on a small machine can lower the bound; its documented default is the one screens use."""
    from evaluator.workspace.pool import RECYCLE_GROWTH_MB

    seen: dict = {}
    real = evaluator.workspace.batch.screen

    def recording_screen(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **{**kwargs, "pipeline_factory": fake_pipeline})

    monkeypatch.setattr(evaluator.workspace.batch, "screen", recording_screen)
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(PDFS / GOOD[0], docs / GOOD[0])
    ws = str(tmp_path / "ws")
    result = CliRunner().invoke(
        main, ["screen", str(docs), "--workspace", ws, "--worker-growth", "100", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert seen["recycle_growth_mb"] == 100
    seen.clear()
    assert CliRunner().invoke(main, ["screen", str(docs), "--workspace", ws, "-q"]).exit_code == 0
    assert seen["recycle_growth_mb"] == RECYCLE_GROWTH_MB
    help_text = " ".join(CliRunner().invoke(main, ["screen", "--help"]).output.split())
    assert f"[default: {RECYCLE_GROWTH_MB:g}]" in help_text
    bad = CliRunner().invoke(main, ["screen", str(docs), "--workspace", ws, "--worker-growth", "5"])
    assert bad.exit_code == 2 and "--worker-growth" in bad.output and "Traceback" not in bad.output


def test_kill_9_mid_run_then_resume(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        (docs / f"slow-{i}.md").write_text(
            f"# Plan {i}\n\nWe will improve the wellbeing of residents in area {i}.\n"
        )
    ws_dir = tmp_path / "ws"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_screen import slow_pipeline
        from evaluator.workspace.batch import screen
        screen([{str(docs)!r}], {str(ws_dir)!r}, workers=1, quiet=True, pipeline_factory=slow_pipeline)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    db = ws_dir / "evaluator.sqlite"
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and done < 2:
        time.sleep(0.2)
        if db.exists():
            with sqlite3.connect(db) as conn:
                try:
                    done = conn.execute("SELECT count(*) FROM assessments").fetchone()[0]
                except sqlite3.OperationalError:
                    done = 0
    assert proc.poll() is None, "the screen finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ws = Workspace(ws_dir)
    before = {s.sha256: s.id for s in ws.current_assessments()}
    assert 2 <= len(before) < 6
    summary = screen([docs], ws_dir, workers=1, quiet=True, pipeline_factory=fake_pipeline)
    assert len(summary.skipped) == len(before) and len(summary.ok) == 6 - len(before) and not summary.failed
    after = {s.sha256: s.id for s in ws.current_assessments()}
    assert len(after) == 6 and all(after[sha] == id_ for sha, id_ in before.items())  # nothing redone
    assert len(list((ws_dir / "assessments").glob("*.json"))) == 6


@pytest.mark.model
def test_real_model_two_small_pdfs_in_worker_processes(tmp_path: Path) -> None:
    pdfs = [SHARED / "kent-devolution-2024.pdf", SHARED / "ws-jhws-eir-2019.pdf"]
    if not all(p.exists() for p in pdfs):
        pytest.skip("the shared corpus is not here")
    summary = screen(pdfs, tmp_path / "ws", workers=2, quiet=True)
    assert len(summary.ok) == 2 and not summary.failed
    assert all(len(o.levels) == 7 for o in summary.ok)
    assert max(summary.worker_peak_rss_mb) < 1536
    again = screen(pdfs, tmp_path / "ws", workers=2, quiet=True)
    assert len(again.skipped) == 2 and not again.ok


def test_a_custom_rubric_is_what_reports_exports_and_the_review_app_show(tmp_path: Path) -> None:
    """Screened with --rubric, the workspace shows that rubric's titles and wording, not the shipped ones;
    each assessment names the rubric hash and the segmenter and matcher versions."""
    from fastapi.testclient import TestClient

    from evaluator.review.app import create_app
    from evaluator.rubric import rubric_hash
    from evaluator.stages.match import MATCHER_VERSION
    from evaluator.stages.segment import SEGMENTER_VERSION
    from evaluator.workspace.export import export

    text = default_rubric_path().read_text(encoding="utf-8")
    text = text.replace(
        "title: Inclusive understanding and definition of wellbeing", "title: Our own first hallmark", 1
    )
    custom = tmp_path / "custom.yaml"
    custom.write_text(text, encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.md").write_text("# Our plan\n\nWe will improve wellbeing for all residents every year.\n")
    factory = functools.partial(fake_pipeline, str(custom))
    summary = screen([docs], tmp_path / "ws", workers=1, quiet=True, pipeline_factory=factory)
    (stored,) = Workspace(tmp_path / "ws").current_assessments()
    provenance = stored.assessment.provenance
    assert provenance.rubric_hash == rubric_hash(load_rubric(custom)) != rubric_hash(load_rubric())
    assert (provenance.segmenter, provenance.matcher) == (SEGMENTER_VERSION, MATCHER_VERSION)
    assert "Our own first hallmark" in (summary.reports / "index.html").read_text(encoding="utf-8")
    export(Workspace(tmp_path / "ws"), "json", tmp_path / "out.json")
    assert "Our own first hallmark" in (tmp_path / "out.json").read_text(encoding="utf-8")
    client = TestClient(create_app(tmp_path / "ws"), base_url="http://127.0.0.1")
    page = client.get(f"/documents/{stored.sha256}")
    assert page.status_code == 200 and "Our own first hallmark" in page.text


def test_assessments_saved_before_the_provenance_fields_still_load() -> None:
    old = {
        "tool_version": "0.1.0",
        "rubric_id": "r",
        "rubric_version": "1",
        "model_name": "m",
        "model_hash": "h",
        "extractor": "x",
        "judge": "j",
        "created_at": "2024-01-01T00:00:00+00:00",
    }
    provenance = Assessment.model_validate(
        {
            "schema_version": "1.0",
            "document": {"path": "a.pdf", "sha256": "0" * 64, "pages": 1},
            "provenance": old,
            "hallmarks": [],
        }
    ).provenance
    assert (provenance.rubric_hash, provenance.segmenter, provenance.matcher) == ("", "", "")


@pytest.mark.model
def test_a_team_chooses_where_hallmarks_are_flagged_for_review(tmp_path: Path) -> None:
    """--review-below moves the needs-review flag, not the suggestion: the same levels and confidences,
    flagged below the team's threshold. A re-screen with a new threshold re-scores (provenance names the
    settings) and then skips as unchanged; `assess` takes the same option; a value outside 0-1 is a
    one-line usage error."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SAMPLE_CORPUS / "kestrel-vale-hws-2025.pdf", docs)
    ws = str(tmp_path / "ws")

    def run(*extra: str) -> list:
        result = CliRunner().invoke(
            main, ["screen", str(docs), "--workspace", ws, "--workers", "1", "-q", *extra]
        )
        assert result.exit_code == 0, result.output
        (stored,) = Workspace(ws).current_assessments()
        return [result.output, stored.assessment]

    _, shipped = run()
    confidences = [h.confidence for h in shipped.hallmarks]
    assert [h.needs_review for h in shipped.hallmarks] == [c < 0.8 for c in confidences]
    output, strict = run("--review-below", "0.95")
    assert "1 assessed" in output
    assert [(h.level, h.confidence) for h in strict.hallmarks] == [
        (h.level, h.confidence) for h in shipped.hallmarks
    ]
    assert [h.needs_review for h in strict.hallmarks] == [c < 0.95 for c in confidences]
    assert sum(h.needs_review for h in strict.hallmarks) > sum(h.needs_review for h in shipped.hallmarks)
    assert strict.provenance.judge_settings != shipped.provenance.judge_settings
    assert "1 skipped" in run("--review-below", "0.95")[0]

    out = tmp_path / "none-flagged.json"
    pdf = str(docs / "kestrel-vale-hws-2025.pdf")
    assert CliRunner().invoke(main, ["assess", pdf, "--review-below", "0", "--json", str(out)]).exit_code == 0
    assert not any(h.needs_review for h in Assessment.model_validate_json(out.read_text()).hallmarks)
    help_text = " ".join(CliRunner().invoke(main, ["screen", "--help"]).output.split())
    assert f"[default: {JUDGE.review_confidence:g}]" in help_text
    bad = CliRunner().invoke(main, ["assess", pdf, "--review-below", "1.5"])
    assert bad.exit_code == 2 and "--review-below" in bad.output and "Traceback" not in bad.output
