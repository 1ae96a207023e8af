"""Human labels for the domain's codes (channels, products, categories, reactions, reasons,
complaint categories and statuses, unit kinds, roles, the audit log's actions, targets and
fields, the columns of the CSV imports), translated: one home for every label."""

from __future__ import annotations

from functools import cache

from app.i18n import _, current_locale
from app.models import ComplaintCategory, ComplaintStatus, Role, UnitKind


def channel_labels() -> dict[str, str]:
    return {
        "counter": _("In the shop"),
        "phone": _("Phone"),
        "survey": _("Survey"),
        "letter": _("Letter or postcard"),
        "email": _("E-mail"),
        "visit": _("Visit"),
        "other": _("Other"),
    }


def product_labels() -> dict[str, str]:
    return {
        "auto": _("Auto"),
        "fire": _("Fire"),
        "earthquake": _("Earthquake"),
        "life": _("Life"),
        "casualty": _("Personal accident"),
        "other": _("Other"),
    }


def category_labels() -> dict[str, str]:
    return {"knowledge": _("Knowledge"), "skill": _("Skill"), "tool": _("Tool")}


def reaction_labels() -> dict[str, str]:
    """The reactions (スタンプ), in ReactionKind order."""
    return {
        "thanks": _("Thanks"),
        "great": _("Great"),
        "helpful": _("Helpful"),
        "want_to_try": _("Want to try"),
    }


def kind_labels() -> dict[str, str]:
    return {"praise": _("Thanks"), "knowhow": _("Know-how")}


def unit_kind_labels() -> dict[str, str]:
    return {
        UnitKind.company: _("Company"),
        UnitKind.region: _("Region"),
        UnitKind.branch: _("Branch"),
        UnitKind.shop: _("Shop"),
        UnitKind.department: _("Head office department"),
    }


def role_labels() -> dict[str, str]:
    return {
        Role.staff: _("Staff"),
        Role.curator: _("Curator (head office)"),
        Role.admin: _("Administrator"),
    }


def flag_reason_labels() -> dict[str, str]:
    return {
        "personal_info": _("Customer personal data"),
        "inappropriate": _("Inappropriate"),
        "wrong_info": _("Wrong information"),
        "duplicate": _("Duplicate"),
        "other": _("Other"),
    }


def status_labels() -> dict[str, str]:
    return {
        "draft": _("Draft"),
        "published": _("Published"),
        "hidden": _("Hidden"),
        "deleted": _("Deleted"),
    }


def complaint_category_labels() -> dict[str, str]:
    """In the order of SPEC §2 (the お客さまの声 table lists them in this order)."""
    return {
        ComplaintCategory.renewal_contract: _("Renewal notices and contract procedures"),
        ComplaintCategory.change_cancel: _("Changes, cancellations and policy servicing"),
        ComplaintCategory.premium: _("Premium collection"),
        ComplaintCategory.claim: _("Claim payments"),
        ComplaintCategory.personal_info: _("Personal information"),
        ComplaintCategory.other: _("Other"),
    }


def complaint_status_labels() -> dict[str, str]:
    return {
        ComplaintStatus.received: _("Received"),
        ComplaintStatus.in_progress: _("In progress"),
        ComplaintStatus.resolved: _("Resolved"),
    }


