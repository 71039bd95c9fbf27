"""FHIR for Carry: parsing and validation (parse), the REST client (client) and the sync pull (pull)."""

from __future__ import annotations

from .capabilities import ServerCapabilities
from .client import AccessTokens, FHIRClient, RequestRefused, Unauthorized
from .errors import FHIRError, FHIRFormatError
from .parse import (
    ConditionalResolver,
    ParsedDocument,
    ParsedResource,
    canonical,
    content_hash,
    dumps,
    loads,
    parse_document,
    parse_resource,
    validation_error,
)
from .pull import (
    Checkpoint,
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
from .quirks import VendorQuirks, detect_vendor, load_quirks

__all__ = [
    "AccessTokens",
    "Checkpoint",
    "ConditionalResolver",
    "FHIRClient",
    "PullOptions",
    "PullSession",
    "PullStore",
    "RequestRefused",
    "SearchTask",
    "ServerCapabilities",
    "SyncProgress",
    "SyncReport",
    "TypeReport",
    "Unauthorized",
    "VendorQuirks",
    "detect_vendor",
    "load_quirks",
    "plan_tasks",
    "pull",
    "FHIRError",
    "FHIRFormatError",
    "ParsedDocument",
    "ParsedResource",
    "canonical",
    "content_hash",
    "dumps",
    "loads",
    "parse_document",
    "parse_resource",
    "validation_error",
]
