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
