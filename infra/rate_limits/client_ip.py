"""Who is asking: the client address a rate limit is keyed by.

The direct peer is the client, unless it is one of our trusted proxies
(`VITRINE_TRUSTED_PROXIES`): then `X-Forwarded-For` is read from the right,
the end each proxy appends to, skipping addresses that are themselves
trusted proxies; the first one that is not is the client. Everything left
of it was written by the client and is ignored, so a client cannot choose
its own key. An entry that is not an address means the proxy chain cannot be
followed further: the last trusted hop stands for the client (stricter,
never looser). With no trusted proxies the header is never read at all.

IPv6 clients are keyed by their /64: one subscriber usually holds a whole
/64, and per-address keys would let them rotate through it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV6_CLIENT_PREFIX = 64
UNKNOWN_CLIENT = "unknown"


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (or bare addresses); ValueError names the one that is neither."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value.strip()!r} is not an IP address or CIDR") from None
    return tuple(networks)


def parse_address(value: str) -> IPAddress | None:
    """An address from a peer or forwarded entry (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`), else
    None; IPv4-mapped IPv6 addresses come back as IPv4."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        value = value[1:end] if end > 0 else ""
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_key(address: IPAddress) -> str:
    """The rate-limit key of an address: itself for IPv4, its /64 for IPv6."""
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    network = ipaddress.IPv6Network((int(address) >> 64 << 64, IPV6_CLIENT_PREFIX))
    return str(network)


@lru_cache(maxsize=4096)
def peer_key(peer: str | None) -> str:
    """The key of a direct peer (memoized: the same few peers ask again and again)."""
    address = None if peer is None else parse_address(peer)
    return UNKNOWN_CLIENT if address is None else client_key(address)


class TrustedProxies:
    """The proxies whose `X-Forwarded-For` we believe."""

    def __init__(self, networks: Sequence[IPNetwork] = ()) -> None:
        self._networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trusts(self, address: IPAddress) -> bool:
        return any(address in network for network in self._networks)

    def client(self, peer: str | None, forwarded_for: Sequence[str]) -> str:
        """The client's key, from the direct peer and the `X-Forwarded-For` field values."""
        if not self._networks or not forwarded_for:
            return peer_key(peer)
        hop = None if peer is None else parse_address(peer)
        if hop is None or not self.trusts(hop):
            return peer_key(peer)
        entries = ",".join(forwarded_for).split(",")
        for entry in reversed(entries):
            if not entry.strip():
                continue  # empty list elements are allowed, and mean nothing
            address = parse_address(entry)
            if address is None:
                break
            hop = address
            if not self.trusts(address):
                break
        return client_key(hop)
