"""FHIR for Carry: parsing and validation (parse, rules), the REST client (client) and what a server says it can do
(capabilities). A portal pull, which uses them, is sync.pull.

Parsing is what nearly everything needs; the client brings in httpx, so it is imported on first use (PEP 562) and
`import sync.fhir` stays cheap for the record and the CLI.
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

_LAZY = {
    "ServerCapabilities": "capabilities",
    "AccessTokens": "client",
    "FHIRClient": "client",
    "RequestRefused": "client",
    "Unauthorized": "client",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{module_name}", __name__)
    # Bind every name of that module here at once.
    for lazy, owner in _LAZY.items():
        if owner == module_name:
            globals()[lazy] = getattr(module, lazy)
    return globals()[name]

__all__ = [
    "AccessTokens",
    "ConditionalResolver",
    "FHIRClient",
    "RequestRefused",
    "ServerCapabilities",
    "Unauthorized",
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
