"""What a summary holds when the patient has not picked items one by one (issue 6's default): active problems,
current medications, allergies, immunizations, results of the last 12 months, and procedures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ...fhir import dates

__all__ = ["DEFAULT_SECTIONS", "default_selection"]

DEFAULT_SECTIONS = ("problems", "allergies", "medications", "immunizations", "results", "procedures")
_RESULT_WINDOW = timedelta(days=365)


def _code(concept: Any) -> str | None:
    if isinstance(concept, Mapping):
        for coding in concept.get("coding") or []:
            if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
                return str(coding["code"])
    return None


def _categories(resource: Mapping[str, Any]) -> set[str]:
    found = set()
    for concept in resource.get("category") or []:
        code = _code(concept)
        if code:
            found.add(code)
    return found


def _when(resource: Mapping[str, Any]) -> datetime | None:
    for key in ("effectiveDateTime", "effectiveInstant", "issued"):
        value = resource.get(key)
        if isinstance(value, str):
            return dates.moment(value)
    period = resource.get("effectivePeriod")
    if isinstance(period, Mapping):
        return dates.moment(period.get("end") or period.get("start"))
    return None


def default_selection(
    resources: Iterable[Mapping[str, Any]], *, now: datetime | None = None
) -> dict[str, list[Mapping[str, Any]]]:
    """Sort the patient's resources into the default sections of a summary (see module docstring).

    Entered-in-error, refuted and cancelled items never go in. Results are laboratory Observations and
    DiagnosticReports dated within the last 365 days of `now`.
    """
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    picked: dict[str, list[Mapping[str, Any]]] = {name: [] for name in DEFAULT_SECTIONS}
    for resource in resources:
        rtype = resource.get("resourceType")
        status = resource.get("status")
        if status in ("entered-in-error", "cancelled", "not-done"):
            continue
        if rtype == "Condition":
            if _code(resource.get("clinicalStatus")) in ("active", "recurrence", "relapse") and _code(
                resource.get("verificationStatus")
            ) not in ("refuted", "entered-in-error"):
                picked["problems"].append(resource)
        elif rtype == "AllergyIntolerance":
            if _code(resource.get("clinicalStatus")) in (None, "active") and _code(
                resource.get("verificationStatus")
            ) not in ("refuted", "entered-in-error"):
                picked["allergies"].append(resource)
        elif rtype in ("MedicationRequest", "MedicationStatement"):
            if status in ("active", "intended", "on-hold"):
                picked["medications"].append(resource)
        elif rtype == "Immunization":
            if status == "completed":
                picked["immunizations"].append(resource)
        elif rtype in ("Observation", "DiagnosticReport"):
            when = _when(resource)
            lab = "laboratory" in _categories(resource) or "LAB" in _categories(resource)
            if lab and when is not None and moment - _RESULT_WINDOW <= when <= moment + timedelta(days=1):
                picked["results"].append(resource)
        elif rtype == "Procedure":
            if status in (None, "completed", "in-progress"):
                picked["procedures"].append(resource)
    return picked
