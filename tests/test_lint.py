"""Lint and types are part of the test run: ruff (the rules in pyproject.toml) and mypy over the package."""

from __future__ import annotations

import subprocess
import sys

from support import REPO


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def test_ruff() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_mypy() -> None:
    result = _run("mypy")  # files and settings: [tool.mypy] in pyproject.toml
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_code_is_formatted() -> None:
    """One layout for everyone: `ruff format` keeps code lines within the 110 columns of pyproject.toml."""
    result = _run("ruff", "format", "--check", ".")
    assert result.returncode == 0, "run `ruff format .`\n" + result.stdout[-4000:] + result.stderr[-2000:]
