"""Schemathesis hooks for tests/test_api_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

The fuzzer learns employee numbers and token ids from the answers (stateful links from
`GET /admin/users` to `.../revoke-access`, from `GET /me/tokens` to `DELETE /me/tokens/{id}`)
and would soon revoke, demote or reset the very accounts whose tokens it runs with, leaving
the rest of the run to collect 401s. A request that names one of those accounts or tokens
is sent to a decoy of the same role instead: the operation is still exercised.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

DECOYS: dict[str, dict[str, Any]] = json.loads(os.environ.get("ARIGATO_FUZZ_DECOYS", "{}"))


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    params = case.path_parameters
    if not params:
        return
    changed = dict(params)
    for name, decoys in DECOYS.items():
        if name in changed and str(changed[name]) in decoys:
            changed[name] = decoys[str(changed[name])]
    if changed != params:
        case.path_parameters = changed
