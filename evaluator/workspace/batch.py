"""Batch screening: assess every strategy under some folders into a workspace, fast and resumable.

The parent process finds the files, hashes them, skips those whose current suggestion in the
workspace already has the same cache key, and hands the rest, largest first, to worker processes.
Each worker builds ONE Pipeline (the model loads while the parent is still hashing) and assesses one
document at a time; the parent is the only writer: it saves each assessment as soon as it arrives
(JSON file, then one SQLite transaction), so an interrupted batch loses at most the documents in
flight and a re-run continues where it stopped. A worker that exceeds the per-document time limit is
killed and replaced; a bad file is recorded as a failure with its one-line reason.
"""

from __future__ import annotations

import contextlib
import csv
import multiprocessing
import os
import re
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from evaluator import __version__
from evaluator.errors import EvaluatorError, WorkspaceError
from evaluator.limits import extract_isolated, limit_address_space, out_of_memory
from evaluator.workspace.store import Workspace

SUFFIXES = (".pdf", ".txt", ".md")
MANIFEST = "MANIFEST.tsv"
INLINE_MAX_PAGES = 10  # smaller batches are assessed in-process: starting workers would cost more
PipelineFactory = Callable[[], "Pipeline"]  # noqa: F821  (picklable; called once per worker)
Work = tuple[Path, int, str]  # (path, estimated pages, sha256)


@dataclass(frozen=True)
class Outcome:
    """What happened to one input file."""

    path: str
    status: str  # "ok" | "skipped" | "failed"
    sha256: str = ""
    pages: int = 0
    reason: str = ""  # failure message, or why it was skipped
    assessment_id: int | None = None
    levels: dict[str, str] = field(default_factory=dict)
    confidence: float | None = None  # mean hallmark confidence
    warnings: tuple[str, ...] = ()  # the assessment's warnings (pages not read, no text layer...)


