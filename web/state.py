"""The per-process workspace and the request's user, for the blueprints."""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, g, request, session


def workspace():
    return current_app.extensions["kefu"]


@contextmanager
def locked():
    """Serialise use of the knowledge base across this process's request threads."""
    with current_app.extensions["kefu_lock"]:
        yield workspace()


def assistant():
    """The assistant, built once per process (it loads phrase and word lists)."""
    ext = current_app.extensions
    if ext["kefu_assistant"] is None:
        ext["kefu_assistant"] = workspace().assistant()
    return ext["kefu_assistant"]


def reset_assistant() -> None:
    """After an editor changes the 话术 or word lists."""
    current_app.extensions["kefu_assistant"] = None


def current_user():
    """The user of this request: a Bearer token, else the session's login, else None."""
    if "user" in g:
        return g.user
    from kefu.kb.users import User, UserError

    user = None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    with locked() as ws:
        users = ws.users()
        if token:
            user = users.by_token(token)
            g.token_auth = user is not None
        elif session.get("user"):
            try:
                user = users.get(session["user"])
            except UserError:
                session.clear()  # the user was removed
    g.user = user
    return user
