"""Where the hub may connect to on a partner's behalf: the public internet only.

A webhook URL is the one place where a partner chooses an address the hub connects to.
Without a check, it points the hub at its own loopback, the cloud metadata service or
the private network behind it. ``address_refusal`` is the rule (pure, over one address);
``resolve`` is the one place the hub asks DNS, so that the addresses vetted are the very
addresses connected to (no second lookup that a rebinding DNS server could answer
differently). Tests replace ``resolve`` to play such a server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from store.errors import ErrorCode, HubError

Address = IPv4Address | IPv6Address

_SHARED = IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))  # RFC 6052, RFC 8215
_6TO4 = IPv6Network("2002::/16")
_TEREDO = IPv6Network("2001::/32")


class EgressRefused(Exception):
    """A destination that is not on the public internet. The message names the class only."""


def address_refusal(address: Address) -> str | None:
    """Why the hub must not connect to ``address``, or ``None`` if it is a public address.

    IPv6 forms that carry or reach an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) are
    refused outright: a partner's endpoint has no need of them, and they are how a private
    IPv4 address hides inside an IPv6 one.
    """
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if any(address in net for net in _NAT64) or address in _6TO4 or address in _TEREDO:
            return "an IPv6 translation address (NAT64, 6to4 or Teredo)"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, IPv4Address) and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a special-purpose address"
    return None


def vet(addresses: list[Address]) -> list[Address]:
    """All of them public, or refused: one bad answer among good ones is still refused."""
    if not addresses:
        raise EgressRefused("the host does not resolve")
    for address in addresses:
        reason = address_refusal(address)
        if reason is not None:
            raise EgressRefused(f"the host resolves to {reason}")
    return addresses


async def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to now (an IP literal resolves to itself)."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    found: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


async def public_addresses(host: str, port: int) -> list[Address]:
    """Resolve and vet ``host``: the addresses the hub may connect to."""
    return vet(await resolve(host, port))


async def check_public_host(host: str, port: int) -> None:
    """At creation: a webhook whose host is not on the public internet is refused."""
    try:
        await public_addresses(host, port)
    except EgressRefused as refused:
        raise HubError(
            ErrorCode.BAD_USER_INPUT,
            f"url: {refused}; webhooks reach only the public internet",
        ) from refused
