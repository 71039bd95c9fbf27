"""The plan of a pull: which searches (and which read) fetch what a patient may see from one portal, from what
the server declares, the vendor's quirks and the scopes granted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from ..fhir.capabilities import ServerCapabilities
from .quirks import VendorQuirks

__all__ = ["PullOptions", "SearchTask", "plan_tasks"]

_NEVER_SEARCHED = frozenset({"Patient", "Binary", "Provenance", "Bundle", "OperationOutcome"})


@dataclass(frozen=True)
class SearchTask:
    key: str  # stable across runs: the checkpoint's name
    resource_type: str
    path: str  # "Observation", "Patient/123", "Patient/123/$everything"
    params: tuple[tuple[str, str], ...] = ()
    fallback: tuple[tuple[str, str], ...] | None = None
    read: bool = False
    skip: str | None = None  # why this type is not searched (not granted, not offered)


@dataclass(frozen=True)
class PullOptions:
    full: bool = False
    overlap: float = 300.0  # seconds subtracted from the last sync's server time for _lastUpdated
    resolve_references: bool = True
    attachments: bool = True


def plan_tasks(
    patient_id: str,
    capabilities: ServerCapabilities,
    quirks: VendorQuirks,
    allows: Callable[[str], bool],
    *,
    since: str | None = None,
) -> list[SearchTask]:
    tasks = [SearchTask(f"Patient/{patient_id}", "Patient", f"Patient/{patient_id}", read=True)]
    if quirks.everything == "if-declared" and capabilities.declares_everything():
        everything = f"Patient/{patient_id}/$everything"
        params = (("_count", str(quirks.page_size)),) + ((("_since", since),) if since else ())
        return tasks + [SearchTask(everything, "*", everything, params)]
    wanted = dict.fromkeys(quirks.types)
    wanted.update(dict.fromkeys(capabilities.searchable_by_patient()))
    for rtype in wanted:
        if rtype in _NEVER_SEARCHED or rtype in quirks.reference_types:
            continue
        if not capabilities.supports_type(rtype):
            continue
        if not allows(rtype):
            tasks.append(SearchTask(rtype, rtype, rtype, skip="not granted by the portal"))
            continue
        extra: list[tuple[str, str]] = [("_count", str(quirks.page_size))]
        if quirks.revinclude_provenance == "if-declared" and capabilities.declares_revinclude(rtype, "Provenance:target"):
            extra.append(("_revinclude", "Provenance:target"))
        if since and capabilities.declares_param(rtype, "_lastUpdated"):
            extra.append(("_lastUpdated", f"gt{since}"))
        for spec in quirks.searches_for(rtype):
            key = rtype + ("?" + urlencode(spec.params) if spec.params else "")
            fallback = (("patient", patient_id), *spec.fallback, *extra) if spec.fallback is not None else None
            tasks.append(SearchTask(key, rtype, rtype, (("patient", patient_id), *spec.params, *extra), fallback))
    revincluded = any(("_revinclude", "Provenance:target") in task.params for task in tasks)
    if (
        quirks.revinclude_provenance != "never"
        and not revincluded
        and capabilities.supports_type("Provenance")
        and allows("Provenance")
    ):
        # Where the server does not declare _revinclude, the patient's Provenance is searched for itself (a
        # failure of this search is a note in the report, never an incomplete sync).
        extra = [("_count", str(quirks.page_size))]
        if since and capabilities.declares_param("Provenance", "_lastUpdated"):
            extra.append(("_lastUpdated", f"gt{since}"))
        tasks.append(SearchTask("Provenance", "Provenance", "Provenance", (("patient", patient_id), *extra)))
    return tasks
