"""FHIR search as the sandbox supports it: the US Core SHALL parameters, matched against stored resources.

Refusals are SearchRefused(status, message) and become a 400/403 with an OperationOutcome. Parameters the sandbox
does not know are ignored and reported in an OperationOutcome entry, as FHIR asks of a lenient server; with
`Prefer: handling=strict` they are refused instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "DEFAULT_COUNT",
    "MAX_COUNT",
    "REFERENCE_TYPES",
    "Criterion",
    "Param",
    "SearchPlan",
    "SearchRefused",
    "constraint_criteria",
    "date_range",
    "params_for",
    "plan_search",
    "satisfies",
]

DEFAULT_COUNT = 50
MAX_COUNT = 200

# Types every authorised token may read: the hospital's reference data, not any one patient's record.
REFERENCE_TYPES = frozenset(
    {"Practitioner", "PractitionerRole", "Organization", "Location", "Medication", "Endpoint", "HealthcareService"}
)


class SearchRefused(Exception):
    def __init__(self, status: int, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: str  # "token", "date", "string", "reference", "patient" (the patient compartment), "id"
    paths: tuple[str, ...] = ()
    documentation: str = ""


def _p(name: str, kind: str, *paths: str, doc: str = "") -> Param:
    return Param(name, kind, paths, doc)


_ID = _p("_id", "id")
_LAST_UPDATED = _p(
    "_lastUpdated",
    "date",
    "meta.lastUpdated",
    doc="Detects every create and change made on this server (meta.lastUpdated); deletions are not detected.",
)
_PATIENT = _p("patient", "patient")
_CATEGORY = _p("category", "token", "category")
_CODE = _p("code", "token", "code")
_STATUS = _p("status", "token", "status")
_CLINICAL_STATUS = _p("clinical-status", "token", "clinicalStatus")

_CLINICAL: dict[str, tuple[Param, ...]] = {
    "AllergyIntolerance": (_CLINICAL_STATUS,),
    "CarePlan": (_CATEGORY, _STATUS, _p("intent", "token", "intent"), _p("date", "date", "period")),
    "CareTeam": (_STATUS,),
    "Condition": (
        _CATEGORY,
        _CODE,
        _CLINICAL_STATUS,
        _p("onset-date", "date", "onsetDateTime", "onsetPeriod"),
        _p("recorded-date", "date", "recordedDate"),
        _p("abatement-date", "date", "abatementDateTime", "abatementPeriod"),
    ),
    "Coverage": (),
    "Device": (_STATUS, _p("type", "token", "type")),
    "DiagnosticReport": (_CATEGORY, _CODE, _STATUS, _p("date", "date", "effectiveDateTime", "effectivePeriod")),
    "DocumentReference": (
        _CATEGORY,
        _STATUS,
        _p("type", "token", "type"),
        _p("date", "date", "date"),
        _p("period", "date", "context.period"),
    ),
    "Encounter": (
        _STATUS,
        _p("type", "token", "type"),
        _p("class", "token", "class"),
        _p("date", "date", "period"),
        _p("identifier", "token", "identifier"),
    ),
    "Goal": (_p("lifecycle-status", "token", "lifecycleStatus"), _p("target-date", "date", "target.dueDate")),
    "Immunization": (_STATUS, _p("date", "date", "occurrenceDateTime")),
    "MedicationDispense": (_STATUS, _p("type", "token", "type")),
    "MedicationRequest": (
        _STATUS,
        _p("intent", "token", "intent"),
        _p("authoredon", "date", "authoredOn"),
        _p("encounter", "reference", "encounter"),
    ),
    "Observation": (_CATEGORY, _CODE, _STATUS, _p("date", "date", "effectiveDateTime", "effectivePeriod", "effectiveInstant")),
    "Procedure": (_STATUS, _CODE, _p("date", "date", "performedDateTime", "performedPeriod")),
    "QuestionnaireResponse": (_STATUS, _p("authored", "date", "authored")),
    "ServiceRequest": (_CATEGORY, _CODE, _STATUS, _p("authored", "date", "authoredOn")),
}

_NAME = _p("name", "string", "name")
_IDENTIFIER = _p("identifier", "token", "identifier")
_ADDRESS = _p("address", "string", "address")
_REFERENCE: dict[str, tuple[Param, ...]] = {
    "Practitioner": (_IDENTIFIER, _NAME),
    "Organization": (_IDENTIFIER, _p("name", "string", "name", "alias"), _ADDRESS),
    "Location": (_IDENTIFIER, _NAME, _ADDRESS),
    "PractitionerRole": (
        _p("practitioner", "reference", "practitioner"),
        _p("specialty", "token", "specialty"),
        _p("organization", "reference", "organization"),
    ),
    "Medication": (_CODE,),
    "Endpoint": (_IDENTIFIER, _NAME),
    "HealthcareService": (_IDENTIFIER, _NAME),
}
_PATIENT_PARAMS = (
    _IDENTIFIER,
    _NAME,
    _p("family", "string", "name.family"),
    _p("given", "string", "name.given"),
    _p("birthdate", "date", "birthDate"),
    _p("gender", "token", "gender"),
)

# Searches a strict portal refuses outright (Epic: "Both patient and code or category are required").
_REQUIRED_ONE_OF: dict[str, tuple[str, ...]] = {
    "Observation": ("category", "code"),
    "MedicationRequest": ("intent",),
}

_RESULT_PARAMS = ("_count", "_revinclude", "_format")
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")


def params_for(resource_type: str) -> dict[str, Param]:
    """The search parameters of a type (also what the CapabilityStatement lists)."""
    if resource_type == "Patient":
        specific: tuple[Param, ...] = _PATIENT_PARAMS
    elif resource_type in _REFERENCE:
        specific = _REFERENCE[resource_type]
    elif resource_type == "Binary":
        return {}
    else:
        specific = (_PATIENT, *_CLINICAL.get(resource_type, ()))
    return {p.name: p for p in (_ID, _LAST_UPDATED, *specific)}


@dataclass(frozen=True, slots=True)
class Criterion:
    param: Param
    alternatives: tuple[Any, ...]  # parsed values, any of which may match (a comma-separated list)


@dataclass(frozen=True, slots=True)
class SearchPlan:
    resource_type: str
    criteria: tuple[Criterion, ...]
    patient: str | None  # the patient the search is restricted to (from the `patient` parameter)
    count: int
    revinclude_provenance: bool
    used: tuple[tuple[str, str], ...]  # the parameters applied, for the self link
    ignored: tuple[str, ...] = field(default=())


def plan_search(
    resource_type: str, query: Sequence[tuple[str, str]], *, strict: bool = False
) -> SearchPlan:
    known = params_for(resource_type)
    criteria: list[Criterion] = []
    used: list[tuple[str, str]] = []
    ignored: list[str] = []
    patient: str | None = None
    count = DEFAULT_COUNT
    revinclude = False
    for key, value in query:
        name, _, modifier = key.partition(":")
        if name == "_count":
            count = _count(value)
            used.append((key, str(count)))
            continue
        if name == "_format":
            if value not in ("json", "application/json", "application/fhir+json", "application/json+fhir"):
                raise SearchRefused(406, "This server only speaks FHIR JSON.", "not-supported")
            continue
        if name == "_revinclude":
            if value != "Provenance:target":
                _unknown(f"_revinclude={value}", strict, ignored)
                continue
            revinclude = True
            used.append((key, value))
            continue
        param = known.get(name)
        if param is None:
            _unknown(name, strict, ignored)
            continue
        if modifier:
            raise SearchRefused(400, f"The modifier :{modifier} is not supported on {name}.", "not-supported")
        if value == "":
            raise SearchRefused(400, f"The search parameter {name} has no value.")
        if param.kind == "patient":
            if "," in value:
                raise SearchRefused(400, "Search one patient at a time.")
            patient = _reference_id(value, "Patient")
            if patient is None:
                raise SearchRefused(400, f"patient={value} is not a Patient reference.")
        else:
            criteria.append(Criterion(param, tuple(_parse_value(param, part) for part in _split(value))))
        used.append((key, value))

    names = {c.param.name for c in criteria}
    if resource_type not in _REFERENCE and resource_type != "Patient":
        if patient is None and "_id" not in names:
            raise SearchRefused(400, f"{resource_type} searches need the patient parameter.")
        needed = _REQUIRED_ONE_OF.get(resource_type)
        if needed and "_id" not in names and not names.intersection(needed):
            wanted = " or ".join(needed)
            raise SearchRefused(400, f"{resource_type} searches need patient and {wanted}.")
    elif resource_type in _REFERENCE and not criteria:
        choices = ", ".join(sorted(known))
        raise SearchRefused(400, f"{resource_type} searches need at least one of: {choices}.")
    return SearchPlan(resource_type, tuple(criteria), patient, count, revinclude, tuple(used), tuple(ignored))


def satisfies(resource: dict[str, Any], criteria: Sequence[Criterion], owner: str | None = None) -> bool:
    return all(_match(resource, c, owner) for c in criteria)


def constraint_criteria(resource_type: str, query: Sequence[tuple[str, str]]) -> list[Criterion]:
    """Criteria from a granular scope's query (e.g. category=...|laboratory); unknown parameters match nothing."""
    known = params_for(resource_type)
    criteria = []
    for key, value in query:
        param = known.get(key)
        if param is None or param.kind == "patient":
            criteria.append(Criterion(_p(key, "never"), ()))
            continue
        criteria.append(Criterion(param, tuple(_parse_value(param, part) for part in _split(value))))
    return criteria


