"""SCIM conformance: scim2-tester's checks against a real server (`arigato serve` on the demo
data) with a token from `arigato scim token`, as an identity provider would meet it."""

import os
import random
import subprocess
from collections.abc import Iterator
from typing import Annotated, Any

import httpx2
import pytest
from pydantic import Field
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import (
    URN,
    Extension,
    Mutability,
    Required,
    Resource,
    ResourceType,
    ScimProvider,
    Uniqueness,
)
from scim2_tester import check_server

from app.demo import UNITS
from app.services.scim.resources import ENTERPRISE, KeptEmail
from tests.livetools import ARIGATO, app_server, demo_database

# The tester fills attributes from their examples when a model gives some: employee numbers
# the board accepts, and the units the demo has (a random department is a 400, by design).
CODES = [f"T{n:06d}" for n in range(100_000)]
UNIT_CODES = [code for code, _name, kind, _parent in UNITS if kind == "shop"]


# The published schema (app/services/scim/resources.py), with those examples.
class ProbeEnterprise(Extension):
    __schema__ = URN(ENTERPRISE)

    department: Annotated[str | None, Required.true, Field(examples=UNIT_CODES)] = None


class ProbeUser(Resource[Any]):
    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[
        str | None,
        Uniqueness.server,
        Required.true,
        Mutability.immutable,
        Field(examples=CODES),
    ] = None
    display_name: Annotated[str | None, Required.true] = None
    emails: list[KeptEmail] | None = None
    active: Annotated[bool | None, Required.true] = None


# Where the board departs from RFC 7644 on purpose (docs/scim.md says so to the admin):
DEVIATIONS = {
    # DELETE deactivates (ends sessions and tokens) but keeps the person, whose posts stay on
    # the board; GET still answers them, with "active": false.
    "object_deletion",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with demo_database("scim", str(tmp_path_factory.mktemp("scim"))) as url:
        env = {**os.environ, "DATABASE_URL": url, "ARIGATO_ENV": "test"}
        out = subprocess.run(
            [*ARIGATO, "scim", "token", "--days", "1"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        lines = out.stdout.splitlines()
        assert len(lines) == 1 and lines[0].startswith("arigato_")  # the token alone
        with app_server(url) as base:
            yield base, lines[0]


def _client(base: str, token: str) -> SyncSCIMClient:
    rt = ResourceType.from_resource(ProbeUser[ProbeEnterprise])
    rt.id = rt.name = "User"
    rt.endpoint = "/Users"  # type: ignore[assignment]
    assert rt.schema_extensions
    rt.schema_extensions[0].required = True
    provider = ScimProvider(models=[ProbeUser, ProbeEnterprise], resource_types=[rt])
    http = httpx2.Client(
        base_url=f"{base}/scim/v2",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        trust_env=False,
        timeout=30,
    )
    client = SyncSCIMClient(http, provider=provider)
    client.discover(schemas=False, resource_types=False)
    return client


def test_scim2_tester_finds_nothing_wrong(live: tuple[str, str]) -> None:
    random.seed(7)  # the tester's random values: the same run each time
    results = check_server(_client(*live))
    failed: list[Any] = [
        r
        for r in results
        if r.status.name not in ("SUCCESS", "SKIPPED") and r.title not in DEVIATIONS
    ]
    assert {r.title for r in results} >= set(DEVIATIONS)
    assert results and not failed, "\n".join(f"{r.title}: {r.reason}" for r in failed)


def test_discovery_as_the_tester_reads_it(live: tuple[str, str]) -> None:
    base, token = live
    client = SyncSCIMClient(
        httpx2.Client(
            base_url=f"{base}/scim/v2",
            headers={"Authorization": f"Bearer {token}"},
            trust_env=False,
            timeout=30,
        )
    )
    client.discover()  # the server's own Schemas, ResourceTypes, ServiceProviderConfig
    assert client.provider is not None
    assert client.provider.model_for("User") is not None
