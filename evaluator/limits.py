"""Resource limits for parsing untrusted files: an address-space cap, and a child process to parse in.

A PDF can be a decompression bomb (a few hundred KB that inflate to gigabytes). Untrusted files are
parsed only in processes whose address space is capped with ``RLIMIT_AS``: the batch's worker
processes (capped once the model is loaded), and otherwise a short-lived child (``run_isolated``),
so a bomb fails that one document with a one-line reason and the process a reviewer or a batch
depends on carries on.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from evaluator.errors import ConfigError, EvaluatorError, InputError

MEMORY_ENV = "EVALUATOR_MEMORY_LIMIT_MB"
DEFAULT_MEMORY_MB = 1536  # address space a parse may add to its process's baseline
T = TypeVar("T")
_context: Any = None


def memory_budget_mb() -> int:
    """The per-document memory budget in MB: $EVALUATOR_MEMORY_LIMIT_MB, else 1536."""
    value = os.environ.get(MEMORY_ENV, "").strip()
    if not value:
        return DEFAULT_MEMORY_MB
    if not value.isascii() or not value.isdigit() or not 64 <= int(value) <= 1 << 20:
        raise ConfigError(
            f"{MEMORY_ENV}={value!r} is not a size in MB between 64 and 1048576; unset it or fix it."
        )
    return int(value)


def out_of_memory(budget_mb: int | None = None) -> str:
    budget_mb = budget_mb or memory_budget_mb()
    return (
        f"ran out of memory (over {budget_mb} MB while reading it; a decompression bomb or a very large file). "
        f"Split the file, or raise {MEMORY_ENV} if it is genuine."
    )


def _address_space_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def limit_address_space(budget_mb: int | None = None) -> None:
    """Cap this process's address space at its current size plus the budget (RLIMIT_AS, soft limit)."""
    budget = (budget_mb or memory_budget_mb()) << 20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = _address_space_bytes() + budget
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _context_for_children():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["evaluator.stages.extract", "evaluator.workspace.page_images"])
    return _context


def _child(conn, budget_mb: int, func: Callable, args: tuple, kwargs: dict, owner: int) -> None:
    threading.Thread(target=_exit_without, args=(owner,), daemon=True).start()
    limit_address_space(budget_mb)
    try:
        result: tuple = ("ok", func(*args, **kwargs))
    except MemoryError:
        result = ("memory", "")
    except EvaluatorError as exc:
        result = ("error", str(exc))
    except Exception as exc:  # noqa: BLE001  (reported as one line by the parent)
        result = ("crash", f"{type(exc).__name__}: {exc}")
    try:
        conn.send(result)
    except MemoryError:
        conn.send(("memory", ""))
    conn.close()


def default_readers() -> int:
    """How many processes read one PDF at once (``extract_isolated``): one per core, at most four."""
    return max(1, min(4, os.cpu_count() or 1))


def _exit_without(owner: int) -> None:
    """Stop when the process that asked for this parse is gone (e.g. a screening worker killed at its
    time limit): the parse's result has nobody to go to. (A forkserver child's parent is the server.)"""
    while True:
        time.sleep(0.5)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass


def extract_isolated(
    path: str | os.PathLike, *, max_pages: int | None = None, sha256: str | None = None, readers: int = 1
):
    """``evaluator.stages.extract.extract`` in memory-capped child processes (see ``run_isolated``).

    With ``readers`` > 1 a PDF long enough to be worth it is read in that many page ranges by as many
    children at once (both cores on one document), then finished here: the same Document as one reader
    gives. Each child has its own memory cap."""
    from evaluator.stages.extract import extract, finish_ranges, page_ranges, read_range

    subject = os.fspath(path)
    ranges = page_ranges(path, readers, max_pages) if readers > 1 else []
    if not ranges:
        return run_isolated(extract, (path,), {"max_pages": max_pages, "sha256": sha256}, subject=subject)
    parts = run_isolated_all(
        [(read_range, (path, first, last), {}) for first, last in ranges], subject=subject
    )
    return finish_ranges(path, parts, max_pages=max_pages, sha256=sha256)


