"""What a FHIR server says it can do, read from its CapabilityStatement (`GET [base]/metadata`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ServerCapabilities", "TypeCapabilities"]


@dataclass(frozen=True)
class TypeCapabilities:
    search_params: frozenset[str] = frozenset()
    revincludes: frozenset[str] = frozenset()
    operations: frozenset[str] = frozenset()
    interactions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ServerCapabilities:
    types: Mapping[str, TypeCapabilities] = field(default_factory=dict)
    software: str = ""
    name: str = ""
    publisher: str = ""
    fhir_version: str = ""
    declared: bool = False  # False when the server gave no usable CapabilityStatement

    @classmethod
    def from_statement(cls, statement: Any) -> ServerCapabilities:
        if not isinstance(statement, dict) or statement.get("resourceType") != "CapabilityStatement":
            return cls()
        types: dict[str, TypeCapabilities] = {}
        for rest in statement.get("rest") or []:
            if not isinstance(rest, dict) or rest.get("mode", "server") != "server":
                continue
            for res in rest.get("resource") or []:
                if not isinstance(res, dict) or not isinstance(res.get("type"), str):
                    continue
                types[res["type"]] = TypeCapabilities(
                    frozenset(_names(res.get("searchParam"))),
                    frozenset(v for v in res.get("searchRevInclude") or [] if isinstance(v, str)),
                    frozenset(_names(res.get("operation"))),
                    frozenset(
                        i["code"] for i in res.get("interaction") or [] if isinstance(i, dict) and isinstance(i.get("code"), str)
                    ),
                )
        software: dict[str, Any] = statement["software"] if isinstance(statement.get("software"), dict) else {}
        implementation: dict[str, Any] = (
            statement["implementation"] if isinstance(statement.get("implementation"), dict) else {}
        )
        return cls(
            types,
            str(software.get("name") or ""),
            str(implementation.get("description") or statement.get("title") or statement.get("name") or ""),
            str(statement.get("publisher") or ""),
            str(statement.get("fhirVersion") or ""),
            declared=bool(types),
        )

    def supports_type(self, resource_type: str) -> bool:
        return not self.declared or resource_type in self.types

    def searchable_by_patient(self) -> list[str]:
        return sorted(t for t, caps in self.types.items() if "patient" in caps.search_params)

    def declares_param(self, resource_type: str, param: str) -> bool:
        caps = self.types.get(resource_type)
        return caps is not None and param in caps.search_params

    def declares_revinclude(self, resource_type: str, value: str) -> bool:
        caps = self.types.get(resource_type)
        return caps is not None and value in caps.revincludes

    def declares_everything(self) -> bool:
        caps = self.types.get("Patient")
        return caps is not None and "everything" in caps.operations

    @property
    def label(self) -> str:
        return " ".join(part for part in (self.software, self.name, self.publisher) if part)


def _names(items: Any) -> list[str]:
    return [i["name"].lstrip("$") for i in items or [] if isinstance(i, dict) and isinstance(i.get("name"), str)]
