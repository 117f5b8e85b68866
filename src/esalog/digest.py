"""Short content digests (BLAKE2b): file identities, the ids of lines read from a pipe, cache keys."""

from __future__ import annotations

try:  # hashlib's own BLAKE2b, without the OpenSSL library that importing hashlib loads (start-up)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b


def hex_digest(data: bytes, size: int) -> str:
    """The BLAKE2b digest of *data*, *size* bytes long, in hex."""
    return blake2b(data, digest_size=size).hexdigest()
