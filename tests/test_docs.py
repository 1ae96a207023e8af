"""The README documents every setting."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Settings

pytestmark = pytest.mark.nodb  # touches no database: the SQLite pass alone runs it

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme():
    for name, field in Settings.model_fields.items():
        env = (field.alias or name).upper()
        assert f"`{env}`" in README, f"{env} is not documented in README.md"


def test_the_readme_lists_every_demo_login_as_the_demo_makes_it():
    from app.demo import UNITS, USERS

    unit_names = {code: name for code, name, _kind, _parent in UNITS}
    row = re.compile(r"^\| `([^`]+)` \| ([^|]+?) \| ([^|]+?) \(`([^`]+)`\) \| (\w+) \|$", re.M)
    listed = [m.groups() for m in row.finditer(README)]
    made = [(code, name, unit_names[unit], unit, role) for code, name, unit, role in USERS]
    assert listed == made


def test_the_readme_gives_the_demo_terminal_pin_the_demo_sets():
    from app.demo import DEMO_PIN

    assert f"PIN `{DEMO_PIN}`" in README


def test_the_readme_says_what_scripts_dev_takes():
    script = (ROOT / "scripts" / "dev").read_text(encoding="utf-8")
    variables = set(re.findall(r'^(\w+)="\$\{\1:-', script, re.M))
    options = set(re.findall(r"^\s+(--[a-z-]+)\)", script, re.M)) - {"--help"}
    assert {"HOST", "PORT"} <= variables and options == {"--reset"}
    for name in variables:
        assert f"`{name}`" in README, f"{name} (scripts/dev) is not in README.md"
    for option in options:
        assert f"./scripts/dev {option}" in README, f"{option} is not in README.md"


def test_the_readme_shows_screenshots_the_script_makes():
    made = subprocess.run(
        [sys.executable, ROOT / "scripts" / "_screenshots.py", "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    shown = re.findall(r'<img src="docs/screenshots/([^"]+)"', README)
    assert {"phone", "desktop"} == {name.split("-")[1] for name in shown}
    assert set(shown) <= set(made)
    for name in shown:
        assert (ROOT / "docs" / "screenshots" / name).is_file()
