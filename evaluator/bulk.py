"""Building many small objects at once without Python's cyclic garbage collector rescanning them.

An export of 1,000 documents makes about two million dicts and lists, none of them in a reference
cycle. CPython 3.11 runs a collection every 700 new objects and a full one whenever the survivors
grow by a quarter, so each full collection rescans everything built so far. `evaluator export
--format xlsx` of the 1,000-document workspace of benchmarks/bench_workspace.py took 11.7-12.8 s at
the commit before this module and 6.9-8.2 s with it (same bytes written); that script prints the
export's time. Cycles made while paused are collected once the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic collector for the block (reference counting still frees memory as usual);
    leaves it off if it was already off, e.g. in an outer ``paused_gc``."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
