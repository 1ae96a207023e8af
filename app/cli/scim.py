"""`arigato scim token`: a bearer token for the identity provider's SCIM provisioning."""

from __future__ import annotations

import click


@click.group()
def scim() -> None:
    """SCIM 2.0 provisioning (Entra ID, Okta): docs/scim.md."""


@scim.command("token")
@click.option(
    "--days", type=click.IntRange(1, 3650), default=365, show_default=True, help="Valid for."
)
@click.option(
    "--admin",
    "admin_code",
    default=None,
    help="The admin whose name SCIM's changes carry in the audit log (default: the first "
    "active admin). The token stops working if that admin is deactivated.",
)
def token(days: int, admin_code: str | None) -> None:
    """Issue a SCIM token; prints the token alone on a line (shown this once)."""
    from app.cli.main import BadInput, run_db  # late: main registers this group at its end
    from app.services.people.tokens import NoScimOwner, issue_scim_token_for

    try:
        plain = run_db(lambda db: issue_scim_token_for(db, admin_code, days=days))
    except NoScimOwner as exc:
        raise BadInput(str(exc)) from exc
    click.echo(plain)
