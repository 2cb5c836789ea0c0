"""Where a request comes from, with the trusted proxies of the settings (WORKBENCH_TRUSTED_PROXIES)
applied: the rule is `domain/access.client_address`; this only parses the setting once."""

from __future__ import annotations

from functools import lru_cache

from workbench.domain import access


@lru_cache(maxsize=8)
def _networks(trusted_proxies: str) -> tuple[access.Network, ...]:
    return access.parse_trusted_proxies(trusted_proxies)


def client_address(*, peer: str | None, forwarded_for: list[str], trusted_proxies: str) -> str:
    """The address the join-code limits count: the direct peer, or, behind one of the trusted
    proxies, the right-most address in X-Forwarded-For that is not one of them."""
    return access.client_address(peer=peer, forwarded_for=forwarded_for,
                                 trusted=_networks(trusted_proxies))


def is_trusted_proxy(*, peer: str | None, trusted_proxies: str) -> bool:
    """Whether the direct peer is one of the trusted proxies (only then does a forwarded
    header such as X-Forwarded-Proto count)."""
    return access.is_trusted_peer(peer, _networks(trusted_proxies))
