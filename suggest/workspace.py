"""One data folder opened with its configuration: the knowledge base, the assistant and
the editable word lists. The CLI and the web app both start from here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

DEFAULT_MODELS = "use,e5"


class Workspace:
    """What every edge needs: the data folder and, built on demand, the parts over it."""

    def __init__(self, home: Path, models: str | None = None, threads: int | None = None,
                 progress: Callable[[str, int, int], None] | None = None, embedders: list | None = None):
        self.home = Path(home)
        self._models = models
        self.threads = threads
        self.progress = progress
        self._embedders = embedders  # given ready-made (tests, benchmarks), else loaded from `models`
        self._kb = None

    @property
    def config_path(self) -> Path:
        return self.home / "config.json"

    def config(self) -> dict:
        try:
            return json.loads(self.config_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    @property
    def models(self) -> str:
        return self._models or self.config().get("models") or DEFAULT_MODELS

    def kb(self):
        if self._kb is None:
            from kefu.kb.base import KnowledgeBase
            from kefu.kb.embed import load_embedders

            embedders = self._embedders or load_embedders(self.models, self.threads)
            self._kb = KnowledgeBase(self.home, embedders, progress=self.progress)
        return self._kb

    def data_file(self, name: str, default: Path) -> Path:
        """An editable copy in the data folder wins over the shipped default."""
        own = self.home / name
        return own if own.exists() else default

    def safety(self):
        from kefu import corpus
        from kefu.suggest.safety import Safety

        return Safety.load(self.data_file("sensitive_words.txt", corpus.SENSITIVE_WORDS),
                           self.data_file("safe_phrases.txt", corpus.SAFE_PHRASES))

    def phrases(self):
        from kefu import corpus
        from kefu.suggest.phrases import PhraseLibrary

        return PhraseLibrary.load(self.data_file("huashu.jsonl", corpus.HUASHU))

    def feedback_log(self):
        from kefu.kb.feedback import FeedbackLog

        return FeedbackLog(self.kb().store.db, retention_days=int(self.config().get("retention_days", 90)))

    def learner(self):
        from kefu.suggest.learn import Learner

        return Learner(self.kb())

    def record_feedback(self, suggestion_id: str, action: str, draft: int | None = None,
                        text: str | None = None, agent: str | None = None) -> int:
        """Log what the agent did with a suggestion, and learn from it."""
        return self.learner().record_feedback(self.feedback_log(), suggestion_id, action, draft, text, agent)

    def assistant(self):
        from kefu.suggest.assistant import Assistant
        from kefu.suggest.draft import Composer
        from kefu.suggest.retrieve import Retriever

        composer = Composer(self.phrases(), self.safety(),
                            traditional=self.config().get("traditional", "s2twp"))
        return Assistant(Retriever(self.kb()), composer, self.feedback_log())

    def users(self):
        from kefu.kb.users import Users

        return Users(self.kb().store.db)

    def close(self) -> None:
        if self._kb is not None:
            self._kb.close()
            self._kb = None
