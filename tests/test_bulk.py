"""paused_gc: an export pauses the cyclic collector only for its own block, whatever happens inside."""

import gc

import pytest

from evaluator.bulk import paused_gc


def test_collector_is_paused_inside_and_back_on_after_an_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("a writer failed half way")
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off():
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
