"""The screen's workers: processes that each build ONE Pipeline and assess one document at a time.

The parent hands out paths over a pipe and waits on the answers; a worker that exceeds the
per-document time limit, or dies, is killed and replaced, and its document fails with a one-line
reason. A worker whose resident memory between documents has grown by more than ``RECYCLE_GROWTH_MB``
since it was ready (models loaded) is stopped after that document and replaced (like Celery's
``max_memory_per_child``): a screen of every strategy in England keeps each worker's memory within a
fixed bound whatever a library holds on to. With one worker (or little work) the documents are
assessed in this process instead, with SIGALRM as the time limit.
"""

from __future__ import annotations

import functools
import os
import re
import resource
import signal
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnContext
from types import FrameType
from typing import TYPE_CHECKING, Any

from evaluator.errors import EvaluatorError
from evaluator.limits import limit_address_space, out_of_memory
from evaluator.workspace.claims import LocalQueue, WorkQueue, drain
from evaluator.workspace.progress import Work
from evaluator.workspace.record import Recorder

if TYPE_CHECKING:
    from evaluator.pipeline import Pipeline

PipelineFactory = Callable[[], "Pipeline"]  # picklable; called once per worker
WorkerArgs = tuple[PipelineFactory, str, int | None, int]  # factory, cache folder, max pages, threads
# A worker is replaced once its resident memory between documents exceeds what it had when it was
# ready by this much. `python benchmarks/bench_memory.py --rounds 2 --per-document` (one worker-like
# process, the 16 shared documents twice, longest first; three runs, 2026-12-07): ready at 676 MB,
# +68-83 MB after the first document, +145-165 MB after nine, at most +188-228 MB; peaks 904-915 MB.
# The growth is native memory, not Python objects (its tracemalloc variant). At 192 MB a worker is
# replaced every few dozen documents (a new one costs about 7 s of CPU) and stays under 1 GB with a
# document's own working memory on top.
RECYCLE_GROWTH_MB = 192.0


def one_line(exc: BaseException) -> str:
    """A failure as the one line a user sees."""
    if isinstance(exc, MemoryError):  # over the worker's address-space cap (evaluator.limits)
        return out_of_memory()
    if isinstance(exc, EvaluatorError):
        text = str(exc)
    else:
        text = f"internal error: {type(exc).__name__}: {exc}"
    return re.sub(r"\s+", " ", text).strip()[:500]


def build_pipeline(factory: PipelineFactory, cache_dir: str, max_pages: int | None) -> Pipeline:
    from evaluator.stages.cache import Cache

    pipeline = factory()
    if pipeline.cache is None:
        pipeline.cache = Cache(cache_dir)
    if max_pages:
        pipeline.max_pages = max_pages
    return pipeline


def assess_one(pipeline: Pipeline, path: str, sha256: str, readers: int = 1) -> tuple[str, ...]:
    """("ok", assessment JSON, cache key) or ("failed", reason): one bad file never stops the batch.
    ``readers`` > 1: a long PDF is read in that many page ranges at once (cores that would be idle)."""
    extractor = pipeline.extractor
    try:
        if readers > 1:
            from evaluator.limits import extract_isolated

            pipeline.extractor = functools.partial(extract_isolated, readers=readers)
        assessment = pipeline.assess(path, sha256)
        return ("ok", assessment.model_dump_json(), pipeline.cache_key(assessment.document.sha256))
    except Exception as exc:  # noqa: BLE001
        return ("failed", one_line(exc))
    finally:
        pipeline.extractor = extractor


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_mb() -> float:
    """This process's own peak resident memory. Linux's VmHWM, not ru_maxrss: a spawned worker's ru_maxrss
    also counts the parent pages it shared between fork and exec (a big parent would look like a big worker)."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """This process's resident memory now (VmRSS; 0 where /proc is missing: nothing is then replaced)."""
    return _status_mb("VmRSS") or 0.0


def _worker_main(
    factory: PipelineFactory,
    cache_dir: str,
    max_pages: int | None,
    threads: int,
    tasks: Connection,
    results: Connection,
    parent_pid: int,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    def watch_parent() -> None:  # the parent was killed (kill -9): stop rather than burn CPU
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    try:
        pipeline = build_pipeline(factory, cache_dir, max_pages)
        pipeline.warm_up()  # model, rubric vectors and spaCy before the first task; frees GC time
        limit_address_space()  # from here on a decompression bomb fails its document, not the machine
    except Exception as exc:  # noqa: BLE001
        results.send(("init_failed", one_line(exc), peak_rss_mb(), rss_mb()))
        return
    results.send(("ready", "", peak_rss_mb(), rss_mb()))
    while True:
        try:
            task = tasks.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        results.send((*assess_one(pipeline, *task), peak_rss_mb(), rss_mb()))


class Worker:
    """One worker process and its two pipes (tasks out, results back)."""

    def __init__(self, ctx: SpawnContext, args: WorkerArgs):
        child_tasks, self.tasks = ctx.Pipe(duplex=False)
        self.results, child_results = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=_worker_main,
            args=(*args, child_tasks, child_results, os.getpid()),
            daemon=False,  # a worker may start reader processes (a long PDF's page ranges); it stops
            # when screen() stops it, when its task pipe closes, or when the parent dies (watch_parent)
            name="evaluator-screen-worker",
        )
        self.process.start()
        child_tasks.close()
        child_results.close()
        self.ready = False
        self.job: tuple[int, float] | None = None  # (work index, started at)
        self.peak_rss_mb = 0.0
        self.resident_mb: list[float] = []  # resident memory when ready, then after each document

    def outgrown(self, growth_mb: float) -> bool:
        """Resident memory between documents has grown by more than ``growth_mb`` since it was ready."""
        return len(self.resident_mb) > 1 and self.resident_mb[-1] - self.resident_mb[0] > growth_mb

    def give(self, index: int, path: str, sha256: str, readers: int = 1) -> None:
        self.tasks.send((path, sha256, readers))
        self.job = (index, time.monotonic())

    def stop(self, kill: bool = False) -> None:
        if kill or self.job is not None:
            self.process.kill()
        else:
            try:
                self.tasks.send(None)
            except OSError:
                self.process.kill()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
        self.tasks.close()
        self.results.close()


