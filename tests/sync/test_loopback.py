"""Plain http only to this machine, decided by parsing the address: a host name that merely starts with `127.` is
anyone's host, for the portal connection, the share's public address, the links' manifest URLs and the directory."""

from __future__ import annotations

import pytest
from support.cli import one_line_refusal, run_carry

from sync.directory.formats import usable_base
from sync.http import is_https_or_loopback, is_loopback
from sync.share import check_manifest_url
from sync.share.errors import LinkError
from sync.smart.discovery import normalise_base
from sync.smart.errors import DiscoveryError

FOREIGN = [
    "http://127.attacker.example/fhir",
    "http://127.0.0.1.attacker.example/fhir",
    "http://127.0.0.1@attacker.example/fhir",
    "http://localhost.attacker.example/fhir",
    "http://[::ffff:8.8.8.8]/fhir",
    "http://10.0.0.1/fhir",
    "http://[::1/fhir",
]
LOCAL = ["http://127.0.0.1:8551/fhir", "http://127.9.8.7/fhir", "http://localhost:8550/fhir", "http://[::1]:8550/fhir"]


@pytest.mark.parametrize("url", FOREIGN)
def test_a_host_that_only_looks_local_is_not_loopback(url: str) -> None:
    assert not is_loopback(url)
    assert not is_https_or_loopback(url)
    with pytest.raises(DiscoveryError, match="only connects to portals over https"):
        normalise_base(url)
    assert usable_base(url) is None
    with pytest.raises(LinkError, match="must start with https://"):
        check_manifest_url(url.replace("/fhir", "/shl/" + "A" * 43))


@pytest.mark.parametrize("url", LOCAL)
def test_this_machine_may_use_plain_http(url: str) -> None:
    assert is_loopback(url) and is_https_or_loopback(url)
    assert normalise_base(url) == url
    check_manifest_url(url.replace("/fhir", "/shl/" + "A" * 43))


def test_the_share_public_url_check_parses_the_host() -> None:
    for url in ("http://127.attacker.example", "http://127.0.0.1@attacker.example"):
        line = one_line_refusal(run_carry("share", "settings", "--public-url", url, env={}))
        assert line == "carry: The public address for shared links must start with https:// (or be this computer)."
    done = run_carry("share", "settings", "--public-url", "http://127.0.0.1:8550", env={})
    assert done.returncode == 0 and "http://127.0.0.1:8550/shl" in done.stdout
