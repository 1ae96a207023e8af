"""The head office statistics: read rates by unit, 横展開 adoption by region (with the
「やってみたい」 reactions beside it, a signal of shops that may follow). A curator with a
scope sees the part of the audience inside it (services/scope.clip)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import (
    Bulletin,
    BulletinStatus,
    ReactionKind,
    RolloutAnswer,
    UnitKind,
    User,
)
from app.models.tables import (
    bulletin_items,
    bulletin_reads,
    bulletins,
    posts,
    reactions,
    rollout_responses,
    users,
)
from app.services import org, scope
from app.services.kpi.rollup import percent


def _pct(part: int, whole: int) -> float | None:
    """The KPI's percentage rule (half up, one decimal); no audience, no rate."""
    return None if whole <= 0 else float(percent(part, whole))


# Statistics (curators) ------------------------------------------------------------------------


@dataclass(slots=True)
class ReadRateRow:
    code: str
    name: str
    kind: str
    depth: int
    users: int
    readers: int
    rate: float | None
    at_meeting: int = 0  # of the readers, those recorded at a shop's morning meeting


@dataclass(slots=True)
class AdoptionRow:
    region_code: str | None  # None: shops outside any region
    region_name: str | None
    shops: int
    answered: int
    adopted: int
    trialling: int
    not_applicable: int
    rate: float | None
    # Colleagues of the region (any unit in it) who reacted 「やってみたい」 to the post; in
    # the total, everyone who did.
    want_to_try: int = 0


@dataclass(slots=True)
class ItemAdoption:
    item_id: int
    position: int
    post_id: int
    title: str
    post_status: str
    regions: list[AdoptionRow]
    total: AdoptionRow


async def audience_seen(
    db: AsyncSession, bulletin: Bulletin, viewer: User | None, tree: org.Tree | None = None
) -> tuple[org.Tree, list[org.Unit]]:
    """The tree, and the tops of the audience's subtrees inside the viewer's scope (all of
    them without a viewer: the company's own figures, as the published report counts). The
    one rule for which part of an audience the statistics and the follow-up lists cover."""
    assert bulletin.id is not None
    tree = tree or await org.load_tree(db)
    tops = await org.audience_tops(db, tree, bulletin.id, bulletin.audience_all)
    return tree, _clipped(tree, viewer, tops)


def _clipped(tree: org.Tree, viewer: User | None, tops: list[org.Unit]) -> list[org.Unit]:
    return tops if viewer is None else scope.clip(tree, viewer, tops)


# What the figures are made of, read for any number of bulletins in a fixed number of
# statements (the year's report reads every bulletin of the year at once).

ItemRow = sa.Row[Any]  # bulletin_id, id (the item's), position, post_id, title, status


async def _active_by_unit(db: AsyncSession) -> dict[int, int]:
    return {
        unit_id: n
        for unit_id, n in await db.execute(
            sa.select(users.c.unit_id, sa.func.count())
            .where(users.c.active.is_(True))
            .group_by(users.c.unit_id)
        )
    }


async def _readers_by_unit(
    db: AsyncSession, bulletin_ids: list[int]
) -> dict[int, dict[int, tuple[int, int]]]:
    """Per bulletin and unit: active readers, and of them those recorded at a meeting."""
    at_meeting = sa.func.count().filter(bulletin_reads.c.via == "meeting")
    out: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for bulletin_id, unit_id, n, meeting in await db.execute(
        sa.select(bulletin_reads.c.bulletin_id, users.c.unit_id, sa.func.count(), at_meeting)
        .select_from(bulletin_reads.join(users, users.c.id == bulletin_reads.c.user_id))
        .where(bulletin_reads.c.bulletin_id.in_(bulletin_ids), users.c.active.is_(True))
        .group_by(bulletin_reads.c.bulletin_id, users.c.unit_id)
    ):
        out[bulletin_id][unit_id] = (n, meeting)
    return out


async def _items(db: AsyncSession, bulletin_ids: list[int]) -> dict[int, list[ItemRow]]:
    out: dict[int, list[ItemRow]] = defaultdict(list)
    for row in await db.execute(
        sa.select(
            bulletin_items.c.bulletin_id,
            bulletin_items.c.id,
            bulletin_items.c.position,
            bulletin_items.c.post_id,
            posts.c.title,
            posts.c.status,
        )
        .select_from(bulletin_items.join(posts, posts.c.id == bulletin_items.c.post_id))
        .where(bulletin_items.c.bulletin_id.in_(bulletin_ids))
        .order_by(bulletin_items.c.position, bulletin_items.c.id)
    ):
        out[row.bulletin_id].append(row)
    return out


