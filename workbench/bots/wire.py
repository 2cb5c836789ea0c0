"""Wire details of talking to model servers that the adapter shares: the TLS context every
client uses, and reading how long a rate-limited server asks us to wait."""

from __future__ import annotations

import email.utils
import functools
import ssl
import time

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One certificate-verifying TLS context for every client in the process.

    httpx builds a new one per client and loads the CA bundle each time: about 45 ms of CPU,
    paid again for every event loop's client, so the first requests of each batch run waited
    for it. Same settings as httpx's own default (certifi, or SSL_CERT_FILE / SSL_CERT_DIR)."""
    return httpx.create_ssl_context(trust_env=True)


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from `retry-after-ms`, `Retry-After: <seconds>` or `Retry-After: <date>`."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
