"""Agreement with reviewers: gold labels, metrics, baselines, calibration of the judge, and the
leave-one-document-out evaluation (``evaluate``)."""

from evaluator.evaluation.evaluate import (
    BASELINE_DENSE,
    BASELINE_KEYWORD,
    TOOL,
    TOOL_PREVIOUS,
    Calibration,
    EvaluationReport,
    calibrate,
    evaluate,
    to_markdown,
    write_report,
)

__all__ = [
    "BASELINE_DENSE",
    "BASELINE_KEYWORD",
    "TOOL",
    "TOOL_PREVIOUS",
    "Calibration",
    "EvaluationReport",
    "calibrate",
    "evaluate",
    "to_markdown",
    "write_report",
]