async def _answers(db: AsyncSession, item_ids: list[int]) -> dict[int, dict[int, str]]:
    """Per item: each shop's 横展開 answer."""
    answers: dict[int, dict[int, str]] = defaultdict(dict)
    for item_id, unit_id, answer in await db.execute(
        sa.select(
            rollout_responses.c.item_id, rollout_responses.c.unit_id, rollout_responses.c.answer
        ).where(rollout_responses.c.item_id.in_(item_ids))
    ):
        answers[item_id][unit_id] = answer
    return answers


async def _wants(
    db: AsyncSession, tree: org.Tree, post_ids: set[int]
) -> dict[int, dict[str | None, int]]:
    """「やってみたい」 per post and the reactor's region (the region's code; None: none)."""
    wants: dict[int, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for post_id, unit_id, n in await db.execute(
        sa.select(reactions.c.post_id, users.c.unit_id, sa.func.count())
        .select_from(reactions.join(users, users.c.id == reactions.c.user_id))
        .where(reactions.c.kind == ReactionKind.want_to_try, reactions.c.post_id.in_(post_ids))
        .group_by(reactions.c.post_id, users.c.unit_id)
    ):
        unit = tree.by_id.get(unit_id)
        region = unit.region() if unit is not None else None
        wants[post_id][region.code if region else None] += int(n)
    return wants


async def read_rates(
    db: AsyncSession, bulletin: Bulletin, viewer: User | None, tree: org.Tree | None = None
) -> list[ReadRateRow]:
    """Per unit of the audience (pre-order, rolled up the tree): active users, how many of
    them opened the bulletin, and the rate in percent (one decimal)."""
    assert bulletin.id is not None
    tree, tops = await audience_seen(db, bulletin, viewer, tree)
    readers = await _readers_by_unit(db, [bulletin.id])
    return _read_rate_rows(tree, tops, await _active_by_unit(db), readers[bulletin.id])


def _read_rate_rows(
    tree: org.Tree,
    tops: list[org.Unit],
    active: dict[int, int],
    readers: dict[int, tuple[int, int]],
) -> list[ReadRateRow]:
    totals = tree.rollup({u: [active.get(u, 0), *readers.get(u, (0, 0))] for u in tree.by_id}, 3)
    rows = []
    for top in tops:
        for node in top.walk():
            n_users, n_readers, n_meeting = totals[node.id]
            if not node.active and n_users == 0:
                continue
            rate = _pct(n_readers, n_users)
            depth = node.depth - top.depth
            row = ReadRateRow(
                node.code, node.name, node.kind, depth, n_users, n_readers, rate, n_meeting
            )
            rows.append(row)
    return rows


async def adoption_by_region(
    db: AsyncSession, bulletin: Bulletin, viewer: User | None, tree: org.Tree | None = None
) -> list[ItemAdoption]:
    """Per item and region: shops in the audience, how many answered, adopted, trialling,
    not applicable, and the adoption rate = adopted ÷ shops in the audience (one decimal)."""
    assert bulletin.id is not None
    tree, tops = await audience_seen(db, bulletin, viewer, tree)
    items = (await _items(db, [bulletin.id]))[bulletin.id]
    answers = await _answers(db, [r.id for r in items])
    wants = await _wants(db, tree, {r.post_id for r in items})
    scoped = viewer is not None and scope.is_scoped(viewer)
    return _adoption_rows(tops, items, answers, wants, scoped)


def _adoption_rows(
    tops: list[org.Unit],
    items: list[ItemRow],
    answers: dict[int, dict[int, str]],
    wants: dict[int, dict[str | None, int]],
    scoped: bool,
) -> list[ItemAdoption]:
    audience_units = [u for top in tops for u in top.walk()]
    region_of = {u.id: u.region() for u in audience_units if u.kind == UnitKind.shop and u.active}
    shops = list(region_of)
    regions = sorted(set(region_of.values()), key=lambda r: (r is None, r.code if r else ""))

    def row(region: org.Unit | None, members: list[int], given: dict[int, str]) -> AdoptionRow:
        got = [given[s] for s in members if s in given]
        adopted = got.count(RolloutAnswer.adopted)
        return AdoptionRow(
            region_code=region.code if region else None,
            region_name=region.name if region else None,
            shops=len(members),
            answered=len(got),
            adopted=adopted,
            trialling=got.count(RolloutAnswer.trialling),
            not_applicable=got.count(RolloutAnswer.not_applicable),
            rate=_pct(adopted, len(members)),
        )

    out = []
    for r in items:
        given = answers.get(r.id, {})
        per_region = [row(reg, [s for s in shops if region_of[s] == reg], given) for reg in regions]
        total = row(None, shops, given)
        wanted = wants.get(r.post_id, {})
        for line in per_region:
            line.want_to_try = wanted.get(line.region_code, 0)
        # A scoped curator's total is the regions it sees; otherwise everyone who reacted.
        total.want_to_try = (
            sum(line.want_to_try for line in per_region) if scoped else sum(wanted.values())
        )
        out.append(ItemAdoption(r.id, r.position, r.post_id, r.title, r.status, per_region, total))
    return out


# A fiscal year's bulletins by region (the published report) ------------------------------------


@dataclass(slots=True)
class RegionYear:
    """A region's figures over a year's bulletins: each bulletin's audience users and readers
    (as `read_rates` counts them) and each item's shops in the audience and adoptions (as
    `adoption_by_region` counts them), added up; the rates are the sums' ratios."""

    code: str | None  # None: units outside any region (or, for the total line, everyone)
    name: str | None
    users: int = 0
    readers: int = 0
    shops: int = 0  # shops in the audience, once per item
    adopted: int = 0

    @property
    def read_rate(self) -> float | None:
        return _pct(self.readers, self.users)

    @property
    def adoption_rate(self) -> float | None:
        return _pct(self.adopted, self.shops)


@dataclass(slots=True)
class BulletinYear:
    fiscal_year: int
    bulletins: int  # published in the fiscal year (the Vol. N numbering's year)
    items: int
    regions: list[RegionYear]  # by region code; "outside any region" last when it has figures
    total: RegionYear


async def year_by_region(db: AsyncSession, fy: int) -> BulletinYear:
    """The bulletins published in fiscal year `fy`: how many, their items, and per region the
    read rate (readers ÷ active users of the audience, over every bulletin) and the adoption
    rate (adopted ÷ shops in the audience, over every item)."""
    tree = await org.load_tree(db)
    year = list(
        (
            await db.execute(
                sa.select(Bulletin)
                .where(
                    bulletins.c.status == BulletinStatus.published, bulletins.c.fiscal_year == fy
                )
                .order_by(bulletins.c.volume, bulletins.c.id)
            )
        ).scalars()
    )
    ids = [b.id for b in year if b.id is not None]
    # Every bulletin's figures from the same few statements, whatever their number.
    audiences = await org.audiences_tops(db, tree, [(b.id, b.audience_all) for b in year if b.id])
    active = await _active_by_unit(db)
    readers = await _readers_by_unit(db, ids)
    items = await _items(db, ids)
    answers = await _answers(db, [r.id for rows in items.values() for r in rows])
    lines: dict[str | None, RegionYear] = {
        r.code: RegionYear(r.code, r.name) for r in tree.nodes if r.kind == UnitKind.region
    }
    outside = RegionYear(None, None)
    total = RegionYear(None, None)
    n_items = 0
    for bulletin_id in ids:
        tops = audiences[bulletin_id]
        for rate in _read_rate_rows(tree, tops, active, readers[bulletin_id]):
            node = tree.by_code[rate.code]
            region = node.region()
            if rate.depth == 0:
                total.users += rate.users
                total.readers += rate.readers
            # A region's own row, or the top of an audience chosen inside a region.
            if region is not None and (node is region or rate.depth == 0):
                lines[region.code].users += rate.users
                lines[region.code].readers += rate.readers
        for item in _adoption_rows(tops, items[bulletin_id], answers, {}, scoped=False):
            n_items += 1
            total.shops += item.total.shops
            total.adopted += item.total.adopted
            for row in item.regions:
                line = lines[row.region_code] if row.region_code is not None else outside
                line.shops += row.shops
                line.adopted += row.adopted
    outside.users = total.users - sum(r.users for r in lines.values())
    outside.readers = total.readers - sum(r.readers for r in lines.values())
    regions = sorted(
        (r for r in lines.values() if tree.by_code[r.code or ""].active or r.users or r.shops),
        key=lambda r: r.code or "",
    )
    if outside.users or outside.shops:
        regions.append(outside)
    return BulletinYear(fy, len(ids), n_items, regions, total)
