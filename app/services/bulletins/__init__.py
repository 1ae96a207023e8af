"""Bulletins (好取組情報): drafting, audience, scheduling and numbered publication, who may
see them, read receipts, 横展開 answers and the head office statistics.

Rules written down here (README "Decisions"):

- A bulletin is edited while it is a draft or scheduled; once published it is frozen (409).
- It is published with at least one item. Vol. N is numbered at publication: 1 + the
  highest volume of the fiscal year of the publication date (Asia/Tokyo). The unique index
  uq_bulletins_volume makes a concurrent second "Vol. N" fail; that publication retries.
- Scheduled bulletins are published by `publish_due`, called at the start of a request
  (`publish_due_if_time`, an app-wide dependency: every page and API answer after the time
  shows them; the reads themselves only read) and by `arigato bulletins publish-due` (cron).
  Each publication is one guarded `UPDATE ... WHERE status = 'scheduled'`, so two app instances
  can never publish one bulletin twice. A scheduled bulletin's `published_at` is the time it
  was scheduled for, however late the first request after it came.
- Staff see published bulletins for everyone or for a subtree that holds their unit; any
  other bulletin is a 404 to them. Curators and admins see every bulletin, drafts too.
- Items whose post is no longer published (hidden, deleted) are not shown to staff.
- 横展開: one answer per (item, shop), given by a user whose own unit is a shop in the
  audience; the latest answer wins. Adoption rate = adopted ÷ shops in the audience.
- Read follow-up: an optional confirmation deadline (確認期限, a Tokyo day); the lists of
  people and shops that have not read it or not answered 横展開 come from one function,
  `follow_up`; "remind" notifies exactly the unread (at most once a Tokyo day per bulletin,
  one guarded UPDATE of `reminded_on`), and the request-start step sends the automatic
  reminder the day before the deadline (claimed once by a guarded UPDATE of
  `deadline_reminded_at`). docs/compliance.md "Read follow-up".

The package by concern: `rules` (who sees and edits what, the audience, the checks on what
is typed, one change as one savepoint), `drafting` (create, change, schedule), `items`,
`publishing` (now, when due, Vol. N), `reading` (lists, views, read receipts, 横展開
answers), `meeting` (the morning meeting on a shop terminal), `stats` and `followup` (who
has not read it, reminders). Callers use the
names exported here.
"""

from __future__ import annotations

from app.services.bulletins.drafting import (
    create_bulletin,
    local_time,
    schedule,
    unschedule,
    update_bulletin,
)
from app.services.bulletins.followup import (
    FollowUp,
    ShopFollowUp,
    UnreadPerson,
    csv_name,
    follow_up,
    people_csv,
    remind,
    remind_due,
    reminded_today,
    shops_csv,
)
from app.services.bulletins.items import (
    SearchHit,
    add_item,
    items_of,
    move_item,
    remove_item,
    search_posts,
    set_item_comment,
    set_order,
)
from app.services.bulletins.meeting import (
    Attendee,
    MeetingRecord,
    MeetingView,
    meeting_view,
    record_meeting,
)
from app.services.bulletins.publishing import (
    publish_due,
    publish_due_if_time,
    publish_now,
)
from app.services.bulletins.reading import (
    BannerEntry,
    BulletinView,
    ItemView,
    RolloutView,
    answer_rollout,
    list_bulletins,
    list_unpublished,
    mark_read,
    unread_for,
    view,
    views,
)
from app.services.bulletins.rules import (
    ANSWERS,
    AUDIENCE_KINDS,
    BANNER_MAX,
    COMMENT_MAX,
    DRAFT,
    ITEMS_MAX,
    LEAD_MAX,
    PUBLISH_RETRIES,
    PUBLISHED,
    SCHEDULED,
    TITLE_MAX,
    Audience,
    audience_choices,
    audience_codes,
    frozen,
    get_bulletin_for_edit,
    get_bulletin_for_stats,
    get_bulletin_for_view,
    may_manage,
    not_found,
    split_codes,
    visible_to,
)
from app.services.bulletins.stats import (
    AdoptionRow,
    BulletinYear,
    ItemAdoption,
    ReadRateRow,
    RegionYear,
    adoption_by_region,
    read_rates,
    year_by_region,
)

__all__ = [
    "ANSWERS",
    "AUDIENCE_KINDS",
    "BANNER_MAX",
    "COMMENT_MAX",
    "DRAFT",
    "ITEMS_MAX",
    "LEAD_MAX",
    "PUBLISHED",
    "PUBLISH_RETRIES",
    "SCHEDULED",
    "TITLE_MAX",
    "AdoptionRow",
    "Attendee",
    "Audience",
    "BannerEntry",
    "BulletinView",
    "BulletinYear",
    "FollowUp",
    "ItemAdoption",
    "ItemView",
    "MeetingRecord",
    "MeetingView",
    "ReadRateRow",
    "RegionYear",
    "RolloutView",
    "SearchHit",
    "ShopFollowUp",
    "UnreadPerson",
    "add_item",
    "adoption_by_region",
    "answer_rollout",
    "audience_choices",
    "audience_codes",
    "create_bulletin",
    "csv_name",
    "follow_up",
    "frozen",
    "get_bulletin_for_edit",
    "get_bulletin_for_stats",
    "get_bulletin_for_view",
    "items_of",
    "list_bulletins",
    "list_unpublished",
    "local_time",
    "mark_read",
    "may_manage",
    "meeting_view",
    "move_item",
    "not_found",
    "people_csv",
    "publish_due",
    "publish_due_if_time",
    "publish_now",
    "read_rates",
    "record_meeting",
    "remind",
    "remind_due",
    "reminded_today",
    "remove_item",
    "schedule",
    "search_posts",
    "set_item_comment",
    "set_order",
    "shops_csv",
    "split_codes",
    "unread_for",
    "unschedule",
    "update_bulletin",
    "view",
    "views",
    "visible_to",
    "year_by_region",
]
