"""The head office statistics: read rates by unit, 横展開 adoption by region."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import (
    Bulletin,
    RolloutAnswer,
    UnitKind,
)
from app.models.tables import (
    bulletin_items,
    bulletin_reads,
    posts,
    rollout_responses,
    users,
)
from app.services import org
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


@dataclass(slots=True)
class ItemAdoption:
    item_id: int
    position: int
    post_id: int
    title: str
    post_status: str
    regions: list[AdoptionRow]
    total: AdoptionRow


async def read_rates(db: AsyncSession, bulletin: Bulletin) -> list[ReadRateRow]:
    """Per unit of the audience (pre-order, rolled up the tree): active users, how many of
    them opened the bulletin, and the rate in percent (one decimal)."""
    assert bulletin.id is not None
    tree = await org.load_tree(db)
    tops = await org.audience_tops(db, tree, bulletin.id, bulletin.audience_all)
    active = {
        unit_id: n
        for unit_id, n in await db.execute(
            sa.select(users.c.unit_id, sa.func.count())
            .where(users.c.active.is_(True))
            .group_by(users.c.unit_id)
        )
    }
    readers = {
        unit_id: n
        for unit_id, n in await db.execute(
            sa.select(users.c.unit_id, sa.func.count())
            .select_from(bulletin_reads.join(users, users.c.id == bulletin_reads.c.user_id))
            .where(bulletin_reads.c.bulletin_id == bulletin.id, users.c.active.is_(True))
            .group_by(users.c.unit_id)
        )
    }
    totals = tree.rollup({u: [active.get(u, 0), readers.get(u, 0)] for u in tree.by_id}, 2)
    rows = []
    for top in tops:
        for node in top.walk():
            n_users, n_readers = totals[node.id]
            if not node.active and n_users == 0:
                continue
            rate = _pct(n_readers, n_users)
            depth = node.depth - top.depth
            row = ReadRateRow(node.code, node.name, node.kind, depth, n_users, n_readers, rate)
            rows.append(row)
    return rows


async def adoption_by_region(db: AsyncSession, bulletin: Bulletin) -> list[ItemAdoption]:
    """Per item and region: shops in the audience, how many answered, adopted, trialling,
    not applicable, and the adoption rate = adopted ÷ shops in the audience (one decimal)."""
    assert bulletin.id is not None
    tree = await org.load_tree(db)
    tops = await org.audience_tops(db, tree, bulletin.id, bulletin.audience_all)
    audience_units = [u for top in tops for u in top.walk()]
    region_of = {u.id: u.region() for u in audience_units if u.kind == UnitKind.shop and u.active}
    shops = list(region_of)
    regions = sorted(set(region_of.values()), key=lambda r: (r is None, r.code if r else ""))
    item_rows = (
        await db.execute(
            sa.select(
                bulletin_items.c.id,
                bulletin_items.c.position,
                bulletin_items.c.post_id,
                posts.c.title,
                posts.c.status,
            )
            .select_from(bulletin_items.join(posts, posts.c.id == bulletin_items.c.post_id))
            .where(bulletin_items.c.bulletin_id == bulletin.id)
            .order_by(bulletin_items.c.position, bulletin_items.c.id)
        )
    ).all()
    answers: dict[int, dict[int, str]] = defaultdict(dict)
    for item_id, unit_id, answer in await db.execute(
        sa.select(
            rollout_responses.c.item_id, rollout_responses.c.unit_id, rollout_responses.c.answer
        ).where(rollout_responses.c.item_id.in_([r.id for r in item_rows]))
    ):
        answers[item_id][unit_id] = answer

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
    for r in item_rows:
        given = answers.get(r.id, {})
        per_region = [row(reg, [s for s in shops if region_of[s] == reg], given) for reg in regions]
        total = row(None, shops, given)
        out.append(ItemAdoption(r.id, r.position, r.post_id, r.title, r.status, per_region, total))
    return out
