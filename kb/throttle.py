"""Failed logins and API tokens, counted so that guessing passwords is slow.

After `per_name` failed logins of one user name, or `per_address` from one client
address, within `window_minutes`, further attempts are refused until the oldest of
those failures is older than the window; the password is then not even checked. A
refused attempt counts as a failure of its address (not of the name): an address that
keeps trying a locked name soon has itself refused, and stops renewing the name's
failures. A successful login, a new password (`Users.set_password`) or `forget` clears a
name's failures. Failed API tokens count per address, apart
from logins: an integration left with a revoked token must not lock people out of the
console; and each unknown token counts once (`already_failed`), as sending the same one again
guesses nothing. The failures are rows in the store, so that every worker process of
`kefu serve` counts the same ones.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import sqlite_utils

from .store import writing

LOGIN = "login"
TOKEN = "token"
NAME_CHARS = 200  # a longer name typed into the form is counted by its start


@dataclass(frozen=True)
class ThrottleLimits:
    """How many failures are allowed (0: no limit of that kind) within how many minutes."""

    per_name: int = 5
    per_address: int = 20
    window_minutes: int = 15

    def __post_init__(self) -> None:
        for field in ("per_name", "per_address", "window_minutes"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{field} must be a whole number of 0 or more, not {value!r}")
        if self.window_minutes == 0:
            raise ValueError("window_minutes must be greater than 0")


class LoginThrottle:
    def __init__(self, db: sqlite_utils.Database, limits: ThrottleLimits = ThrottleLimits(),
                 clock: Callable[[], float] = time.time):
        self.db = db
        self.limits = limits
        self.clock = clock

    def wait(self, name: str | None, address: str, scope: str = LOGIN) -> int:
        """Seconds before an attempt of `name` (None: a token) from `address` may be
        checked; 0: now. The same for a name that exists and one that does not."""
        now = self.clock()
        since = now - self.limits.window_minutes * 60
        waits = [self._wait("address = ?", [address], scope, self.limits.per_address, since)]
        if name is not None:
            waits.append(self._wait("name = ?", [name[:NAME_CHARS]], scope, self.limits.per_name, since))
        return max(math.ceil(w - now) for w in waits) if any(waits) else 0

    def _wait(self, where: str, args: list, scope: str, limit: int, since: float) -> float:
        """The moment enough of these failures leave the window, or 0 if under the limit."""
        if not limit:
            return 0
        times = [r[0] for r in self.db.execute(
            f"select at from login_failures where scope = ? and {where} and at > ? order by at", [scope, *args, since])]
        if len(times) < limit:
            return 0
        return times[len(times) - limit] + self.limits.window_minutes * 60

    def already_failed(self, name: str, address: str, scope: str) -> bool:
        """Whether a failure of `name` from `address` is already counted within the window."""
        since = self.clock() - self.limits.window_minutes * 60
        return self.db.execute("select 1 from login_failures where scope = ? and name = ? and address = ? and at > ?",
                               [scope, name[:NAME_CHARS], address, since]).fetchone() is not None

    def attempt(self, name: str, address: str) -> int:
        """A login attempt of `name` from `address`: seconds to wait as `wait` gives them
        (the refusal counted), or 0 with the attempt already counted as a failure, which
        `succeeded` clears once the password proves right. Checked and counted in one write
        transaction: worker processes that each checked before any counted would check one
        password more each, past the limit."""
        with writing(self.db):
            wait = self.wait(name, address)
            if wait:
                self.refused(address)
            else:
                self.failed(name, address)
        return wait

    def token_attempt(self, key: str, address: str) -> int:
        """An unknown API token (`key`, its hash) from `address`: seconds to wait, or 0 with
        it counted (once: a token counted already is let through uncounted). In one write
        transaction, as `attempt`."""
        with writing(self.db):
            if self.already_failed(key, address, TOKEN):
                return 0
            wait = self.wait(None, address, TOKEN)
            if not wait:
                self.failed(key, address, TOKEN)
        return wait

    def failed(self, name: str | None, address: str, scope: str = LOGIN, count_name: bool = True) -> None:
        """Count a failed attempt; failures older than the window are dropped. Without
        `count_name`, it counts for the address only (its row has no name)."""
        now = self.clock()
        with writing(self.db):
            self.db.execute("delete from login_failures where at <= ?", [now - self.limits.window_minutes * 60])
            self.db.execute("insert into login_failures (scope, name, address, at) values (?, ?, ?, ?)",
                            [scope, (name or "")[:NAME_CHARS] if count_name else None, address, now])

    def refused(self, address: str, scope: str = LOGIN) -> None:
        """Count an attempt refused unchecked against its address only: counted against the
        name, it would keep the name locked for as long as anyone keeps asking."""
        self.failed(None, address, scope, count_name=False)

    def succeeded(self, name: str) -> None:
        """A right password: the name's failures no longer count (its address's other
        names' failures still do)."""
        forget(self.db, name)


def forget(db: sqlite_utils.Database, name: str) -> int:
    """Clear the failed logins of `name` (a right password, a new one, an admin's unlock);
    how many there were."""
    with writing(db):
        return db.execute("delete from login_failures where scope = ? and name = ?",
                          [LOGIN, name[:NAME_CHARS]]).rowcount
