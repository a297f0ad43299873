"""Refuse webhook receivers that resolve to loopback, private, link-local, metadata or other
non-public addresses (SSRF), unless an operator allow-list names them.

Checked when a subscription is made and again before every delivery (a name may resolve
elsewhere later). Redirects are never followed (adapters/outbound/sender.py).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedURLError(ValueError):
    """A receiver URL leadledger will not call."""


class URLGuard:
    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self._names: set[str] = set()
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allowed:
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._names.add(entry.lower().rstrip("."))

    def check(self, url: str) -> None:
        """Raise RefusedURLError unless `url` may be called (resolves the host: blocking)."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:  # e.g. an unclosed IPv6 bracket, a port out of range
            raise RefusedURLError(f"not a URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise RefusedURLError("the URL must be http:// or https://")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise RefusedURLError("the URL has no host")
        if parts.username or parts.password:
            raise RefusedURLError("the URL must not carry credentials")
        if host in self._names:
            return
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, ValueError) as exc:
            raise RefusedURLError(f"the host does not resolve: {exc}") from None
        for *_, address in found:
            self._check_address(host, ipaddress.ip_address(address[0]))

    def _check_address(self, host: str, ip: IPAddress) -> None:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self._networks):
            return
        if not ip.is_global or ip.is_multicast:
            raise RefusedURLError(
                f"{host} resolves to {ip}, a loopback, private, link-local or metadata "
                "address (an operator may allow it: LEADLEDGER_WEBHOOK_ALLOWED_HOSTS)"
            )
