"""Notifications: who hears of what (never of their own doing), likes grouped per post, the
list (unread first), marking read, and the unread count behind the bell.

Rules (SPEC §2):
- like: the post's author; one unread notification per post, updated with the latest liker
  and the number of people who liked since the author last read it ("山田さん他3名が…");
  an unlike takes that person out of the group again (and removes an emptied group).
- reaction (スタンプ): grouped the same way, one unread notification per post for every kind,
  with the latest reactor and the number of reactions since the author last read it.
- comment: the post's author. mention: each active colleague @mentioned in the comment,
  except the post's author (who already hears of the comment).
- featured / hidden: the post's author. bulletin_item: the author of each post in a bulletin
  when it is published. bulletin: every active user in the bulletin's audience, except the
  authors told of their own post in it.
- bulletin_reminder: the people in the audience who have not opened the bulletin (the
  follow-up list of services/bulletins/followup.py), when a curator presses "remind" or the
  day before its confirmation deadline; at most once a day per bulletin.
- nobody is notified of their own action.

Writers that run inside someone else's transaction (`on_like`, `on_comment`, ...) only add
rows and return who must hear of it; the caller commits and then calls
`events.notifications_changed(recipients)` so the bells update live. The `notify_*`
functions are whole units of work for hooks called after another service committed.
"""

from app.services.notifications.reading import (
    BELL_CAP,
    NotificationView,
    bell_text,
    bulletin_label,
    encode_list_cursor,
    get_for,
    list_for,
    mark_read,
    unread_count,
    unread_count_of,
    unread_counts,
)
from app.services.notifications.writing import (
    notify_bulletin_published,
    notify_bulletins_published,
    notify_post_featured,
    notify_post_hidden,
    on_bulletin_reminder,
    on_comment,
    on_like,
    on_reaction,
    on_unlike,
    on_unreaction,
)

__all__ = [
    "BELL_CAP",
    "NotificationView",
    "bell_text",
    "bulletin_label",
    "encode_list_cursor",
    "get_for",
    "list_for",
    "mark_read",
    "notify_bulletin_published",
    "notify_bulletins_published",
    "notify_post_featured",
    "notify_post_hidden",
    "on_bulletin_reminder",
    "on_comment",
    "on_like",
    "on_reaction",
    "on_unlike",
    "on_unreaction",
    "unread_count",
    "unread_count_of",
    "unread_counts",
]
