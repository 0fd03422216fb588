"""User-facing errors: each carries one line that says what went wrong and what to do.

The CLI turns any ``EvaluatorError`` into ``click.ClickException`` (one line, exit 1);
in a batch the message is recorded against the file and the batch goes on.
"""


class EvaluatorError(Exception):
    """An error caused by the user's input or environment, not by a bug."""


class InputError(EvaluatorError):
    """The input file cannot be read as a document (missing, not a PDF, encrypted, corrupt...)."""


class RubricError(EvaluatorError):
    """A rubric file is invalid; the message names the field and a valid value."""


class WorkspaceError(EvaluatorError):
    """The workspace (SQLite store and files) cannot be used."""


class ConfigError(EvaluatorError):
    """An environment setting (such as EVALUATOR_PRECISION) has a value the tool does not know."""
