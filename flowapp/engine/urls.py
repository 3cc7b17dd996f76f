"""Which URLs an HTTP request node may call.

An automation author must not be able to make the server call itself or its neighbours (the
database, Redis, a cloud metadata service). This checks the scheme and IP literals; the service
resolves DNS names and checks the addresses again right before calling, which this module cannot do
without I/O.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

SCHEMES = ("http", "https")


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # "2130706433", "0x7f.1" and "127.1" are 127.0.0.1 to the C resolver: decode them the same way.
    if host.replace(".", "").replace("x", "").replace("X", "").isalnum() and host[:1].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Private, loopback, link-local, reserved, multicast or unspecified (IPv4-mapped included)."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def check_url(url: str, allow_private: bool) -> str | None:
    """Why `url` must not be called, or None when it may be.

    Refuses schemes other than http(s), URLs without a host, and (unless `allow_private`)
    "localhost" and private, loopback, link-local, reserved or multicast IP literals.
    """
    if not isinstance(url, str) or not url.strip():
        return "a URL is required"
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port outside 0-65535
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme.lower() not in SCHEMES:
        return "only http:// and https:// URLs can be called"
    if not host:
        return "the URL has no host name"
    if allow_private:
        return None
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "calls to localhost are not allowed"
    address = _ip_literal(host)
    if address is not None and is_internal(address):
        return f"calls to the internal address {address} are not allowed"
    return None
