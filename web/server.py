"""`kefu serve`: gunicorn with threads, the app built (models loaded) once per worker."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

# gunicorn's largest allowed value (0 would be no cap at all): ~900 Chinese characters of
# `?q=`; longer messages go by POST /api/search.
LIMIT_REQUEST_LINE = 8190

# The access log leaves out the query string (`%(U)s` is the path alone) and the referrer:
# customer messages travel in them (`/api/search?q=…`, `/console/try?q=…`), and the store
# masks them and purges them after `retention_days`, which a log file would not.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


def debug_request_handler():
    """The request handler of `kefu serve --debug` (Flask's development server), whose log
    line leaves out the query string as the access log above does."""
    from werkzeug.serving import WSGIRequestHandler

    class PathOnly(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            full = getattr(self, "path", None)  # not set when the request line was bad
            if full is None:
                return super().log_request(code, size)
            self.path = full.partition("?")[0]
            try:
                super().log_request(code, size)
            finally:
                self.path = full

    return PathOnly


class _Gunicorn(BaseApplication):
    def __init__(self, config: dict, options: dict):
        self.app_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Built in each worker after the fork: the encoders start threads, which do
        # not survive a fork.
        import sqlite3

        from gunicorn.errors import AppImportError

        from kefu.kb.errors import KefuError

        from . import create_app

        try:
            app = create_app(self.app_config)
            with app.app_context():
                from .state import assistant

                assistant().retriever.warm_up()  # the first agent should not wait for loading
        except (KefuError, OSError, sqlite3.Error) as exc:
            # gunicorn prints an AppImportError as one line and stops, without a traceback
            # and without starting more workers that would fail the same way.
            raise AppImportError(f"Error: {_reason(exc)}") from None
        return app


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    return str(exc)


def _drop_log_lines_not_written(server, worker) -> None:
    """In each worker (gunicorn's post_fork): a log line that cannot be written (stdout's
    reader gone, `kefu serve | head -1`) is dropped, as Python's docs advise in production.
    logging printed each failure on stderr with the access log's arguments, the request's
    whole environment: the query string the access log leaves out (`/api/search?q=…`, a
    customer's message) went to the error log after all."""
    import logging

    logging.raiseExceptions = False


def options(host: str, port: int, workers: int, threads: int) -> dict:
    """gunicorn's settings for `kefu serve`."""
    from gunicorn.config import KNOWN_SETTINGS

    settings = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
                "timeout": 120, "accesslog": "-", "access_log_format": ACCESS_LOG_FORMAT, "preload_app": False,
                # gunicorn's largest cap on the request line rather than its 4 KB default: `GET
                # /api/search?q=` then takes some 900 Chinese characters (9 bytes each in a URL)
                # before gunicorn's English HTML 414. 0 would mean no cap at all with gunicorn's
                # Python parser: one client could keep a worker reading a line for ever. Longer
                # messages go in a JSON body (POST /api/search), as bodies may hold 50 MB.
                "limit_request_line": LIMIT_REQUEST_LINE, "post_fork": _drop_log_lines_not_written}
    # gunicorn 25.1+ opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl):
    # a second server takes it over, a stopping one deletes it, and a service user whose
    # home cannot be written gets an error line at every start. kefu uses none of it.
    if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
        settings["control_socket_disable"] = True
    return settings


def check_address(host: str, port: int) -> None:
    """An OSError saying so when `host:port` cannot be listened on (in use, not an address of
    this machine), before gunicorn would retry it for seconds and print its errors."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as sock:
            # as gunicorn binds: a port left in TIME_WAIT by a stopped server is free
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:
        hint = " (another server uses that port? try --port)" if exc.errno == errno.EADDRINUSE else ""
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None


def run(config: dict, host: str, port: int, workers: int, threads: int, announce=lambda: None) -> bool:
    """Serve until stopped, calling `announce` once the address is known to be free; False
    when the workers could not start (one printed why)."""
    check_address(host, port)
    announce()
    import os

    arbiter = os.getpid()
    try:
        _Gunicorn(config, options(host, port, workers, threads)).run()
    except SystemExit as exc:
        # gunicorn's "worker failed to boot" and "app failed to load", as the arbiter exits
        # (a forked worker leaves through here too, with its own status)
        if os.getpid() == arbiter and exc.code in (3, 4):
            return False
        raise
    return True
