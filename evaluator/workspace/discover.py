"""Which files a screen reads: the documents under the given files and folders, and their page counts."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

from evaluator.errors import EvaluatorError
from evaluator.stages.extract import TEXT_SUFFIXES

SUFFIXES = (".pdf", *TEXT_SUFFIXES)  # every type evaluator.stages.extract reads
MANIFEST = "MANIFEST.tsv"


def find_documents(
    paths: Iterable[str | os.PathLike[str]], problems: list[tuple[str, str]] | None = None
) -> list[Path]:
    """The documents to screen: sorted, deduplicated.

    A file is taken as given. A folder with a MANIFEST.tsv (a ``doc_id`` column) holds the documents it
    lists (``<doc_id>`` with one of those suffixes; a listed document that is missing is reported as a
    failure). Any other folder is searched for .pdf, .txt, .md and .markdown files, skipping hidden files
    and READMEs. A manifest entry that is not a plain file name (``../x``) is appended to ``problems``
    as (path, reason), or raised as an ``EvaluatorError`` without ``problems``.
    """
    found: set[Path] = set()
    for given in map(Path, paths):
        if given.is_dir() and (given / MANIFEST).is_file():
            found.update(_listed(given, problems))
        elif given.is_dir():
            for root, dirs, files in os.walk(given):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found.update(
                    Path(root, f).resolve()
                    for f in files
                    if not f.startswith(".")
                    and f.lower().endswith(SUFFIXES)
                    and not f.lower().startswith("readme")
                )
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
            reason = (
                f"{MANIFEST} doc_id {doc_id!r} is not a file name in {folder}; list each document by "
                "its name only (no folders)."
            )
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
