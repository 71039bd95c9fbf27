"""The objects a process holds before a long run of work (a sync, an import) kept out of garbage collection meanwhile.

Its own module, with nothing to import, so that storing a file does not bring in the HTTP client with the puller.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["heap_set_aside"]

_set_aside = 0
_set_aside_lock = threading.Lock()


@contextlib.contextmanager
def heap_set_aside() -> Iterator[None]:
    """Keep the objects that exist when a sync starts (the app, its modules, the FHIR models: hundreds of
    thousands of them) out of garbage collection until it ends. A full collection walks every one of them with the
    GIL held, tens of milliseconds each time, and a big sync makes several; objects made during the sync are
    collected as usual. At the end (of the last sync, when several overlap) they go back to the collector."""
    global _set_aside
    with _set_aside_lock:
        if _set_aside == 0:
            gc.freeze()
        _set_aside += 1
    try:
        yield
    finally:
        with _set_aside_lock:
            _set_aside -= 1
            if _set_aside == 0:
                gc.unfreeze()
