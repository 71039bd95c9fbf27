"""A FHIR Attachment holding its bytes inline: base64 data, size and SHA-1 hash (the hash FHIR R4 defines)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

__all__ = ["inline_attachment"]


def inline_attachment(data: bytes, content_type: str, title: str, creation: str | None = None) -> dict[str, Any]:
    attachment: dict[str, Any] = {
        "contentType": content_type,
        "data": base64.b64encode(data).decode("ascii"),
        "size": len(data),
        "hash": base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode("ascii"),
        "title": title,
    }
    if creation:
        attachment["creation"] = creation
    return attachment
