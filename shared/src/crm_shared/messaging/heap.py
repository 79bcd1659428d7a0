"""How a consuming process's garbage collector is set: for batches, not for start-up.

A consumer makes tens of thousands of short-lived objects per batch (records, events,
documents). With the interpreter's defaults the collector runs every 700 new objects and
its full collections walk everything the process imported, again and again: a third of a
rebuild's CPU went there. So, once the process is up, what it has loaded is frozen out of
collection (it lives as long as the process), and young collections run every
``YOUNG_OBJECTS`` new objects instead: a batch's garbage is mostly freed by reference
counting anyway, and what cycles there are wait a little longer.
"""

from __future__ import annotations

import gc

YOUNG_OBJECTS = 10_000


def settle_for_batches() -> None:
    """Freezes what is loaded now and collects young objects less often. Idempotent."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(max(gc.get_threshold()[0], YOUNG_OBJECTS), older, oldest)
