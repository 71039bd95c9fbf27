"""All of Carry's JOSE, in one module (the only one importing joserfc).

Three uses:
- SMART Health Link files: compact JWE, `alg: dir`, `enc: A256GCM`, `cty` naming the content, optional `zip: DEF`
  (raw DEFLATE, RFC 1951). The link's 32-byte key is used for every file version, so each encryption takes a fresh
  random 96-bit IV (joserfc draws one per call; tests check it).
- SMART Health Cards: compact JWS, ES256 over P-256, the payload raw-DEFLATEd (`zip: DEF` in the JWS header, which
  JWS itself does not define, so it is registered here), checked against the issuer's published key set.
- Access entries sealed for the patient: the share host writes who opened a link, encrypted to the public key of
  the patient's record (ECDH-ES+A256KW over X25519, A256GCM), so the host never holds anything it can read.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey, OKPKey
from joserfc.registry import HeaderParameter

from ..errors import DecryptionFailed, LinkError

__all__ = [
    "MAX_FILE_BYTES",
    "decrypt",
    "encrypt",
    "new_access_keypair",
    "open_sealed",
    "seal",
    "verify_signed",
]

# A patient summary with years of results is a few MB at most; anything far larger is refused before decrypting.
MAX_FILE_BYTES = 32 * 1024 * 1024

_FILE_ALGORITHMS = ["dir", "A256GCM", "DEF"]
_SEAL_ALGORITHMS = ["ECDH-ES+A256KW", "A256GCM"]


class _RawDeflate:
    """`zip: DEF` with our own size cap (joserfc's built-in one stops at 250 KB, too small for a full summary)."""

    name = "DEF"
    description = "DEFLATE"
    recommended = True
    algorithm_type = "JWE"
    algorithm_location = "zip"

    def compress(self, s: bytes) -> bytes:
        packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        return packer.compress(s) + packer.flush()

    def decompress(self, s: bytes) -> bytes:
        # The spec says raw DEFLATE; some producers add a zlib header. Accept both, never beyond the cap.
        wbits = zlib.MAX_WBITS if s[:2] == b"\x78\x9c" else -zlib.MAX_WBITS
        unpacker = zlib.decompressobj(wbits)
        try:
            out = unpacker.decompress(s, MAX_FILE_BYTES)
        except zlib.error as exc:
            raise DecryptionFailed("The shared file was decrypted but could not be decompressed.") from exc
        if unpacker.unconsumed_tail:
            raise DecryptionFailed("The shared file is larger than Carry accepts (32 MB).")
        return out


class _FileRegistry(jwe.JWERegistry):
    max_ciphertext_length = MAX_FILE_BYTES
    max_protected_header_length = 4096

    def get_zip(self, name: str) -> Any:
        if name != "DEF":
            raise LinkError(f"The shared file is compressed with {name!r}, which SMART Health Links do not use.")
        return _RawDeflate()


# Health cards are signed with ES256 only (SMART Health Cards spec); any other algorithm is refused before verifying.
_cards = jws.JWSRegistry(header_registry={"zip": HeaderParameter("Compression", "str")}, algorithms=["ES256"])
_files = _FileRegistry(algorithms=_FILE_ALGORITHMS, strict_check_header=False)
_seals = jwe.JWERegistry(algorithms=_SEAL_ALGORITHMS)


def _file_key(key: bytes) -> OctKey:
    if not isinstance(key, bytes) or len(key) != 32:
        raise LinkError("A SMART Health Link key must be 32 bytes.")
    return OctKey.import_key(key)


def encrypt(plaintext: bytes, key: bytes, content_type: str, *, zip: bool = False) -> str:
    """Compact JWE of `plaintext` under the link key, with a fresh random IV."""
    header: dict[str, Any] = {"alg": "dir", "enc": "A256GCM", "cty": content_type}
    if zip:
        header["zip"] = "DEF"
    try:
        return jwe.encrypt_compact(header, plaintext, _file_key(key), registry=_files)
    except JoseError as exc:
        raise LinkError("Carry could not encrypt the shared file.") from exc


def decrypt(token: str | bytes, key: bytes) -> tuple[str | None, bytes]:
    """(content type from `cty`, or None when the sender left it out; plaintext). Raises DecryptionFailed."""
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError as exc:
            raise DecryptionFailed("The shared file is not an encrypted SMART Health Link file.") from exc
    token = token.strip()
    if token.count(".") != 4:
        raise DecryptionFailed("The shared file is not an encrypted SMART Health Link file.")
    if len(token) > MAX_FILE_BYTES * 4 // 3 + 8192:
        raise DecryptionFailed("The shared file is larger than Carry accepts (32 MB).")
    try:
        result = jwe.decrypt_compact(token, _file_key(key), registry=_files)
    except (JoseError, ValueError, TypeError) as exc:
        raise DecryptionFailed(
            "The shared file could not be decrypted with the link's key: the link is wrong or the file was altered."
        ) from exc
    cty = result.protected.get("cty")
    return (cty if isinstance(cty, str) else None), result.plaintext or b""


def new_access_keypair() -> tuple[dict[str, Any], dict[str, Any]]:
    """(private JWK, public JWK) on X25519. The private half belongs in the encrypted record only."""
    key = OKPKey.generate_key("X25519")
    return dict(key.as_dict(private=True)), dict(key.as_dict(private=False))


def seal(public_jwk: dict[str, Any], payload: dict[str, Any]) -> str:
    """Encrypt a small JSON object so that only the holder of the private key can read it."""
    try:
        key = OKPKey.import_key(public_jwk)
        data = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return jwe.encrypt_compact({"alg": "ECDH-ES+A256KW", "enc": "A256GCM"}, data, key, registry=_seals)
    except (JoseError, ValueError, TypeError) as exc:
        raise LinkError("The public key for access entries is not an X25519 JWK.") from exc


def open_sealed(private_jwk: dict[str, Any], sealed: str) -> dict[str, Any]:
    try:
        result = jwe.decrypt_compact(sealed, OKPKey.import_key(private_jwk), registry=_seals)
        value = json.loads(result.plaintext or b"")
    except (JoseError, ValueError, TypeError) as exc:
        raise DecryptionFailed("An access entry could not be opened with this record's key.") from exc
    if not isinstance(value, dict):
        raise DecryptionFailed("An access entry did not hold what Carry writes.")
    return value


def verify_signed(token: str, key_set: dict[str, Any]) -> bytes:
    """The payload of a compact ES256 JWS whose signature one key of `key_set` (a JWKS) verifies, as sent (still
    compressed when the header says `zip: DEF`). Raises DecryptionFailed when no key verifies it."""
    try:
        keys = KeySet.import_key_set(key_set)  # type: ignore[arg-type]
        result = jws.deserialize_compact(token, keys, algorithms=["ES256"], registry=_cards)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise DecryptionFailed("The health card's signature does not match its issuer's keys.") from exc
    return result.payload or b""
