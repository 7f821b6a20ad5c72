"""Which addresses a webhook may reach: the public internet, nothing else."""

from __future__ import annotations

import ipaddress

import pytest

from notifications.egress import EgressRefused, address_refusal, vet

REFUSED = {
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "::1": "loopback",
    "10.0.0.1": "private",
    "172.16.0.1": "private",
    "192.168.1.10": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "169.254.169.254": "link-local",
    "fe80::1": "link-local",
    "100.64.0.1": "shared",
    "100.127.255.254": "shared",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "192.0.2.1": "private",  # documentation (TEST-NET-1)
    "198.18.0.1": "private",  # benchmarking
    "2001:db8::1": "private",  # documentation
    "::ffff:127.0.0.1": "IPv4-mapped",
    "::ffff:8.8.8.8": "IPv4-mapped",
    "64:ff9b::a00:1": "translation",  # NAT64 of 10.0.0.1
    "64:ff9b::808:808": "translation",
    "64:ff9b:1::1": "translation",
    "2002:a00:1::1": "translation",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378::1": "translation",  # Teredo
}
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001::1"]


@pytest.mark.parametrize(("address", "kind"), sorted(REFUSED.items()))
def test_a_non_public_address_is_refused_with_its_class(address: str, kind: str) -> None:
    reason = address_refusal(ipaddress.ip_address(address))
    assert reason is not None and kind in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_a_public_address_is_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_one_private_answer_among_public_ones_refuses_the_host() -> None:
    public = [ipaddress.ip_address(a) for a in PUBLIC]
    assert vet(public) == public
    with pytest.raises(EgressRefused, match="private"):
        vet([*public, ipaddress.ip_address("10.1.2.3")])


def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(EgressRefused, match="does not resolve"):
        vet([])
