"""Human labels for the domain's codes (channels, products, categories, reasons, complaint
categories and statuses, unit kinds, roles), translated: one home for every label."""

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


LABELS = {
    "channel": channel_labels,
    "product": product_labels,
    "category": category_labels,
    "kind": kind_labels,
    "flag_reason": flag_reason_labels,
    "status": status_labels,
    "complaint_category": complaint_category_labels,
    "complaint_status": complaint_status_labels,
}


@cache
def _group(group: str, locale: str) -> dict[str, str]:
    return LABELS[group]()


def label(group: str, value: str | None) -> str:
    if value is None:
        return ""
    return _group(group, current_locale.get()).get(value, value)