# --- parsing -----------------------------------------------------------------------------------------------------


def _unknown(name: str, strict: bool, ignored: list[str]) -> None:
    if strict:
        raise SearchRefused(400, f"The search parameter {name} is not supported here.", "not-supported")
    ignored.append(name)


def _count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise SearchRefused(400, f"_count must be a whole number, not {value!r}.") from None
    if count < 0:
        raise SearchRefused(400, "_count cannot be negative.")
    return min(count, MAX_COUNT)


def _split(value: str) -> list[str]:
    # A backslash escapes a comma inside a value (FHIR search, "Escaping search parameters").
    parts = re.split(r"(?<!\\),", value)
    return [p.replace("\\,", ",") for p in parts]


def _reference_id(value: str, rtype: str) -> str | None:
    value = value.rstrip("/")
    if "/" not in value:
        return value or None
    parts = value.split("/")
    if len(parts) >= 2 and parts[-2] == rtype and parts[-1]:
        return parts[-1]
    return None


def _parse_value(param: Param, value: str) -> Any:
    if param.kind == "token" or param.kind == "id":
        if param.kind == "id":
            return value
        system, bar, code = value.partition("|")
        return (system, code) if bar else (None, value)
    if param.kind == "date":
        prefix = value[:2] if value[:2] in _PREFIXES else "eq"
        text = value[2:] if value[:2] in _PREFIXES else value
        if value[:2] == "ap":
            raise SearchRefused(400, "The date prefix ap is not supported here.", "not-supported")
        span = date_range(text.replace(" ", "+"))
        if span is None:
            raise SearchRefused(400, f"{param.name}={value} is not a FHIR date.")
        return (prefix, span)
    if param.kind == "string":
        return _fold(value)
    if param.kind == "reference":
        return value.rstrip("/")
    return value


