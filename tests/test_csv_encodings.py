"""Japanese files: CSV imports read UTF-8 (with or without BOM) and CP932 (Windows Shift_JIS),
detected or chosen; every CSV export writes UTF-8 with BOM or, with `encoding=cp932`, CP932,
and refuses (422, naming the character and row) what CP932 cannot hold instead of a `?`."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from app.models import ComplaintVoice, OrgUnit, User
from app.services import audit
from app.services.csvimport import ImportRejected, decode_csv, read_table
from app.services.errors import InvalidInput
from app.services.spreadsheet import csv_bytes, safe_cell
from tests.factories import login_as, make_unit, make_user, soup
from tests.test_admin_import import USERS_HEADER, api, as_admin, run_from_report
from tests.test_cli import cli_db, run  # noqa: F401  (cli_db is a fixture)

# Real CP932 bytes, written out rather than made with the codec under test:
# ① (NEC special row 13), ～ FULLWIDTH TILDE (0x8160: Shift_JIS/JIS X 0208 maps it to 〜
# U+301C, CP932 to U+FF5E), 髙 (only in the IBM extensions: 0xFBFC and NEC-selected 0xEEE0),
# ㈱ (NEC special) and 山田 (JIS X 0208).
MARU1, TILDE, TAKA_IBM, TAKA_NEC, KABU = (
    b"\x87\x40",
    b"\x81\x60",
    b"\xfb\xfc",
    b"\xee\xe0",
    b"\x87\x8a",
)
YAMADA = b"\x8eR\x93c"


def sjis_users_file(unit: str) -> bytes:
    return (
        b"code,name,email,unit,role\r\n"
        + b"E7001,"
        + TAKA_IBM
        + YAMADA
        + MARU1
        + b","
        + b","
        + unit.encode()
        + b",staff\r\n"
        + b"E7002,"
        + KABU
        + TILDE
        + TAKA_NEC
        + b",,"
        + unit.encode()
        + b",staff\r\n"
    )


# The decoder ------------------------------------------------------------------------------


def test_real_cp932_bytes_decode_to_the_windows_characters():
    text = decode_csv(MARU1 + TILDE + TAKA_IBM + TAKA_NEC + KABU + YAMADA)
    assert text == "①～髙髙㈱山田"
    assert "\u301c" not in text  # CP932's 0x8160 is FULLWIDTH TILDE, not WAVE DASH
    assert decode_csv(MARU1, "cp932") == decode_csv(MARU1, "shift_jis") == "①"


@pytest.mark.parametrize(
    "data",
    ["①～髙山田".encode(), "\ufeff①～髙山田".encode(), "①～髙山田".encode("cp932")],
    ids=["utf8", "utf8-bom", "cp932"],
)
def test_auto_reads_utf8_with_or_without_bom_and_cp932(data):
    assert decode_csv(data) == "①～髙山田"


@pytest.mark.parametrize(
    ("data", "encoding", "line", "needle"),
    [
        (b"a,b\n1,2\n\x85\x40,3\n", "auto", 3, "UTF-8 でも Shift_JIS"),
        (b"a,b\n1,2\n3,4\nx\xa0\n", "auto", 4, "UTF-8 でも Shift_JIS"),  # undefined in CP932
        (b"a,b\n1,\xf0\x40\n", "auto", 2, "でもありません"),  # CP932's user-defined area
        (b"a,b\n1,2\n" + YAMADA + b"\n", "utf-8", 3, "UTF-8ではありません"),
        (
            "a,b\n1,2\n3,4\n山田\n".encode() + b"\xff\n",
            "cp932",
            5,
            "Shift_JIS（CP932）ではありません",
        ),
        # UTF-8 breaks on line 2 (CP932 text), CP932 only on line 4: the later line is named
        (b"a,b\n" + YAMADA + b",1\n2,3\n\x85\x40,4\n", "auto", 4, "でもありません"),
    ],
    ids=["bad-lead-byte", "undefined-byte", "user-defined", "utf8-chosen", "cp932-chosen", "later"],
)
def test_a_file_in_neither_encoding_names_the_first_line_it_cannot_read(
    data, encoding, line, needle
):
    with pytest.raises(ImportRejected) as caught:
        decode_csv(data, encoding)
    [error] = caught.value.errors
    assert (error.line, needle in error.message) == (line, True), error


def test_an_unknown_encoding_name_is_refused():
    with pytest.raises(InvalidInput):
        decode_csv(b"a", "latin-1")


# Round trips --------------------------------------------------------------------------------


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _round_trips_in_cp932(ch: str) -> bool:
    try:
        return ch.encode("cp932").decode("cp932") == ch
    except UnicodeEncodeError:
        return False


# Japanese as people type it: kana, kanji, full-width forms, NEC/IBM extensions, ASCII.
JAPANESE = st.characters(
    codec="utf-8",
    categories=("Lo", "Lu", "Ll", "Nd", "No", "Nl", "Po", "Ps", "Pe", "Pd", "Sm", "So", "Zs", "Lm"),
    min_codepoint=0x20,
    max_codepoint=0xFFEF,
).filter(lambda c: c not in "\u3000\xa0" and not 0xE000 <= ord(c) <= 0xF8FF)


def _cp932_alphabet() -> list[str]:
    """Every character CP932 holds (single and double byte) that round-trips, printable and
    not a space: drawn from directly, since filtering all of Unicode down to it rejects too
    much for hypothesis."""
    found = {chr(b) for b in range(0x21, 0x7F)}
    for lead in [*range(0x81, 0xA0), *range(0xE0, 0xFD)]:
        for trail in [*range(0x40, 0x7F), *range(0x80, 0xFD)]:
            try:
                ch = bytes([lead, trail]).decode("cp932")
            except UnicodeDecodeError:
                continue
            if ch.isprintable() and not ch.isspace() and _round_trips_in_cp932(ch):
                found.add(ch)
    return sorted(c for c in found if not 0xE000 <= ord(c) <= 0xF8FF)


SJIS_CHARS = st.sampled_from(_cp932_alphabet())
EXTRAS = st.sampled_from("①②⑩㈱髙﨑～－∥￢ⅠⅱＡｱ")


def _cell(chars: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    # the reader strips spaces around values, and a formula start gets an apostrophe
    return st.text(st.one_of(chars, EXTRAS), min_size=1, max_size=12).filter(
        lambda v: v == v.strip() and safe_cell(v) == v
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    encoding=st.sampled_from(["utf-8", "cp932"]),
    rows=st.lists(st.tuples(_cell(SJIS_CHARS), _cell(SJIS_CHARS)), min_size=1, max_size=6),
)
def test_japanese_text_round_trips_through_export_and_import(encoding, rows):
    data = csv_bytes(["code", "name"], rows, encoding)
    assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8")
    table = read_table(data, ("code", "name"), encoding=encoding)
    assert not table.errors
    assert [(r["code"], r["name"]) for _, r in table.rows] == rows
    # Detection reads our own exports back, except a CP932 text so short that its bytes are
    # UTF-8 too (「痰Ё」 is 「ႄF」 in UTF-8): no detector can tell those apart, which is why
    # the form and the CLI let a person choose.
    detected = read_table(data, ("code", "name"), encoding="auto")
    if encoding == "utf-8" or not _valid_utf8(data):
        assert detected.rows == table.rows


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_cell(JAPANESE), min_size=1, max_size=5), data=st.data())
def test_cp932_export_refuses_exactly_what_it_cannot_hold(rows, data):
    bad = data.draw(st.sampled_from(["😀", "𠮷", "—", "\u00e9\u0301", "ㇰ"]))
    at = data.draw(st.integers(0, len(rows) - 1))
    rows[at] = rows[at] + bad
    holdable = all(_round_trips_in_cp932(c) or c in "〜−" for r in rows[:at] for c in r)
    with pytest.raises(InvalidInput) as caught:
        csv_bytes(["name"], [[r] for r in rows], "cp932")
    ctx = caught.value.errors[0]["ctx"]
    if holdable:
        assert ctx["row"] == at + 2  # the header is row 1
    assert ctx["character"] in "".join(rows)
    assert ctx["character"] in caught.value.errors[0]["msg"]


def test_cp932_export_writes_the_shift_jis_look_alikes_not_a_question_mark():
    # 〜 U+301C and − U+2212 are Shift_JIS's (and a Mac's) forms of CP932's ～ and －
    data = csv_bytes(["name"], [["〜−①髙"]], "cp932")
    assert data == b"name\r\n" + TILDE + b"\x81|" + MARU1 + TAKA_NEC + b"\r\n"
    assert b"?" not in data


# Imports: API, page, CLI --------------------------------------------------------------------


@pytest.mark.parametrize("encoding", [None, "cp932"])
async def test_api_imports_a_cp932_users_file(client, db, encoding):
    csrf = await as_admin(client, db)
    await make_unit(db, code="SJ-1")
    params = {"dry_run": "false"} | ({"encoding": encoding} if encoding else {})
    r = await client.post(
        "/api/v1/admin/import/users",
        params=params,
        files={"file": ("users.csv", sjis_users_file("SJ-1"), "text/csv")},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201, r.text
    names = {
        u.code: u.name
        for u in (await db.exec(select(User).where(User.code.in_(["E7001", "E7002"])))).all()  # type: ignore[attr-defined]
    }
    assert names == {"E7001": "髙山田①", "E7002": "㈱～髙"}


async def test_api_utf8_chosen_for_a_cp932_file_names_the_line(client, db):
    csrf = await as_admin(client, db)
    r = await client.post(
        "/api/v1/admin/import/users",
        params={"encoding": "utf-8"},
        files={"file": ("users.csv", sjis_users_file("SJ-1"), "text/csv")},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["line"] == 2
    assert "UTF-8" in r.json()["errors"][0]["message"]
    bad = await client.post(
        "/api/v1/admin/import/users",
        params={"encoding": "latin-1"},
        content=b"x",
        headers={"X-CSRF-Token": csrf, "Content-Type": "text/csv"},
    )
    assert bad.status_code == 422


async def test_a_file_in_neither_encoding_is_refused_with_its_line(client, db):
    csrf = await as_admin(client, db)
    data = USERS_HEADER.encode() + b"E1,a,,S,staff\nE2,\x85\x40,,S,staff\n"
    for dry_run in (True, False):
        r = await api(client, csrf, "users", data, dry_run=dry_run)
        assert r.status_code == 422
        [error] = r.json()["errors"]
        assert error["line"] == 3 and "Shift_JIS" in error["message"]


async def test_page_offers_the_encoding_and_carries_it_to_the_import(client, db):
    await as_admin(client, db)
    await make_unit(db, code="SJ-2")
    page = soup(await client.get("/admin/import"))
    select_ = page.select_one("#import-users form.import-form select[name=encoding]")
    assert select_ is not None
    assert [o["value"] for o in select_.select("option")] == ["auto", "utf-8", "cp932"]
    label = page.select_one(f"label[for={select_['id']}]")
    assert label is not None and label.get_text(strip=True) == "文字コード"
    action = str(page.select_one("#import-users form.import-form")["action"])
    data = sjis_users_file("SJ-2")

    wrong = await client.post(
        action, files={"file": ("u.csv", data, "text/csv"), "encoding": (None, "utf-8")}
    )
    assert wrong.status_code == 422
    assert soup(wrong).select_one("#import-users-report tr[data-line='2']") is not None
    # what the admin chose stays chosen
    chosen = soup(wrong).select_one("#import-users select[name=encoding] option[selected]")
    assert chosen is not None and chosen["value"] == "utf-8"

    checked = await client.post(
        action, files={"file": ("u.csv", data, "text/csv"), "encoding": (None, "cp932")}
    )
    assert checked.status_code == 200, checked.text
    hidden = soup(checked).select_one("form.import-run input[name=encoding]")
    assert hidden is not None and hidden["value"] == "cp932"
    done = await run_from_report(client, checked, "users")
    assert done.status_code == 200, done.text
    made = (await db.exec(select(User).where(User.code == "E7001"))).one()
    assert made.name == "髙山田①"


async def test_complaints_import_reads_cp932_on_the_page_and_the_api(client, db):
    curator = await make_user(db, role="curator")
    csrf = await login_as(client, curator)
    unit = await make_unit(db, code="SJ-3")
    today = date.today().isoformat()
    body = (
        f"received_on,unit,category,status,summary\r\n{today},SJ-3,other,received,髙橋様①の件～\r\n"
    )
    api_headers = {"X-CSRF-Token": csrf, "Content-Type": "text/csv"}
    # UTF-8 chosen for a CP932 file: refused, naming its line, nothing written.
    wrong = await client.post(
        "/api/v1/complaints/import",
        params={"encoding": "utf-8"},
        content=body.encode("cp932"),
        headers=api_headers,
    )
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["detail"][0]["line"] == 2 and "UTF-8" in wrong.json()["detail"][0]["msg"]
    r = await client.post(
        "/api/v1/complaints/import",
        params={"encoding": "cp932"},
        content=body.encode("cp932"),
        headers=api_headers,
    )
    assert r.status_code == 200, r.text
    detected = await client.post(
        "/api/v1/complaints/import",
        content=body.replace("①", "③").encode("cp932"),
        headers=api_headers,
    )
    assert detected.status_code == 200, detected.text
    voices = soup(await client.get("/kpi/voices"))
    form = voices.select_one("#import-form")
    assert form is not None and form.select_one("select[name=encoding]") is not None
    page = await client.post(
        str(form["action"]),
        files={
            "file": ("c.csv", body.replace("①", "②").encode("cp932"), "text/csv"),
            "encoding": (None, "cp932"),
        },
    )
    assert page.status_code == 303, page.text
    summaries = (
        await db.exec(select(ComplaintVoice.summary).where(ComplaintVoice.unit_id == unit.id))
    ).all()
    assert sorted(summaries) == ["髙橋様①の件～", "髙橋様②の件～", "髙橋様③の件～"]


def test_cli_import_with_encoding(cli_db, tmp_path):  # noqa: F811
    run("db", "upgrade")
    f = tmp_path / "units.csv"
    f.write_bytes("code,name,kind,parent\r\nCO,髙島屋①,company,\r\n".encode("cp932"))
    wrong = run("units", "import", "--encoding", "utf-8", str(f))
    assert wrong.exit_code == 2 and "line 2" in wrong.output
    r = run("units", "import", "--encoding", "shift_jis", str(f))
    assert r.exit_code == 0, r.output
    g = tmp_path / "more.csv"
    g.write_bytes("code,name,kind,parent\r\nR1,関東～,region,CO\r\n".encode("cp932"))
    assert run("units", "import", str(g)).exit_code == 0  # auto


# Exports ------------------------------------------------------------------------------------


async def test_audit_export_in_cp932_and_its_refusal(client, db):
    curator = await make_user(db, role="curator", name="髙橋 ①")
    await login_as(client, curator)
    audit.record(db, curator, "post.hide", "post", 1, reason="電話番号～")
    await db.commit()
    page = soup(await client.get("/audit"))
    sjis = page.select_one("#audit-results a.csv-link-sjis")
    assert sjis is not None and "encoding=cp932" in sjis["href"]
    r = await client.get(str(sjis["href"]))
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=Shift_JIS"
    assert not r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("cp932"))))
    assert ["髙橋 ①", "電話番号～"] == [rows[1][2], rows[1][6]]

    audit.record(db, curator, "post.hide", "post", 2, reason="顔文字😀")
    await db.commit()
    refused = await client.get("/audit.csv", params={"encoding": "cp932"})
    assert refused.status_code == 422
    assert "😀" in refused.text and "2" in refused.text  # newest first: row 2
    api = await client.get(
        "/audit.csv", params={"encoding": "cp932"}, headers={"Accept": "application/json"}
    )
    assert api.status_code == 422
    bad = await client.get("/audit.csv", params={"encoding": "latin-1"})
    assert bad.status_code == 422


async def test_kpi_exports_in_cp932(client, db):
    root = (await db.exec(select(OrgUnit).where(OrgUnit.parent_id.is_(None)))).first()  # type: ignore[union-attr]
    company = root or await make_unit(db, code="CO", name="髙島①", kind="company")
    curator = await make_user(db, company, role="curator")
    await login_as(client, curator)
    for url in ("/kpi/export?format=csv", "/api/v1/kpi/praise?format=csv"):
        utf8 = await client.get(url)
        sjis = await client.get(url + "&encoding=cp932")
        assert sjis.status_code == 200, sjis.text
        assert sjis.content.decode("cp932") == utf8.content.decode("utf-8-sig")
    voices = await client.get("/kpi/voices/export?format=csv&encoding=cp932")
    assert voices.status_code == 200 and "件数" in voices.content.decode("cp932")
    xlsx = await client.get("/kpi/voices/export?format=xlsx&encoding=cp932")
    assert xlsx.status_code == 200  # the encoding is the CSV's only
    for path in ("/kpi", "/kpi/voices"):
        links = soup(await client.get(path)).select(".kpi-exports a.csv-link-sjis")
        assert links and all("encoding=cp932" in a["href"] for a in links)
