"""Wellbeing strategy evaluator."""
__version__ = "0.1.0"
