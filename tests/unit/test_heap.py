"""A consuming process's garbage collector, once it is up (``crm_shared.messaging.heap``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from crm_shared.messaging.heap import YOUNG_OBJECTS, settle_for_batches


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


def test_once_settled_young_objects_are_collected_less_often(collector: None) -> None:
    gc.set_threshold(700, 10, 10)
    settle_for_batches()
    assert gc.get_threshold() == (YOUNG_OBJECTS, 10, 10)


def test_once_settled_what_was_loaded_is_left_out_of_collections(collector: None) -> None:
    loaded: list[object] = []  # a container: the collector tracks it
    gc.unfreeze()
    settle_for_batches()
    assert not any(o is loaded for o in gc.get_objects()), "frozen: no collection walks it"
