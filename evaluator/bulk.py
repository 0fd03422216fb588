"""Building many small objects at once without Python's cyclic garbage collector rescanning them.

An export of 1,000 documents makes about two million dicts and lists, none of them in a reference
cycle. CPython 3.11 runs a collection every 700 new objects and a full one whenever the survivors
grow by a quarter, so each full collection rescans everything built so far: measured on a
1,000-document workspace, reading and shaping the records took 6.4-7.9 s with the collector on and
2.1-2.3 s with it paused (benchmarks/bench_workspace.py times the whole export). Cycles made while
paused are collected once the block ends.
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
