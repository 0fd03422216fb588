"""What the benchmark scripts share: where the project and ../shared are, and a --corpus command line."""

from __future__ import annotations

import argparse
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
