"""The SSRF guard of every outgoing request to an address an admin typed: loopback,
link-local, private and other non-public addresses are refused unless listed in
OUTBOUND_ALLOW_NETWORKS; cloud metadata addresses always. Checked on the literal address
when an integration is saved, and on every resolved address at send time (the connection
then goes to the addresses checked, so a name cannot be re-pointed between check and use).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba Cloud, Oracle Cloud.
METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("192.0.0.192"),
}


class Refused(Exception):
    """The address may not be reached (the message says why, for the admin page)."""


def parse_networks(text: str) -> list[IPNetwork]:
    """OUTBOUND_ALLOW_NETWORKS: CIDRs, comma-separated (ValueError on a bad one)."""
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    ]


def _plain(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def allowed_address(address: IPAddress, allow: list[IPNetwork]) -> bool:
    """A public address, or one in the allowed networks (never a metadata address)."""
    address = _plain(address)
    if address in METADATA:
        return False
    if any(address in net for net in allow if net.version == address.version):
        return True
    return address.is_global and not address.is_multicast


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, allow: list[IPNetwork]) -> None:
    """What can be known without resolving: https (or http), a host, no credentials, and a
    literal address that is allowed. Raises Refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise Refused("The address must start with https://.")
    host = parts.hostname or ""
    if not host or parts.username or parts.password:
        raise Refused("The address must name a host (and carry no user name or password).")
    literal = _literal(host)
    if literal is not None and not allowed_address(literal, allow):
        raise Refused("This address is in a network the board may not reach.")
    if host.lower() in ("localhost", "localhost.localdomain") and not any(
        ipaddress.ip_address("127.0.0.1") in net for net in allow if net.version == 4
    ):
        raise Refused("This address is in a network the board may not reach.")


async def resolve(host: str, port: int) -> list[IPAddress]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"The host name could not be resolved ({exc.strerror}).") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def check_target(url: str, allow: list[IPNetwork]) -> None:
    """At send time: every address the host resolves to must be allowed; plain http only
    to the networks in OUTBOUND_ALLOW_NETWORKS (an on-premises receiver)."""
    check_url(url, allow)
    parts = urlsplit(url)
    addresses = await resolve(parts.hostname or "", parts.port or 443)
    for address in addresses:
        if not allowed_address(address, allow):
            raise Refused(f"{parts.hostname} resolves to {address}, which the board may not reach.")
        if parts.scheme == "http" and not any(
            _plain(address) in net for net in allow if net.version == _plain(address).version
        ):
            raise Refused("Plain http is only for addresses in OUTBOUND_ALLOW_NETWORKS.")


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing any address the guard refuses (against a name that
    resolves differently between the check and the connection)."""

    def __init__(self, allow: list[IPNetwork]) -> None:
        self.allow = allow
        self.inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for result in results:
            if not allowed_address(ipaddress.ip_address(result["host"]), self.allow):
                raise OSError(f"refused address {result['host']}")
        return results

    async def close(self) -> None:
        await self.inner.close()
