"""Batch screening: assess every strategy under some folders into a workspace, fast and resumable.

The parent process finds the files, hashes them, skips those whose current suggestion in the
workspace already has the same cache key, and hands the rest, largest first, to worker processes.
Each worker builds ONE Pipeline (the model loads while the parent is still hashing) and assesses one
document at a time; the parent is the only writer: it saves each assessment as soon as it arrives
(JSON file, then one SQLite transaction), so an interrupted batch loses at most the documents in
flight and a re-run continues where it stopped. A worker that exceeds the per-document time limit is
killed and replaced; a bad file is recorded as a failure with its one-line reason.

This module plans the run; ``discover`` finds the files, ``pool`` runs the workers, ``record`` saves
what they return and ``progress`` shows it.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from evaluator import __version__
from evaluator.limits import default_readers, extract_isolated
from evaluator.workspace.claims import LEASE_SECONDS, ClaimQueue, LocalQueue, WorkQueue
from evaluator.workspace.discover import MANIFEST, SUFFIXES, estimate_pages, find_documents
from evaluator.workspace.pool import (
    RECYCLE_GROWTH_MB,
    PipelineFactory,
    Worker,
    build_pipeline,
    one_line,
    peak_rss_mb,
    run_inline,
    run_pool,
)
from evaluator.workspace.progress import ProgressBar, Work
from evaluator.workspace.record import Outcome, Recorder
from evaluator.workspace.store import Workspace

if TYPE_CHECKING:
    from evaluator.pipeline import Pipeline

__all__ = [
    "MANIFEST",
    "SUFFIXES",
    "Outcome",
    "PipelineSpec",
    "ScreenSummary",
    "estimate_pages",
    "find_documents",
    "screen",
]

INLINE_MAX_PAGES = 10  # smaller batches are assessed in-process: starting workers would cost more


@dataclass
class ScreenSummary:
    workspace: Path
    run_id: int
    outcomes: list[Outcome]
    seconds: float
    worker_peak_rss_mb: list[float] = field(default_factory=list)
    reports: Path | None = None
    # each worker's resident memory when it was ready, then after each of its documents; how many
    # workers were replaced because their memory grew (pool.RECYCLE_GROWTH_MB)
    worker_resident_mb: list[list[float]] = field(default_factory=list)
    workers_replaced: int = 0

    def _with(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def ok(self) -> list[Outcome]:
        return self._with("ok")

    @property
    def skipped(self) -> list[Outcome]:
        return self._with("skipped")

    @property
    def failed(self) -> list[Outcome]:
        return self._with("failed")

    @property
    def pages(self) -> int:
        return sum(o.pages for o in self.ok)

    def line(self) -> str:
        return f"{len(self.ok)} assessed, {len(self.skipped)} skipped (unchanged), {len(self.failed)} failed"


@dataclass(frozen=True)
class PipelineSpec:
    """The default worker pipeline: shipped (or given) rubric and judge; MiniLM loads on first use."""

    rubric_path: str | None = None
    judge_path: str | None = None
    review_below: float | None = None  # None: the shipped needs-review threshold

    def __call__(self) -> Pipeline:
        from evaluator.pipeline import Pipeline
        from evaluator.rubric import load_rubric
        from evaluator.stages.judge import load_judge

        pipeline = Pipeline(rubric=load_rubric(self.rubric_path), judge=load_judge(self.judge_path))
        if self.review_below is not None:
            pipeline.review_below = self.review_below
        return pipeline


def screen(
    paths: Iterable[str | os.PathLike],
    workspace: str | os.PathLike | Workspace = "workspace",
    *,
    workers: int = 2,
    quiet: bool = False,
    timeout: float = 300,
    max_pages: int | None = None,
    rubric: str | os.PathLike | None = None,
    judge: str | os.PathLike | None = None,
    review_below: float | None = None,
    pipeline_factory: PipelineFactory | None = None,
    progress: Callable[[Outcome], None] | None = None,
    reports: bool = True,
    claim_lease: float = LEASE_SECONDS,
    recycle_growth_mb: float = RECYCLE_GROWTH_MB,
) -> ScreenSummary:
    """Assess every strategy under ``paths`` into ``workspace``; unchanged documents are skipped.

    ``pipeline_factory`` (a picklable callable returning a Pipeline, built once per worker) replaces
    the default shipped pipeline, e.g. with a fake encoder in tests. ``progress`` is called with each
    document's Outcome as soon as it is known. On PostgreSQL the documents are claimed through the
    database (``claims``), so screens on several machines share the work; ``claim_lease`` is how long a
    claim outlives a machine that stopped renewing it. A worker whose resident memory between documents
    grows by more than ``recycle_growth_mb`` since it was ready is replaced (``pool``).
    """
    started = time.monotonic()
    problems: list[tuple[str, str]] = []
    files = find_documents(paths, problems)
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    cache_dir = str(ws.folder("cache"))
    factory = pipeline_factory or PipelineSpec(
        str(rubric) if rubric else None, str(judge) if judge else None, review_below
    )
    workers = max(1, workers)
    pool: list[Worker] = []
    queue: WorkQueue | None = None
    ctx = multiprocessing.get_context("spawn")
    restore = _terminate_as_interrupt()
    try:
        keys = build_pipeline(
            factory, cache_dir, max_pages
        )  # cheap: the real model loads on first encode only
        # In this process untrusted files are parsed in capped children only; a long PDF is read by one
        # child per worker at once (a batch assessed here leaves its other workers' cores free).
        keys.extractor = functools.partial(extract_isolated, readers=min(workers, default_readers()))
        ws.save_rubric(keys.rubric)
        run_id = ws.start_run(
            __version__,
            {
                "paths": [str(p) for p in paths],
                "workers": workers,
                "timeout": timeout,
                "max_pages": max_pages,
                "rubric": str(rubric or ""),
                "judge": str(judge or ""),
                "review_below": keys.review_below,
            },
        )
        batch = Recorder(ws, run_id, progress)
        for path, reason in problems:
            batch.fail(path, reason)
        work = _plan(files, ws, keys, batch, max_pages)
        queue = ClaimQueue(ws, work, keys.cache_key, claim_lease) if ws.postgres else LocalQueue(len(work))
        if _worth_a_pool(work, workers, keys):  # else the model loads (once) only if a document needs it
            args = (factory, cache_dir, max_pages, max(1, (os.cpu_count() or 1) // workers))
            pool = [Worker(ctx, args) for _ in range(min(workers, len(work)))]
        with ProgressBar(quiet, work) as bar:
            batch.bar = bar
            if pool:
                pool = run_pool(pool, ctx, args, work, batch, timeout, queue, recycle_growth_mb)
            elif work:
                run_inline(keys, work, batch, timeout, queue)
        from evaluator.workspace.areas import manifest_groups, screen_areas

        groups = manifest_groups(paths)
        if groups:  # a MANIFEST.tsv group column: those documents are assessed together too
            screen_areas(groups, keys, batch)
        ws.finish_run(run_id, len(batch.summary_of("ok")), len(batch.summary_of("failed")))
    finally:
        for worker in pool:
            worker.stop()  # graceful when idle: a killed worker leaks its semaphores
        if queue is not None:
            queue.close()
        restore()
    summary = ScreenSummary(
        ws.root,
        run_id,
        batch.outcomes,
        time.monotonic() - started,
        batch.rss or [peak_rss_mb()],
        worker_resident_mb=batch.resident,
        workers_replaced=batch.replaced,
    )
    if reports:
        from evaluator.workspace.corpus_report import write_reports

        summary.reports = write_reports(ws)
    return summary


def _plan(
    files: list[Path], ws: Workspace, keys: Pipeline, batch: Recorder, max_pages: int | None
) -> list[Work]:
    """The documents to assess, largest first (so workers finish together); the rest are skipped."""
    from evaluator.pipeline import file_sha256

    work: list[Work] = []
    seen: dict[str, Path] = {}
    for path in files:
        try:
            sha = file_sha256(path)
        except Exception as exc:  # noqa: BLE001
            batch.fail(str(path), one_line(exc))
            continue
        if sha in seen:
            batch.add(Outcome(str(path), "skipped", sha, reason=f"same file as {seen[sha]}"))
            continue
        seen[sha] = path
        current = ws.current(sha)
        if current is not None and current.cache_key == keys.cache_key(sha):
            batch.skip(path, current)
        else:
            work.append((path, estimate_pages(path, max_pages), sha))
    work.sort(key=lambda item: (-item[1], str(item[0])))
    return work


def _worth_a_pool(work: list[Work], workers: int, pipeline: Pipeline) -> bool:
    """Worker processes pay a model load each: worth it for fresh extraction and embedding work, not for
    re-scoring cached documents (a rubric or judge change) or a few small files."""
    if workers < 2 or len(work) < 2 or sum(pages for _, pages, _ in work) <= INLINE_MAX_PAGES:
        return False
    from evaluator.stages.extract import document_version

    cache, version = pipeline.cache, document_version(pipeline.max_pages)
    return cache is None or any(not cache.has_document(sha, version) for _, _, sha in work)


def _terminate_as_interrupt() -> Callable[[], None]:
    """SIGTERM stops a batch like Ctrl-C: workers are killed, finished documents stay saved."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore
