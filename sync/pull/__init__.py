"""A portal pull: everything a patient may see, fetched from one FHIR server and handed to the app's store.

- plan: which searches to make (`plan_tasks`), from the server's CapabilityStatement, the quirks and the scopes
- quirks: how each vendor's portal wants to be searched (from the vendor registry, sync/vendors.py)
- puller: the pull itself (`pull`): searches side by side, paging, referenced resources, attachments, checkpoints
- writer: the store's side (`PullStore`, sessions, checkpoints, pages) and the writer that feeds it in batches
- report: progress events (`SyncProgress`) and the report of a sync (`SyncReport`, `TypeReport`)

It uses sync.fhir (client, parsing), sync.smart (the errors a token refresh raises) and sync.http; it knows nothing of
the record: app.record implements `PullStore`.
"""

from __future__ import annotations

from .plan import PullOptions, SearchTask, plan_tasks
from .puller import pull
from .quirks import QUIRKS_FILE, SearchSpec, VendorQuirks, detect_vendor, load_quirks
from .report import SyncProgress, SyncReport, TypeReport
from .writer import Checkpoint, PageWrite, PullSession, PullStore

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
