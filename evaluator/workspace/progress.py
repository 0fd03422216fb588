"""The screen's progress bar on stderr: documents and pages done, pages/s and time left."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

Work = tuple[Path, int, str]  # (path, estimated pages, sha256)


class ProgressBar:
    """Used as a context manager; silent with ``quiet`` or when there is nothing to do."""

    def __init__(self, quiet: bool, work: Sequence[Work]):
        self.quiet, self.docs = quiet or not work, len(work)
        self.pages = sum(item[1] for item in work)
        self.done_docs = 0
        self.started = time.monotonic()
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self) -> ProgressBar:
        if self.quiet:
            return self
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("screening {task.fields[docs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pages"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.progress.start()
        self.task = self.progress.add_task("pages", total=self.pages, docs=f"0/{self.docs} docs", rate="")
        self.started = time.monotonic()
        return self

    def done(self, pages: int, estimate: int) -> None:
        """One more document, of ``pages`` pages where ``estimate`` were expected."""
        self.done_docs += 1
        if self.quiet:
            return
        self.pages += pages - estimate
        elapsed = max(time.monotonic() - self.started, 1e-6)
        done = self.progress.tasks[0].completed + pages
        self.progress.update(
            self.task,
            total=self.pages,
            completed=done,
            docs=f"{self.done_docs}/{self.docs} docs",
            rate=f"{done / elapsed:.1f} pages/s, {60 * self.done_docs / elapsed:.1f} docs/min",
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.quiet:
            self.progress.stop()
