"""Files written whole or not at all: through a temporary file of this writer's own beside
the target, renamed over it when complete."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def temp_beside(path: Path, mode: int = 0o666) -> tuple[Path, int]:
    """A new file beside `path` that no other writer has (a random name, created with
    O_EXCL), and its descriptor open for writing; `mode` as for os.open (the umask applies).
    Through one shared name, two writers at the same moment moved each other's file away or
    put it in place half written. OSError when the folder cannot be written."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
