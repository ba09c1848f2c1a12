"""The agent side panel: one page; everything after loading goes through /api."""

from __future__ import annotations

from flask import Blueprint, render_template

from .auth import requires
from .state import allowed_origins

bp = Blueprint("panel", __name__)


@bp.get("/")
@requires("agent")
def page():
    """The panel for a logged-in agent (full page, or a 360–420 px column)."""
    return render_template("panel.html", embedded=False, origins=allowed_origins())


@bp.get("/embed")
def embed():
    """The same panel for a help desk's iframe (a Chatwoot Dashboard App). A cross-site
    iframe gets no SameSite cookies, so this shell holds no data and needs no login: it
    reads an API token from the URL fragment (never sent to a server) and calls /api
    with it."""
    return render_template("panel.html", embedded=True, origins=allowed_origins())
