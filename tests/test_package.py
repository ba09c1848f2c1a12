"""kefu installed as a package: the sdist and the wheel built from it (as `python -m build`
does) hold what an installed kefu reads, and nothing of the repository's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# What a checkout holds besides the project (built, cached or made by `make run`).
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                     ".pytest_cache", ".kefu-run", "data", "bench-out")


def _build(kind: str, source: Path, out: Path) -> tuple[Path, str]:
    """The file built and what setuptools printed."""
    # setuptools' own hooks, no pip and no network: a few seconds.
    code = f"from setuptools import build_meta as b; print(b.build_{kind}({str(out)!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=source, capture_output=True, text=True, check=True)
    return out / done.stdout.strip().splitlines()[-1], done.stdout + done.stderr


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """The sdist of a copy of the checkout (building writes build/ and *.egg-info beside the
    sources), then the wheel built from the unpacked sdist."""
    tmp = tmp_path_factory.mktemp("dist")
    shutil.copytree(ROOT, tmp / "src", ignore=_NOT_SOURCE)
    sdist, sdist_log = _build("sdist", tmp / "src", tmp)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    (top,) = (tmp / "unpacked").iterdir()
    wheel, wheel_log = _build("wheel", top, tmp)
    with tarfile.open(sdist) as tar:
        sdist_names = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
    with zipfile.ZipFile(wheel) as z:
        wheel_names = z.namelist()
    return {"sdist": sdist_names, "wheel": wheel_names, "wheel_path": wheel, "log": sdist_log + wheel_log}


def _data_files(folder: str) -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*")
                  if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts)


def test_wheel_holds_what_kefu_reads(dists):
    """Every file of the sample corpus (POLICY.md, the policy its answers follow, was left
    out), the web templates and static files, and the py.typed marker: without it a user's
    type checker treats everything imported from kefu as untyped."""
    names = set(dists["wheel"])
    wanted = ["kefu/py.typed"] + [f"kefu/{f}" for f in _data_files("corpus") + _data_files("web")]
    assert [f for f in wanted if f not in names] == []


def test_wheel_holds_nothing_of_the_repository(dists):
    from kefu import __version__

    top = {n.split("/")[0] for n in dists["wheel"]}
    assert top == {"kefu", f"kefu-{__version__}.dist-info"}
    assert not [n for n in dists["wheel"] if n.startswith(("kefu/tests/", "kefu/bench/", "kefu/.venv/"))]


def test_the_version_is_written_once(dists):
    """pyproject.toml reads the version from kefu/__init__.py, which `kefu --version` and
    programs importing kefu read: one bump changes both."""
    from kefu import __version__

    with zipfile.ZipFile(dists["wheel_path"]) as z:
        metadata = z.read(f"kefu-{__version__}.dist-info/METADATA").decode()
    assert f"\nVersion: {__version__}\n" in metadata
    assert "\nversion = \"" not in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_the_build_finds_the_package_data_unambiguous(dists):
    """web/templates and web/static are data of kefu.web, yet setuptools' include-package-data
    (on by default with pyproject.toml) also saw them as packages missing from `packages`:
    each build printed "Package would be ignored" for them, a configuration setuptools
    calls ambiguous. package-data alone says what is installed."""
    assert "absent from the `packages` configuration" not in dists["log"]

def test_sdist_holds_the_sources_and_nothing_of_the_repository(dists):
    """setuptools' defaults put tests/test_*.py in the sdist without conftest.py, fakes.py,
    helpers.py and tests/data: a suite that cannot run, beside the project's sources."""
    names = dists["sdist"]
    assert {"pyproject.toml", "README.md", "py.typed", "cli.py", "corpus/entries.jsonl",
            "web/templates/panel.html", "web/static/panel.js"} <= set(names)
    assert [n for n in names if n.split("/")[0] in ("tests", "bench", ".venv")] == []


def test_the_installed_wheel_runs_anywhere_beside_modules_named_like_its_folders(dists, tmp_path):
    """The wheel unpacked as pip installs it, imported from another folder holding a user's
    own `web`, `cli`, `kb`... modules: kefu finds its own modules and package data (the
    sample corpus, 话术, word lists, templates and static files) and writes nothing into
    the folder it runs in or into the install."""
    site = tmp_path / "site"
    with zipfile.ZipFile(dists["wheel_path"]) as z:
        z.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("web", "cli", "kb", "suggest", "corpus", "cli_files", "cli_admin", "cli_learn"):
        (elsewhere / f"{name}.py").write_text(f"raise ImportError('the user\\'s own {name}')\n", encoding="utf-8")
    before = sorted(p for p in site.rglob("*") if "__pycache__" not in p.parts)
    program = f"""
import json, kefu
from pathlib import Path
from kefu import corpus
from kefu.kb.io import iter_jsonl, read_text
from kefu.suggest.workspace import Workspace
from kefu.web import create_app
assert kefu.__file__.startswith({str(site)!r}), kefu.__file__
ws = Workspace(Path({str(tmp_path / "data")!r}))
assert len(list(iter_jsonl(corpus.ENTRIES, read_text(corpus.ENTRIES)))) > 100
assert ws.phrases() is not None and ws.safety() is not None
client = create_app({{"KEFU_HOME": {str(tmp_path / "data")!r}}}).test_client()
page, css = client.get("/login"), client.get("/static/panel.js")
assert page.status_code == 200 and "登录" in page.get_data(as_text=True), page.status_code
assert css.status_code == 200 and css.data, css.status_code
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(elsewhere)]),
           "HOME": str(tmp_path / "user"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("KEFU_HOME", None)
    done = subprocess.run([sys.executable, "-c", program], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in elsewhere.iterdir()) == sorted(f"{n}.py" for n in (
        "web", "cli", "kb", "suggest", "corpus", "cli_files", "cli_admin", "cli_learn"))
    assert sorted(p for p in site.rglob("*") if "__pycache__" not in p.parts) == before
