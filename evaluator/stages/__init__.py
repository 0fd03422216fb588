"""The pipeline stages, in data-flow order: extract -> segment -> embed -> match -> judge.

Each stage is a module with one job and a version (``EXTRACTOR_VERSION``, ``SEGMENTER_VERSION``,
``MATCHER_VERSION``, the encoder's weights hash, the judge's version) that goes into the cache keys and
the assessment's provenance; ``cache`` keeps extracted documents and embedded passages between runs.
The stages import only ``evaluator.types``, ``evaluator.errors`` and earlier stages.
"""
