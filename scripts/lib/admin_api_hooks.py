"""schemathesis hooks for scripts/fuzz-admin-api (loaded through SCHEMATHESIS_HOOKS).

They change a generated request just before it is sent, in two ways only, so that the run stays
bounded in time and on this machine:

- waits are capped: a `timeout_ms` the API would take (1 to 60000) in the body of
  `POST /v1/lsn/{tracker}/await` or in the query of an acknowledged broadcast becomes at most
  CHORUS_FUZZ_WAIT_MS (default 200), so an await for an LSN that never comes answers 408 in
  milliseconds instead of a minute;
- joins stay home: in `POST /v1/join`, every address with a numeric port is replaced by the
  node's own address (CHORUS_FUZZ_SELF, which the node skips), so no join is ever sent to
  another machine or to someone else's process; anything else (not a string, no port) is left
  as generated, for the API to refuse.
"""

import os
import re

import schemathesis

WAIT_MS = int(os.environ.get("CHORUS_FUZZ_WAIT_MS", "200"))
SELF_ADDRESS = os.environ.get("CHORUS_FUZZ_SELF", "127.0.0.1:1")
ADDRESS_WITH_PORT = re.compile(r":[0-9]{1,5}$")


def capped(value):
    """A timeout the API would accept, capped; anything else unchanged."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 60000:
        return min(value, WAIT_MS)
    if isinstance(value, str) and value.isdigit() and 1 <= int(value) <= 60000:
        return str(min(int(value), WAIT_MS))
    return value


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    path, method = case.operation.path, case.operation.method.upper()
    if method == "POST" and path == "/v1/lsn/{tracker}/await" and isinstance(case.body, dict) and "timeout_ms" in case.body:
        case.body["timeout_ms"] = capped(case.body["timeout_ms"])
    if isinstance(case.query, dict) and "timeout_ms" in case.query:
        case.query["timeout_ms"] = capped(case.query["timeout_ms"])
    if method == "POST" and path == "/v1/join" and isinstance(case.body, dict) and isinstance(case.body.get("addresses"), list):
        case.body["addresses"] = [
            SELF_ADDRESS if isinstance(item, str) and ADDRESS_WITH_PORT.search(item) else item
            for item in case.body["addresses"]
        ]