def audit_action_labels() -> dict[str, str]:
    """Every action the app writes to the audit log (tests/test_audit_labels.py finds them in
    the code and checks that each has a label here, in both languages)."""
    return {
        "post.hide": _("Hide post"),
        "post.restore": _("Restore post"),
        "post.redact": _("Redact post"),
        "post.feature": _("Mark as good practice"),
        "post.unfeature": _("Remove good practice mark"),
        "comment.hide": _("Hide comment"),
        "comment.restore": _("Restore comment"),
        "comment.redact": _("Redact comment"),
        "flags.dismiss": _("Dismiss reports"),
        "kpi.close": _("Close KPI month"),
        "kpi.reopen": _("Reopen KPI month"),
        "approval.request": _("Ask for a second person's approval"),
        "approval.approve": _("Approve a request"),
        "approval.reject": _("Turn down a request"),
        "complaint.create": _("Record complaint"),
        "complaint.update": _("Change complaint"),
        "complaint.import": _("Import complaints"),
        "bulletin.create": _("Create bulletin"),
        "bulletin.update": _("Change bulletin"),
        "bulletin.schedule": _("Schedule bulletin"),
        "bulletin.unschedule": _("Cancel bulletin schedule"),
        "bulletin.publish": _("Publish bulletin"),
        "bulletin.remind": _("Remind to read bulletin"),
        "bulletin.items": _("Replace bulletin posts"),
        "bulletin.item_add": _("Add post to bulletin"),
        "bulletin.item_remove": _("Remove post from bulletin"),
        "bulletin.item_move": _("Move post in bulletin"),
        "bulletin.item_order": _("Reorder bulletin posts"),
        "bulletin.item_comment": _("Change bulletin comment"),
        "units.import": _("Import units"),
        "users.import": _("Import users"),
        "unit.create": _("Add unit"),
        "unit.rename": _("Rename unit"),
        "unit.kind": _("Change unit kind"),
        "unit.move": _("Move unit"),
        "unit.deactivate": _("Deactivate unit"),
        "unit.reactivate": _("Reactivate unit"),
        "user.create": _("Add user"),
        "user.update": _("Change user details"),
        "user.role": _("Change role"),
        "user.unit": _("Change user's unit"),
        "user.scope": _("Change curator's scope"),
        "user.deactivate": _("Deactivate user"),
        "user.reactivate": _("Reactivate user"),
        "user.password_reset": _("Set one-time password"),
        "user.revoke_access": _("End sessions and tokens"),
        "user.sso_link": _("Link company account"),
        "device.register": _("Register shop terminal"),
        "device.revoke": _("Revoke shop terminal"),
        "user.sso_create": _("Add user at first single sign-on"),
        "user.one_time_password_void": _("One-time password voided by single sign-on"),
        "token.revoke": _("Revoke API token"),
        "scim.token_issue": _("Issue SCIM token"),
        "integration.create": _("Add integration"),
        "integration.update": _("Change integration"),
        "integration.delete": _("Remove integration"),
        "attachment.mask": _("Black out personal data in an image"),
        "attachment.release": _("Release a held image"),
    }


def audit_target_labels() -> dict[str, str]:
    """What an audit row is about (its target_type)."""
    return {
        "post": _("Board post"),
        "comment": _("Comment on a post"),
        "bulletin": _("Bulletin"),
        "user": _("User"),
        "unit": _("Unit"),
        "api_token": _("API token"),
        "kpi_month": _("KPI month"),
        "complaint": _("Complaint"),
        "device": _("Shop terminal"),
        "integration": _("Integration"),
        "attachment": _("Attachment"),
    }


def audit_field_labels() -> dict[str, str]:
    """Every key the app writes into an audit row's before/after changes (checked like the
    actions by tests/test_audit_labels.py); "target type.key" where a key means something
    more precise for that target."""
    return {
        "active": _("Active"),
        "audience": _("Audience"),
        "body": _("Text"),
        "category": _("Category"),
        "closed_at": _("Closed at"),
        "code": _("Code"),
        "user.code": _("Employee number"),
        "unit.code": _("Unit code"),
        "codes": _("Codes"),
        "comment": _("Head office comment"),
        "confirm_by": _("Confirmation deadline"),
        "direction": _("Direction"),
        "email": _("E-mail"),
        "feature_note": _("Good practice note"),
        "featured": _("Good practice"),
        "fiscal_year": _("Fiscal year"),
        "flags_dismissed": _("Reports dismissed"),
        "flags_resolved": _("Reports closed"),
        "hidden_reason": _("Reason for hiding"),
        "image_check": _("Personal-data check of the image"),
        "regions": _("Parts blacked out"),
        "imported": _("Rows imported"),
        "item_id": _("Bulletin entry"),
        "items": _("Posts"),
        "kind": _("Unit kind"),
        "integration.kind": _("Kind"),
        "enabled": _("On"),
        "units": _("Units"),
        "events": _("What is sent"),
        "post_kinds": _("Posts"),
        "post": _("Linked post"),
        "settings": _("Settings"),
        "secrets": _("Secrets set"),
        "secrets_replaced": _("Secrets replaced"),
        "lead": _("Lead"),
        "month": _("Month"),
        "must_change_password": _("Must change password"),
        "name": _("Name"),
        "unit.name": _("Unit name"),
        "api_token.name": _("Token name"),
        "one_time_password": _("One-time password set"),
        "order": _("Order"),
        "parent": _("Parent"),
        "post_id": _("Board post"),
        "praise": _("Thanks posts"),
        "prefix": _("Token prefix"),
        "expires_at": _("Expires"),
        "via": _("Issued from"),
        "publish_at": _("Publication time"),
        "received_on": _("Date received"),
        "recipients": _("People reminded"),
        "request_id": _("Request number"),
        "requested": _("Action asked for"),
        "revoked": _("Revoked"),
        "role": _("Role"),
        "scope": _("Scope"),
        "scopes": _("Scopes"),
        "sessions_ended": _("Sessions ended"),
        "sso_subject": _("Company account ID"),
        "status": _("Status"),
        "summary": _("Summary"),
        "title": _("Title"),
        "tokens_revoked": _("API tokens revoked"),
        "unit": _("Unit"),
        "user": _("User"),
        "volume": _("Volume"),
    }


