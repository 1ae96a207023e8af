"""The feed's unit filter as a picker: the type-ahead's options ("name (code)"), the feed
filtered by what the picker sends back (or a code or name typed by hand, subtree included),
and an unknown or ambiguous unit said in so many words instead of "no posts match"."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.inputs import text_ok
from tests.factories import bearer_for, login_as, make_post, make_units, make_user, soup

_seq = itertools.count(1)


async def tree(db, n: int):
    """A branch with two shops (names unique to this call) and a region above it."""
    return await make_units(
        db,
        (f"R{n}", f"北地域{n}", "region", None),
        (f"B{n}", f"札幌支店{n}", "branch", f"R{n}"),
        (f"S{n}-1", f"大通店{n}", "shop", f"B{n}"),
        (f"S{n}-2", f"すすきの店{n}", "shop", f"B{n}"),
    )


def options(page) -> list[str]:
    return [o["value"] for o in soup(page).select("option")]


def titles(page) -> list[str]:
    return [a.get_text(strip=True) for a in soup(page).select(".post-card .post-title")]


async def test_the_picker_offers_units_by_name_or_code(client, db):
    n = next(_seq)
    units = await tree(db, n)
    await login_as(client, await make_user(db, unit=units[f"S{n}-1"]))

    by_name = await client.get("/units/suggest", params={"unit": f"大通店{n}"})
    assert by_name.status_code == 200
    assert options(by_name) == [f"大通店{n} (S{n}-1)"]
    # A code prefix in any case; by code.
    assert options(await client.get("/units/suggest", params={"unit": f"s{n}-"})) == [
        f"大通店{n} (S{n}-1)",
        f"すすきの店{n} (S{n}-2)",
    ]
    # What the picker put in the field finds itself again.
    picked = await client.get("/units/suggest", params={"unit": f"大通店{n} (S{n}-1)"})
    assert options(picked) == [f"大通店{n} (S{n}-1)"]
    # The `q` name works too; a wildcard is a character, not "everything".
    assert options(await client.get("/units/suggest", params={"q": f"札幌支店{n}"})) == [
        f"札幌支店{n} (B{n})"
    ]
    assert options(await client.get("/units/suggest", params={"unit": "%"})) == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(typed=st.text(st.characters(exclude_characters="()（）"), min_size=1, max_size=12))
async def test_every_option_fits_what_was_typed(client, db, typed):
    n = next(_seq)
    await tree(db, n)
    await login_as(client, await make_user(db))
    r = await client.get("/units/suggest", params={"unit": typed})
    assert r.status_code == (200 if text_ok(typed) else 422)  # the input rule refuses the rest
    wanted = typed.strip()
    for label in options(r):
        name, _sep, code = label[:-1].rpartition(" (")
        assert wanted in name or code.upper().startswith(wanted.upper()), (typed, label)


async def test_the_picker_needs_a_login(client):
    r = await client.get("/units/suggest", params={"unit": "S"})
    assert r.status_code in (303, 401)


async def test_the_feed_filters_by_what_the_picker_sends_subtree_included(client, db):
    n = next(_seq)
    units = await tree(db, n)
    one = await make_user(db, unit=units[f"S{n}-1"])
    two = await make_user(db, unit=units[f"S{n}-2"])
    await make_post(db, one, title=f"大通のありがとう{n}")
    await make_post(db, two, title=f"すすきののありがとう{n}")
    await make_post(db, await make_user(db), title="よその店")
    await login_as(client, one)

    for typed in (f"大通店{n} (S{n}-1)", f"S{n}-1", f"s{n}-1", f"大通店{n}"):
        page = await client.get("/", params={"unit": typed})
        assert page.status_code == 200, typed
        assert titles(page) == [f"大通のありがとう{n}"], typed
        # The field shows the unit as the picker does, whatever was typed.
        field = soup(page).select_one("input[name=unit]")
        assert field["value"] == f"大通店{n} (S{n}-1)"
        assert field["list"] == "unit-options"
    branch = await client.get("/", params={"unit": f"札幌支店{n} (B{n})"})
    assert set(titles(branch)) == {f"大通のありがとう{n}", f"すすきののありがとう{n}"}
    # The next page and the live stream get the code, not the label.
    assert f"unit=B{n}" in soup(branch).select_one("body")["sse-connect"]


async def test_an_unknown_unit_is_named_instead_of_no_posts_match(client, db):
    n = next(_seq)
    await tree(db, n)
    await make_post(db, await make_user(db), title="どこかの投稿")
    await login_as(client, await make_user(db))

    r = await client.get("/", params={"unit": "TKY-999", "q": "ありがとう"})
    assert r.status_code == 422
    page = soup(r)
    message = page.select_one("[data-testid=unit-error]").get_text(" ", strip=True)
    assert "TKY-999" in message and "組織" in message
    assert not page.select(".post-card")
    field = page.select_one("input[name=unit]")
    assert field["value"] == "TKY-999" and field["aria-invalid"] == "true"
    assert page.select_one(f"#{field['aria-describedby']}").get_text(strip=True)
    assert page.select_one("input[name=q]")["value"] == "ありがとう"  # what was typed is kept
    assert "絞り込みに一致する投稿はありません" not in r.text

    await login_as(client, await make_user(db, locale="en"))
    english = await client.get("/", params={"unit": "Nowhere"})
    assert english.status_code == 422
    assert "There is no unit “Nowhere”" in soup(english).select_one("[data-testid=unit-error]").text


async def test_a_name_that_fits_several_units_asks_to_pick(client, db):
    n = next(_seq)
    await tree(db, n)
    await login_as(client, await make_user(db))
    r = await client.get("/", params={"unit": f"店{n}"})  # 大通店n and すすきの店n
    assert r.status_code == 422
    message = soup(r).select_one("[data-testid=unit-error]").get_text(" ", strip=True)
    assert f"「店{n}」" in message and "複数" in message


async def test_the_next_page_of_an_unknown_unit_is_refused(client, db):
    await login_as(client, await make_user(db))
    r = await client.get("/feed/page", params={"unit": "NOPE-1"}, headers={"HX-Request": "true"})
    assert r.status_code == 422


async def test_the_admins_unit_select_shows_depth_with_a_visible_mark(client, db):
    n = next(_seq)
    await tree(db, n)
    await login_as(client, await make_user(db, role="admin"))
    page = soup(await client.get("/admin/users"))
    labels = {o["value"]: o.get_text() for o in page.select("#filter-unit option")}
    assert labels[f"R{n}"] == f"北地域{n} (R{n})"
    assert labels[f"B{n}"] == f"└\xa0札幌支店{n} (B{n})"
    assert labels[f"S{n}-1"] == f"\xa0\xa0\xa0└\xa0大通店{n} (S{n}-1)"
    assert not any(text.startswith(" ") for text in labels.values())


async def test_the_api_says_an_unknown_unit_too(client, db):
    n = next(_seq)
    await tree(db, n)
    client.headers.update(await bearer_for(db, await make_user(db)))
    r = await client.get("/api/v1/posts", params={"unit": "TKY-999"})
    assert r.status_code == 422
    assert "TKY-999" in r.text
    assert (await client.get("/api/v1/posts", params={"unit": f"S{n}-1"})).status_code == 200
