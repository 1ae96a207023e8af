"""The org unit tree (services.org) on random trees: what SQL answers equals what the tree
loaded into Python answers, and both equal the tree written down by hand here."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import Bulletin, BulletinAudience
from app.services import org
from tests.factories import make_unit, make_user

_example = itertools.count(1)
KINDS = ["company", "region", "branch", "shop", "department"]


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[int | None, str, int]]:
    """Units as (parent index or None, kind, sort key): a parent always comes first."""
    n = draw(st.integers(1, 12))
    keys = draw(st.lists(st.integers(0, 999), min_size=n, max_size=n, unique=True))
    return [
        (
            draw(st.none() | st.integers(0, i - 1)) if i else None,
            draw(st.sampled_from(KINDS)),
            keys[i],
        )
        for i in range(n)
    ]


def below(parent: list[int | None], i: int) -> set[int]:
    """Indices of unit i and everything below it, by following the parents up."""
    out = set()
    for j in range(len(parent)):
        k: int | None = j
        while k is not None and k != i:
            k = parent[k]
        if k == i:
            out.add(j)
    return out


def chain_up(parent: list[int | None], i: int) -> list[int]:
    """Unit i, its parent, …, the top."""
    out = []
    k: int | None = i
    while k is not None:
        out.append(k)
        k = parent[k]
    return out


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    trees(),
    st.data(),
)
async def test_tree_sql_and_python_agree(db, shape, data) -> None:
    prefix = f"ORG{next(_example):04d}-"
    parent = [p for p, _kind, _key in shape]
    made = []
    for p, kind, key in shape:
        made.append(
            await make_unit(
                db,
                code=f"{prefix}{key:03d}",
                kind=kind,
                parent_id=made[p].id if p is not None else None,
            )
        )
    ids = [u.id for u in made]
    tree = await org.load_tree(db)

    for i, unit in enumerate(made):
        node = tree.by_id[unit.id]
        assert node.code == unit.code and node.kind == unit.kind
        assert node.parent_code == (made[parent[i]].code if parent[i] is not None else None)
        assert node.depth == len(chain_up(parent, i)) - 1
        assert [c.code for c in node.children] == sorted(c.code for c in node.children)
        expected = {ids[j] for j in below(parent, i)}
        assert set(await org.subtree_ids(db, unit.id)) == expected
        assert {n.id for n in node.walk()} == expected
        up = [ids[j] for j in chain_up(parent, i)]
        assert set((await db.execute(org.ancestors(unit.id))).scalars()) == set(up)
        assert [a.id for a in node.ancestors()] == up[1:][::-1]
        regions = [ids[j] for j in chain_up(parent, i) if shape[j][1] == "region"]
        region = node.region()
        assert (region.id if region else None) == (regions[0] if regions else None)
    assert [n.id for n in tree.nodes if n.id in ids] == [
        n.id for top in tree.roots if top.id in ids for n in top.walk()
    ]  # pre-order, tops by code

    # A bulletin's audience: everyone, or the subtrees of some chosen units.
    everyone = data.draw(st.booleans())
    chosen = set() if everyone else data.draw(st.sets(st.integers(0, len(made) - 1), max_size=3))
    homes = data.draw(st.lists(st.integers(0, len(made) - 1), min_size=1, max_size=5))
    people = [(await make_user(db, made[h], active=data.draw(st.booleans())), h) for h in homes]
    bulletin = Bulletin(title="t", audience_all=everyone, created_by_id=people[0][0].id)
    db.add(bulletin)
    await db.flush()
    assert bulletin.id is not None
    db.add_all(BulletinAudience(bulletin_id=bulletin.id, unit_id=ids[c]) for c in chosen)
    await db.commit()

    reached = (
        set(range(len(made))) if everyone else set().union(*(below(parent, c) for c in chosen))
    )
    for user, home in people:
        assert await org.is_in_audience(db, user, bulletin.id) == (everyone or home in reached)
    ours = {user.id for user, _home in people}
    in_sql = set(await org.audience_user_ids(db, bulletin.id, everyone)) & ours
    assert in_sql == {u.id for u, home in people if u.active and (everyone or home in reached)}

    tops = await org.audience_tops(db, tree, bulletin.id, everyone)
    if everyone:
        assert tops == tree.roots
    else:
        expected_tops = [
            made[c] for c in chosen if not any(a in chosen for a in chain_up(parent, c)[1:])
        ]
        assert [t.id for t in tops] == [u.id for u in sorted(expected_tops, key=lambda u: u.code)]
        assert {n.id for t in tops for n in t.walk()} == {ids[j] for j in reached}


async def test_a_tree_with_several_tops_gets_a_company_top(db) -> None:
    a = await make_unit(db, code="ORG-A", kind="region")
    await make_unit(db, code="ORG-A1", kind="shop", parent_id=a.id)
    await make_unit(db, code="ORG-B", kind="region")
    tree = await org.load_tree(db, company="全社")
    top = tree.root
    assert top.virtual and top.name == "全社" and top.id not in tree.by_id
    assert tree.by_code["ORG-A"].parent is top and tree.by_code["ORG-A"].parent_code is None
    sums = tree.rollup({tree.by_code["ORG-A1"].id: [2, 1]}, 2)
    assert sums[top.id] == sums[a.id] == [2, 1]
