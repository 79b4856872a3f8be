"""The collector's pause: kept to its block, and never turning on a collector that was off."""

from __future__ import annotations

import gc

import pytest

from app import collector


def test_the_collector_is_paused_inside_and_running_after_even_when_the_block_fails():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector.paused():
        assert not gc.isenabled()
        raise RuntimeError("the batch failed")

    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off():
    gc.disable()
    try:
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_pause_inside_a_pause_leaves_the_collector_off_until_the_outer_one_ends():
    with collector.paused():
        with collector.paused():
            pass
        assert not gc.isenabled()

    assert gc.isenabled()
