"""Keyed hashes: how identifiers of people's devices, networks and sign-in
sources are kept."""

from __future__ import annotations

import hashlib
import hmac


def keyed_hash(secret_key: str, message: bytes, length: int = 32) -> str:
    """HMAC-SHA256 of ``message`` under the site's secret, as hex cut to
    ``length``: how identifiers of people's devices and networks are kept."""
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:length]
