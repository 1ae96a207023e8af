"""The README documents every setting."""

from pathlib import Path

import pytest

from app.config import Settings

pytestmark = pytest.mark.nodb  # touches no database: the SQLite pass alone runs it

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme():
    for name, field in Settings.model_fields.items():
        env = (field.alias or name).upper()
        assert f"`{env}`" in README, f"{env} is not documented in README.md"
