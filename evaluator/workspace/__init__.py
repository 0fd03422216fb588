"""A workspace: a folder of assessments and reviewer decisions over one SQLite database.

``store`` (the database; ``migrations``, its schema), ``batch`` (screening many documents into it: discovery,
worker pool, recording, progress), ``decisions`` and ``audit`` (reviewer records, hash-chained),
``corpus_report`` and ``export`` (what leaves the workspace), ``page_images`` (evidence drawn on pages).
"""
