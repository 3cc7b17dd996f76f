"""check_url: http(s) only, and no localhost or internal IP literals unless allowed."""

from __future__ import annotations

import pytest

from flowapp.engine import check_url


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "http://example.com:8080/x?y=1",
        "https://8.8.8.8/",
        "https://[2001:4860::8888]/",
    ],
)
def test_public_urls_pass(url):
    """Public hosts and IPs are allowed."""
    assert check_url(url, allow_private=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/",
        "http://LOCALHOST:5000/",
        "http://api.localhost/",
        "http://127.0.0.1/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://224.0.0.1/",
    ],
)
def test_internal_addresses_are_refused(url):
    """Loopback, private, link-local, reserved and multicast literals (in any notation) are refused."""
    assert check_url(url, allow_private=False) is not None
    assert check_url(url, allow_private=True) is None


@pytest.mark.parametrize(
    "url,fragment",
    [
        ("ftp://example.com/", "only http"),
        ("file:///etc/passwd", "only http"),
        ("javascript:alert(1)", "only http"),
        ("https:///path", "no host"),
        ("", "required"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_malformed_urls_are_refused_even_when_private_is_allowed(url, fragment):
    """Scheme and host are checked whatever the configuration."""
    assert fragment in check_url(url, allow_private=True)