@dataclass
class ScreenSummary:
    workspace: Path
    run_id: int
    outcomes: list[Outcome]
    seconds: float
    worker_peak_rss_mb: list[float] = field(default_factory=list)
    reports: Path | None = None

    def _with(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    ok = property(lambda self: self._with("ok"))
    skipped = property(lambda self: self._with("skipped"))
    failed = property(lambda self: self._with("failed"))
    pages = property(lambda self: sum(o.pages for o in self.ok))

    def line(self) -> str:
        return f"{len(self.ok)} assessed, {len(self.skipped)} skipped (unchanged), {len(self.failed)} failed"


@dataclass(frozen=True)
class PipelineSpec:
    """The default worker pipeline: shipped (or given) rubric and judge; MiniLM loads on first use."""

    rubric_path: str | None = None
    judge_path: str | None = None

    def __call__(self):
        from evaluator.pipeline import Pipeline
        from evaluator.rubric import load_rubric
        from evaluator.stages.judge import load_judge

        return Pipeline(rubric=load_rubric(self.rubric_path), judge=load_judge(self.judge_path))


# ------------------------------------------------------------------ input discovery


def find_documents(paths: Iterable[str | os.PathLike], problems: list[tuple[str, str]] | None = None) -> list[Path]:
    """The documents to screen: sorted, deduplicated.

    A file is taken as given. A folder with a MANIFEST.tsv (a ``doc_id`` column) holds the documents it
    lists (``<doc_id>.pdf``, ``.txt`` or ``.md``; a listed document that is missing is reported as a
    failure). Any other folder is searched for .pdf/.txt/.md files, skipping hidden files and READMEs.
    A manifest entry that is not a plain file name (``../x``) is appended to ``problems`` as (path,
    reason), or raised as an ``EvaluatorError`` without ``problems``.
    """
    found: set[Path] = set()
    for given in map(Path, paths):
        if given.is_dir() and (given / MANIFEST).is_file():
            found.update(_listed(given, problems))
        elif given.is_dir():
            for root, dirs, files in os.walk(given):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found.update(Path(root, f).resolve() for f in files
                             if not f.startswith(".") and f.lower().endswith(SUFFIXES)
                             and not f.lower().startswith("readme"))
        elif given.exists():
            found.add(given.resolve())
        else:
            raise EvaluatorError(f"{given} does not exist. Give existing files or folders to screen.")
    return sorted(found)


def _listed(folder: Path, problems: list[tuple[str, str]] | None) -> list[Path]:
    with open(folder / MANIFEST, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or "doc_id" not in rows[0]:
        raise EvaluatorError(f"{folder / MANIFEST} has no doc_id column. Add one, or remove the manifest.")
    listed = []
    for doc_id in (row["doc_id"].strip() for row in rows if (row.get("doc_id") or "").strip()):
        if Path(doc_id).name != doc_id or doc_id in (".", "..") or "\\" in doc_id:  # ../x, /etc/x, a\\..\\x
            reason = (f"{MANIFEST} doc_id {doc_id!r} is not a file name in {folder}; list each document by its "
                      "name only (no folders).")
            if problems is None:
                raise EvaluatorError(reason)
            problems.append((str(folder / doc_id), reason))
            continue
        candidates = [folder / f"{doc_id}{suffix}" for suffix in SUFFIXES]
        listed.append(next((c for c in candidates if c.is_file()), candidates[0]).resolve())
    return listed


def estimate_pages(path: Path, max_pages: int | None) -> int:
    """Page count (pypdfium2 reads it in a millisecond); from the file size when that fails."""
    pages = 1
    if path.suffix.lower() == ".pdf":
        try:
            import pypdfium2

            with pypdfium2.PdfDocument(str(path)) as pdf:
                pages = len(pdf)
        except Exception:  # noqa: BLE001  (a broken file: the worker will say why)
            pages = max(1, path.stat().st_size // 60_000)
    return min(pages, max_pages) if max_pages else pages


def one_line(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):  # over the worker's address-space cap (evaluator.limits)
        return out_of_memory()
    if isinstance(exc, EvaluatorError):
        text = str(exc)
    else:
        text = f"internal error: {type(exc).__name__}: {exc}"
    return re.sub(r"\s+", " ", text).strip()[:500]


# -------------------------------------------------------------------------- worker


def _build(factory: PipelineFactory, cache_dir: str, max_pages: int | None):
    from evaluator.stages.cache import Cache

    pipeline = factory()
    if pipeline.cache is None:
        pipeline.cache = Cache(cache_dir)
    if max_pages:
        pipeline.max_pages = max_pages
    return pipeline


def _assess(pipeline, path: str) -> tuple:
    try:
        assessment = pipeline.assess(path)
        return ("ok", assessment.model_dump_json(), pipeline.cache_key(assessment.document.sha256))
    except Exception as exc:  # noqa: BLE001  (one bad file never stops the batch)
        return ("failed", one_line(exc))


def _peak_rss_mb() -> float:
    """This process's own peak resident memory. Linux's VmHWM, not ru_maxrss: a spawned worker's ru_maxrss
    also counts the parent pages it shared between fork and exec (a big parent would look like a big worker)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_main(factory, cache_dir, max_pages, threads, tasks, results, parent_pid) -> None:
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
        pipeline = _build(factory, cache_dir, max_pages)
        pipeline.index  # noqa: B018  (prepare the rubric vectors before the first task)
        limit_address_space()  # from here on a decompression bomb fails its document, not the machine
    except Exception as exc:  # noqa: BLE001
        results.send(("init_failed", one_line(exc), _peak_rss_mb()))
        return
    results.send(("ready", "", _peak_rss_mb()))
    while True:
        try:
            path = tasks.recv()
        except (EOFError, OSError):
            return
        if path is None:
            return
        results.send((*_assess(pipeline, path), _peak_rss_mb()))


class _Worker:
    def __init__(self, ctx, args: tuple):
        self.tasks, child_tasks = ctx.Pipe(duplex=False)[::-1]
        child_results, self.results = ctx.Pipe(duplex=False)[::-1]
        self.process = ctx.Process(target=_worker_main, args=(*args, child_tasks, child_results, os.getpid()),
                                   daemon=True, name="evaluator-screen-worker")
        self.process.start()
        child_tasks.close()
        child_results.close()
        self.ready = False
        self.job: tuple[int, float] | None = None  # (work index, started at)
        self.peak_rss_mb = 0.0

    def give(self, index: int, path: str) -> None:
        self.tasks.send(path)
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


# ---------------------------------------------------------------------------- API


def screen(paths: Iterable[str | os.PathLike], workspace: str | os.PathLike | Workspace = "workspace", *,
           workers: int = 2, quiet: bool = False, timeout: float = 300, max_pages: int | None = None,
           rubric: str | os.PathLike | None = None, judge: str | os.PathLike | None = None,
           pipeline_factory: PipelineFactory | None = None,
           progress: Callable[[Outcome], None] | None = None, reports: bool = True) -> ScreenSummary:
    """Assess every strategy under ``paths`` into ``workspace``; unchanged documents are skipped.

    ``pipeline_factory`` (a picklable callable returning a Pipeline, built once per worker) replaces
    the default shipped pipeline, e.g. with a fake encoder in tests. ``progress`` is called with each
    document's Outcome as soon as it is known.
    """
    started = time.monotonic()
    problems: list[tuple[str, str]] = []
    files = find_documents(paths, problems)
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    cache_dir = str(ws.folder("cache"))
    factory = pipeline_factory or PipelineSpec(str(rubric) if rubric else None, str(judge) if judge else None)
    workers = max(1, workers)
    pool: list[_Worker] = []
    ctx = multiprocessing.get_context("spawn")
    restore = _terminate_as_interrupt()
    try:
        keys = _build(factory, cache_dir, max_pages)  # cheap: the real model loads on first encode only
        keys.extractor = extract_isolated  # in this process, untrusted files are parsed in a capped child only
        run_id = ws.start_run(__version__, {"paths": [str(p) for p in paths], "workers": workers,
                                            "timeout": timeout, "max_pages": max_pages,
                                            "rubric": str(rubric or ""), "judge": str(judge or "")})
        batch = _Batch(ws, run_id, progress)
        for path, reason in problems:
            batch.fail(path, reason)
        work = _plan(files, ws, keys, batch, max_pages)
        if _worth_a_pool(work, workers, keys):  # else the model loads (once) only if a document needs it
            args = (factory, cache_dir, max_pages, max(1, (os.cpu_count() or 1) // workers))
            pool = [_Worker(ctx, args) for _ in range(min(workers, len(work)))]
        with _progress_bar(quiet, work) as bar:
            batch.bar = bar
            if pool:
                pool = _run_pool(pool, ctx, args, work, batch, timeout)
            elif work:
                _run_inline(keys, work, batch, timeout)
        ws.finish_run(run_id, len(batch.summary_of("ok")), len(batch.summary_of("failed")))
    finally:
        for worker in pool:
            worker.stop()  # graceful when idle: a killed worker leaks its semaphores
        restore()
    summary = ScreenSummary(ws.root, run_id, batch.outcomes, time.monotonic() - started,
                            batch.rss or [_peak_rss_mb()])
    if reports:
        from evaluator.workspace.corpus_report import write_reports

        summary.reports = write_reports(ws)
    return summary


def _plan(files: list[Path], ws: Workspace, keys, batch: _Batch, max_pages: int | None) -> list[Work]:
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


def _worth_a_pool(work, workers: int, pipeline) -> bool:
    """Worker processes pay a model load each: worth it for fresh extraction and embedding work, not for
    re-scoring cached documents (a rubric or judge change) or a few small files."""
    if workers < 2 or len(work) < 2 or sum(pages for _, pages, _ in work) <= INLINE_MAX_PAGES:
        return False
    from evaluator.stages.extract import EXTRACTOR_VERSION

    return any(not pipeline.cache.has_document(sha, EXTRACTOR_VERSION) for _, _, sha in work)


def _terminate_as_interrupt() -> Callable[[], None]:
    """SIGTERM stops a batch like Ctrl-C: workers are killed, finished documents stay saved."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _run_pool(pool: list[_Worker], ctx, args, work, batch: _Batch, timeout: float) -> list[_Worker]:
    pending = deque(range(len(work)))
    while pending or any(w.job for w in pool):
        for w in list(pool):
            if w.ready and w.job is None and pending:
                index = pending.popleft()
                w.give(index, str(work[index][0]))
            elif w.job is None and not pending:  # nothing left for it: free its core for the others
                batch.rss.append(w.peak_rss_mb)
                w.stop(kill=not w.ready)
                pool.remove(w)
        now = time.monotonic()
        deadlines = [w.job[1] + timeout - now for w in pool if w.job]
        ready = wait([w.results for w in pool] + [w.process.sentinel for w in pool],
                     timeout=max(0.05, min(deadlines, default=1.0)))
        for w in list(pool):
            message = None
            if w.results in ready:
                try:
                    message = w.results.recv()
                except (EOFError, OSError):
                    message = None
            if message is not None:
                kind, *payload, w.peak_rss_mb = message
                if kind == "init_failed":
                    raise EvaluatorError(f"A screening worker could not start: {payload[0]}")
                if kind == "ready":
                    w.ready = True
                    continue
                index, _ = w.job
                w.job = None
                batch.finish(work[index], kind, payload)
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
                w.job = None
            batch.rss.append(w.peak_rss_mb)
            w.stop(kill=True)
            pool.remove(w)
            if pending:
                pool.append(_Worker(ctx, args))
    batch.rss.extend(w.peak_rss_mb for w in pool)
    return pool


class _TimeLimit(BaseException):
    """The per-document time limit of an inline batch (SIGALRM)."""


def _run_inline(pipeline, work, batch: _Batch, timeout: float) -> None:
    """workers=1: assess in this process; the time limit uses SIGALRM where available."""
    alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def expired(signum, frame):
        raise _TimeLimit  # not an Exception: no stage's "except Exception" (e.g. per page) can swallow it

    previous = signal.signal(signal.SIGALRM, expired) if alarm else None
    try:
        for item in work:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                result = _assess(pipeline, str(item[0]))
            except _TimeLimit:
                result = ("failed", f"timed out after {timeout:g} s")
            finally:
                if alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            if result[0] == "failed" and result[1].startswith("internal error: TimeoutError"):
                result = ("failed", f"timed out after {timeout:g} s")
            batch.finish(item, result[0], list(result[1:]))
    finally:
        if alarm:
            signal.signal(signal.SIGALRM, previous)
    batch.rss.append(_peak_rss_mb())


class _Batch:
    """Records outcomes as they arrive: saves assessments, logs failures, advances the progress bar."""

    def __init__(self, ws: Workspace, run_id: int, progress):
        self.ws, self.run_id, self.progress = ws, run_id, progress
        self.outcomes: list[Outcome] = []
        self.rss: list[float] = []
        self.bar = None

    def summary_of(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if self.progress:
            self.progress(outcome)

    def skip(self, path: Path, current) -> None:
        json_path = _json_path(self.ws, path, current.sha256)
        if not json_path.exists():  # the file went missing: restore it from the database
            _atomic_write(json_path, current.assessment.model_dump_json(indent=2))
        self.add(_outcome(str(path), "skipped", current.assessment, current.id, "unchanged"))

    def fail(self, path: str, reason: str) -> None:
        self.ws.record_failure(self.run_id, path, reason)
        self.add(Outcome(path, "failed", reason=reason))

    def finish(self, item: Work, kind: str, payload: list) -> None:
        from evaluator.types import Assessment

        path, estimate, _ = item
        pages = estimate
        if kind == "ok":
            assessment = Assessment.model_validate_json(payload[0])
            _atomic_write(_json_path(self.ws, path, assessment.document.sha256), assessment.model_dump_json(indent=2))
            new_id = self.ws.save_assessment(assessment, cache_key=payload[1], run_id=self.run_id)
            pages = assessment.document.pages
            self.add(_outcome(str(path), "ok", assessment, new_id))
        else:
            self.fail(str(path), payload[0])
        if self.bar is not None:
            self.bar.done(pages, estimate)


def _outcome(path: str, status: str, assessment, assessment_id: int, reason: str = "") -> Outcome:
    confidences = [h.confidence for h in assessment.hallmarks]
    return Outcome(path, status, assessment.document.sha256, assessment.document.pages, reason, assessment_id,
                   {h.id: h.level for h in assessment.hallmarks},
                   sum(confidences) / len(confidences) if confidences else None, tuple(assessment.warnings))


def _json_path(ws: Workspace, path: Path, sha256: str) -> Path:
    return ws.folder("assessments") / f"{path.stem}-{sha256[:12]}.json"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a full disk or a read-only folder: no half-written file, a one-line error
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise WorkspaceError(f"Cannot write {path}: {exc.strerror or exc}. Free disk space or make the workspace "
                             "folder writable, then run the same command to continue.") from None


class _progress_bar:  # noqa: N801  (used as a context manager)
    """Documents and pages done, pages/s and time left; silent with quiet."""

    def __init__(self, quiet: bool, work: list[Work]):
        self.quiet, self.docs = quiet or not work, len(work)
        self.pages = sum(item[1] for item in work)
        self.done_docs = 0

    def __enter__(self):
        if self.quiet:
            return self
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("screening {task.fields[docs]}"), BarColumn(), MofNCompleteColumn(), TextColumn("pages"),
            TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=Console(stderr=True),
        )
        self.progress.start()
        self.task = self.progress.add_task("pages", total=self.pages, docs=f"0/{self.docs} docs", rate="")
        self.started = time.monotonic()
        return self

    def done(self, pages: int, estimate: int) -> None:
        self.done_docs += 1
        if self.quiet:
            return
        self.pages += pages - estimate
        elapsed = max(time.monotonic() - self.started, 1e-6)
        done = self.progress.tasks[0].completed + pages
        self.progress.update(self.task, total=self.pages, completed=done, docs=f"{self.done_docs}/{self.docs} docs",
                             rate=f"{done / elapsed:.1f} pages/s, {60 * self.done_docs / elapsed:.1f} docs/min")

    def __exit__(self, *exc) -> None:
        if not self.quiet:
            self.progress.stop()

