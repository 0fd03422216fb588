"""The docs promise: every command is in the README and has help with an example; the README's two
commands are the ones CI runs."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from support import REPO

from evaluator.cli import main

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix}{name} ")
        else:
            names.append(f"{prefix}{name}")
    return names


@pytest.mark.parametrize("command", _commands(main))
def test_command_is_documented_with_an_example(command):
    assert f"evaluator {command}" in README
    result = CliRunner().invoke(main, [*command.split(), "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    test_command = next(line for line in ci.splitlines() if "pytest" in line)
    assert test_command.strip() in README
    assert "evaluator screen corpus --workspace demo" in README