_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_FAR_PAST = datetime(1, 1, 2, tzinfo=timezone.utc)
_FAR_FUTURE = datetime(9999, 12, 30, tzinfo=timezone.utc)


def date_range(text: str) -> tuple[datetime, datetime] | None:
    """The half-open UTC range a FHIR date, dateTime or instant stands for, at its own precision."""
    match = _DATE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        if month is None:
            start = datetime(int(year), 1, 1, tzinfo=timezone.utc)
            return start, start.replace(year=start.year + 1)
        if day is None:
            start = datetime(int(year), int(month), 1, tzinfo=timezone.utc)
            end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
            return start, end
        if hour is None:
            start = datetime(int(year), int(month), int(day), tzinfo=timezone.utc)
            return start, start + timedelta(days=1)
        tz = timezone.utc
        if zone and zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
        micro = int((fraction or ".0")[1:7].ljust(6, "0"))
        start = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo=tz)
        start = start.astimezone(timezone.utc)
        if second is None:
            step = timedelta(minutes=1)
        elif fraction:
            step = timedelta(microseconds=10 ** (6 - min(len(fraction) - 1, 6)))
        else:
            step = timedelta(seconds=1)
        return start, start + step
    except ValueError:
        return None


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


# --- matching ----------------------------------------------------------------------------------------------------


