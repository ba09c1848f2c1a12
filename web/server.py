"""`kefu serve`: gunicorn with threads, the app built (models loaded) once per worker."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


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
        from . import create_app

        app = create_app(self.app_config)
        with app.app_context():
            from .state import assistant

            assistant().retriever.warm_up()  # the first agent should not wait for loading
        return app


def run(config: dict, host: str, port: int, workers: int, threads: int) -> None:
    _Gunicorn(config, {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                       "worker_class": "gthread", "timeout": 120, "accesslog": "-",
                       "preload_app": False}).run()