class ReadAhead:
    """``extract_isolated`` of one file, started at once in a background thread, so that a cold
    `evaluator assess` reads the PDF while it imports and loads the models (the readers are other
    processes; the thread only waits for them).

    Use it as the pipeline's ``extractor``: the call for that file with the same page limit waits for
    the read and returns its Document, or raises its error there, as reading then would have; any
    other call reads as ``extract_isolated`` does."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        max_pages: int | None = None,
        sha256: str | None = None,
        readers: int = 1,
    ) -> None:
        self._key = (os.fspath(path), max_pages)
        self._readers = readers
        self._outcome: tuple[Any, BaseException | None] = (None, None)
        self._thread: threading.Thread | None = threading.Thread(
            target=self._read, args=(path, max_pages, sha256), name="evaluator-read-ahead", daemon=True
        )
        self._thread.start()

    def _read(self, path: str | os.PathLike, max_pages: int | None, sha256: str | None) -> None:
        try:
            self._outcome = (
                extract_isolated(path, max_pages=max_pages, sha256=sha256, readers=self._readers),
                None,
            )
        except BaseException as exc:  # noqa: BLE001  (raised again in the thread that asks for the document)
            self._outcome = (None, exc)

    def __call__(self, path: str | os.PathLike, *, max_pages: int | None = None, sha256: str | None = None):
        if self._thread is not None and (os.fspath(path), max_pages) == self._key:
            self._thread.join()
            self._thread = None
            document, error = self._outcome
            self._outcome = (None, None)
            if error is not None:
                raise error
            return document
        return extract_isolated(path, max_pages=max_pages, sha256=sha256, readers=self._readers)


def run_isolated(func: Callable[..., T], args: tuple, kwargs: dict | None = None, *, subject: str = "") -> T:
    """``func(*args, **kwargs)`` in a child process with a capped address space; ``subject`` (the file)
    starts the error messages.

    An ``EvaluatorError`` raised there is raised here with the same message; running out of memory
    or the child dying is an ``InputError`` with a one-line reason. Interrupting the caller (Ctrl-C,
    a time limit) kills the child.
    """
    return run_isolated_all([(func, args, kwargs or {})], subject=subject)[0]


def run_isolated_all(calls: list[tuple[Callable[..., T], tuple, dict]], *, subject: str = "") -> list[T]:
    """Several ``run_isolated`` calls at once, one child each; their results in order. The first call
    that fails raises (as ``run_isolated`` would); the other children are killed."""
    budget = memory_budget_mb()
    ctx = _context_for_children()
    children = []
    try:
        for func, args, kwargs in calls:
            receive, send = ctx.Pipe(duplex=False)
            child = ctx.Process(  # daemon: a process that stops (an error, Ctrl-C) does not wait for it
                target=_child,
                args=(send, budget, func, args, kwargs, os.getpid()),
                name="evaluator-parse",
                daemon=True,
            )
            child.start()
            send.close()
            children.append((child, receive))
        results = []
        for child, receive in children:
            try:
                kind, payload = receive.recv()
            except EOFError:
                child.join()
                kind, payload = "died", child.exitcode
            child.join()
            results.append(_result(kind, payload, budget, subject))
        return results
    finally:
        for child, receive in children:
            if child.is_alive():
                child.kill()
                child.join()
            receive.close()


def _result(kind: str, payload: Any, budget: int, subject: str) -> Any:
    if kind == "ok":
        return payload
    subject = f"{subject} " if subject else ""
    if kind == "memory":
        raise InputError(subject + out_of_memory(budget))
    if kind == "error":
        raise InputError(payload)
    if kind == "died":
        raise InputError(
            f"{subject}could not be read: the reader stopped unexpectedly (exit code {payload}); the file may be damaged or "
            f"too large. Re-export it, or raise {MEMORY_ENV}."
        )
    raise EvaluatorError(f"internal error: {payload}")
