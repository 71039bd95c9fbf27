"""Which scopes to ask for, and what the granted scope string allows (SMART App Launch 2.2, scopes-and-launch-context).

v2 (`patient/*.rs`) where the server says `permission-v2`, else v1 (`patient/*.read`); always
`launch/patient openid fhirUser offline_access`; one scope per resource type where the vendor wants a list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["GrantedScope", "IDENTITY_SCOPES", "choose_scopes"]

IDENTITY_SCOPES = ("launch/patient", "openid", "fhirUser", "offline_access")


def choose_scopes(
    capabilities: Iterable[str],
    *,
    per_type: Sequence[str] = (),
    extra: Sequence[str] = (),
    version: str | None = None,
) -> list[str]:
    """The scope list for a read-only patient app. `per_type` (from the vendor quirk table) replaces the wildcard."""
    caps = set(capabilities)
    v2 = version == "v2" if version else ("permission-v2" in caps)
    suffix = "rs" if v2 else "read"
    scopes = list(IDENTITY_SCOPES)
    if per_type:
        scopes += [f"patient/{rtype}.{suffix}" for rtype in per_type]
    else:
        scopes.append(f"patient/*.{suffix}")
    scopes += [s for s in extra if s not in scopes]
    return scopes


@dataclass(frozen=True)
class GrantedScope:
    """The scope string the token endpoint returned, read as: which resource types may Carry read and search."""

    text: str

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.text.split())

    def _patient_grants(self) -> list[tuple[str, str]]:
        grants = []
        for scope in self.scopes:
            context, _, rest = scope.partition("/")
            if context not in ("patient", "user") or not rest:
                continue
            rtype, _, perms = rest.partition(".")
            perms = perms.split("?", 1)[0]
            grants.append((rtype, perms))
        return grants

    def allows(self, resource_type: str, *, search: bool = True) -> bool:
        for rtype, perms in self._patient_grants():
            if rtype not in ("*", resource_type):
                continue
            if perms in ("read", "*") or (perms and set(perms) <= set("cruds") and "r" in perms and (not search or "s" in perms)):
                return True
        return False

    @property
    def any_data(self) -> bool:
        return bool(self._patient_grants())

    @property
    def has_refresh(self) -> bool:
        return "offline_access" in self.scopes or "online_access" in self.scopes
