"""SMART scopes, v1 and v2 (SMART App Launch 2.2, scopes-and-launch-context), as the sandbox grants and checks them.

A granted scope string is kept in the syntax the app asked for (v1 stays v1), as the spec recommends. Scopes the
sandbox does not grant (system/ scopes, malformed or unknown ones, `launch` without an EHR launch) are dropped
from the grant rather than refused, so an app has to read the `scope` it was actually given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ..fhir.r4types import R4_RESOURCE_TYPES

__all__ = ["IDENTITY_SCOPES", "Access", "ResourceScope", "describe_scope", "grantable", "parse_resource_scope"]

IDENTITY_SCOPES = {
    "launch/patient": "Know which patient record you are signing in to",
    "openid": "Confirm who you are (an identity token)",
    "fhirUser": "Know the link to your patient record",
    "profile": "See your name",
    "offline_access": "Keep access while you are not using the app (a refresh token)",
    "online_access": "Keep access while you are signed in here (a refresh token)",
}

_RESOURCE_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)(\?.+)?$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_V2 = re.compile(r"^c?r?u?d?s?$")
_VERBS = {"c": "add to", "r": "read", "u": "change", "d": "delete", "s": "search"}


@dataclass(frozen=True, slots=True)
class ResourceScope:
    text: str
    level: str  # "patient" or "user" (system scopes are never granted here)
    resource_type: str  # a resource type or "*"
    permissions: frozenset[str]  # subset of "cruds"
    query: tuple[tuple[str, str], ...]  # granular constraints, e.g. (("category", "...|laboratory"),)
    v1: bool

    def covers(self, resource_type: str, permission: str) -> bool:
        return permission in self.permissions and self.resource_type in ("*", resource_type)


def parse_resource_scope(text: str) -> ResourceScope | None:
    """A patient/ or user/ resource scope, or None when `text` is not one the sandbox would grant."""
    match = _RESOURCE_SCOPE.match(text)
    if match is None:
        return None
    level, rtype, perms, query = match.groups()
    if level == "system":
        return None
    if rtype != "*" and rtype not in R4_RESOURCE_TYPES:
        return None
    v1 = perms in _V1
    if v1:
        if query:
            return None  # granular constraints exist only in v2
        letters = _V1[perms]
    elif perms and _V2.match(perms):
        letters = perms
    else:
        return None
    constraints = tuple(parse_qsl(query[1:], keep_blank_values=False)) if query else ()
    if query and not constraints:
        return None
    return ResourceScope(text, level, rtype, frozenset(letters), constraints, v1)


def grantable(scope: str) -> bool:
    return scope in IDENTITY_SCOPES or parse_resource_scope(scope) is not None


def describe_scope(scope: str) -> str:
    """A sentence for the consent page."""
    if scope in IDENTITY_SCOPES:
        return IDENTITY_SCOPES[scope]
    parsed = parse_resource_scope(scope)
    if parsed is None:
        return scope
    verbs = [_VERBS[letter] for letter in "cruds" if letter in parsed.permissions]
    what = "all of your health records" if parsed.resource_type == "*" else f"your {parsed.resource_type} records"
    if parsed.resource_type in ("Practitioner", "PractitionerRole", "Organization", "Location", "Medication"):
        what = f"{parsed.resource_type} records of this hospital"
    verb_text = ", ".join(verbs[:-1]) + " and " + verbs[-1] if len(verbs) > 1 else verbs[0]
    limit = " (only " + ", ".join(f"{k} {v}" for k, v in parsed.query) + ")" if parsed.query else ""
    return f"{verb_text.capitalize()} {what}{limit}"


@dataclass(frozen=True, slots=True)
class Access:
    """What a set of granted scopes lets a token do."""

    scopes: tuple[str, ...]
    resource_scopes: tuple[ResourceScope, ...]

    @classmethod
    def of(cls, scopes: Iterable[str]) -> Access:
        kept = tuple(dict.fromkeys(s for s in scopes if grantable(s)))
        parsed = tuple(p for p in (parse_resource_scope(s) for s in kept) if p is not None)
        return cls(kept, parsed)

    @property
    def text(self) -> str:
        return " ".join(self.scopes)

    @property
    def patient_context(self) -> bool:
        return "launch/patient" in self.scopes or any(s.level == "patient" for s in self.resource_scopes)

    @property
    def refresh(self) -> bool:
        return "offline_access" in self.scopes or "online_access" in self.scopes

    @property
    def openid(self) -> bool:
        return "openid" in self.scopes

    @property
    def fhir_user(self) -> bool:
        return "fhirUser" in self.scopes

    def allows(self, resource_type: str, permission: str) -> bool:
        return any(s.covers(resource_type, permission) for s in self.resource_scopes)

    def constraints(self, resource_type: str, permission: str) -> list[tuple[tuple[str, str], ...]] | None:
        """The granular constraints that apply: None when access is unconstrained, else one query per scope
        (a resource passes when it satisfies any of them)."""
        covering = [s for s in self.resource_scopes if s.covers(resource_type, permission)]
        if any(not s.query for s in covering):
            return None
        return [s.query for s in covering]

    def narrowed(self, keep: Sequence[str]) -> Access:
        wanted = set(keep)
        return Access.of(s for s in self.scopes if s in wanted)
