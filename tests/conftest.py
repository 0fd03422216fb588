"""Shared fixtures: the real pipeline (loaded once per session) and a fast fake one."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Tests never read or write the user's cache; they share one session cache."""
    os.environ["EVALUATOR_CACHE"] = str(tmp_path_factory.mktemp("evaluator-cache"))


@pytest.fixture(scope="session")
def real_pipeline():
    """The shipped rubric, judge and the real all-MiniLM-L6-v2, with a session cache."""
    from evaluator.pipeline import Pipeline
    from evaluator.stages.cache import Cache, default_cache_dir

    return Pipeline(cache=Cache(default_cache_dir()))


@pytest.fixture(scope="session")
def fake_pipeline():
    """Same pipeline with a deterministic bag-of-words encoder: no model, fast."""
    from evaluator.pipeline import Pipeline
    from evaluator.stages.embed import HashingEncoder

    return Pipeline(encoder=HashingEncoder())


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of our own for the session (tests/postgres.py)."""
    import postgres as pg

    yield from pg.start()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request) -> str | None:
    """Run the test on each backend: None for the SQLite default, else a fresh PostgreSQL database URL."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture(scope="session")
def gold_report(tmp_path_factory):
    """`evaluator evaluate` on ../shared (with its areas), run once per session: (printed output, the
    report's base path: OUT.json, OUT.md, OUT.html). The evaluate tests and the agreement notebook read it."""
    from click.testing import CliRunner
    from support import REPO, SHARED_CORPUS, SHARED_GOLD

    from evaluator.cli import main

    if not SHARED_GOLD.exists():
        pytest.skip("../shared/gold not available")
    out = tmp_path_factory.mktemp("eval") / "report"
    # the areas: West Sussex JHWS 2019 with its consultation, EIR and JSNA
    areas = REPO / "benchmarks" / "shared-areas.tsv"
    args = ["evaluate", "--gold", str(SHARED_GOLD), "--docs", str(SHARED_CORPUS), "--report", str(out)]
    result = CliRunner().invoke(main, [*args, "--areas", str(areas), "--quiet"])
    assert result.exit_code == 0, result.output
    return result.output, out
