"""Where a link can be opened from: loopback, private and internal addresses, and plain http, reach only this
computer's network, and a clinic's scanner refuses them."""

from __future__ import annotations

import pytest

from sync.share import LOCAL_ONLY, reach_warning


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8550/shl", "http://localhost:8550/shl", "https://localhost/shl", "https://192.168.1.20/shl",
    "https://10.0.0.5/shl", "https://172.16.3.4/shl", "https://169.254.1.1/shl", "https://[::1]/shl",
    "https://[fd00::1]/shl", "https://nas.local/shl", "https://homeserver/shl", "http://share.example.org/shl",
    "https://100.64.0.1/shl",
])  # fmt: skip
def test_local_addresses_are_said_to_be_local(url: str) -> None:
    assert reach_warning(url) == LOCAL_ONLY


@pytest.mark.parametrize("url", ["https://share.example.org/shl", "https://8.8.8.8/shl", "https://[2606:4700::1]/shl"])
def test_public_https_addresses_pass(url: str) -> None:
    assert reach_warning(url) is None


def test_the_warning_says_what_to_do() -> None:
    assert "a clinic's scanner will refuse it" in LOCAL_ONLY and "PDF" in LOCAL_ONLY
