"""Shared fixtures: an in-memory Store, a KnowledgeBase over a FakeEmbedder, entry dicts."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import sqlite_utils

# pytest runs with --import-mode=importlib, so tests/ is not on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeEmbedder  # noqa: E402
from helpers import SHOP, entry_dict, patch_jieba  # noqa: E402

from kefu.kb.base import KnowledgeBase  # noqa: E402
from kefu.kb.store import Store  # noqa: E402


@pytest.fixture
def make_entry():
    """Factory for entry dicts: make_entry("e1", question=..., answer=..., similar=[...])."""
    return entry_dict


@pytest.fixture
def store():
    s = Store(sqlite_utils.Database(memory=True))
    yield s
    s.close()


@pytest.fixture
def embedder():
    return FakeEmbedder()


@pytest.fixture
def fast_jieba(monkeypatch):
    patch_jieba(monkeypatch)


@pytest.fixture
def kb(tmp_path, embedder, fast_jieba):
    k = KnowledgeBase(tmp_path / "home", [embedder])
    yield k
    k.close()


@pytest.fixture
def shop_entries():
    return copy.deepcopy(SHOP)
