"""SMART Health Link payloads and file encryption: the spec's rules, the HL7 vectors, and an independent JOSE
library (jwcrypto) reading what Carry writes."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest
from jwcrypto import jwe as jwcrypto_jwe
from jwcrypto import jwk as jwcrypto_jwk
from share_helpers import DATA

from sync.share import (
    DecryptionFailed,
    LinkError,
    SHLinkPayload,
    check_manifest_url,
    decode_link,
    decrypt,
    encode_link,
    encrypt,
    health_card_bundles,
    manifest,
    manifest_file,
    new_payload,
)

BASE = "https://share.example.org/shl"
VECTOR_KEY = base64.urlsafe_b64decode("rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q=")


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _details() -> dict[str, Any]:
    return json.loads((DATA / "shl" / "IPS_IG-bundle-01-shl-details.json").read_text())


# --- payload -----------------------------------------------------------------------------------------------------


def test_new_payload_follows_the_rules() -> None:
    payload = new_payload(BASE, flag="LP", label="Summary for Dr. Rivera", exp=1767225600)
    assert len(payload.url) <= 128
    link_id = payload.url.rsplit("/", 1)[1]
    assert len(link_id) == 43 and len(_b64(link_id)) == 32  # 256 bits of entropy
    assert len(payload.key) == 32
    data = json.loads(_b64(encode_link(payload)[len("shlink:/"):]))
    assert data == {"url": payload.url, "key": data["key"], "exp": 1767225600, "flag": "LP",
                    "label": "Summary for Dr. Rivera"}
    assert len(data["key"]) == 43 and _b64(data["key"]) == payload.key
    assert isinstance(data["exp"], int)
    assert "," not in encode_link(payload) and " " not in encode_link(payload)


def test_links_differ_every_time() -> None:
    first, second = new_payload(BASE), new_payload(BASE)
    assert first.url != second.url and first.key != second.key


def test_key_never_in_repr() -> None:
    payload = new_payload(BASE)
    key_text = base64.urlsafe_b64encode(payload.key).rstrip(b"=").decode()
    assert key_text not in repr(payload) and str(payload.key) not in repr(payload)


def test_round_trip_bare_and_viewer_prefixed() -> None:
    payload = new_payload(BASE, flag="U", label="Ünïcode label ✓")
    assert decode_link(encode_link(payload)) == payload
    viewer = encode_link(payload, viewer="https://viewer.example.org/shlink.html")
    assert viewer.startswith("https://viewer.example.org/shlink.html#shlink:/")
    assert decode_link(viewer) == payload


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"flag": "PU"}, "cannot also need a passcode"),
        ({"flag": "PL"}, "alphabetical order"),
        ({"flag": "LL"}, "only once"),
        ({"flag": "X"}, "not a SMART Health Link flag"),
        ({"label": "x" * 81}, "at most 80"),
    ],
)
def test_payload_rules_are_enforced(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(LinkError, match=message):
        new_payload(BASE, **kwargs)


def test_label_of_80_characters_is_fine() -> None:
    assert new_payload(BASE, label="x" * 80).label == "x" * 80


def test_url_length_and_entropy() -> None:
    with pytest.raises(LinkError, match="at most 128"):
        new_payload("https://share.example.org/" + "a" * 60)
    with pytest.raises(LinkError, match="256 bits"):
        check_manifest_url("https://share.example.org/shl/short-id")
    with pytest.raises(LinkError, match="https"):
        check_manifest_url("http://share.example.org/shl/" + "A" * 43)
    check_manifest_url("https://share.example.org/shl/" + "A" * 43)


def test_hl7_links_decode() -> None:
    details = _details()
    expected = details["shlinkJsonPayload"]
    for text in (details["shlink"], details["shlinkBare"]):
        payload = decode_link(text)
        assert payload.url == expected["url"]
        assert payload.key == VECTOR_KEY
        assert payload.flag == "LU" and payload.label == expected["label"]
    payload2 = json.loads((DATA / "shl" / "shl-payload-2.json").read_text())
    link = "shlink:/" + base64.urlsafe_b64encode(json.dumps(payload2).encode()).rstrip(b"=").decode()
    assert decode_link(link).flag == "LU"


def _link(data: dict[str, Any]) -> str:
    return "shlink:/" + base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_receivers_refuse_what_the_spec_forbids() -> None:
    # The IG's shl-payload-1.json gives exp as a string of milliseconds: not a number of seconds.
    bad = json.loads((DATA / "shl" / "shl-payload-1.json").read_text())
    with pytest.raises(LinkError, match="not a number of seconds"):
        decode_link(_link(bad))
    good = {"url": BASE + "/" + "A" * 43, "key": "rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q"}
    with pytest.raises(LinkError, match="version 2"):
        decode_link(_link({**good, "v": 2}))
    with pytest.raises(LinkError, match="no valid key"):
        decode_link(_link({**good, "key": "short"}))
    with pytest.raises(LinkError, match="no valid address"):
        decode_link(_link({**good, "url": "ftp://x"}))
    with pytest.raises(LinkError, match="both a passcode and a direct download"):
        decode_link(_link({**good, "flag": "PU"}))
    with pytest.raises(LinkError, match="should start with shlink:/"):
        decode_link("https://example.org/not-a-link")
    with pytest.raises(LinkError, match="damaged"):
        decode_link("shlink:/%%%")
    # Unknown properties and flags are ignored, as receivers must.
    payload = decode_link(_link({**good, "flag": "LPZ", "extension": {"x": 1}, "v": 1}))
    assert payload.flag == "LP" and payload.v == 1


def test_manifest_builders() -> None:
    listed = [manifest_file("application/fhir+json", location="https://x/1", last_updated="2026-01-01T00:00:00Z"),
              manifest_file("application/smart-health-card", embedded="a.b.c.d.e")]
    assert manifest(listed) == {"files": [
        {"contentType": "application/fhir+json", "location": "https://x/1", "lastUpdated": "2026-01-01T00:00:00Z"},
        {"contentType": "application/smart-health-card", "embedded": "a.b.c.d.e"}]}
    with pytest.raises(LinkError, match="exactly one of location or embedded"):
        manifest_file("application/fhir+json", location="x", embedded="y")
    with pytest.raises(LinkError, match="not a content type"):
        manifest_file("text/plain", location="x")


# --- encryption --------------------------------------------------------------------------------------------------


def _header(token: str) -> dict[str, Any]:
    return json.loads(_b64(token.split(".")[0]))


def test_hl7_ips_vector_decrypts() -> None:
    details = _details()
    key = _b64(details["shlinkJsonPayload"]["key"])
    token = (DATA / "shl" / "IPS_IG-bundle-01-enc.txt").read_text()
    content_type, plaintext = decrypt(token, key)
    assert content_type is None  # this vector has no cty; receivers must cope
    assert json.loads(plaintext) == json.loads((DATA / "ips" / "IPS_IG-bundle-01.json").read_text())


def test_spec_example_decrypts_to_a_health_card() -> None:
    token = (DATA / "shl" / "spec-example-encrypted-shc.jwe").read_text()
    content_type, plaintext = decrypt(token, VECTOR_KEY)
    assert content_type == "application/smart-health-card"
    bundles = health_card_bundles(plaintext)
    assert bundles and bundles[0]["resourceType"] == "Bundle"


def test_health_card_file_yields_its_bundle() -> None:
    card = (DATA / "shc" / "example-00-e-file.smart-health-card").read_bytes()
    expected = json.loads((DATA / "shc" / "example-00-a-fhirBundle.json").read_text())
    assert health_card_bundles(card) == [expected]
    with pytest.raises(LinkError):
        health_card_bundles(b'{"verifiableCredential": ["not.a.card"]}')


@pytest.mark.parametrize("zip_it", [False, True])
def test_jwcrypto_decrypts_what_carry_encrypts(zip_it: bool) -> None:
    key = secrets.token_bytes(32)
    plaintext = json.dumps({"resourceType": "Bundle", "type": "document", "pad": "x" * 5000}).encode()
    token = encrypt(plaintext, key, "application/fhir+json", zip=zip_it)
    parts = token.split(".")
    assert len(parts) == 5 and parts[1] == ""  # dir: empty encrypted-key segment
    header = _header(token)
    assert header["alg"] == "dir" and header["enc"] == "A256GCM"
    assert header["cty"] == "application/fhir+json"
    assert header.get("zip") == ("DEF" if zip_it else None)
    assert len(_b64(parts[2])) == 12  # 96-bit IV
    other = jwcrypto_jwe.JWE()
    other.deserialize(token, key=jwcrypto_jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(key).rstrip(b"=").decode()))
    assert other.payload == plaintext
    if zip_it:
        assert len(token) < len(plaintext)


def test_carry_decrypts_what_jwcrypto_encrypts() -> None:
    key = secrets.token_bytes(32)
    jwk = jwcrypto_jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(key).rstrip(b"=").decode())
    other = jwcrypto_jwe.JWE(b'{"resourceType":"Patient"}', json.dumps(
        {"alg": "dir", "enc": "A256GCM", "cty": "application/fhir+json", "zip": "DEF"}))
    other.add_recipient(jwk)
    assert decrypt(other.serialize(compact=True), key) == ("application/fhir+json", b'{"resourceType":"Patient"}')


def test_iv_is_fresh_every_time() -> None:
    key = secrets.token_bytes(32)
    tokens = [encrypt(b"same plaintext", key, "application/fhir+json") for _ in range(500)]
    ivs = {t.split(".")[2] for t in tokens}
    assert len(ivs) == 500
    assert len({t.split(".")[3] for t in tokens}) == 500  # so the ciphertexts differ too


def test_zip_round_trip_of_a_large_summary() -> None:
    key = secrets.token_bytes(32)
    plaintext = json.dumps([{"resourceType": "Observation", "id": str(i)} for i in range(20000)]).encode()
    assert len(plaintext) > 250 * 1024  # beyond joserfc's own inflate cap, which Carry replaces
    assert decrypt(encrypt(plaintext, key, "application/fhir+json", zip=True), key)[1] == plaintext


def test_wrong_key_or_tampering_is_refused() -> None:
    key = secrets.token_bytes(32)
    token = encrypt(b"secret", key, "application/fhir+json")
    with pytest.raises(DecryptionFailed, match="could not be decrypted"):
        decrypt(token, secrets.token_bytes(32))
    head, empty, iv, ciphertext, tag = token.split(".")
    flipped = ("B" if ciphertext[0] != "B" else "C") + ciphertext[1:]
    with pytest.raises(DecryptionFailed):
        decrypt(".".join([head, empty, iv, flipped, tag]), key)
    with pytest.raises(DecryptionFailed, match="not an encrypted"):
        decrypt("not-a-jwe", key)
    with pytest.raises(LinkError, match="32 bytes"):
        encrypt(b"x", b"short", "application/fhir+json")


def test_payload_dataclass_is_frozen() -> None:
    payload = new_payload(BASE)
    with pytest.raises(AttributeError):
        payload.url = "x"  # type: ignore[misc]
    assert isinstance(payload, SHLinkPayload)


def test_a_link_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # An id typed after `carry share revoke` must not be taken for an option: one that would begin with "-" (the
    # first byte 0xF8 encodes as "-") is drawn again.
    import secrets

    from sync.share.codec import shl

    draws = iter([b"\xf8" + b"\x01" * 31, b"\x00" * 32])
    monkeypatch.setattr(secrets, "token_bytes", lambda n: next(draws))
    assert shl.new_link_id() == "A" * 43
    monkeypatch.undo()
    real = [shl.new_link_id() for _ in range(300)]
    assert all(len(i) == 43 and not i.startswith("-") for i in real)
