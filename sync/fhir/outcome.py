"""The words of an OperationOutcome: what a server says went wrong (an error response) or what it warns of (a
search Bundle's `search.mode = outcome` entries)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["issue_text", "outcome_text"]


def issue_text(outcome: Mapping[str, Any], *, limit: int = 300, codes: bool = False) -> str | None:
    """The human part of an OperationOutcome: each issue's diagnostics, else its details.text (else its code, with
    `codes`, for an error answer with nothing better to say), whitespace collapsed, joined with "; " and cut to
    `limit` characters; None when no issue says anything."""
    texts = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, Mapping):
            continue
        details: Mapping[str, Any] = issue["details"] if isinstance(issue.get("details"), Mapping) else {}
        text = issue.get("diagnostics") or details.get("text") or (issue.get("code") if codes else None)
        if isinstance(text, str) and text.strip():
            texts.append(" ".join(text.split()))
    joined = "; ".join(texts)
    return (joined[: limit - 1] + "…" if len(joined) > limit else joined) or None


def outcome_text(content: bytes, *, limit: int = 300) -> str | None:
    """The human part of a response body that is an OperationOutcome (with its issues' codes when nothing better
    is said); None for any other body."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("resourceType") != "OperationOutcome":
        return None
    return issue_text(data, limit=limit, codes=True)
