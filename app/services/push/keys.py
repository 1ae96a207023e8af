"""VAPID keys (RFC 8292): a new pair for `arigato push keys`, and the public key browsers
need (`applicationServerKey`) from the private key in the settings."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; ValueError when it is not."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def new_pair() -> tuple[str, str]:
    """(private, public): the raw private scalar and the uncompressed public point, base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return b64url(private), _public(key)


def _public(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


@lru_cache(maxsize=4)
def vapid(private: str) -> Vapid02:
    """The signer for a private key in the settings' form; ValueError if it is none."""
    try:
        b64url_decode(private.strip())
        signer = Vapid02.from_string(private.strip())
    except Exception as exc:  # py_vapid raises several kinds for a bad key
        raise ValueError(type(exc).__name__) from None
    if not isinstance(signer.private_key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 key")
    return signer


def public_key(private: str) -> str:
    """The application server key browsers subscribe with (base64url, 65 bytes)."""
    return _public(vapid(private).private_key)
