"""Receiver URLs: loopback, private, link-local, metadata and other non-public addresses
are refused (SSRF) unless an operator allow-list names them."""

from __future__ import annotations

import pytest

from adapters.outbound.url_guard import RefusedURLError, URLGuard

REFUSED = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.9/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://100.100.100.200/",  # Alibaba's metadata (shared address space)
    "http://[fd00:ec2::254]/",  # AWS's IPv6 metadata (unique local)
    "http://[::ffff:127.0.0.1]/",  # loopback spelled as IPv4-mapped IPv6
    "http://0.0.0.0/",
    "http://224.0.0.1/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(RefusedURLError, match="loopback, private, link-local or metadata"):
        URLGuard().check(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("http:///nohost", "no host"),
        ("http://user:pw@93.184.216.34/", "credentials"),
    ],
)
def test_malformed_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(RefusedURLError, match=why):
        URLGuard().check(url)


def test_a_public_address_is_accepted() -> None:
    URLGuard().check("https://93.184.216.34/hook")  # an IP literal: no DNS needed


def test_the_allow_list_admits_named_hosts_and_networks() -> None:
    guard = URLGuard(["127.0.0.1", "10.0.0.0/8", "receiver.internal"])
    guard.check("http://127.0.0.1:9000/hook")
    guard.check("http://10.20.30.40/hook")
    guard.check("http://receiver.internal/hook")  # named: not even resolved
    with pytest.raises(RefusedURLError):
        guard.check("http://192.168.0.1/hook")
