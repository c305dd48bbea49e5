"""Bulk reads without the cyclic garbage collector running over them.

Reading a 100,000-response round builds a few million small objects (row
tuples, strings). Each of them counts towards the collector's thresholds, so
it runs again and again over the growing heap: about a third of the read time.
None of these objects form cycles, so pausing the collector for the read
loses nothing; it runs as usual afterwards.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_readers = 0  # reads in progress, across threads


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector while the block runs (nested and concurrent reads
    share one pause; a collector someone else turned off stays off)."""
    global _readers
    with _lock:
        paused = _readers > 0 or gc.isenabled()
        if paused:
            _readers += 1
            gc.disable()
    try:
        yield
    finally:
        if paused:
            with _lock:
                _readers -= 1
                if _readers == 0:
                    gc.enable()