def _match(resource: dict[str, Any], criterion: Criterion, owner: str | None) -> bool:
    param = criterion.param
    if param.kind == "never":
        return False
    if param.kind == "id":
        return resource.get("id") in criterion.alternatives
    if param.kind == "patient":
        return owner in criterion.alternatives
    values = [v for path in param.paths for v in _walk(resource, path.split("."))]
    if not values:
        return False
    test: Callable[[Any, Any], bool] = _MATCHERS[param.kind]
    return any(test(value, wanted) for wanted in criterion.alternatives for value in values)


def _walk(node: Any, path: list[str]) -> Iterator[Any]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, path)
        return
    if not path:
        if node is not None:
            yield node
        return
    if isinstance(node, dict) and path[0] in node:
        yield from _walk(node[path[0]], path[1:])


def _codings(value: Any) -> Iterator[tuple[str | None, str | None]]:
    if isinstance(value, str):
        yield None, value
    elif isinstance(value, dict):
        if "coding" in value:
            for coding in value.get("coding") or []:
                if isinstance(coding, dict):
                    yield coding.get("system"), coding.get("code")
        elif "value" in value and "code" not in value:  # Identifier
            yield value.get("system"), value.get("value")
        elif "code" in value:
            yield value.get("system"), value.get("code")


def _token(value: Any, wanted: tuple[str | None, str]) -> bool:
    system, code = wanted
    for have_system, have_code in _codings(value):
        if system is None:
            if code == have_code:
                return True
        elif system == "":
            if have_system is None and code == have_code:
                return True
        elif system == have_system and (code == "" or code == have_code):
            return True
    return False


def _target_range(value: Any) -> tuple[datetime, datetime] | None:
    if isinstance(value, str):
        return date_range(value)
    if isinstance(value, dict):  # Period
        start = date_range(value["start"]) if isinstance(value.get("start"), str) else None
        end = date_range(value["end"]) if isinstance(value.get("end"), str) else None
        if start is None and end is None:
            return None
        return (start[0] if start else _FAR_PAST, end[1] if end else _FAR_FUTURE)
    return None


def _date(value: Any, wanted: tuple[str, tuple[datetime, datetime]]) -> bool:
    target = _target_range(value)
    if target is None:
        return False
    prefix, (s_lo, s_hi) = wanted
    t_lo, t_hi = target
    within = s_lo <= t_lo and t_hi <= s_hi
    if prefix == "eq":
        return within
    if prefix == "ne":
        return not within
    if prefix == "gt":
        return t_hi > s_hi
    if prefix == "lt":
        return t_lo < s_lo
    if prefix == "ge":
        return within or t_hi > s_hi
    if prefix == "le":
        return within or t_lo < s_lo
    if prefix == "sa":
        return t_lo >= s_hi
    if prefix == "eb":
        return t_hi <= s_lo
    return False


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key in ("text", "family", "given", "prefix", "suffix", "line", "city", "district", "state", "postalCode", "country"):
            item = value.get(key)
            if isinstance(item, str):
                yield item
            elif isinstance(item, list):
                yield from (i for i in item if isinstance(i, str))


def _string(value: Any, wanted: str) -> bool:
    # FHIR string search: case-insensitive, matching the start of any part (or of the whole text).
    parts = [_fold(s) for s in _strings(value)]
    return any(p.startswith(wanted) for p in parts) or _fold(" ".join(parts)).startswith(wanted)


def _reference(value: Any, wanted: str) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return False
    have: str = value["reference"]
    if "/" not in wanted:
        return have.rsplit("/", 1)[-1] == wanted
    return have == wanted or have.endswith("/" + wanted) or wanted.endswith("/" + have)


_MATCHERS: dict[str, Callable[[Any, Any], bool]] = {
    "token": _token,
    "date": _date,
    "string": _string,
    "reference": _reference,
}
