"""scripts/screenshots still runs: one page (log in, switch language, photograph) end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

# Its own demo server on its own SQLite file: the PostgreSQL pass has nothing to add.
pytestmark = [pytest.mark.browser, pytest.mark.nodb]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "_screenshots.py"


def test_one_page_at_both_sizes_in_both_languages(tmp_path):
    out = tmp_path / "shots"
    r = subprocess.run(
        [sys.executable, SCRIPT, "--only", "feed", "--out", out],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    names = ["feed-phone-ja.png", "feed-desktop-ja.png", "feed-phone-en.png", "feed-desktop-en.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    listed = subprocess.run(
        [sys.executable, SCRIPT, "--list", "--only", "feed"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(listed) == sorted(names)
    for name in names:
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.mode == "P"  # the small palette kind
            assert image.size == ((390, 844) if "phone" in name else (1280, 800))
            assert len(image.getcolors(256) or []) > 16  # a page, not a blank
        assert (out / name).stat().st_size < 150_000
    # Japanese and English pages differ (the user's language switch took effect).
    ja, en = ((out / f"feed-desktop-{lang}.png").read_bytes() for lang in ("ja", "en"))
    assert ja != en
    assert "==> 4 screenshots" in r.stdout
