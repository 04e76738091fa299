"""Who may call the service, and what they may do: bearer tokens and their roles.

Tokens come from the environment, never from the repository: `RISKDRAW_TOKENS` holds
`name:role:token` entries separated by `;` (or new lines), e.g.
`planning-office:plan:3f9c…;tax-bureau:score:8a1d…`. A role is

- `score`: score rows, files or enterprises, read an enterprise's file and the metadata;
- `plan`: all of that, and screen the whole city, draw a plan and verify a draw.

Without `RISKDRAW_TOKENS` the service runs with one documented development token
(`DEV_TOKEN`, role `plan`) and says so at start-up and in its health answer; with
`RISKDRAW_ENV=production` it refuses to start without tokens, or with the development token.
The name a token carries is who the audit log records.
"""

from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass

from riskdraw.errors import UserError

ROLES = {"score": 1, "plan": 2}
"""Each role and its rank: a role may do what every role of lower rank may."""
DEV_TOKEN = "riskdraw-development-token"
"""The development token: documented, so never secret; refused in production."""
MIN_TOKEN = 16
"""A token shorter than this is refused (guessable)."""


class AccessError(UserError):
    """`RISKDRAW_TOKENS` or `RISKDRAW_ENV` that the service will not start with."""


@dataclass(frozen=True)
class Caller:
    """Who a token says is calling."""

    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this caller's role covers `role`."""
        return ROLES[self.role] >= ROLES[role]


@dataclass(frozen=True)
class Tokens:
    """The tokens the service accepts, and whether they are the development default."""

    callers: dict[str, Caller]
    development: bool

    def caller(self, header: str | None) -> Caller | None:
        """The caller an `Authorization: Bearer <token>` header names, or None (compared in
        constant time)."""
        if not header or not header.startswith("Bearer "):
            return None
        given = header.removeprefix("Bearer ").strip().encode()
        found = None
        for token, caller in self.callers.items():
            if hmac.compare_digest(given, token.encode()):
                found = caller
        return found


def tokens_from_env(environ: dict[str, str] | None = None) -> Tokens:
    """The tokens `RISKDRAW_TOKENS` gives (or the development one where it is unset).

    Raises:
        AccessError: an entry that is not `name:role:token`, an unknown role, a short or
            repeated token; in production (`RISKDRAW_ENV=production`) no tokens, or the
            development token.
    """
    env = os.environ if environ is None else environ
    production = env.get("RISKDRAW_ENV", "").strip().lower() == "production"
    raw = env.get("RISKDRAW_TOKENS", "").strip()
    if not raw:
        if production:
            raise AccessError(
                "RISKDRAW_ENV=production and RISKDRAW_TOKENS is unset: the service will not "
                "start with the development token; set RISKDRAW_TOKENS to name:role:token entries"
            )
        return Tokens({DEV_TOKEN: Caller("developer", "plan")}, development=True)
    callers: dict[str, Caller] = {}
    for number, entry in enumerate((e.strip() for e in re.split(r"[;\n]", raw)), start=1):
        if not entry:
            continue
        parts = entry.split(":", 2)
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise AccessError(f"RISKDRAW_TOKENS entry {number}: not name:role:token")
        name, role, token = (p.strip() for p in parts)
        if role not in ROLES:
            raise AccessError(
                f"RISKDRAW_TOKENS entry {number} ({name}): role {role!r}; roles: {', '.join(ROLES)}"
            )
        if len(token) < MIN_TOKEN:
            raise AccessError(
                f"RISKDRAW_TOKENS entry {number} ({name}): the token is shorter than {MIN_TOKEN} "
                "characters"
            )
        if token in callers:
            raise AccessError(f"RISKDRAW_TOKENS entry {number} ({name}): a token given twice")
        if production and token == DEV_TOKEN:
            raise AccessError(
                f"RISKDRAW_TOKENS entry {number} ({name}): the development token is refused in "
                "production"
            )
        callers[token] = Caller(name, role)
    if not callers:
        raise AccessError("RISKDRAW_TOKENS holds no entry")
    return Tokens(callers, development=False)
