"""The agent side panel, the editor console and the JSON API (Flask).

    app = create_app({"KEFU_HOME": "/path/to/data"})

One `Workspace` (knowledge base, models, assistant) is loaded per process and shared
by its request threads under a lock: SQLite connections and the index are not safe
for concurrent use, and on two cores parallel searches would only slow each other.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from pathlib import Path

from flask import Flask


def create_app(config: dict | None = None, workspace=None, clock=time.time) -> Flask:
    """The Flask app over a data folder (`KEFU_HOME`), or over a ready `workspace` (tests);
    `clock` (seconds) times the login throttle."""
    from flask_wtf.csrf import CSRFError, CSRFProtect

    from kefu.kb.throttle import ThrottleLimits

    from kefu.suggest.workspace import Workspace

    from . import api, auth, console, file_pages, learn_pages, panel, settings, state, term_pages, user_pages

    app = Flask(__name__)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # a panel stays open all day
        MAX_CONTENT_LENGTH=50 * 1024 * 1024,  # uploads for the import page
        KEFU_ALLOWED_ORIGINS=[],  # help-desk origins whose postMessage context is accepted
        # Failed logins allowed per user name and per client address (0: no limit) within
        # the window; then attempts are refused until the oldest failure leaves it.
        KEFU_LOGIN_ATTEMPTS=5,
        KEFU_LOGIN_ATTEMPTS_PER_ADDRESS=20,
        KEFU_LOGIN_WINDOW_MINUTES=15,
        # Behind HTTPS (`kefu serve --secure-cookies`): the browser then sends the login
        # cookie over HTTPS only. Off by default: browsers refuse a Secure cookie over plain
        # http (but to localhost), so logins on such a server would fail.
        KEFU_SECURE_COOKIES=False,
    )
    app.config.update(config or {})
    # The session is the only cookie kefu sets (Flask-WTF keeps its CSRF token in it).
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["SESSION_COOKIE_SECURE"]
                                               or app.config["KEFU_SECURE_COOKIES"])
    app.config["KEFU_ALLOWED_ORIGINS"] = parse_origins(app.config["KEFU_ALLOWED_ORIGINS"])
    limits = ThrottleLimits(app.config["KEFU_LOGIN_ATTEMPTS"], app.config["KEFU_LOGIN_ATTEMPTS_PER_ADDRESS"],
                            app.config["KEFU_LOGIN_WINDOW_MINUTES"])
    if workspace is None:
        workspace = Workspace(Path(app.config["KEFU_HOME"]), app.config.get("KEFU_MODELS"),
                              app.config.get("KEFU_THREADS"))
    app.extensions["kefu"] = workspace
    app.extensions["kefu_lock"] = threading.RLock()
    app.extensions["kefu_assistant"] = None
    app.extensions["kefu_login_throttle"] = (limits, clock)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(workspace.home)
    csrf = CSRFProtect(app)
    app.register_error_handler(CSRFError, auth.csrf_failed)
    csrf.exempt(api.bp)  # the API checks CSRF itself, only for cookie sessions (see api.py)
    app.register_blueprint(auth.bp)
    app.register_blueprint(panel.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(file_pages.bp)
    app.register_blueprint(term_pages.bp)
    app.register_blueprint(user_pages.bp)
    app.register_blueprint(learn_pages.bp)
    app.register_blueprint(settings.bp)
    app.register_blueprint(api.bp)
    api.register_errors(app)
    app.after_request(_security_headers)
    # Every console page's navigation shows who is logged in.
    app.context_processor(lambda: {"user": state.current_user()})
    return app


def parse_origins(value) -> list[str]:
    """Allowed help-desk origins from a list or a comma-separated string, each checked
    and normalized by `origin`; a ValueError names the first bad one."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return [origin(item) for item in (i.strip().rstrip("/") for i in items) if item]


_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def origin(text: str) -> str:
    """`scheme://host[:port]` as a browser serializes it (lowercase, an IDN host in
    punycode), or a ValueError. Strict on purpose: the origin goes into the
    Content-Security-Policy header, where a space, a ';' or a '*' would loosen framing
    and a non-Latin-1 character fails every /embed response."""
    error = ValueError(f"an allowed origin is http(s)://host[:port], not {text!r}")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise error
    host, colon, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    if colon and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise error
    try:
        host = host.encode("idna").decode("ascii").lower()  # 客服.example.com -> xn--...
    except UnicodeError:
        raise error from None
    if not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise error
    return f"{scheme.lower()}://{host}{colon}{port}"


# Scripts only from kefu's own files (no inline script, no eval, no plugins), forms only
# posted to kefu, no <base> to repoint relative links: text that ever slipped through
# unescaped could then show as markup but not run or phish. Pages hold no inline script
# (panel.html's settings are a JSON data block, which is not run).
SCRIPT_POLICY = "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"


def _security_headers(response):
    """Pages may only be framed by kefu itself, except /embed by the allowed help desks
    (clickjacking the accept or editor buttons), and run only kefu's own scripts; no MIME
    sniffing. Two policies, both enforced: the framing one varies by page and setting."""
    from flask import request

    from .state import allowed_origins

    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        ancestors = "'self'"
        if request.path == "/embed":
            ancestors = " ".join(["'self'", *allowed_origins()])
        response.headers.setdefault("Content-Security-Policy", f"frame-ancestors {ancestors}")
        response.headers.add("Content-Security-Policy", SCRIPT_POLICY)
    return response


def _secret_key(home: Path) -> str:
    """A random key kept in the data folder, so sessions survive restarts and are shared
    by every worker process."""
    from kefu.suggest.workspace import write_whole

    path = Path(home) / "secret_key"
    if not path.exists():
        # Every worker of the first `kefu serve` gets here at once: the first key in place is
        # everyone's, as replacing a key another worker has already read would end its sessions.
        write_whole(path, secrets.token_hex(32), mode=0o600, replace=False)
    return path.read_text(encoding="utf-8").strip()
