"""What the benchmark scripts share: where the project and ../shared are, a --corpus command line, and
running a measurement in a process of its own."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def corpus_parser(doc: str) -> argparse.ArgumentParser:
    """A command line described by the script's first docstring line, with --corpus (default ../shared/corpus)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=SHARED / "corpus", help="folder of PDFs (../shared/corpus)"
    )
    return parser


def run_child(code: str, *args: str, env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in a fresh Python process (a worker of its own: nothing loaded, nothing shared) with
    ``args`` as sys.argv[1:]; returns the JSON object its last line of output prints."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {}), "TOKENIZERS_PARALLELISM": "false"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def segmented_corpus(corpus: Path) -> list:
    """(document, passages) of every document in the folder; extraction from the user's cache when there."""
    from evaluator.pipeline import file_sha256
    from evaluator.stages.cache import Cache, default_cache_dir
    from evaluator.stages.extract import EXTRACTOR_VERSION, extract
    from evaluator.stages.segment import segment
    from evaluator.workspace.batch import find_documents

    cache = Cache(default_cache_dir())
    documents = []
    for path in find_documents([corpus]):
        document = cache.document(file_sha256(path), EXTRACTOR_VERSION) or extract(path)
        cache.put_document(document, EXTRACTOR_VERSION)
        documents.append((document, segment(document)))
    return documents
