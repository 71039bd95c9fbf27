"""A portal pull: everything a patient may see, fetched from one FHIR server and handed to the app's store.

- quirks: how each vendor's portal wants to be searched (from the vendor registry, sync/vendors.py)
- puller: the pull itself (`pull`), the store it writes through (`PullStore`), its checkpoints, progress and report

It uses sync.fhir (client, parsing), sync.smart (the errors a token refresh raises) and sync.http; it knows nothing of
the record: app.record implements `PullStore`.
"""

from __future__ import annotations

from .puller import (
    Checkpoint,
    PageWrite,
    PullOptions,
    PullSession,
    PullStore,
    SearchTask,
    SyncProgress,
    SyncReport,
    TypeReport,
    plan_tasks,
    pull,
)
from .quirks import QUIRKS_FILE, SearchSpec, VendorQuirks, detect_vendor, load_quirks

__all__ = [
    "QUIRKS_FILE",
    "Checkpoint",
    "PageWrite",
    "PullOptions",
    "PullSession",
    "PullStore",
    "SearchSpec",
    "SearchTask",
    "SyncProgress",
    "SyncReport",
    "TypeReport",
    "VendorQuirks",
    "detect_vendor",
    "load_quirks",
    "plan_tasks",
    "pull",
]
