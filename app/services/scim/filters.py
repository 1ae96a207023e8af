"""A SCIM filter (RFC 7644 §3.4.2.2), parsed by scim2-models, as a SQL condition on users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from scim2_models import SCIMException, ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlmodel import col

from app.i18n import _
from app.models import OrgUnit, User
from app.services.scim.errors import ScimBadRequest
from app.services.scim.resources import ENTERPRISE

Column = sa.ColumnElement[Any]

# attribute (lower case, with its schema URN or sub-attribute) -> column
_COLUMNS: dict[str, Callable[[], Any]] = {  # Any: mypy sees the ORM columns as Mapped
    "username": lambda: col(User.code),
    "id": lambda: sa.cast(col(User.id), sa.String),
    "externalid": lambda: col(User.scim_external_id),
    "displayname": lambda: col(User.name),
    "name.formatted": lambda: col(User.name),
    "emails": lambda: col(User.email),
    "emails.value": lambda: col(User.email),
    "active": lambda: col(User.active),
    f"{ENTERPRISE.lower()}:department": lambda: col(OrgUnit.code),
    "department": lambda: col(OrgUnit.code),
}
# userName is case-insensitive in RFC 7643 ("caseExact": false); so are e-mail addresses.
_CASE_INSENSITIVE = {"username", "emails", "emails.value"}


def _key(path: AttrPath, prefix: str = "") -> str:
    name = path.attr.lower() + (f".{path.sub_attr.lower()}" if path.sub_attr else "")
    if prefix:
        name = f"{prefix}.{name}"
    if path.uri and path.uri.lower() != "urn:ietf:params:scim:schemas:core:2.0:user":
        name = f"{path.uri.lower()}:{name}"
    return name


def _unsupported(path: str) -> ScimBadRequest:
    return ScimBadRequest(
        _("Filtering on %(attr)s is not supported.") % {"attr": path}, "invalidFilter"
    )


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _ToSql(FilterVisitor[Column]):
    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def _column(self, path: AttrPath) -> tuple[str, Column]:
        key = _key(path, self.prefix)
        if key not in _COLUMNS:
            raise _unsupported(key)
        return key, _COLUMNS[key]()

    def visit_comparison(self, node: Comparison) -> Column:
        attr = node.attr_path.attr.lower()
        if self.prefix == "emails" and attr in ("type", "primary"):
            # The board keeps one e-mail, the work one, primary.
            wanted = {"type": "work", "primary": True}[attr]
            matches = node.op == CompareOperator.eq and node.value == wanted
            return col(User.email).is_not(None) if matches else sa.false()
        key, column = self._column(node.attr_path)
        value = node.value
        if key == "active":
            if not isinstance(value, bool) or node.op not in (
                CompareOperator.eq,
                CompareOperator.ne,
            ):
                raise ScimBadRequest(_("active compares with true or false."), "invalidFilter")
            return column == value if node.op == CompareOperator.eq else column != value
        if not isinstance(value, str):
            raise ScimBadRequest(_("This attribute compares with a string."), "invalidFilter")
        if key in _CASE_INSENSITIVE:
            column, value = sa.func.lower(column), value.lower()
        match node.op:
            case CompareOperator.eq:
                return column == value
            case CompareOperator.ne:
                return sa.or_(column != value, column.is_(None))
            case CompareOperator.co:
                return column.like(f"%{_like(value)}%", escape="\\")
            case CompareOperator.sw:
                return column.like(f"{_like(value)}%", escape="\\")
            case CompareOperator.ew:
                return column.like(f"%{_like(value)}", escape="\\")
            case CompareOperator.gt:
                return column > value
            case CompareOperator.ge:
                return column >= value
            case CompareOperator.lt:
                return column < value
            case _:
                return column <= value

    def visit_present(self, node: Present) -> Column:
        column = self._column(node.attr_path)[1]
        return column.is_not(None)

    def visit_not(self, node: Not) -> Column:
        return sa.not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> Column:
        terms = [self.visit(t) for t in node.terms]
        return sa.and_(*terms) if node.op == LogicalOperator.and_ else sa.or_(*terms)

    def visit_value_path(self, node: ValuePath) -> Column:
        # emails[value eq "x"] or emails[type eq "work"]: the board keeps one work e-mail.
        if _key(node.attr_path) != "emails":
            raise _unsupported(_key(node.attr_path))
        return _ToSql("emails").visit(node.val_filter)


def where(text: str) -> Column:
    """The SQL condition (on users joined with their unit) a filter stands for; a filter that
    cannot be read or names an attribute the board does not keep: 400 invalidFilter."""
    try:
        ast = ScimFilter[Any](text).ast
    except (SCIMException, ValueError) as exc:
        raise ScimBadRequest(
            _("The filter cannot be read: %(error)s") % {"error": exc}, "invalidFilter"
        ) from exc
    return _ToSql().visit(ast)
