"""The shop's shared terminal: registered devices, personal PINs, who may sign in on a device,
and what happens to a post that was being written when the terminal signed itself out.

Rules written down here (docs/terminal.md):

- An admin registers a browser as a device of one shop; the browser keeps a long-lived
  credential cookie (HttpOnly, 256 random bits, only its SHA-256 stored). Revoking a device
  ends its sessions at once; its cookie then counts for nothing.
- Every session started on a device is a terminal session: it ends after
  TERMINAL_IDLE_SECONDS without a request the user made (server-side expiry that slides).
- On a device, the shop's own staff sign in with employee number (or their name picked from
  the shop's list) and PIN, or with their password; users of other units only with their
  password, and only curators and admins.
- A composer interrupted by the idle sign-out becomes a draft post of its author (the posts'
  own `draft` status: it shows in their drafts, nothing else to learn).
"""
