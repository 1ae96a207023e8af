"""Links into the post page that every layer (services, routes, templates) builds alike."""

from __future__ import annotations


def one_comment(comment_id: int) -> str:
    """What follows the post page's path in a link to one comment. The page shows a post's
    first comments only (services/comments.COMMENTS_PAGE, then "more"): `comments=all` shows
    every one, so that the browser finds the anchor whichever the comment is."""
    return f"?comments=all#comment-{comment_id}"
