"""The shipped sample knowledge base of the fictional shop 青禾优选."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
ENTRIES = ROOT / "entries.jsonl"
TERMS = ROOT / "terms.txt"
HUASHU = ROOT / "huashu.jsonl"
SENSITIVE_WORDS = ROOT / "sensitive_words.txt"
SAFE_PHRASES = ROOT / "safe_phrases.txt"
