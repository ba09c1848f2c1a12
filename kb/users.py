"""Users of the web console and API tokens of integrations, with their roles.

Roles are ordered: an `admin` may do what an `editor` may, an `editor` what an
`agent` may. Passwords are stored as werkzeug hashes; tokens as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlite_utils

from . import throttle
from .errors import KefuError
from .store import read_state, writing

ROLES = ("agent", "editor", "admin")
SESSION_DAYS = 31  # the longest a login lasts: Flask's PERMANENT_SESSION_LIFETIME, its limit on a cookie's age


class UserError(KefuError):
    """A user or token operation that cannot be done (unknown role, name taken, ...)."""


class UserNotFound(UserError):
    code = "not_found"


class UserExists(UserError):
    code = "conflict"


@dataclass
class User:
    name: str
    role: str
    # Used by a whole team (an integration token, or a login shared in a help desk): its
    # feedback may name the agent who gave it. A personal login's feedback is its own.
    shared: bool = False

    def can(self, role: str) -> bool:
        """True if this user's role is `role` or above it."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _check_password(password: str) -> None:
    """UserError for a password too short, or of spaces alone (8 spaces passed the length)."""
    if len(password) < 8:
        raise UserError("a password needs at least 8 characters")
    if not password.strip():
        raise UserError("a password cannot be only spaces")


def verify(credentials: tuple[User, str] | None, password: str) -> User | None:
    """The user of `credentials` (`Users.credentials`) if `password` is theirs, else None;
    as slow for no user as for a wrong password, so the time says nothing of who exists."""
    from werkzeug.security import check_password_hash

    if credentials is None:
        check_password_hash("scrypt:32768:8:1$x$" + "0" * 128, password)
        return None
    user, password_hash = credentials
    return user if check_password_hash(password_hash, password) else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _stale() -> str:
    """Logins started before this moment have ended (`_now`'s format)."""
    return (datetime.now(timezone.utc) - timedelta(days=SESSION_DAYS)).isoformat(timespec="seconds")


def token_hash(token: str) -> str:
    """How a token (or a session id) is kept: never as sent."""
    return hashlib.sha256(token.encode()).hexdigest()


def user_name(text: str) -> str:
    """A user name as kept and looked up: a Chinese input method in full-width mode types
    ｌｉｈｕａ for lihua, which is the same person (NFKC, as entry ids are)."""
    return unicodedata.normalize("NFKC", text).strip()


def _check_credit(name: str, kind: str) -> None:
    """Feedback is credited to `<login>/<agent>` for a shared login naming its agents, and
    to `token:<name>` for a token: a user `desk/bob` or `token:edt`, or a token `desk/bob`,
    would be credited as another identity, and learning counts distinct agents."""
    folded = unicodedata.normalize("NFKC", name)  # as learning counts agents: ／ is / there
    if "/" in folded or folded.startswith("token:"):
        raise UserError(f"a {kind} name must not contain '/' or start with 'token:', not {name!r}")
    # A zero-width space pasted along with a name can never be typed at the login, and a
    # right-to-left override shows the name as another one in the lists and history.
    hidden = next((ch for ch in name if not ch.isprintable() and not ch.isspace()), None)
    if hidden is not None:
        raise UserError(f"a {kind} name must not hold an invisible or control character (U+{ord(hidden):04X})")


