"""Run `reindex` in a child process and SIGKILL it at the N-th call of a chosen function."""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import faiss  # noqa: E402

from fakes import FakeEmbedder  # noqa: E402
from kefu.kb import index as index_mod  # noqa: E402
from kefu.kb import lexical  # noqa: E402
from kefu.kb.base import KnowledgeBase  # noqa: E402

home, point, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
calls = {"n": 0}


def killer(original):
    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    return wrapped


targets = {
    "write_index": (faiss, "write_index"),
    "write_json": (index_mod, "_write_json"),
    "bm25_save": (lexical.BM25, "save"),
    "replace": (index_mod.os, "replace"),
    "rmtree": (index_mod.shutil, "rmtree"),
}
owner, name = targets[point]
setattr(owner, name, killer(getattr(owner, name)))
kb = KnowledgeBase(home, [FakeEmbedder()])
kb.rebuild()
print("finished")
