"""Training text for the bundled tiny Llama: Debian's BSD fortune cookie files.

The files come from Debian's `fortunes` and `fortunes-min` packages, whose
copyright file (/usr/share/doc/fortunes/copyright) places them under the BSD
licence of the University of California (clause 3 deleted). We use only the
plain-topic files of the original BSD collection and skip:
  * everything under off/ (the "potentially offensive" set),
  * files that are mostly quotations of one copyrighted work or author
    (startrek, zippy, pratchett, tao, songs-poems, literature, humorists),
  * later community additions whose provenance is IRC logs or mailing lists
    (debian, linux, linuxcookie, knghtbrd, perl, paradoxum, goedel),
  * files of stereotype jokes or opinion pieces (ethnic, men-women, politics),
  * pictures and meta files (ascii-art, disclaimer, translate-me).
"""

from __future__ import annotations

import hashlib
import os
import unicodedata

FORTUNE_DIR = "/usr/share/games/fortunes"
COPYRIGHT_FILE = "/usr/share/doc/fortunes/copyright"
LICENSE_NAME = "BSD (Regents of the University of California, fortune(6) data; clause 3 deleted)"

# Order matters: the corpus hash is over the files joined in this order.
CORPUS_FILES = [
    "art", "computers", "cookie", "definitions", "drugs", "education", "food",
    "fortunes", "kids", "law", "love", "magic", "medicine", "miscellaneous",
    "news", "people", "pets", "platitudes", "riddles", "science", "sports",
    "wisdom", "work",
]


def flatten_overstrike(line: str) -> str:
    """Replay backspaces the way a printing terminal would.

    Fortune files underline words as "____^H^H^H^Hword"; a '_' struck over a
    letter keeps the letter, any other strike replaces what was there.
    """
    if "\b" not in line:
        return line
    cells: list[str] = []
    cursor = 0
    for ch in line:
        if ch == "\b":
            cursor = max(0, cursor - 1)
            continue
        if cursor < len(cells):
            old = cells[cursor]
            if ch == "_" and old not in (" ", "_"):
                pass  # underline under an existing letter: keep the letter
            else:
                cells[cursor] = ch
        else:
            cells.append(ch)
        cursor += 1
    return "".join(cells)


def clean_fortune(text: str) -> str:
    """One fortune as plain text: overstrikes replayed, control characters
    other than tab and newline dropped, trailing blanks trimmed, NFC."""
    lines = [flatten_overstrike(line) for line in text.split("\n")]
    out_lines = []
    for line in lines:
        kept = "".join(
            ch for ch in line
            if ch == "\t" or not unicodedata.category(ch).startswith("C")
        )
        out_lines.append(kept.rstrip())
    return unicodedata.normalize("NFC", "\n".join(out_lines).strip("\n"))


def read_fortune_file(path: str) -> list[str]:
    """Split a strfile(8) source file on its '%' separator lines."""
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8", errors="replace")
    docs, current = [], []
    for line in raw.split("\n"):
        if line == "%":
            docs.append("\n".join(current))
            current = []
        else:
            current.append(line)
    docs.append("\n".join(current))
    cleaned = [clean_fortune(d) for d in docs]
    return [d for d in cleaned if d.strip()]


def load_corpus(fortune_dir: str = FORTUNE_DIR) -> tuple[list[str], dict]:
    """All fortunes of CORPUS_FILES plus a provenance record (file list,
    per-file sha256 of the raw file, sha256 of the raw files concatenated)."""
    missing = [n for n in CORPUS_FILES if not os.path.isfile(os.path.join(fortune_dir, n))]
    if missing:
        raise SystemExit(
            f"fortune files missing in {fortune_dir}: {missing}; "
            "install them with `apt-get install fortunes fortunes-min`")
    docs: list[str] = []
    concat = hashlib.sha256()
    files = []
    for name in CORPUS_FILES:
        path = os.path.join(fortune_dir, name)
        with open(path, "rb") as f:
            raw = f.read()
        concat.update(raw)
        file_docs = read_fortune_file(path)
        docs.extend(file_docs)
        files.append({
            "file": path, "bytes": len(raw), "fortunes": len(file_docs),
            "sha256": hashlib.sha256(raw).hexdigest(),
        })
    cleaned_bytes = "\n".join(docs).encode("utf-8")
    record = {
        "files": files,
        "license": LICENSE_NAME,
        "license_file": COPYRIGHT_FILE,
        "raw_concat_sha256": concat.hexdigest(),
        "cleaned_sha256": hashlib.sha256(cleaned_bytes).hexdigest(),
        "documents": len(docs),
        "cleaned_bytes": len(cleaned_bytes),
    }
    return docs, record
