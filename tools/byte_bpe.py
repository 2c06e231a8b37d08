"""Byte-level BPE in the GPT-2 / Hugging Face `tokenizers` style, written from
scratch (no `tokenizers` or `regex` package needed).

Encoding follows what a Hugging Face tokenizer.json with
  pre_tokenizer = ByteLevel(add_prefix_space=false, use_regex=true)
  model         = BPE (no dropout, no unk, no prefixes/suffixes)
  decoder       = ByteLevel
does: special (added) tokens are cut out of the raw text first, each remaining
piece is split by the GPT-2 pattern, each split's UTF-8 bytes are mapped to the
printable stand-in characters, and merges are applied lowest rank first.

The GPT-2 pattern uses \\p{L} and \\p{N}; Python's `re` has neither, so the
classes are spelled out from `unicodedata` (general categories L* and N*), and
\\s is the Unicode White_Space property, which is what Oniguruma (used by
`tokenizers`) matches. For this module's Unicode version the pattern is
therefore the same set of strings as HF's.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter

# Unicode White_Space property (PropList.txt); stable since Unicode 6.
WHITE_SPACE = [
    (0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680),
    (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
    (0x3000, 0x3000),
]


def _ranges_where(pred) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    start = None
    for cp in range(sys.maxunicode + 2):
        hit = cp <= sys.maxunicode and pred(cp)
        if hit and start is None:
            start = cp
        elif not hit and start is not None:
            ranges.append((start, cp - 1))
            start = None
    return ranges


def _class_body(ranges: list[tuple[int, int]]) -> str:
    def esc(cp: int) -> str:
        return f"\\U{cp:08x}"
    return "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in ranges)


def gpt2_pattern() -> re.Pattern:
    """HF ByteLevel's split pattern
    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
    spelled with explicit character classes."""
    cat = unicodedata.category
    letters = _class_body(_ranges_where(lambda cp: cat(chr(cp))[0] == "L"))
    numbers = _class_body(_ranges_where(lambda cp: cat(chr(cp))[0] == "N"))
    spaces = _class_body(WHITE_SPACE)
    pattern = (
        r"'s|'t|'re|'ve|'m|'ll|'d"
        rf"| ?[{letters}]+"
        rf"| ?[{numbers}]+"
        rf"| ?[^{spaces}{letters}{numbers}]+"
        rf"|[{spaces}]+(?![^{spaces}])"
        rf"|[{spaces}]+"
    )
    return re.compile(pattern)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table: printable Latin-1
    bytes stand for themselves, the other 68 bytes take code points from 256 on."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class ByteBPE:
    """Vocabulary, merges and special tokens of one byte-level BPE tokenizer."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]],
                 specials: list[str]):
        self.vocab = vocab
        self.id_to_token = {i: t for t, i in vocab.items()}
        self.merges = merges
        self.ranks = {pair: r for r, pair in enumerate(merges)}
        self.specials = specials
        self.byte_char = bytes_to_unicode()
        self.char_byte = {c: b for b, c in self.byte_char.items()}
        self.pattern = gpt2_pattern()
        self._cache: dict[str, list[int]] = {}

    # ---- encoding -------------------------------------------------------
    def _bpe_word(self, word: str) -> list[int]:
        """Apply merges, lowest rank first, to one mapped pre-token (HF
        `Word::merge_all`: all occurrences of the best pair, left to right)."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        parts = list(word)
        while len(parts) > 1:
            best_rank, best_pair = None, None
            for pair in zip(parts, parts[1:]):
                r = self.ranks.get(pair)
                if r is not None and (best_rank is None or r < best_rank):
                    best_rank, best_pair = r, pair
            if best_pair is None:
                break
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best_pair:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        ids = [self.vocab[p] for p in parts]
        self._cache[word] = ids
        return ids

    def pre_tokenize(self, text: str) -> list[str]:
        """GPT-2 split, then each piece's UTF-8 bytes as stand-in characters."""
        return ["".join(self.byte_char[b] for b in m.group(0).encode("utf-8"))
                for m in self.pattern.finditer(text)]

    def _split_specials(self, text: str) -> list[tuple[str, bool]]:
        """Cut special tokens out of raw text, leftmost then longest first (as
        HF's added-vocabulary matcher does)."""
        out: list[tuple[str, bool]] = []
        start = i = 0
        by_len = sorted(self.specials, key=len, reverse=True)
        while i < len(text):
            hit = next((s for s in by_len if text.startswith(s, i)), None)
            if hit is None:
                i += 1
                continue
            if start < i:
                out.append((text[start:i], False))
            out.append((hit, True))
            i += len(hit)
            start = i
        if start < len(text):
            out.append((text[start:], False))
        return out

    def encode(self, text: str, add_bos: bool = False) -> list[int]:
        ids: list[int] = [self.vocab[self.specials[0]]] if add_bos else []
        for piece, special in self._split_specials(text):
            if special:
                ids.append(self.vocab[piece])
                continue
            for word in self.pre_tokenize(piece):
                ids.extend(self._bpe_word(word))
        return ids

    def decode(self, ids: list[int], skip_special: bool = False) -> str:
        out, pending = [], bytearray()
        for i in ids:
            tok = self.id_to_token[i]
            if tok in self.specials:
                if skip_special:
                    continue
                out.append(pending.decode("utf-8", errors="replace"))
                pending = bytearray()
                out.append(tok)
            else:
                pending.extend(self.char_byte[c] for c in tok)
        out.append(pending.decode("utf-8", errors="replace"))
        return "".join(out)

    # ---- Hugging Face files ---------------------------------------------
    def tokenizer_json(self) -> dict:
        """tokenizer.json in the `tokenizers` serialization. The post-processor
        is a TemplateProcessing that puts the bos token before every sequence
        (what `tokenizer(text)` does with add_special_tokens=True)."""
        bos = self.specials[0]
        bos_id = self.vocab[bos]
        added = [{
            "id": self.vocab[s], "content": s, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True,
        } for s in self.specials]
        byte_level = {"type": "ByteLevel", "add_prefix_space": False,
                      "trim_offsets": True, "use_regex": True}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": byte_level,
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": bos, "type_id": 1}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}},
            },
            "decoder": byte_level,
            "model": {
                "type": "BPE", "dropout": None, "unk_token": None,
                "continuing_subword_prefix": None, "end_of_word_suffix": None,
                "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                "vocab": dict(sorted(self.vocab.items(), key=lambda kv: kv[1])),
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }

    def tokenizer_config_json(self, max_length: int) -> dict:
        bos, eos = self.specials[0], self.specials[1]
        return {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": bos,
            "eos_token": eos,
            "add_bos_token": True,
            "add_eos_token": False,
            "clean_up_tokenization_spaces": False,
            "model_max_length": max_length,
            "added_tokens_decoder": {
                str(self.vocab[s]): {"content": s, "lstrip": False, "normalized": False,
                                     "rstrip": False, "single_word": False, "special": True}
                for s in self.specials
            },
        }

    @staticmethod
    def from_tokenizer_json(path: str) -> "ByteBPE":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        model = data["model"]
        if model.get("type") != "BPE":
            raise ValueError(f"{path}: model.type is {model.get('type')!r}, expected 'BPE'")
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
                  for m in model["merges"]]
        specials = [t["content"] for t in sorted(data["added_tokens"], key=lambda t: t["id"])
                    if t.get("special")]
        return ByteBPE(model["vocab"], merges, specials)


