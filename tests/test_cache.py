"""The cache of extracted documents, embedded passages and evidence kinds: what `evaluator cache` shows
and prunes (real model, a real cache folder, a workspace's files beside it)."""

from __future__ import annotations

import os
import time

import pytest
from click.testing import CliRunner

from evaluator.cli import main
from evaluator.pipeline import Pipeline
from evaluator.stages.cache import Cache

DAY = 86400
STRATEGY = (
    "# Our strategy\n\nBy wellbeing we mean how people feel their lives are going.\n\n"
    "We will ask residents the four ONS wellbeing questions every year and publish the results.\n"
)


def _suffixes(cache: Cache) -> set[str]:
    return {
        f.name.split(".", 1)[1] if not f.name.startswith("text-vectors") else "text"
        for f in cache.entries().files
    }


@pytest.mark.model
def test_prune_removes_only_entries_no_run_has_used_and_never_a_workspace_file(real_pipeline, tmp_path):
    """A team screening for months keeps entries of every tool version and rubric wording it ever used.
    `evaluator cache prune` frees what no run has read lately; what runs still read stays, and the
    workspace's kept documents and page images beside the cache are never touched."""
    doc = tmp_path / "strategy.md"
    doc.write_text(STRATEGY)
    workspace = tmp_path / "ws"
    kept_document = workspace / "cache" / "documents" / ("a" * 64 + ".pdf")
    page_image = workspace / "cache" / "pages" / "ab" / "page-1.png"
    for f in (kept_document, page_image):
        f.parent.mkdir(parents=True)
        f.write_bytes(b"kept by the workspace")
    cache = Cache(workspace / "cache")

    def assess():
        return Pipeline(rubric=real_pipeline.rubric, encoder=real_pipeline.encoder, cache=cache).assess(doc)

    first = assess()
    assert {"document.json", "passages.npz", "kinds.json", "text"} <= _suffixes(cache)

    # everything was last used 40 days ago; then a run re-scores the document from the cache
    old = time.time() - 40 * DAY
    for f in [*cache.entries().files, kept_document, page_image]:
        os.utime(f, (old, old))
    stale = cache.root / "ff" / ("f" * 64 + "-0123456789abcdef.passages.npz")  # an older version's entry
    unfinished = cache.root / "ff" / (".gone.passages.npz.0123456789ab.tmp")  # a write killed half-way
    for f in (stale, unfinished):
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(b"x" * 1000)
        os.utime(f, (old, old))
    again = assess()
    assert [h.level for h in again.hallmarks] == [h.level for h in first.hallmarks]
    used = {f for f, days in zip(cache.entries().files, cache.entries().unused_days, strict=True) if days < 1}
    assert {f.name.split(".", 1)[1] for f in used if "-" in f.name} >= {
        "document.json",
        "passages.npz",
        "kinds.json",
    }

    runner = CliRunner()
    info = runner.invoke(main, ["cache", "info", "--workspace", str(workspace)])
    assert info.exit_code == 0, info.output
    total = len(cache.entries().files)
    unused = total - len(used)
    assert f": {total} entries" in info.output and f"; {unused} entries" in info.output

    pruned = runner.invoke(main, ["cache", "prune", "--workspace", str(workspace), "--unused-for", "30"])
    assert pruned.exit_code == 0, pruned.output
    assert f"Removed {unused} entries" in pruned.output
    assert not stale.exists() and not unfinished.exists()
    assert set(cache.entries().files) == used
    assert kept_document.exists() and page_image.exists()

    # what is left still serves a re-score; after pruning everything the next run makes it again
    assert [h.level for h in assess().hallmarks] == [h.level for h in first.hallmarks]
    everything = runner.invoke(main, ["cache", "prune", "--workspace", str(workspace), "--unused-for", "0"])
    assert everything.exit_code == 0 and cache.entries().files == []
    assert kept_document.exists() and page_image.exists()
    assert [h.level for h in assess().hallmarks] == [h.level for h in first.hallmarks]
    assert {"document.json", "passages.npz", "kinds.json"} <= _suffixes(cache)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cache", "info", "--workspace", "{tmp}/nowhere"], "No workspace folder"),
        (["cache", "prune", "--workspace", "{tmp}/empty"], "No cache at"),
        (["cache", "prune", "--unused-for", "-3"], "Invalid value for '--unused-for'"),
    ],
)
def test_cache_commands_bad_input_is_one_line(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code != 0 and message in result.output  # one line, no traceback
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def test_a_cache_on_a_read_only_mount_is_still_read(tmp_path, monkeypatch):
    """Marking an entry as used must not fail a run whose cache cannot be written (a shared, read-only
    mount): the entry is read all the same."""
    cache = Cache(tmp_path)
    cache.put_kinds("ab" * 32, "key", {3: "target"}, [])
    monkeypatch.setattr(os, "utime", lambda *a, **k: (_ for _ in ()).throw(PermissionError("read-only")))
    assert cache.kinds("ab" * 32, "key") == ({3: "target"}, [])


def test_prune_everything_leaves_a_write_in_progress(tmp_path):
    """`prune --unused-for 0` while a screen runs must not pull a file from under a write: an unfinished
    write is removed only once it is an hour old."""
    cache = Cache(tmp_path)
    cache.put_kinds("ab" * 32, "key", {3: "target"}, [])
    writing = tmp_path / "ab" / ".x.kinds.json.0123456789ab.tmp"
    writing.write_bytes(b"half")
    removed, _ = cache.prune(0)
    assert removed == 1 and writing.exists() and cache.kinds("ab" * 32, "key") == ({}, None)
    two_hours_ago = time.time() - 7200
    os.utime(writing, (two_hours_ago, two_hours_ago))
    assert cache.prune(0)[0] == 1 and not writing.exists()
