"""What SCIM sees of a user, and what the service announces about itself.

Requests are read with scim2-models' full `User[EnterpriseUser]`, so the attributes an
identity provider sends by default (title, phoneNumbers...) are accepted and dropped; the
Schemas endpoint announces only what is kept (`ArigatoUser`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ComplexAttribute,
    Context,
    Email,
    EnterpriseUser,
    ETag,
    Extension,
    Filter,
    Meta,
    Mutability,
    Patch,
    Required,
    Resource,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
    User,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ScimUser = User[EnterpriseUser]
MAX_RESULTS = 200
DEFAULT_COUNT = 100
DOCS_URL = "https://github.com/arigato-board/arigato/blob/main/docs/scim.md"


class KeptEnterprise(Extension):
    """Of the enterprise extension, only the unit (its code) is kept; every user has one."""

    __schema__ = URN(ENTERPRISE)

    department: Annotated[str | None, Required.true] = None


class KeptEmail(ComplexAttribute):
    """The one e-mail address the board keeps (a PATCH takes it as the primary, work one,
    so that Entra ID's `emails[type eq "work"].value` finds it)."""

    value: str | None = None


class ArigatoUser(Resource[KeptEnterprise]):
    """The attributes the board keeps, as the Schemas endpoint announces them. `name` is
    read (when displayName is missing) but not announced: the board keeps one name, which
    is displayName. The employee number (userName) never changes."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true, Mutability.immutable] = None
    display_name: Annotated[str | None, Required.true] = None
    emails: list[KeptEmail] | None = None
    active: Annotated[bool | None, Required.true] = None


def schemas() -> list[Schema]:
    return [ArigatoUser.to_schema(), KeptEnterprise.to_schema()]


def resource_types() -> list[ResourceType]:
    rt = ResourceType.from_resource(ArigatoUser)
    assert rt.schema_extensions
    rt.schema_extensions[0].required = True
    rt.id = rt.name = "User"
    rt.endpoint = "/Users"  # type: ignore[assignment]  # validated into a Reference
    return [rt]


def service_provider_config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=DOCS_URL,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="A SCIM token an administrator issues in /admin or with "
                "`arigato scim token`.",
                primary=True,
            )
        ],
    )


def version_of(payload: dict[str, Any]) -> str:
    """A weak ETag of what the resource says: it changes whenever any attribute does."""
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return 'W/"' + hashlib.sha256(body.encode()).hexdigest()[:20] + '"'


def to_resource(
    *,
    user_id: int,
    external_id: str | None,
    code: str,
    name: str,
    email: str | None,
    active: bool,
    unit_code: str,
    created: datetime,
    location: str,
) -> ScimUser:
    """The SCIM resource of one board user, with its meta (version = ETag)."""
    res = ScimUser(
        id=str(user_id),
        external_id=external_id,
        user_name=code,
        display_name=name,
        emails=[Email(value=email)] if email else None,
        active=active,
    )
    res[EnterpriseUser] = EnterpriseUser(department=unit_code)
    payload = res.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    res.meta = Meta(
        resource_type="User",
        created=created,
        last_modified=created,
        location=location,
        version=version_of(payload),
    )
    return res


def name_of(res: ScimUser) -> str | None:
    """The board's one name: displayName, else name.formatted, else family + given (the
    Japanese order)."""
    if res.display_name and res.display_name.strip():
        return res.display_name.strip()
    if res.name is None:
        return None
    if res.name.formatted and res.name.formatted.strip():
        return res.name.formatted.strip()
    parts = [p.strip() for p in (res.name.family_name, res.name.given_name) if p and p.strip()]
    return " ".join(parts) or None


def email_of(res: ScimUser) -> str | None:
    """The primary e-mail, else the work one, else the first."""
    emails = [e for e in res.emails or [] if e.value]
    for pick in (lambda e: e.primary, lambda e: e.type == "work", lambda e: True):
        for e in emails:
            if pick(e):
                return str(e.value)
    return None


def department_of(res: ScimUser) -> str | None:
    ext = res[EnterpriseUser]
    return ext.department.strip() if ext is not None and ext.department else None
