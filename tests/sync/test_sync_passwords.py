"""One password-hashing module (issue 14 item 6) for the app server's login and the share links' passcodes: one
format, and the hashes earlier versions stored in either of the two old formats still verify."""

from __future__ import annotations

import time

from app.server import LoginConfig
from sync.passwords import check_secret, hash_secret
from sync.share.host.hosting.api import _PASSCODE_HASH

# Made by the login code before this module (standard base64: note the + and /) for "correct horse".
OLD_LOGIN_HASH = "scrypt$16384$8$1$X+zrZv/IbzjZUnhsbWlseQ==$Kn6rm1fSbY4LZ90SCs7IjKDSPTniRlCUV5T2rxLsiXo="
# Made by the passcode code before this module (URL-safe base64: note the - and _) for "1234".
OLD_PASSCODE_HASH = "scrypt$16384$8$1$LXEWQrcmsEQBYnyp-6wy9Q==$teC_FSvuP4Q53bQSGsxv_bKExDk4qFQVD0bSv1F5bX8="


def test_a_new_hash_verifies_only_its_secret_and_is_what_a_carry_host_accepts() -> None:
    stored = hash_secret("sesame-4711")
    assert check_secret("sesame-4711", stored) and not check_secret("sesame-4712", stored)
    assert stored != hash_secret("sesame-4711")  # a fresh salt each time
    assert _PASSCODE_HASH.fullmatch(stored), stored  # the publish API checks the shape of what it keeps


def test_hashes_stored_in_both_old_formats_still_verify() -> None:
    assert check_secret("correct horse", OLD_LOGIN_HASH) and not check_secret("correct horsf", OLD_LOGIN_HASH)
    assert check_secret("1234", OLD_PASSCODE_HASH) and not check_secret("1235", OLD_PASSCODE_HASH)
    login = LoginConfig("alex", OLD_LOGIN_HASH, "a-secret")
    assert login.check("alex", "correct horse") and not login.check("sam", "correct horse")


def test_a_malformed_or_too_costly_hash_is_refused_not_computed() -> None:
    for stored in ("", "scrypt$1$2", "bcrypt$16384$8$1$AAAA$AAAA", "scrypt$x$8$1$AAAA$AAAA", "scrypt$16384$8$1$%%$%%"):
        assert not check_secret("1234", stored), stored
    started = time.monotonic()
    assert not check_secret("1234", "scrypt$1073741824$8$1$LXEWQrcmsEQBYnyp-6wy9Q==$AAAA")  # 1 TiB of memory asked
    assert time.monotonic() - started < 1