class Users:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def add(self, name: str, password: str, role: str, shared: bool = False) -> User:
        from werkzeug.security import generate_password_hash

        name = user_name(name)
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not name or any(ch.isspace() for ch in name):
            raise UserError("a user name must be non-empty and have no spaces")
        _check_credit(name, "user")
        _check_password(password)
        if self.db.execute("select 1 from users where name = ?", [name]).fetchone():
            raise UserExists(f"user {name!r} already exists")
        with writing(self.db):
            self.db.execute("insert into users (name, password_hash, role, created_at, shared) values (?, ?, ?, ?, ?)",
                            [name, generate_password_hash(password), role, _now(), int(shared)])
        return User(name, role, shared)

    def set_password(self, name: str, password: str) -> None:
        from werkzeug.security import generate_password_hash

        _check_password(password)
        self.get(name)
        with writing(self.db):
            self.db.execute("update users set password_hash = ? where name = ?",
                            [generate_password_hash(password), name])
            self.db.execute("delete from web_sessions where user = ?", [name])  # logged out everywhere
        throttle.forget(self.db, name)  # a locked-out user's new password works at once

    def set_role(self, name: str, role: str) -> User:
        """Give `name` another role, keeping their password and history. Their logins end,
        as with a new password: a page opened under the old role is not acted on under the new."""
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        user = self.get(name)
        if role == user.role:
            return user
        if user.role == "admin" and self._admins() == 1:
            raise UserError(f"{name!r} is the last admin; add another admin first")
        with writing(self.db):
            self.db.execute("update users set role = ? where name = ?", [role, name])
            self.db.execute("delete from web_sessions where user = ?", [name])
        return User(user.name, role, user.shared)

    def _admins(self) -> int:
        return self.db.execute("select count(*) from users where role = 'admin'").fetchone()[0]

    def set_shared(self, name: str, shared: bool) -> User:
        """Mark a login as used by a whole team (its feedback may name agents), or not."""
        user = self.get(name)
        with writing(self.db):
            self.db.execute("update users set shared = ? where name = ?", [int(shared), name])
        return User(user.name, user.role, shared)

    def get(self, name: str) -> User:
        row = self.db.execute("select name, role, shared from users where name = ?", [name]).fetchone()
        if row is None:
            raise UserNotFound(f"no user {name!r}")
        return User(row[0], row[1], bool(row[2]))

    def all(self) -> list[User]:
        return [User(r[0], r[1], bool(r[2])) for r in self.db.execute("select name, role, shared from users order by name")]

    def check(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None (same answer for unknown names)."""
        return verify(self.credentials(name), password)

    def credentials(self, name: str) -> tuple[User, str] | None:
        """The user a login names and their password hash, for `verify`; None for no such user.
        Apart from `check` so that a caller serialising use of the store (the web's lock)
        hashes the password outside it: a hash takes a tenth of a second, and logins,
        anyone's attempts with any name, would hold every search and suggestion meanwhile."""
        # The name as typed first: a user added before names were normalized keeps theirs.
        row = self.db.execute("select name, role, password_hash, shared from users where name in (?, ?) "
                              "order by name = ? desc", [name, user_name(name), name]).fetchone()
        return None if row is None else (User(row[0], row[1], bool(row[3])), row[2])

    def unlock(self, name: str) -> int:
        """Clear the failed logins that lock `name` out (kb/throttle.py); how many there were."""
        self.get(name)
        return throttle.forget(self.db, name)

    def remove(self, name: str) -> None:
        user = self.get(name)
        if user.role == "admin" and self._admins() == 1:
            raise UserError(f"{name!r} is the last admin; add another admin first")
        with writing(self.db):
            self.db.execute("delete from users where name = ?", [name])
            self.db.execute("delete from web_sessions where user = ?", [name])

    # -- web logins ---------------------------------------------------------------
    def start_session(self, name: str) -> str:
        """A new login of `name`: its id, for the browser's (signed) cookie; only the
        id's hash is kept."""
        sid = secrets.token_urlsafe(32)
        with writing(self.db):
            self.db.execute("delete from web_sessions where created_at < ?", [_stale()])  # ended (by_session)
            self.db.execute("insert into web_sessions (id_hash, user, created_at) values (?, ?, ?)",
                            [token_hash(sid), name, _now()])
        return sid

    def by_session(self, sid: str) -> User | None:
        """The user of a live login, else None (logged out, password changed, user removed,
        or started over SESSION_DAYS ago). The age is checked here, not left to Flask's limit
        on the cookie: Flask signs the cookie again whenever the session changes (a flash
        message), so a login in use, or a copy of its cookie, outlived its 31 days for as
        long as nobody logged in to purge its row."""
        row = self.db.execute("select user from web_sessions where id_hash = ? and created_at >= ?",
                              [token_hash(sid), _stale()]).fetchone()
        if row is None:
            return None
        try:
            return self.get(row[0])
        except UserError:
            return None

    def end_session(self, sid: str) -> None:
        with writing(self.db):
            self.db.execute("delete from web_sessions where id_hash = ?", [token_hash(sid)])

    # -- API tokens ---------------------------------------------------------------
    def add_token(self, name: str, role: str = "agent") -> str:
        """A new token for an integration; only its hash is kept, so show it now."""
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        _check_credit(name, "token")
        token = "kefu_" + secrets.token_urlsafe(32)
        with writing(self.db):
            self.db.execute("insert into api_tokens (token_hash, name, role, created_at) values (?, ?, ?, ?)",
                            [token_hash(token), name, role, _now()])
        return token

    def by_token(self, token: str) -> User | None:
        row = self.db.execute("select name, role from api_tokens where token_hash = ?",
                              [token_hash(token)]).fetchone()
        return User(f"token:{row[0]}", row[1], shared=True) if row else None

    def tokens(self) -> list[dict]:
        return [{"name": r[0], "role": r[1], "created_at": r[2]}
                for r in self.db.execute("select name, role, created_at from api_tokens order by created_at")]

    def revoke_tokens(self, name: str) -> int:
        with writing(self.db):
            return self.db.execute("delete from api_tokens where name = ?", [name]).rowcount


# -- what a restore changes -----------------------------------------------------------

@dataclass
class AccessChanges:
    """Who may use kefu after a restore, against before it: the store's users, API tokens
    and console logins come back as the backup has them, revocations since undone."""
    tokens_back: list[str]  # names of tokens revoked since the backup: valid again
    tokens_gone: list[str]  # tokens made since the backup: no longer valid
    users_back: list[str]  # users removed since the backup: back, with their old password
    users_gone: list[str]  # users added since the backup: removed
    users_changed: list[str]  # users whose password or role is now the backup's
    logins_back: int  # console logins ended since the backup (logout, new password): valid again
    logins_ended: int  # console logins made since the backup: ended

    def any(self) -> bool:
        return any([self.tokens_back, self.tokens_gone, self.users_back, self.users_gone, self.users_changed,
                    self.logins_back, self.logins_ended])


def access_state(db_path) -> dict | None:
    """The users, token hashes and login hashes of the store file at `db_path` (`read_state`)."""
    return read_state(db_path, lambda con: {
        "tokens": dict(con.execute("select token_hash, name from api_tokens")),
        "users": {r[0]: (r[1], r[2]) for r in con.execute("select name, password_hash, role from users")},
        "logins": {r[0] for r in con.execute("select id_hash from web_sessions")}})


def access_changes(before: dict, after: dict) -> AccessChanges:
    """What changed from `before` to `after` (two `access_state`s)."""
    tb, ta, ub, ua = before["tokens"], after["tokens"], before["users"], after["users"]
    return AccessChanges(
        tokens_back=sorted(ta[h] for h in ta.keys() - tb.keys()),
        tokens_gone=sorted(tb[h] for h in tb.keys() - ta.keys()),
        users_back=sorted(ua.keys() - ub.keys()),
        users_gone=sorted(ub.keys() - ua.keys()),
        users_changed=sorted(n for n in ua.keys() & ub.keys() if ua[n] != ub[n]),
        logins_back=len(after["logins"] - before["logins"]),
        logins_ended=len(before["logins"] - after["logins"]))
