"""A real worker's memory (from /proc) while it takes large images: under 250 MB (issue 12)."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.livetools import ARIGATO, PRAISE, app_server, demo_database

MiB = 1024 * 1024
RSS_LIMIT = 250 * MiB


def noisy_jpeg(size: tuple[int, int], grain: int, quality: int) -> bytes:
    """Noise enlarged `grain` times: big on the wire (random) yet under the 10 MiB cap."""
    w, h = size[0] // grain, size[1] // grain
    small = Image.frombytes("RGB", (w, h), os.urandom(w * h * 3))
    buf = io.BytesIO()
    small.resize(size, Image.Resampling.BILINEAR).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def rgba_png(size: tuple[int, int]) -> bytes:
    """The issue's image: 6300 × 6300 RGBA, about 170 KB, 159 MB once decoded."""
    buf = io.BytesIO()
    Image.new("RGBA", size, (200, 30, 30, 128)).save(buf, "PNG")
    return buf.getvalue()


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Sampler:
    """Samples a process's VmRSS every 10 ms in a thread; `peak` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss(self.pid))
            self._stop.wait(0.01)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("memory")
    os.environ["UPLOAD_DIR"] = str(tmp / "uploads")
    try:
        with demo_database("upload_memory", str(tmp)) as url:
            env = {**os.environ, "DATABASE_URL": url, "ARIGATO_ENV": "test"}
            out = subprocess.run(
                [*ARIGATO, "tokens", "issue", "E1001", "--scope", "write"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            token = out.strip().split("\t")[1]
            with app_server(url) as base:
                yield {"base": base, "token": token, "uploads": tmp / "uploads"}
    finally:
        os.environ.pop("UPLOAD_DIR", None)


def server_pid(base: str) -> int:
    port = base.rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True)
    return int(out.stdout.split("pid=")[1].split(",")[0])


async def _upload_all(server: dict[str, Any], files: list[tuple[str, bytes, str]]) -> list[int]:
    headers = {"Authorization": f"Bearer {server['token']}"}
    async with httpx.AsyncClient(base_url=server["base"], headers=headers, timeout=120) as c:
        post = await c.post("/api/v1/posts", json=PRAISE)
        assert post.status_code == 201, post.text
        url = f"/api/v1/posts/{post.json()['id']}/attachments"

        async def one(name: str, data: bytes, ctype: str) -> int:
            r = await c.post(url, files={"file": (name, data, ctype)})
            return r.status_code

        return list(await asyncio.gather(*(one(*f) for f in files)))


def _measure(server: dict[str, Any], files: list[tuple[str, bytes, str]]) -> tuple[list[int], int]:
    pid = server_pid(server["base"])
    with Sampler(pid) as sampler:
        codes = asyncio.run(_upload_all(server, files))
    return codes, sampler.peak


def test_four_24_megapixel_jpegs_at_once(server: dict[str, Any]) -> None:
    photos = [noisy_jpeg((6000, 4000), 4, 88) for _ in range(4)]
    assert all(8 * MiB < len(p) <= 10 * MiB for p in photos)
    codes, peak = _measure(server, [(f"p{i}.jpg", p, "image/jpeg") for i, p in enumerate(photos)])
    assert codes == [201] * 4
    assert peak < RSS_LIMIT, f"peak {peak / MiB:.0f} MB"
    assert rss(server_pid(server["base"])) < RSS_LIMIT


def test_a_39_megapixel_jpeg(server: dict[str, Any]) -> None:
    photo = noisy_jpeg((7200, 5400), 8, 85)
    assert len(photo) <= 10 * MiB
    codes, peak = _measure(server, [("big.jpg", photo, "image/jpeg")])
    assert codes == [201]
    assert peak < RSS_LIMIT, f"peak {peak / MiB:.0f} MB"


def test_three_40_megapixel_rgba_pngs_are_refused_before_decoding(server: dict[str, Any]) -> None:
    png = rgba_png((6300, 6300))
    codes, peak = _measure(server, [(f"{i}.png", png, "image/png") for i in range(3)])
    assert codes == [413] * 3
    assert peak < RSS_LIMIT, f"peak {peak / MiB:.0f} MB"
