"""FHIR for Carry: parsing and validation (parse), the REST client (client) and the sync pull (pull).

The pull itself is `sync.fhir.pull.pull` (not re-exported: the name would clash with its module).

Parsing is what nearly everything needs; the client and the pull bring in httpx, authlib and joserfc, so they are
imported on first use (PEP 562) and `import sync.fhir` stays cheap for the record and the CLI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .capabilities import ServerCapabilities
    from .client import AccessTokens, FHIRClient, RequestRefused, Unauthorized
    from .pull import (
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
    )
    from .quirks import VendorQuirks, detect_vendor, load_quirks

_LAZY = {
    "ServerCapabilities": "capabilities",
    "AccessTokens": "client",
    "FHIRClient": "client",
    "RequestRefused": "client",
    "Unauthorized": "client",
    "Checkpoint": "pull",
    "PageWrite": "pull",
    "PullOptions": "pull",
    "PullSession": "pull",
    "PullStore": "pull",
    "SearchTask": "pull",
    "SyncProgress": "pull",
    "SyncReport": "pull",
    "TypeReport": "pull",
    "plan_tasks": "pull",
    "VendorQuirks": "quirks",
    "detect_vendor": "quirks",
    "load_quirks": "quirks",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{module_name}", __name__)
    # Bind every name of that module here, so `pull` is the function, not the submodule the import just bound.
    for lazy, owner in _LAZY.items():
        if owner == module_name:
            globals()[lazy] = getattr(module, lazy)
    return globals()[name]

__all__ = [
    "AccessTokens",
    "Checkpoint",
    "ConditionalResolver",
    "FHIRClient",
    "PageWrite",
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
