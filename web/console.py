"""The editor console: entries, history, hit test, 话术 and word lists, import, users."""

from __future__ import annotations

from flask import Blueprint, render_template

from .auth import requires

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.get("/")
@requires("editor")
def entries():
    return render_template("console/entries.html")
