"""Discovery: .well-known/smart-configuration, openid-configuration, the CapabilityStatement and the JWKS."""

from __future__ import annotations

import httpx

from sync.sandbox import SandboxServer

REQUIRED_CAPABILITIES = {
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "context-standalone-patient",
    "permission-patient",
    "permission-offline",
    "permission-v1",
    "permission-v2",
    "sso-openid-connect",
}


def test_smart_configuration_has_every_required_field(sandbox: SandboxServer, http: httpx.Client) -> None:
    response = http.get(f"{sandbox.base_url}/.well-known/smart-configuration", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")  # whatever Accept says
    config = response.json()
    assert REQUIRED_CAPABILITIES <= set(config["capabilities"])
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["issuer"] == sandbox.base_url
    assert "authorization_code" in config["grant_types_supported"]
    assert config["response_types_supported"] == ["code"]
    assert "patient/*.rs" in config["scopes_supported"] and "offline_access" in config["scopes_supported"]
    for name in ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "management_endpoint",
                 "introspection_endpoint", "jwks_uri"):
        assert config[name].startswith(sandbox.origin + "/"), name  # absolute, same origin
    assert http.get(config["management_endpoint"]).status_code == 200
    assert "client_secret_basic" in config["token_endpoint_auth_methods_supported"]


def test_openid_configuration_and_jwks(sandbox: SandboxServer, http: httpx.Client) -> None:
    oidc = http.get(f"{sandbox.base_url}/.well-known/openid-configuration").json()
    assert oidc["issuer"] == sandbox.base_url
    assert "RS256" in oidc["id_token_signing_alg_values_supported"]
    keys = http.get(oidc["jwks_uri"]).json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["kid"]
    assert "d" not in keys[0] and "p" not in keys[0]  # the public half only


def test_capability_statement_lists_what_the_server_supports(sandbox: SandboxServer, http: httpx.Client) -> None:
    response = http.get(f"{sandbox.base_url}/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1" and statement["kind"] == "instance"
    rest = statement["rest"][0]
    oauth = next(e for e in rest["security"]["extension"] if e["url"].endswith("/oauth-uris"))
    uris = {e["url"]: e["valueUri"] for e in oauth["extension"]}
    assert uris["authorize"] == f"{sandbox.origin}/auth/authorize"
    assert uris["token"] == f"{sandbox.origin}/auth/token"
    resources = {r["type"]: r for r in rest["resource"]}
    observation = resources["Observation"]
    assert {i["code"] for i in observation["interaction"]} == {"read", "search-type", "create"}
    params = {p["name"] for p in observation["searchParam"]}
    assert {"patient", "category", "code", "date", "status", "_lastUpdated", "_id"} <= params
    assert observation["searchRevInclude"] == ["Provenance:target"]
    assert {p["name"] for p in resources["MedicationRequest"]["searchParam"]} >= {"intent", "status"}
    assert {i["code"] for i in resources["Condition"]["interaction"]} == {"read", "search-type"}
    assert {i["code"] for i in resources["Binary"]["interaction"]} == {"read"}
    last_updated = next(p for p in observation["searchParam"] if p["name"] == "_lastUpdated")
    assert "deletions are not detected" in last_updated["documentation"]


def test_metadata_refuses_xml(sandbox: SandboxServer, http: httpx.Client) -> None:
    response = http.get(f"{sandbox.base_url}/metadata", headers={"Accept": "application/fhir+xml"})
    assert response.status_code == 406
    assert response.json()["resourceType"] == "OperationOutcome"


def test_home_page_names_the_fhir_base(sandbox: SandboxServer, http: httpx.Client) -> None:
    response = http.get(sandbox.origin + "/")
    assert response.status_code == 200 and sandbox.base_url in response.text
