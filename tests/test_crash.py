"""A reindex killed with SIGKILL at any point leaves a usable index behind."""

import subprocess
import sys
from pathlib import Path

import pytest

from fakes import FakeEmbedder
from kefu.kb.base import KnowledgeBase
from kefu.kb.index import Index
from kefu.suggest.retrieve import Retriever

CHILD = Path(__file__).parent / "crash_child.py"


@pytest.fixture
def built(tmp_path):
    home = tmp_path / "home"
    kb = KnowledgeBase(home, [FakeEmbedder()])
    kb.import_entries([
        {"id": "a", "question": "多久发货", "similar": ["什么时候发货"], "answer": "当天发货"},
        {"id": "b", "question": "怎么开发票", "similar": ["发票能开吗"], "answer": "电子发票"},
        {"id": "c", "question": "怎么退货", "similar": ["不想要了能退吗"], "answer": "7天无理由"},
    ])
    kb.index()
    kb.rebuild()  # a second version, so the next reindex has an old one to remove
    kb.close()
    return home


@pytest.mark.parametrize("point,nth", [
    ("write_json", 1),   # while writing the rows of the new version
    ("bm25_save", 1),    # while writing the lexical index
    ("write_index", 1),  # while writing the FAISS file
    ("write_json", 2),   # while writing the new meta.json
    ("replace", 2),      # just before CURRENT is switched
    ("rmtree", 1),       # after the switch, while removing old versions
])
def test_killed_reindex_leaves_a_serving_index(built, point, nth):
    before = (built / "index" / "CURRENT").read_text()
    proc = subprocess.run([sys.executable, str(CHILD), str(built), point, str(nth)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr  # really killed
    live = (built / "index" / "CURRENT").read_text()
    Index.load(built / "index" / live, {"fake": 64})  # the live folder is complete
    kb = KnowledgeBase(built, [FakeEmbedder()])
    try:
        result = Retriever(kb).search("什么时候能发货")
        assert result.hits[0].entry_id == "a"
        assert kb.index_dir.current().name in (before, live)
    finally:
        kb.close()
