"""Shared fixtures: the real pipeline (loaded once per session) and a fast fake one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_CORPUS = SHARED / "corpus"
SHARED_GOLD = SHARED / "gold"
SAMPLE_CORPUS = REPO / "corpus"
FIXTURE_PDFS = Path(__file__).parent / "fixtures" / "pdfs"


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Tests never read or write the user's cache; they share one session cache."""
    os.environ["EVALUATOR_CACHE"] = str(tmp_path_factory.mktemp("evaluator-cache"))


def shared_file(name: str) -> Path:
    path = SHARED_CORPUS / name
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is beside the repo in CI)")
    return path


@pytest.fixture(scope="session")
def real_pipeline():
    """The shipped rubric, judge and the real all-MiniLM-L6-v2, with a session cache."""
    from evaluator.cache import Cache, default_cache_dir
    from evaluator.pipeline import Pipeline

    return Pipeline(cache=Cache(default_cache_dir()))


@pytest.fixture(scope="session")
def fake_pipeline():
    """Same pipeline with a deterministic bag-of-words encoder: no model, fast."""
    from evaluator.embed import HashingEncoder
    from evaluator.pipeline import Pipeline

    return Pipeline(encoder=HashingEncoder())