def run_pool(
    pool: list[Worker],
    ctx: SpawnContext,
    args: WorkerArgs,
    work: Sequence[Work],
    batch: Recorder,
    timeout: float,
    queue: WorkQueue | None = None,
    recycle_growth_mb: float = RECYCLE_GROWTH_MB,
) -> list[Worker]:
    """Hand out ``work`` (in the order ``queue`` gives it) to the workers until all is done; returns the
    workers still running. A worker that has outgrown ``recycle_growth_mb`` is replaced between documents."""
    queue = queue or LocalQueue(len(work))
    while queue.more() or any(w.job for w in pool):
        for w in list(pool):
            if w.ready and w.job is None and (index := queue.take()) is not None:
                # the last documents: the other workers are about to run out of work, so their cores
                # read this one's pages too (longest documents come first, so these are the short ones)
                readers = 1 if queue.more() else len(pool)
                w.give(index, str(work[index][0]), work[index][2], readers)
            elif w.job is None and not queue.more():  # nothing left for it: free its core for the others
                _retire(w, pool, batch, kill=not w.ready)
        now = time.monotonic()
        deadlines = [w.job[1] + timeout - now for w in pool if w.job]
        ready = wait(
            [w.results for w in pool] + [w.process.sentinel for w in pool],
            timeout=max(0.05, min(deadlines, default=1.0)),
        )
        for w in list(pool):
            message: Any = None
            if w.results in ready:
                try:
                    message = w.results.recv()
                except (EOFError, OSError):
                    message = None
            if message is not None:
                kind, *payload, w.peak_rss_mb, resident = message
                if kind == "init_failed":
                    raise EvaluatorError(f"A screening worker could not start: {payload[0]}")
                if kind == "ready":
                    w.ready = True
                    w.resident_mb.append(resident)
                    continue
                assert w.job is not None
                index, _ = w.job
                w.job = None
                w.resident_mb.append(resident)
                batch.finish(work[index], kind, payload)
                queue.finished(index)
                if w.outgrown(recycle_growth_mb) and queue.more():
                    _retire(w, pool, batch)
                    pool.append(Worker(ctx, args))
                    batch.replaced += 1
                continue
            if w.job and time.monotonic() - w.job[1] > timeout:
                reason = f"timed out after {timeout:g} s"
            elif not w.process.is_alive():
                reason = f"internal error: worker process died (exit code {w.process.exitcode})"
                if not w.ready:
                    raise EvaluatorError(f"A screening worker could not start ({reason}).")
            else:
                continue
            if w.job:
                batch.finish(work[w.job[0]], "failed", [reason])
                queue.finished(w.job[0])
                w.job = None
            _retire(w, pool, batch, kill=True)
            if queue.more():
                pool.append(Worker(ctx, args))
    for w in pool:
        batch.worker_stopped(w.peak_rss_mb, w.resident_mb)
    return pool


def _retire(w: Worker, pool: list[Worker], batch: Recorder, kill: bool = False) -> None:
    batch.worker_stopped(w.peak_rss_mb, w.resident_mb)
    w.stop(kill=kill)
    pool.remove(w)


class _TimeLimit(BaseException):
    """The per-document time limit of an inline batch (SIGALRM)."""


def run_inline(
    pipeline: Pipeline, work: Sequence[Work], batch: Recorder, timeout: float, queue: WorkQueue | None = None
) -> None:
    """Assess in this process (in the order ``queue`` gives); the time limit uses SIGALRM where available."""
    queue = queue or LocalQueue(len(work))
    alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def expired(signum: int, frame: FrameType | None) -> None:
        raise _TimeLimit  # not an Exception: no stage's "except Exception" (e.g. per page) can swallow it

    previous = signal.signal(signal.SIGALRM, expired) if alarm else None
    try:
        for index in drain(queue):
            item = work[index]
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                result = assess_one(pipeline, str(item[0]), item[2])
            except _TimeLimit:
                result = ("failed", f"timed out after {timeout:g} s")
            finally:
                if alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            if result[0] == "failed" and result[1].startswith("internal error: TimeoutError"):
                result = ("failed", f"timed out after {timeout:g} s")
            batch.finish(item, result[0], list(result[1:]))
            queue.finished(index)
    finally:
        if alarm:
            signal.signal(signal.SIGALRM, previous)
    batch.rss.append(peak_rss_mb())
