"""Docs cannot drift from code: every command has help text and appears in the README."""

import re
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from kefu.cli import cli

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = ""):
    for name, cmd in group.commands.items():
        yield prefix + name, cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + name + " ")


@pytest.mark.parametrize("name,cmd", list(_commands(cli)))
def test_command_has_help(name, cmd):
    assert cmd.help and cmd.help.strip(), f"kefu {name} has no help text"


@pytest.mark.parametrize("name", [n for n, _ in _commands(cli)])
def test_readme_mentions_command(name):
    assert f"kefu {name}" in README, f"README does not mention `kefu {name}`"


@pytest.mark.parametrize("name,cmd", [(n, c) for n, c in _commands(cli) if not isinstance(c, click.Group)])
def test_command_has_json_option(name, cmd):
    assert any("--json" in p.opts for p in cmd.params), f"kefu {name} has no --json"


def test_readme_shows_the_two_setup_commands():
    assert "make run" in README and "make test" in README


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_keeps_its_data_folder(tmp_path):
    """`make run` began with rm -rf .kefu-run: a shop that edited entries in the console and
    ran it again lost them all. It keeps the folder (init --sample only adds what is
    missing) and makes the editor login only when there is none."""
    venv = tmp_path / "venv"  # -o: nothing is installed, make only prints the recipe
    recipe = subprocess.run(["make", "-n", "-C", str(ROOT), "-o", f"{venv}/.installed", "-o", "browser", "run",
                             f"VENV={venv}", "SERVE=0"], capture_output=True, text=True, check=True).stdout
    assert "init --sample" in recipe and "rm " not in recipe
    assert re.search(r"user list \| cut -f1 \| grep -qx editor; then.*else \S+ --data-dir \S+ user add editor",
                     recipe, re.S)


def test_the_sample_corpus_size_said_is_its_size():
    """`kefu init --help` said 210 entries; the shipped corpus has 205."""
    import re

    from click.testing import CliRunner

    from kefu.corpus import ENTRIES
    from kefu.kb.io import read_entries

    size = len(list(read_entries(ENTRIES)))
    said = CliRunner().invoke(cli, ["init", "--help"], terminal_width=200).output
    counts = re.findall(r"(\d+)[- ]entr", said) + re.findall(r"(\d+)-entry sample", README)
    assert all(int(n) == size for n in counts), (counts, size)


def test_readme_says_how_many_accepted_messages_fine_tuning_needs():
    """`kefu learn finetune` refuses fewer than MIN_PAIRS accepted messages; the README did not say so."""
    from kefu.suggest.finetune import MIN_PAIRS

    assert f"at least {MIN_PAIRS} accepted messages" in README


def test_readme_import_table_names_every_suffix_kefu_reads():
    """The table left out .xlsm, .ndjson, .htm and .markdown, which are imported."""
    from kefu.kb.importers import SUFFIXES

    table = README[README.index("| What | Formats | Becomes |"):]
    table = table[:table.index("\n\n")]
    named = set(re.findall(r"`(\.\w+)`", table))
    assert set(SUFFIXES) <= named, f"README's import table lacks {sorted(set(SUFFIXES) - named)}"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_bench_runs_every_benchmark_the_readme_says_it_runs(tmp_path):
    """The README says `make bench` runs bench/quality.py on bench/sets/shuma, the set that
    checks shop-dev's tuning holds elsewhere; the Makefile never did."""
    venv = tmp_path / "venv"  # -o: nothing is installed, make only prints the recipe
    recipe = subprocess.run(["make", "-n", "-C", str(ROOT), "-o", f"{venv}/.installed", "-o", "browser", "bench",
                             f"VENV={venv}"], capture_output=True, text=True, check=True).stdout
    said = re.findall(r"`make bench` runs `(bench/\w+\.py[^`]*)`", README)
    assert said and all(s in recipe for s in said), (said, recipe)
    for name in re.search(r"^bench/\s+(.*?) *\(`make bench`\)", README, re.M | re.S).group(1).split():
        assert f"bench/{name}" in recipe, name


def test_readme_describes_the_eval_dataset_and_every_key_of_its_json(tmp_path):
    # `kefu eval --dataset` pointed its user to ../shared/bench/README.md, a file of the
    # benchmark kefu was developed on, not part of kefu; its --json had no description.
    from types import SimpleNamespace

    from kefu.suggest.evaluate import _report

    help_text = next(p.help for p in cli.commands["eval"].params if p.name == "dataset")
    assert "shared/bench" not in help_text and "README" in help_text
    hit = SimpleNamespace(entry_id="a1", score=1.0)
    result = SimpleNamespace(hits=[hit], no_match=False, took_ms=1.0, timings_ms={}, confidence=0.9)
    report = {"dataset": "d", **_report([result], [{"query": "q", "gold": ["a1"], "kind": ""}], [], False)}
    learned = {"learn": {"file": "f", "parts": [], "events": 0, "duplicates": 0, "trusted_phrasings": 0,
                         "finetune": None}, "before": {}, "after": {}}

    def keys(d):
        for k, v in d.items():
            yield k
            if isinstance(v, dict) and k != "by_kind":
                yield from keys(v)
    section = README[README.index("(`kefu eval`)\n"):]
    section = section[:section.index("\n#")]
    missing = [k for k in [*keys(report), *keys(learned)] if f"`{k}`" not in section]
    assert not missing, f"README's `kefu eval` section does not describe {missing}"
    for name in ("kb.jsonl", "queries.jsonl", "learn.jsonl"):
        assert name in section


def _quick_start_lines(prefix: str) -> list[list[str]]:
    """The Quick start block's `kefu PREFIX …` lines, as argument lists, comments left off."""
    import shlex

    block = README[README.index("## Quick start"):]
    block = block[block.index("```sh\n") + 6:]
    block = block[:block.index("```")]
    return [shlex.split(line, comments=True)[1:] for line in block.splitlines()
            if line.startswith(f"kefu {prefix}")]


def test_quick_start_user_and_token_lines_run_in_order(tmp_path, monkeypatch):
    """The Quick start made lihua admin and then removed lihua, the only (so the last) admin:
    a newcomer typing the lines in order got `Error: 'lihua' is the last admin` (exit 1)."""
    from click.testing import CliRunner

    monkeypatch.setenv("KEFU_HOME", str(tmp_path / "kb"))
    lines = _quick_start_lines("user ") + _quick_start_lines("token ")
    assert len(lines) >= 8 and ["user", "remove", "lihua"] in lines
    runner = CliRunner()
    for args in lines:
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, (args, result.output)


def test_user_remove_help_says_the_last_admin_stays():
    """`kefu user role --help` said the last admin stays admin; `user remove --help` did not
    say that it refuses to remove the last admin."""
    assert "last admin" in cli.commands["user"].commands["remove"].help


def test_serve_help_says_behind_a_reverse_proxy_every_client_has_the_proxys_address():
    """`--login-attempts-per-address` said "behind a reverse proxy every client has its
    address", read as each client keeping its own; they all have the proxy's (README, Web)."""
    (param,) = [p for p in cli.commands["serve"].params if p.name == "login_attempts_per_address"]
    assert "the proxy's address" in param.help and "the proxy's address" in README
