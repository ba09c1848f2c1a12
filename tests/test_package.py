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


def _build(kind: str, source: Path, out: Path) -> Path:
    # setuptools' own hooks, no pip and no network: a few seconds.
    code = f"from setuptools import build_meta as b; print(b.build_{kind}({str(out)!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=source, capture_output=True, text=True, check=True)
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """The sdist of a copy of the checkout (building writes build/ and *.egg-info beside the
    sources), then the wheel built from the unpacked sdist."""
    tmp = tmp_path_factory.mktemp("dist")
    shutil.copytree(ROOT, tmp / "src", ignore=_NOT_SOURCE)
    sdist = _build("sdist", tmp / "src", tmp)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    (top,) = (tmp / "unpacked").iterdir()
    wheel = _build("wheel", top, tmp)
    with tarfile.open(sdist) as tar:
        sdist_names = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
    with zipfile.ZipFile(wheel) as z:
        wheel_names = z.namelist()
    return {"sdist": sdist_names, "wheel": wheel_names, "wheel_path": wheel}


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
    top = {n.split("/")[0] for n in dists["wheel"]}
    assert top == {"kefu", "kefu-0.1.0.dist-info"}
    assert not [n for n in dists["wheel"] if n.startswith(("kefu/tests/", "kefu/bench/", "kefu/.venv/"))]


def test_sdist_holds_the_sources_and_nothing_of_the_repository(dists):
    """setuptools' defaults put tests/test_*.py in the sdist without conftest.py, fakes.py,
    helpers.py and tests/data: a suite that cannot run, beside the project's sources."""
    names = dists["sdist"]
    assert {"pyproject.toml", "README.md", "py.typed", "cli.py", "corpus/entries.jsonl",
            "web/templates/panel.html", "web/static/panel.js"} <= set(names)
    assert [n for n in names if n.split("/")[0] in ("tests", "bench", ".venv")] == []
