"""One data folder opened with its configuration: the knowledge base, the assistant and
the editable word lists. The CLI and the web app both start from here."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, NoReturn

DEFAULT_MODELS = "use,e5"


# What kefu itself keeps in the data folder beside kefu.db: `kefu import` of a folder holding
# the data folder (KEFU_HOME=~/shop-kb, the shop's files there too) passes over them, or the
# word lists became reference passages quoted to agents and the indexes' JSON failed files.
OWN_FILES = ("index", "passages", "uploads", "cache", "models", "config.json", "huashu.jsonl",
             "sensitive_words.txt", "safe_phrases.txt")
# The keys of config.json: what `kefu init`, `kefu reindex`, fine-tuning and the console's
# settings page write, and nothing else is read.
CONFIG_KEYS = ("models", "traditional", "retention_days", "allowed_origins", "models_before_finetune")


def check_config(config: dict, path: Path) -> None:
    """Refuse a hand-edited config.json whose models, retention period or traditional
    wording kefu cannot use, naming the field (InvalidConfig): a retention of 0 days would
    purge every suggestion, feedback row and learned phrasing on the next suggestion. The
    bounds are the console's. A key kefu does not read is refused too: a misspelt
    `retention_day` would otherwise keep customer text 90 days without a word."""
    from kefu.kb.errors import InvalidConfig
    from kefu.kb.feedback import RETENTION_DAYS
    from kefu.kb.text import TRADITIONAL_WORDING

    for key in config:
        if key not in CONFIG_KEYS:
            raise InvalidConfig(path, key, f"must be one of the keys kefu reads ({', '.join(CONFIG_KEYS)}), "
                                           "or it does nothing")
    models = config.get("models", DEFAULT_MODELS)
    if not isinstance(models, str) or not models.strip():
        raise InvalidConfig(path, "models", f"must be model names separated by commas, such as "
                                            f"{DEFAULT_MODELS!r}, got {json.dumps(models, ensure_ascii=False)}")
    days = config.get("retention_days", 90)
    low, high = RETENTION_DAYS
    if type(days) is not int or not low <= days <= high:  # bool is an int: `true` is no number of days
        raise InvalidConfig(path, "retention_days", f"must be a whole number of days from {low} to {high}, "
                                                    f"got {json.dumps(days, ensure_ascii=False)}")
    wording = config.get("traditional", "s2twp")
    if wording not in TRADITIONAL_WORDING:  # else only suggestions failed, and the server started
        raise InvalidConfig(path, "traditional", f"must be one of {', '.join(TRADITIONAL_WORDING)} (Taiwan or "
                                                 f"Hong Kong wording), got {json.dumps(wording, ensure_ascii=False)}")


def write_whole(path: Path, text: str, mode: int = 0o666, replace: bool = True) -> None:
    """Put `text` at `path` whole or not at all, through a temporary file of this writer's
    own: through one shared name, a writer at the same moment (the settings page in another
    worker, `kefu learn finetune`, a second worker's first start) moved the other's file
    away or put it in place half written. `mode` as for os.open (the umask applies). With
    `replace` False the file only goes in place when `path` is not there: the first
    writer's stays, as a file another process has read already must."""
    import os

    from kefu.kb.files import temp_beside

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = temp_beside(path, mode)
    try:
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if replace:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another writer's file is in place
        except OSError:  # a file system without hard links: replace nothing there is
            if not path.exists():
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def data_file_errors():
    """A 话术 or word-list file of the data folder that cannot be read is the folder's
    state, not a request's: see DataFileError (the file, line and field stay named)."""
    from kefu.kb.errors import DataFileError, ImportFileError

    try:
        yield
    except DataFileError:
        raise
    except ImportFileError as exc:
        raise DataFileError.of(exc) from None


class Workspace:
    """What every edge needs: the data folder and, built on demand, the parts over it."""

    def __init__(self, home: Path, models: str | None = None, threads: int | None = None,
                 progress: Callable[[str, int, int], None] | None = None, embedders: list | None = None):
        from kefu.kb.embed import canonical_models

        # Absolute: what is derived from it and saved (a fine-tuned model's folder in
        # config.json) must hold from any working directory.
        self.home = Path(home).absolute()
        # A model folder given by a relative path is kept by its absolute one, as init and
        # the index record it: `--models ./model` names the same model in every command.
        self._models = models and (canonical_models(models) or models)  # `,` names none: refused, not replaced
        self.threads = threads
        self.progress = progress
        self._embedders = embedders  # given ready-made (tests, benchmarks), else loaded from `models`
        self._kb = None
        self._store = None  # the store opened alone, for work that needs no models
        self._loaded_models: str | None = None
        # Told each slow step as it begins ("loading the models (use,e5)…"), when an edge
        # shows them: the CLI's long commands (`long_work`), silent for seconds otherwise.
        self.said: Callable[[str], None] | None = None

    @property
    def config_path(self) -> Path:
        return self.home / "config.json"

    def config(self) -> dict:
        from kefu.kb.errors import ConfigError

        try:
            config = json.loads(self.config_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise ConfigError(f"{self.config_path} is damaged ({exc}): fix or delete it "
                              "(the default models are used without it)") from None
        if not isinstance(config, dict):
            raise ConfigError(f"{self.config_path} is damaged (not a JSON object): fix or delete it")
        check_config(config, self.config_path)
        return config

    @property
    def models(self) -> str:
        return self._models or self.config().get("models") or DEFAULT_MODELS

    def models_advice(self) -> str:
        """After an IndexMismatch: where the configured models come from, and the command
        that makes the index match them."""
        if self._models:
            import shlex

            return (f"they come from --models / $KEFU_MODELS: `kefu --models {shlex.quote(self._models)} reindex` "
                    f"switches this folder to them (config.json too), and without --models config.json's "
                    f"({self.config().get('models') or DEFAULT_MODELS}) are used")
        source = "config.json" if self.config().get("models") else "the default, as config.json names none"
        return (f"they come from {source}: `kefu reindex` rebuilds the index with them "
                "(`kefu --models MODELS reindex` switches the folder to other models)")

    def check_index_models(self) -> None:
        """IndexMismatch when a live index (entries or passages) was built with other models
        than the configured ones, judged by their ids alone, so the models need not load
        (`kefu serve` checks before its workers load them). A damaged meta.json says
        nothing here: loading rebuilds that index with a warning."""
        from kefu.kb.embed import model_ids
        from kefu.kb.errors import IndexMismatch
        from kefu.kb.index import IndexDamaged, IndexDir

        want = sorted(model_ids(self.models))
        for root in (self.home / "index", self.home / "passages"):
            index_dir = IndexDir(root)
            try:
                meta = index_dir.meta()
                built = sorted(m["id"] for m in meta["models"]) if meta else None
            except (IndexDamaged, KeyError, TypeError):
                continue
            if built is not None and built != want:
                raise IndexMismatch(
                    f"the index in {index_dir.current()} was built with models {', '.join(built)} but "
                    f"{', '.join(want)} are configured", self.models_advice())

    def kb(self):
        if self._kb is None:
            from kefu.kb.base import KnowledgeBase

            self._loaded_models = self.models
            self._kb = KnowledgeBase(self.home, self._embedders or self.load_models(), progress=self.progress)
        return self._kb

    def load_models(self, switching_to: str | None = None) -> list:
        """The configured models, or those the folder is `switching_to`, loaded; one that
        cannot load is named with where the models come from and the way back, or, for a
        switch, with the models that stay in use."""
        from kefu.kb.embed import load_embedders
        from kefu.kb.errors import KefuError

        if self.said is not None:
            self.said(f"loading the models ({switching_to or self.models})…")
        try:
            return load_embedders(switching_to or self.models, self.threads)
        except KefuError as exc:
            if switching_to:
                raise KefuError(f"{exc}; {self.config_path} still names {self.models}, which stay in use") from exc
            self._explain_unloadable(exc)

    def check_models(self) -> None:
        """What would make loading the models fail that shows without loading them (a model
        folder missing or holding no model), with the way back as kb() says it."""
        from kefu.kb.embed import check_model_names
        from kefu.kb.errors import KefuError

        try:
            check_model_names(self.models)
        except KefuError as exc:
            self._explain_unloadable(exc)

    def _explain_unloadable(self, exc: Exception) -> NoReturn:
        """Raise `exc`, with where the models come from and the commands that get the
        folder working again when config.json names them (a user who gave --models knows)."""
        from kefu.kb.errors import KefuError

        if self._models or not self.config().get("models"):
            raise exc
        raise KefuError(f"{exc}; {self.unloadable_advice()}") from exc

    def store(self):
        """The store, without loading the models when the knowledge base is not loaded yet:
        users, tokens, listing, export and the retention purge need none, and must work
        when a configured model cannot load (an admin fixes the models with them)."""
        if self._kb is not None:
            return self._kb.store
        if self._store is None:
            from kefu.kb.store import Store

            self.config()  # a config.json kefu cannot use fails every command, as it does kb()
            self.home.mkdir(parents=True, exist_ok=True)
            self._store = Store.open(self.home / "kefu.db")
        return self._store

    def _missing_model_folders(self) -> list[str]:
        """The sentence-transformers folders config.json names that are not there (kefu
        keeps a folder's absolute path; a name of the Hugging Face cache is no folder)."""
        names = [n.strip().removeprefix("st:") for n in self.models.split(",")]
        return [n for n in names if Path(n).is_absolute() and not Path(n).exists()]

    def unloadable_advice(self) -> str:
        """After config.json's models could not load (a fine-tuned model's folder moved or
        deleted, a hub name no longer cached): where they come from, and the commands that
        get the data folder working again."""
        config = self.config()
        source = f"the models come from {self.config_path}" if config.get("models") else \
            f"the models are the default ({DEFAULT_MODELS}), as {self.config_path} names none"
        before = config.get("models_before_finetune")
        undo = (f"`kefu learn finetune --undo` goes back to the models used before fine-tuning ({before}), "
                if before else "")
        return (f"{source}: {self._moved_advice()}{undo}"
                f"`kefu --models {before or DEFAULT_MODELS} reindex` switches the folder to others")

    def _moved_advice(self) -> str:
        """When the missing folders are fine-tuned models found in this data folder's
        models/ (the data folder was moved: config.json names them by absolute path), the
        command that switches to them where they are now."""
        spec, found = self.models, []
        for gone in self._missing_model_folders():
            here = self.home / "models" / Path(gone).name
            if Path(gone).parent.name != "models" or not here.is_dir():
                return ""
            spec = spec.replace(gone, str(here))
            found.append(f"{gone} is not there, but {here} is")
        if not found:
            return ""
        return (f"{'; '.join(found)} (was the data folder moved?): `kefu --models {spec} reindex` switches "
                "the folder to it there; or ")

    def reload_if_models_changed(self) -> bool:
        """Reopen the knowledge base when config.json now names other models (another
        process switched to a fine-tuned model); True if it did. A config.json damaged by
        hand keeps the models loaded: what reads the file says what is wrong with it."""
        from kefu.kb.errors import ConfigError

        if self._kb is None or self._embedders:
            return False
        try:
            if self.models == self._loaded_models:
                return False
        except ConfigError:
            return False
        self.close()
        return True

    def data_file(self, name: str, default: Path) -> Path:
        """An editable copy in the data folder wins over the shipped default."""
        own = self.home / name
        return own if own.exists() else default

    def safety(self):
        from kefu import corpus
        from kefu.suggest.safety import Safety

        with data_file_errors():
            return Safety.load(self.data_file("sensitive_words.txt", corpus.SENSITIVE_WORDS),
                               self.data_file("safe_phrases.txt", corpus.SAFE_PHRASES))

    def phrases(self):
        from kefu import corpus
        from kefu.suggest.phrases import PhraseLibrary

        with data_file_errors():
            return PhraseLibrary.load(self.data_file("huashu.jsonl", corpus.HUASHU))

    def feedback_log(self):
        from kefu.kb.feedback import FeedbackLog

        return FeedbackLog(self.store().db, retention_days=self.retention_days())

    def retention_days(self) -> int:
        """How long customer text is kept (config.json's `retention_days`, default 90)."""
        return self.config().get("retention_days", 90)

    def learner(self):
        from kefu.suggest.learn import Learner

        return Learner(self.kb(), retention_days=self.retention_days())

    def set_trust(self, rule) -> None:
        """Set the trust rule (`kefu learn config`, the learn page) under config.json's lock:
        the settings page holds it from checking that nothing changed since it was loaded to
        writing its rule, and a rule stored between the two would be overwritten without a
        word. The re-index follows once the lock is released: other writers need not wait."""
        learner = self.learner()
        with self._config_lock():
            learner.store_trust(rule)
        learner.kb.build_index()  # a write: an index that cannot follow is told (index_error)

    def record_feedback(self, suggestion_id: str, action: str, draft: int | None = None,
                        text: str | None = None, agent: str | None = None):
        """Log what the agent did with a suggestion, and learn from it: `FeedbackLogged`,
        the feedback row's id and a note when learning counts it for nothing."""
        return self.learner().log_feedback(self.feedback_log(), suggestion_id, action, draft, text, agent)

    def finetune(self, settings=None):
        """`kefu learn finetune`: train, and switch this data folder to the new model (config,
        then a full reindex) only when it retrieves the held-out feedback better. Until the
        config is rewritten (atomically), the current model stays in use."""
        from kefu.kb.embed import BUILTIN
        from kefu.kb.errors import KefuError
        from kefu.suggest.finetune import finetune

        names = [n.strip() for n in self.models.split(",") if n.strip()]
        custom = [n for n in names if n not in BUILTIN]
        if not custom and "e5" not in names:
            raise KefuError(f"fine-tuning needs e5 or a sentence-transformers model among the models ({self.models})")
        base = custom[0] if custom else "e5"
        outcome = finetune(self.kb(), self.home, base.removeprefix("st:") if custom else None, settings,
                           self.progress)
        if outcome.model_dir:
            before = self.models
            names[names.index(base)] = "st:" + outcome.model_dir
            models = ",".join(names)
            try:
                self._switch_models(models, lambda config: {
                    **config, "models": models, "models_before_finetune": config.get("models_before_finetune", before)})
            except BaseException:  # Ctrl-C while indexing: the model is kept, yet used nowhere
                self._drop_unused_model(Path(outcome.model_dir))
                raise
            self._drop_unused_model(Path(base.removeprefix("st:")))  # a fine-tuned model it replaced
        return outcome

    def _drop_unused_model(self, folder: Path) -> None:
        """Delete fine-tuning's `folder` (DATA/models/ft-…) unless config.json names it
        (in its models, or in those `--undo` goes back to)."""
        import shutil

        from kefu.kb.errors import KefuError

        if not self._is_fine_tuned(folder):
            return
        try:
            config = self.config()
            named = [n.strip() for key in ("models", "models_before_finetune")
                     for n in config.get(key, "").split(",")]
        except KefuError:
            return
        if "st:" + str(folder) not in named:
            shutil.rmtree(folder, ignore_errors=True)

    def switch_config(self, models: str) -> None:
        """Make config.json name `models`, switched by hand (`kefu --models X init` or
        `reindex`), keeping every other setting as the file holds it now. The models
        `--undo` goes back to stay only while a fine-tuned model of this folder is among
        them: else `--undo` would throw X away for them, and a fine-tuning of X undone
        would go back past X."""
        tuned = [n for n in models.split(",") if self._is_fine_tuned(Path(n.strip().removeprefix("st:")))]

        def switched(config: dict) -> dict:
            if models != config.get("models", DEFAULT_MODELS) and not tuned:
                config.pop("models_before_finetune", None)
            return {**config, "models": models}

        self.update_config(switched)

    def _is_fine_tuned(self, folder: Path) -> bool:
        return folder.parent == self.home / "models" and folder.name.startswith("ft-")

    def undo_finetune(self) -> str:
        """Go back to the models in use before the first kept fine-tuning (config, then a
        full reindex); the fine-tuned model's folder stays on disk. Returns those models."""
        from kefu.kb.errors import KefuError

        before = self.config().get("models_before_finetune")
        if before is None:
            raise KefuError("no fine-tuned model is in use: nothing to undo")

        def undone(config: dict) -> dict:
            config.pop("models_before_finetune", None)
            return {**config, "models": before}

        self._switch_models(before, undone)
        return before

    def _switch_models(self, models: str, change: Callable[[dict], dict]) -> None:
        """Build the index with `models`, and change config.json with `change` when that
        index is complete, just before it goes live. Until then every process (a running
        server too, which follows config.json) keeps the current models and index, and a
        crash while building leaves both in use. `change` gets config.json as it is then,
        so a setting saved during the minutes of indexing stays."""
        from kefu.kb.base import KnowledgeBase

        self.close()
        self._models = None
        kb = KnowledgeBase(self.home, self.load_models(switching_to=models), progress=self.progress)
        try:
            kb.rebuild(before_publish=lambda: self.update_config(change))
        except BaseException:
            kb.close()
            raise
        self._kb, self._loaded_models = kb, models

    def write_config(self, config: dict) -> None:
        """Replace config.json with `config`."""
        with self._config_lock():
            self._write_config(config)

    def update_config(self, change: Callable[[dict], dict]) -> dict:
        """Write config.json as `change` makes it from the file as it is now, and return
        that. The lock held from reading to writing makes writers take turns (the settings
        page in another worker, a command publishing its models after minutes of
        indexing), so none writes back a copy read before another's change."""
        with self._config_lock():
            config = change(self.config())
            self._write_config(config)
        return config

    @contextmanager
    def _config_lock(self):
        """An flock on the data folder itself, which writers of config.json take in turn:
        config.json is replaced by a rename, which a lock on the file would not survive."""
        import fcntl
        import os

        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.home, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _write_config(self, config: dict) -> None:
        write_whole(self.config_path, json.dumps(config, ensure_ascii=False, indent=1) + "\n")

    def assistant(self):
        from kefu.suggest.assistant import Assistant
        from kefu.suggest.draft import Composer
        from kefu.suggest.retrieve import Retriever

        composer = Composer(self.phrases(), self.safety(),
                            traditional=self.config().get("traditional", "s2twp"))
        return Assistant(Retriever(self.kb()), composer, self.feedback_log())

    def users(self):
        from kefu.kb.users import Users

        return Users(self.store().db)

    def login_throttle(self, limits, clock):
        from kefu.kb.throttle import LoginThrottle

        return LoginThrottle(self.kb().store.db, limits, clock)

    def close(self) -> None:
        if self._kb is not None:
            self._kb.close()
            self._kb = None
        if self._store is not None:
            self._store.close()
            self._store = None
