"""The shipped sample knowledge base of the fictional shop 青禾优选."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
ENTRIES = ROOT / "entries.jsonl"
TERMS = ROOT / "terms.txt"
