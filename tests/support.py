"""Paths shared by the tests: the repo, ../shared (CI has it beside the repo) and the fixture PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED = REPO.parent / "shared"
SHARED_CORPUS = SHARED / "corpus"
SHARED_GOLD = SHARED / "gold"
SAMPLE_CORPUS = REPO / "corpus"
FIXTURES = TESTS / "fixtures"
FIXTURE_PDFS = FIXTURES / "pdfs"


def shared_file(name: str) -> Path:
    path = SHARED_CORPUS / name
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is beside the repo in CI)")
    return path
