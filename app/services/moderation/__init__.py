"""Head office moderation and curation: hide, restore, redact, feature; the open flags queue.

Every action changes its target and adds exactly one audit row (app.services.audit.record,
the curator as actor) in the same transaction, so that both are written or neither is.
State changes are conditional UPDATEs (`... WHERE status = 'published'`): of two curators
acting at once, one wins and the other gets a Conflict, never a second audit row. Input is
checked before anything is written, and a Conflict is raised only when the UPDATE changed
no row, so a refused action has written nothing (no rollback needed: it would also expire
the caller's loaded objects, which the page rendered next still uses).
A post's `comment_count` counts visible (published) comments only, and moves atomically
(`comment_count = comment_count ± 1`) when a comment is hidden or restored.
"""

from app.services.moderation.dismissal import dismiss_flags, target_exists
from app.services.moderation.featuring import feature_post, unfeature_post
from app.services.moderation.hiding import (
    hidden_for_personal_data,
    hide_comment,
    hide_post,
    restore_comment,
    restore_post,
)
from app.services.moderation.queue import (
    FlagGroup,
    FlagView,
    TargetComment,
    TargetPost,
    flag_group,
    open_flag_count,
    open_flags,
    post_row,
    recent_posts,
)
from app.services.moderation.redaction import redact_comment, redact_post
from app.services.moderation.rules import (
    FEATURE_NOTE_MAX,
    REASON_MAX,
    Actions,
    clean_note,
    clean_reason,
    parse_target,
)

__all__ = [
    "FEATURE_NOTE_MAX",
    "REASON_MAX",
    "Actions",
    "FlagGroup",
    "FlagView",
    "TargetComment",
    "TargetPost",
    "clean_note",
    "clean_reason",
    "dismiss_flags",
    "feature_post",
    "flag_group",
    "hidden_for_personal_data",
    "hide_comment",
    "hide_post",
    "open_flag_count",
    "open_flags",
    "parse_target",
    "post_row",
    "recent_posts",
    "redact_comment",
    "redact_post",
    "restore_comment",
    "restore_post",
    "target_exists",
    "unfeature_post",
]