def train_byte_bpe(texts: list[str], vocab_size: int, specials: list[str]) -> ByteBPE:
    """Learn merges by pair frequency over pre-tokenized words (GPT-2 style).

    Ids: special tokens first, then the 256 byte characters in byte order,
    then one token per merge. Ties between equally frequent pairs go to the
    lexicographically smallest pair so that training is deterministic.
    """
    byte_char = bytes_to_unicode()
    pattern = gpt2_pattern()
    word_counts: Counter[str] = Counter()
    for text in texts:
        for m in pattern.finditer(text):
            word_counts["".join(byte_char[b] for b in m.group(0).encode("utf-8"))] += 1
    words = [list(w) for w in word_counts]
    counts = list(word_counts.values())

    pair_count: Counter[tuple[str, str]] = Counter()
    where: dict[tuple[str, str], set[int]] = {}
    for idx, w in enumerate(words):
        for pair in zip(w, w[1:]):
            pair_count[pair] += counts[idx]
            where.setdefault(pair, set()).add(idx)

    vocab = {s: i for i, s in enumerate(specials)}
    for b in range(256):
        vocab[byte_char[b]] = len(vocab)
    merges: list[tuple[str, str]] = []
    while len(vocab) < vocab_size and pair_count:
        best = min(pair_count, key=lambda p: (-pair_count[p], p))
        if pair_count[best] < 2:
            break
        merges.append(best)
        joined = best[0] + best[1]
        vocab[joined] = len(vocab)
        for idx in sorted(where.pop(best, set())):
            w, c = words[idx], counts[idx]
            for pair in zip(w, w[1:]):
                pair_count[pair] -= c
                if pair_count[pair] <= 0:
                    del pair_count[pair]
            merged, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    merged.append(joined)
                    i += 2
                else:
                    merged.append(w[i])
                    i += 1
            words[idx] = merged
            for pair in zip(merged, merged[1:]):
                pair_count[pair] += c
                where.setdefault(pair, set()).add(idx)
    return ByteBPE(vocab, merges, specials)
