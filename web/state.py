"""The per-process workspace and the request's user, for the blueprints."""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, g, request, session


def workspace():
    return current_app.extensions["kefu"]


@contextmanager
def locked():
    """Serialise use of the knowledge base across this process's request threads, with the
    models config.json names now: another process may have switched them (`kefu --models X
    reindex`, `kefu learn finetune`), and the old ones would search a stale index in memory
    and refuse every edit (IndexMismatch)."""
    with current_app.extensions["kefu_lock"]:
        ws = workspace()
        ws.reload_if_models_changed()
        yield ws


# config.json too: `kefu learn finetune` switches the models there.
EDITABLE_FILES = ("huashu.jsonl", "sensitive_words.txt", "safe_phrases.txt", "config.json")


def _files_stamp(home) -> tuple:
    stamps = []
    for name in EDITABLE_FILES:
        try:
            stamps.append((home / name).stat().st_mtime_ns)
        except FileNotFoundError:
            stamps.append(None)
    return tuple(stamps)


def assistant():
    """The assistant, built once per process and again when an editor (in this or any
    other worker process) has changed the 话术 or word lists, or the models were switched."""
    ext = current_app.extensions
    stamp = _files_stamp(workspace().home)
    cached = ext["kefu_assistant"]
    if cached is None or cached[0] != stamp:
        workspace().reload_if_models_changed()
        ext["kefu_assistant"] = cached = (stamp, workspace().assistant())
    return cached[1]


def allowed_origins() -> list[str]:
    """Help-desk origins whose appContext the panel accepts: those given to `kefu serve
    --allow-origin`, else the data folder's setting, read when a page is served so an
    admin's change reaches every worker process."""
    from . import parse_origins

    given = current_app.config["KEFU_ALLOWED_ORIGINS"]
    if given:
        return given
    from kefu.kb.errors import KefuError

    try:
        return parse_origins(workspace().config().get("allowed_origins", []))
    except (ValueError, KefuError):  # a hand-edited config.json; the settings page refuses bad ones
        return []


def reset_assistant() -> None:
    """After an editor changes the 话术 or word lists (the file stamps catch it too)."""
    current_app.extensions["kefu_assistant"] = None


def login_throttle(ws):
    """The failed-login counts (kb/throttle.py), with this app's limits; use inside `locked()`."""
    return ws.login_throttle(*current_app.extensions["kefu_login_throttle"])


def client_address() -> str:
    # The peer's address: behind a reverse proxy, the proxy's (see README, login throttle).
    return request.remote_addr or ""


def current_user():
    """The user of this request: a Bearer token (API routes only), else the session's
    login, else None."""
    if "user" in g:
        return g.user
    user = None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    if request.blueprint != "api":
        # Tokens are for integrations calling /api. The console and the panel page are for
        # people who logged in: a leaked token must not open them (their forms write too).
        token = None
    with locked() as ws:
        users = ws.users()
        if token:
            user = _token_user(ws, token)
            g.token_auth = user is not None
        elif session.get("sid"):
            user = users.by_session(session["sid"])
            if user is None:
                session.clear()  # logged out elsewhere, a new password, or the user was removed
                g.login_ended = True
    g.user = user
    return user



def author() -> str:
    """Who a console change is recorded as: the logged-in user ("console" outside a request's login)."""
    user = current_user()
    return user.name if user else "console"

def _token_user(ws, token: str):
    """The token's user, else None; an unknown token is refused (429) while this address
    has sent too many different unknown tokens: tokens cannot be guessed, but nothing should
    be tried without limit."""
    from kefu.kb.users import token_hash

    from .api import ApiError

    # A valid token is always accepted: only unknown ones are refused or counted, so an
    # integration's address is not locked out by someone else's guesses from it.
    user = ws.users().by_token(token)
    if user is not None:
        return user
    g.bad_token = True  # requires() answers 401 saying the token is not valid
    # Each unknown token counts once (by its hash): an integration that keeps sending its
    # revoked token gets 401 every time, not 429 after a few requests, and guesses nothing.
    wait = login_throttle(ws).token_attempt(token_hash(token), client_address())
    if wait:
        raise ApiError(429, "too_many_requests",
                       f"too many unknown API tokens from this address; try again in {wait} seconds",
                       retry_after=wait)
    return None
