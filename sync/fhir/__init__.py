"""FHIR for Carry: parsing and validation (parse), and later the REST client used by sync."""

from __future__ import annotations

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

__all__ = [
    "ConditionalResolver",
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
