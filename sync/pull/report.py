"""What a sync tells: its progress events, and its report (per type, and for the whole run), which the store
keeps and the app shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = ["OUTCOMES", "Counts", "SyncProgress", "SyncReport", "TypeReport", "add_counts", "now"]

Counts = dict[str, dict[str, int]]  # resource type -> {"imported", "updated", "unchanged", "invalid"}
OUTCOMES = ("imported", "updated", "unchanged", "invalid")


@dataclass(frozen=True)
class SyncProgress:
    """One step of a sync, for a progress bar: a page stored, a task finished, a phase begun."""

    phase: str  # "search", "references", "attachments", "done"
    resource_type: str | None = None
    task: str | None = None
    page: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    total: int | None = None  # Bundle.total, when the server says
    done: bool = False
    tasks_done: int = 0
    tasks_total: int = 0


@dataclass(frozen=True)
class TypeReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    refused: tuple[str, ...] = ()
    removed: int = 0  # marked "removed at the source" by this sync: the portal no longer serves them

    def as_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "invalid": self.invalid,
            "refused": list(self.refused),
            "removed": self.removed,
        }


@dataclass(frozen=True)
class SyncReport:
    outcome: str  # "complete", "incomplete" (resume with the next sync) or "needs-reconnect"
    mode: str  # "full" or "incremental"
    resumed: bool
    started_at: str
    finished_at: str
    duration: float
    requests: int
    bytes: int
    retries: int
    refreshes: int
    types: Mapping[str, TypeReport]
    warnings: tuple[str, ...] = ()
    message: str | None = None
    not_shared: Mapping[str, str] = field(default_factory=dict)  # type -> since when the portal refuses it to apps
    diagnosis: Mapping[str, str] | None = None  # {"code": a row of sync.smart.DIAGNOSES, and its fields}

    @property
    def totals(self) -> TypeReport:
        return TypeReport(
            sum(t.imported for t in self.types.values()),
            sum(t.updated for t in self.types.values()),
            sum(t.unchanged for t in self.types.values()),
            sum(t.invalid for t in self.types.values()),
            tuple(r for t in self.types.values() for r in t.refused),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "mode": self.mode,
            "resumed": self.resumed,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration": round(self.duration, 3),
            "requests": self.requests,
            "bytes": self.bytes,
            "retries": self.retries,
            "refreshes": self.refreshes,
            "types": {t: r.as_json() for t, r in sorted(self.types.items())},
            "warnings": list(self.warnings),
            "message": self.message,
            "not_shared": dict(sorted(self.not_shared.items())),
            "diagnosis": dict(self.diagnosis) if self.diagnosis else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SyncReport:
        types = {
            t: TypeReport(r["imported"], r["updated"], r["unchanged"], r["invalid"], tuple(r["refused"]), r.get("removed", 0))
            for t, r in data["types"].items()
        }
        return cls(
            data["outcome"], data["mode"], data["resumed"], data["started_at"], data["finished_at"], data["duration"],
            data["requests"], data["bytes"], data["retries"], data["refreshes"], types, tuple(data["warnings"]),
            data.get("message"), dict(data.get("not_shared") or {}), data.get("diagnosis"),
        )  # fmt: skip


def now() -> str:
    """The time now in UTC, as a report writes it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_counts(into: Counts, more: Mapping[str, Mapping[str, int]]) -> None:
    """Add what happened per type (`more`) to a running tally."""
    for rtype, bucket in more.items():
        mine = into.setdefault(rtype, dict.fromkeys(OUTCOMES, 0))
        for key in OUTCOMES:
            mine[key] += bucket.get(key, 0)
