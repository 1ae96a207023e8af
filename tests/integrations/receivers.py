"""Real HTTP receivers in-process, for the integrations' tests: each records every request
(method, path, headers, raw body) and answers from a script — `answers` is a list of
(status, headers, json body) used in turn, then 200 with `default`.

    async with Receiver() as r:
        r.url            # http://127.0.0.1:<port>
        await r.next_request(within=2)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

Answer = tuple[int, dict[str, str], Any]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    query: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def form(self) -> dict[str, str]:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.raw.decode()))


Handler = Callable[[Request], Awaitable[Answer | None]]


class Receiver:
    def __init__(self, answers: list[Answer] | None = None, handler: Handler | None = None):
        self.answers = list(answers or [])
        self.handler = handler
        self.requests: list[Request] = []
        self._new = asyncio.Queue[Request]()
        self.url = ""

    async def _any(self, request: web.Request) -> web.Response:
        seen = Request(
            request.method,
            request.path,
            dict(request.headers),
            await request.read(),
            dict(request.query),
        )
        self.requests.append(seen)
        self._new.put_nowait(seen)
        answer = await self.handler(seen) if self.handler else None
        if answer is None:
            answer = self.answers.pop(0) if self.answers else (200, {}, {"ok": True})
        status, headers, body = answer
        return web.json_response(body, status=status, headers=headers)

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._any)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()

    async def next_request(self, within: float = 2) -> Request:
        return await asyncio.wait_for(self._new.get(), within)
