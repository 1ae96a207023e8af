"""The `arigato` command line against its own throwaway database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from app.cli.main import cli
from app.config import get_settings
from tests.conftest import IS_PG, _admin_pg, _pg_url, db_name

UNITS_CSV = """\ufeffcode,name,kind,parent
CO,テスト保険,company,
R1,関東地域,region,CO
S1,新宿店,shop,B1
B1,東京支店,branch,R1
"""


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    name = db_name("cli")
    if IS_PG:
        _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_pg(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    else:
        url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    monkeypatch.undo()
    get_settings.cache_clear()
    if IS_PG:
        _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def count(table: str) -> int:
    engine = sa.create_engine(get_settings().sync_database_url)
    with engine.connect() as conn:
        n = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(n)


def test_db_upgrade_and_demo_are_idempotent(cli_db):
    assert run("db", "upgrade").exit_code == 0
    first = run("demo")
    assert first.exit_code == 0, first.output
    assert "E1001" in first.output and "curator" in first.output and "admin" in first.output
    assert "PIN on a shop's shared terminal: 2580" in first.output
    posts = count("posts")
    assert posts >= 6
    again = run("demo")
    assert again.exit_code == 0 and count("posts") == posts


def test_units_import_in_any_order(cli_db, tmp_path):
    run("db", "upgrade")
    f = tmp_path / "units.csv"
    f.write_text(UNITS_CSV, encoding="utf-8")
    r = run("units", "import", str(f))
    assert r.exit_code == 0, r.output
    assert count("org_units") == 4


def test_bad_units_file_names_every_bad_row_and_writes_nothing(cli_db, tmp_path):
    run("db", "upgrade")
    f = tmp_path / "units.csv"
    f.write_text(
        "code,name,kind,parent\nCO,会社,company,\nX1,,shop,CO\nX2,店,planet,CO\nX3,店,shop,NOPE\n",
        encoding="utf-8",
    )
    r = run("units", "import", str(f))
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: nothing imported, 3 bad row(s)")
    for needle in (
        "line 3",
        "line 4",
        "line 5",
        "Unit name (name) is required",  # the column's label, then its header
        "Unit kind (kind) must be",
        "unknown parent unit NOPE",
    ):
        assert needle in lines[0]
    assert count("org_units") == 0


@pytest.mark.parametrize(
    ("csv", "needles"),
    [
        (  # one value short: once a unit without a parent
            "code,name,kind,parent\nCO,会社,company,\nRL-B6,セル不足,branch\n",
            ("line 3", "the row has 3 values but the header has 4 columns"),
        ),
        (  # a second root
            "code,name,kind,parent\nCO,会社,company,\nCO2,第二会社,company,\n",
            ("line 3", "CO is the root unit, there can be only one"),
        ),
        (  # an unclosed quote: once "kind is required"
            'code,name,kind,parent\nCO,会社,company,\nR1,"関東,region,CO\nS1,店,shop,R1\n',
            ("line 3", "a double quote opens a value that is never closed"),
        ),
    ],
    ids=["short-row", "second-root", "unclosed-quote"],
)
def test_misshapen_units_file_is_one_line_error_and_writes_nothing(cli_db, tmp_path, csv, needles):
    run("db", "upgrade")
    f = tmp_path / "units.csv"
    f.write_text(csv, encoding="utf-8")
    r = run("units", "import", str(f))
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: nothing imported, 1 bad row(s)")
    for needle in needles:
        assert needle in lines[0]
    assert "kind is required" not in lines[0]
    assert count("org_units") == 0


def test_second_root_against_the_database_and_short_user_row(cli_db, tmp_path):
    run("db", "upgrade")
    f = tmp_path / "units.csv"
    f.write_text(UNITS_CSV, encoding="utf-8")
    assert run("units", "import", str(f)).exit_code == 0
    f.write_text("code,name,kind,parent\nHQ2,第二本社,company,\n", encoding="utf-8")
    r = run("units", "import", str(f))
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    assert "line 2" in r.output and "CO is the root unit" in r.output
    assert count("org_units") == 4
    users = tmp_path / "users.csv"
    users.write_text(
        "code,name,email,unit,role\nE1,山田,,S1,staff\nE2,佐藤,,S1\n", encoding="utf-8"
    )
    r = run("users", "import", str(users))
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    assert "line 3: the row has 4 values but the header has 5 columns" in r.output
    assert count("users") == 0


def test_users_add_and_import_and_tokens(cli_db, tmp_path):
    run("db", "upgrade")
    f = tmp_path / "units.csv"
    f.write_text(UNITS_CSV, encoding="utf-8")
    run("units", "import", str(f))
    r = run(
        "users",
        "add",
        "--code",
        "A1",
        "--name",
        "管理 者",
        "--unit",
        "CO",
        "--role",
        "admin",
        "--password-stdin",
        input="a-long-password\n",
    )
    assert r.exit_code == 0, r.output
    users = tmp_path / "users.csv"
    users.write_text(
        "code,name,email,unit,role\nE1,山田 太郎,yamada@example.jp,S1,staff\n"
        "E2,佐藤 花子,,S1,curator\n",
        encoding="utf-8",
    )
    assert run("users", "import", str(users)).exit_code == 0
    assert count("users") == 3
    r = run("tokens", "issue", "E1", "E2", "--scope", "write", "--days", "7")
    assert r.exit_code == 0
    lines = r.output.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["E1", "E2"]
    assert all(line.split("\t")[1].startswith("arigato_") for line in lines)
    assert count("api_tokens") == 2


def test_users_bad_rows(cli_db, tmp_path):
    run("db", "upgrade")
    f = tmp_path / "units.csv"
    f.write_text(UNITS_CSV, encoding="utf-8")
    run("units", "import", str(f))
    users = tmp_path / "users.csv"
    users.write_text(
        "code,name,email,unit,role\nE1,山田,,S1,staff\nE2,佐藤,,NOWHERE,staff\nE1,鈴木,,S1,staff\n"
        "E3,高橋,not-an-email,S1,boss\n",
        encoding="utf-8",
    )
    r = run("users", "import", str(users))
    assert r.exit_code == 2
    assert "unknown unit NOWHERE" in r.output and "repeated" in r.output
    assert "E-mail (email) 'not-an-email' is not an e-mail" in r.output
    assert "Role (role) must be" in r.output
    assert count("users") == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ("users", "add", "--code", "Z", "--name", "x", "--unit", "NOPE", "--password-stdin"),
            "unknown unit",
        ),
        (
            (
                "users",
                "add",
                "--code",
                "Z",
                "--name",
                "x",
                "--unit",
                "CO",
                "--role",
                "boss",
                "--password-stdin",
            ),
            "Role (role) must be",
        ),
        (("tokens", "issue", "GHOST"), "unknown user"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli_db, tmp_path, args, needle):
    run("db", "upgrade")
    f = tmp_path / "units.csv"
    f.write_text(UNITS_CSV, encoding="utf-8")
    run("units", "import", str(f))
    r = run(*args, input="a-long-password\n")
    assert r.exit_code == 2
    assert needle in r.output and len(r.output.strip().splitlines()) == 1
    assert count("users") == 0 and count("api_tokens") == 0


def test_short_password_is_refused(cli_db, tmp_path):
    run("db", "upgrade")
    f = tmp_path / "units.csv"
    f.write_text(UNITS_CSV, encoding="utf-8")
    run("units", "import", str(f))
    r = run(
        "users",
        "add",
        "--code",
        "Z",
        "--name",
        "x",
        "--unit",
        "CO",
        "--password-stdin",
        input="short\n",
    )
    assert r.exit_code == 2 and "at least" in r.output
    assert count("users") == 0


def test_missing_secret_key_is_refused_outside_dev(monkeypatch):
    monkeypatch.setenv("ARIGATO_ENV", "production")
    monkeypatch.delenv("SECRET_KEY")
    get_settings.cache_clear()
    try:
        r = run("serve")
        assert r.exit_code == 2 and "SECRET_KEY" in r.output
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
