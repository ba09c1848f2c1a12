"""Run a bulk import in a child process and SIGKILL it at the N-th call of a chosen function.

    python import_crash_child.py HOME INPUT_FOLDER POINT N

POINT "none" runs to the end without a kill and prints the call counts of every point as
JSON (the parent picks its N values from them). A point with an "@write" suffix counts
only calls made inside a real store write (Store.import_entries with dry_run=False), not
inside the dry run an import makes first.
"""

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeEmbedder  # noqa: E402
from kefu.kb import index as index_mod  # noqa: E402
from kefu.kb import store as store_mod  # noqa: E402
from kefu.kb.base import KnowledgeBase  # noqa: E402
from kefu.kb.bulk import BulkImporter, ImportOptions, walk  # noqa: E402
from kefu.kb.index import Index, IndexDir  # noqa: E402

TARGETS = {
    "encode": (FakeEmbedder, "encode_documents"),         # embedding new text (before any write)
    "embed_documents": (KnowledgeBase, "embed_documents"),  # the import's and the index refresh's
    "save_vectors": (store_mod.Store, "save_vectors"),    # committing vectors to the cache
    "add": (store_mod.Store, "_add"),                     # one new entry, inside the transaction
    "update": (store_mod.Store, "_update"),               # one changed entry, inside the transaction
    "replace_passages": (store_mod.Store, "_replace_passages"),
    "passage_write": (store_mod, "passage_id"),           # once per passage row written
    "index_save": (Index, "save"),                        # writing an index's files
    "write_json": (index_mod, "_write_json"),             # rows-gN.json and meta.json of an index
    "publish": (IndexDir, "publish"),                     # switching CURRENT to a new version
}


def in_real_write() -> bool:
    """True when called (indirectly) from Store.import_entries with dry_run=False."""
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "import_entries" and code.co_filename == store_mod.__file__:
            return not frame.f_locals.get("dry_run", False)
        frame = frame.f_back
    return False


def main() -> None:
    home, folder, point, nth = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    calls: dict[str, int] = {}

    def patch(name: str, owner, attr: str) -> None:
        original = getattr(owner, attr)

        def wrapped(*args, **kwargs):
            keys = [name] + ([f"{name}@write"] if in_real_write() else [])
            for key in keys:
                calls[key] = calls.get(key, 0) + 1
                if key == point and calls[key] == nth:
                    sys.stdout.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)

        setattr(owner, attr, wrapped)

    for name, (owner, attr) in TARGETS.items():
        patch(name, owner, attr)
    kb = KnowledgeBase(home, [FakeEmbedder()])
    results = BulkImporter(kb, ImportOptions(on_conflict="update")).run(list(walk([folder])))
    kb.close()
    bad = [(r.file, r.error) for r in results if r.status != "imported"]
    print(json.dumps({"calls": calls, "failed": bad}, ensure_ascii=False))


if __name__ == "__main__":
    main()
