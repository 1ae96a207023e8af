"""Outgoing integrations: a package per kind (webhook/, slack/, teams/, lineworks/, each
with its transport) over one durable outbox (outbox.py) that every instance drains
(drainer.py). Changes call `events` in their own transaction; `config` is the admin side."""
