"""A real Web Push service, in-process, for tests: it takes pushes over HTTP as a browser
vendor's push service does — checking the VAPID JWT (RFC 8292: ES256 against the public key
in `Authorization: vapid t=…, k=…`, audience, expiry, subject) — and decrypts the
aes128gcm payload (RFC 8291) with the subscription's private keys, as the browser would.

    async with PushService() as service:
        sub = service.new_subscription()          # {"endpoint", "keys": {...}}
        ...
        message = await service.next_message(within=2)
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    """A browser's side of one subscription: its ECDH key pair and auth secret."""

    token: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )


def new_device() -> Device:
    return Device(os.urandom(9).hex(), ec.generate_private_key(ec.SECP256R1()), os.urandom(16))


def subscription_of(device: Device, base: str) -> dict[str, Any]:
    """What `PushSubscription.toJSON()` gives in a browser subscribed at `base`."""
    return {
        "endpoint": f"{base}/push/{device.token}",
        "expirationTime": None,
        "keys": {"p256dh": device.p256dh, "auth": b64url(device.auth)},
    }


@dataclass
class Message:
    token: str
    payload: dict[str, Any]
    vapid_public_key: str
    claims: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class VapidRefused(Exception):
    pass


def verify_vapid(authorization: str, audience: str) -> tuple[str, dict[str, Any]]:
    """(public key, claims) of a valid `vapid t=…, k=…` header; VapidRefused otherwise."""
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise VapidRefused(f"scheme {scheme!r}")
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    token, key = parts.get("t", ""), parts.get("k", "")
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(unb64url(header_b64))
    if header.get("alg") != "ES256":
        raise VapidRefused(f"alg {header.get('alg')!r}")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    raw = unb64url(signature_b64)
    if len(raw) != 64:
        raise VapidRefused("signature is not a raw ES256 (r || s) signature")
    signature = encode_dss_signature(
        int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    )
    try:
        public.verify(signature, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VapidRefused("bad signature") from None
    claims = json.loads(unb64url(claims_b64))
    if claims.get("aud") != audience:
        raise VapidRefused(f"aud {claims.get('aud')!r} is not {audience!r}")
    if not (time.time() < claims.get("exp", 0) <= time.time() + 24 * 3600):
        raise VapidRefused("exp not within 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
        raise VapidRefused("sub")
    return key, claims


class PushService:
    def __init__(self) -> None:
        self.devices: dict[str, Device] = {}
        self.messages: deque[Message] = deque()
        self.arrived = asyncio.Event()
        self.refused: list[str] = []
        # Answers to give, per device token, before the normal 201 (e.g. [429, 201]).
        self.answers: dict[str, deque[int]] = {}
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def __aenter__(self) -> PushService:
        app = web.Application()
        app.router.add_post("/push/{token}", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def new_subscription(self, answers: list[int] | None = None) -> dict[str, Any]:
        device = new_device()
        self.devices[device.token] = device
        if answers:
            self.answers[device.token] = deque(answers)
        return subscription_of(device, self.base)

    async def _push(self, request: web.Request) -> web.Response:
        self.requests += 1
        token = request.match_info["token"]
        device = self.devices.get(token)
        if device is None:
            return web.Response(status=404)
        try:
            key, claims = verify_vapid(request.headers.get("Authorization", ""), self.base)
        except (VapidRefused, ValueError, KeyError) as exc:
            self.refused.append(str(exc))
            return web.Response(status=403, text=str(exc))
        if request.headers.get("Content-Encoding") != "aes128gcm" or "TTL" not in request.headers:
            self.refused.append("headers")
            return web.Response(status=400)
        queued = self.answers.get(token)
        if queued:
            status = queued.popleft()
            if status != 201:
                headers = {"Retry-After": "2"} if status == 429 else {}
                return web.Response(status=status, headers=headers)
        body = await request.read()
        plain = http_ece.decrypt(
            body, private_key=device.private_key, auth_secret=device.auth, version="aes128gcm"
        )
        self.messages.append(Message(token, json.loads(plain), key, claims, dict(request.headers)))
        self.arrived.set()
        return web.Response(status=201, headers={"Location": f"{self.base}/m/{self.requests}"})

    async def next_message(self, within: float) -> Message:
        """The next push received (waiting up to `within` seconds)."""
        deadline = time.monotonic() + within
        while not self.messages:
            self.arrived.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no push within {within} s")
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                continue
        return self.messages.popleft()
