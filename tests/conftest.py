"""Shared fixtures: an in-memory Store, a KnowledgeBase over a FakeEmbedder, entry dicts."""

from __future__ import annotations

import copy
import time

import pytest
import sqlite_utils
from fakes import FakeEmbedder  # tests/ is on the path: pyproject's pythonpath
from helpers import SHOP, entry_dict, patch_jieba

from kefu.kb.base import KnowledgeBase
from kefu.kb.store import Store


@pytest.fixture
def local_zone():
    """Call it with a TZ value to run the rest of the test in that local time zone; the
    zone the process had is put back afterwards, TZ and libc's reading of it (tzset)
    both. Deleting TZ by hand left libc in the test's zone when TZ was set before."""
    with pytest.MonkeyPatch.context() as mp:
        def use(zone: str) -> None:
            mp.setenv("TZ", zone)
            time.tzset()
        yield use
    time.tzset()


@pytest.fixture
def utc_plus_8(local_zone):
    """The server's local time zone is UTC+8 (a shop in China) for the test."""
    local_zone("CST-8")


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
