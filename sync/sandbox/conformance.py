"""What the sandbox says about itself: SMART discovery, OpenID configuration and the CapabilityStatement.

Everything listed here is implemented and tested; nothing is advertised that the server would refuse.
"""

from __future__ import annotations

from typing import Any

from .search import REFERENCE_TYPES, params_for

__all__ = [
    "JWT_BEARER",
    "CAPABILITIES",
    "CREATABLE_TYPES",
    "SCOPES_SUPPORTED",
    "SOFTWARE_NAME",
    "capability_statement",
    "openid_configuration",
    "smart_configuration",
]

SOFTWARE_NAME = "Carry sandbox portal"  # its CapabilityStatement's software: how Carry knows its demo hospital

CAPABILITIES = [
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-standalone-patient",
    "permission-patient",
    "permission-offline",
    "permission-v1",
    "permission-v2",
    "sso-openid-connect",
    "authorize-post",
]
SCOPES_SUPPORTED = [
    "openid",
    "fhirUser",
    "profile",
    "launch/patient",
    "offline_access",
    "online_access",
    "patient/*.rs",
    "patient/*.read",
    "user/*.rs",
    "user/*.read",
    "patient/DocumentReference.c",
    "patient/Observation.c",
]
CREATABLE_TYPES = ("DocumentReference", "Observation")
_SEARCH_TYPE = {"token": "token", "id": "token", "date": "date", "string": "string", "reference": "reference", "patient": "reference"}


def _endpoints(origin: str) -> dict[str, str]:
    return {
        "authorization_endpoint": f"{origin}/auth/authorize",
        "token_endpoint": f"{origin}/auth/token",
        "revocation_endpoint": f"{origin}/auth/revoke",
        "introspection_endpoint": f"{origin}/auth/introspect",
        "management_endpoint": f"{origin}/auth/manage",
        "jwks_uri": f"{origin}/auth/jwks",
    }


JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def smart_configuration(base: str, origin: str, *, registration: bool = False) -> dict[str, Any]:
    # With registration, Epic's pattern for patient apps: a client per device (RFC 7591), renewed by JWT bearer.
    offered = {"registration_endpoint": f"{origin}/auth/register"} if registration else {}
    return {
        "issuer": base,
        **_endpoints(origin),
        **offered,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["authorization_code", "refresh_token", *([JWT_BEARER] if registration else [])],
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES,
    }


def openid_configuration(base: str, origin: str) -> dict[str, Any]:
    ends = _endpoints(origin)
    return {
        "issuer": base,
        "authorization_endpoint": ends["authorization_endpoint"],
        "token_endpoint": ends["token_endpoint"],
        "jwks_uri": ends["jwks_uri"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "fhirUser", "profile"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser", "name"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt", "none"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }


def capability_statement(base: str, origin: str, types: list[str], started: str) -> dict[str, Any]:
    ends = _endpoints(origin)
    resources = []
    for rtype in sorted(set(types) | set(CREATABLE_TYPES) | {"Patient"}):
        entry: dict[str, Any] = {"type": rtype}
        interactions = [{"code": "read"}]
        if rtype != "Binary":
            interactions.append({"code": "search-type"})
        if rtype in CREATABLE_TYPES:
            interactions.append({"code": "create"})
        entry["interaction"] = interactions
        params = params_for(rtype)
        if params:
            entry["searchParam"] = [
                {"name": p.name, "type": _SEARCH_TYPE[p.kind], **({"documentation": p.documentation} if p.documentation else {})}
                for p in params.values()
            ]
        if rtype not in REFERENCE_TYPES and rtype != "Binary":
            entry["searchRevInclude"] = ["Provenance:target"]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": started,
        "publisher": "Carry",
        "kind": "instance",
        "software": {"name": SOFTWARE_NAME},
        "implementation": {"description": "Carry Demo Hospital (synthetic patients)", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [
                                {"url": "authorize", "valueUri": ends["authorization_endpoint"]},
                                {"url": "token", "valueUri": ends["token_endpoint"]},
                                {"url": "revoke", "valueUri": ends["revocation_endpoint"]},
                                {"url": "introspect", "valueUri": ends["introspection_endpoint"]},
                                {"url": "manage", "valueUri": ends["management_endpoint"]},
                            ],
                        }
                    ],
                },
                "resource": resources,
            }
        ],
    }