def audit_reason_labels() -> dict[str, str]:
    """Reasons the app itself writes (a person's reason is shown as typed)."""
    return {
        "scheduled": _("Published at the scheduled time"),
        "deadline": _("Automatic reminder the day before the confirmation deadline"),
    }


def yes_no_labels() -> dict[str, str]:
    return {"true": _("Yes"), "false": _("No")}


def bulletin_status_labels() -> dict[str, str]:
    return {"draft": _("Draft"), "scheduled": _("Scheduled"), "published": _("Published")}


def direction_labels() -> dict[str, str]:
    return {"up": _("Up"), "down": _("Down")}


def csv_column_labels() -> dict[str, str]:
    """The columns of the CSV imports (units, users, complaints), as a reason names them;
    the units file's code and name are the unit's."""
    return {
        "code": _("Employee number"),
        "name": _("Name"),
        "unit_code": _("Unit code"),
        "unit_name": _("Unit name"),
        "kind": _("Unit kind"),
        "parent": _("Parent"),
        "email": _("E-mail"),
        "unit": _("Unit"),
        "role": _("Role"),
        "scope": _("Scope"),
        "received_on": _("Date received"),
        "recipients": _("People reminded"),
        "category": _("Category"),
        "status": _("Status"),
        "summary": _("Summary"),
    }


def csv_column(name: str, header: str | None = None) -> str:
    """A CSV column as an import's reason names it: its label, then its header in the file
    (`header`, the name itself unless told), so that the row can be fixed there:
    「権限（role）」."""
    return _("%(label)s (%(column)s)") % {
        "label": label("csv_column", name),
        "column": header or name,
    }


def unit_csv_column(header: str) -> str:
    """A column of the units file (its code and name are the unit's)."""
    return csv_column(f"unit_{header}" if header in ("code", "name") else header, header)


LABELS = {
    "channel": channel_labels,
    "product": product_labels,
    "category": category_labels,
    "kind": kind_labels,
    "reaction": reaction_labels,
    "flag_reason": flag_reason_labels,
    "status": status_labels,
    "complaint_category": complaint_category_labels,
    "complaint_status": complaint_status_labels,
    "audit_action": audit_action_labels,
    "audit_target": audit_target_labels,
    "audit_field": audit_field_labels,
    "audit_reason": audit_reason_labels,
    "unit_kind": unit_kind_labels,
    "role": role_labels,
    "yes_no": yes_no_labels,
    "bulletin_status": bulletin_status_labels,
    "direction": direction_labels,
    "csv_column": csv_column_labels,
}


@cache
def _group(group: str, locale: str) -> dict[str, str]:
    return LABELS[group]()


def label(group: str, value: str | None) -> str:
    if value is None:
        return ""
    return _group(group, current_locale.get()).get(value, value)
