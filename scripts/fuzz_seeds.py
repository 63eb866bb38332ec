#!/usr/bin/python3
"""Build the libFuzzer seed corpus of every harness in tests/fuzz/ from the committed test inputs.

    /usr/bin/python3 scripts/fuzz_seeds.py OUT_DIR      (any Python 3; standard library only)

writes OUT_DIR/<target>/<name> for each target (csv, wordpiece, bpe, pylower, labeler, weights,
images, decode), each file one input in the harness's own layout (tests/fuzz/fuzz_<target>.c):

  csv        tests/golden/bleu_edge.csv, the first lines of bleu_iu.csv, data/labeler/*.txt read as
             tables, and a few hand-written tables (quotes, CRLF, BOM, ragged rows)
  wordpiece  the texts and pairs of tests/golden/tokenizer_cases.tsv, behind the max_len byte
  bpe        the texts of tests/golden/bertscore/bpe_cases.tsv, behind the flags/max_len byte
  pylower    the same texts, and one string of each 256-code-point block of the BMP's start
  labeler    sentences built from data/labeler/*.txt phrases and cues, and the tokenizer texts
  weights    the small committed weights files (tests/golden/**/*.weights.h5, up to 1.2 MB)
  images     tests/fuzz/seeds/images/*.h5 (tiny synthetic images files, committed for this)
  decode     the small tests/golden/prep/*.jpg, *.png, and tests/fuzz/seeds/decode/ (tiny images
             of each kind the reader takes or refuses, committed for this)
plus everything already under tests/fuzz/seeds/<target>/ and tests/fuzz/regress/<target>/.
Never anything from ../shared/data. Output names are the inputs' sha1, so rebuilding is idempotent.
"""
import hashlib
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ["csv", "wordpiece", "bpe", "pylower", "labeler", "weights", "images", "decode"]


def src(*p):
    return os.path.join(ROOT, *p)


def unhex(h):
    return b"" if h in ("", "-") else bytes.fromhex(h)


def tokenizer_texts():
    """(a, b, max_len) of tests/golden/tokenizer_cases.tsv: `tok` rows hold a text in hex, `enc` and
    `pair` rows name `tok` rows (b is None for single texts)."""
    rows, named = [], {}
    with open(src("tests/golden/tokenizer_cases.tsv"), encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if line.startswith("#") or len(cols) < 5:
                continue
            if cols[0] == "tok":
                named[cols[1]] = unhex(cols[3])
            rows.append(cols)
    out = []
    for kind, _, max_len, a, b in (r[:5] for r in rows):
        if kind == "tok":
            out.append((unhex(a), None, max_len))
        elif a in named and (b == "-" or b in named):
            out.append((named[a], None if b == "-" else named[b], max_len))
    return out


def bpe_texts():
    out = []
    with open(src("tests/golden/bertscore/bpe_cases.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 2:
                out.append((cols[0], unhex(cols[1])))
    return out


def phrases(name):
    """The phrases of one data/labeler list, as plain words (syntax marks dropped)."""
    words = []
    with open(src("data/labeler", name), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("["):
                continue
            line = line.lstrip("~").split("@", 1)[0].replace("*", "").replace("...", "is mildly")
            words.append(" ".join(line.split()))
    return words


class Corpus:
    def __init__(self, out):
        self.out = out
        self.counts = {}

    def add(self, target, data):
        d = os.path.join(self.out, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)
        self.counts[target] = self.counts.get(target, 0) + 1

    def add_file(self, target, path):
        with open(path, "rb") as f:
            self.add(target, f.read())

    def add_dir(self, target, d):
        if os.path.isdir(d):
            for n in sorted(os.listdir(d)):
                p = os.path.join(d, n)
                if os.path.isfile(p) and not n.startswith("."):
                    self.add_file(target, p)


def csv_seeds(c):
    c.add_file("csv", src("tests/golden/bleu_edge.csv"))
    with open(src("tests/golden/bleu_iu.csv"), "rb") as f:
        c.add("csv", b"".join(f.readline() for _ in range(12)))
    for n in sorted(os.listdir(src("data/labeler"))):
        if n.endswith(".txt"):
            c.add_file("csv", src("data/labeler", n))
    for t in [
        b'dicom_id,study_id,report\na,1,"no acute, process"\nb,2,"quoted ""word"" here"\n',
        b'\xef\xbb\xbfstudy_id,report\r\n1,"line one\r\nline two"\r\n2,\r\n',
        b"a,b,c\n1,2\n3,4,5,6\n\n \n",
        b'x\n"unterminated\n',
        b"report\nNone\nNaN\nn/a\n\"\"\n",
    ]:
        c.add("csv", t)


def text_seeds(c):
    for a, b, max_len in tokenizer_texts():
        ml = int(max_len) if max_len.isdigit() else 32
        head = bytes([(min(max(ml, 1), 64) - 1) & 63])
        c.add("wordpiece", head + a + (b"\0" + b if b is not None else b""))
        c.add("pylower", a)
        c.add("labeler", a + (b"\0" + b if b is not None else b""))
    for mode, t in bpe_texts():
        flags = 1 if mode in ("tok1", "sent") else 0
        c.add("bpe", bytes([flags | (14 << 1)]) + t)
        c.add("pylower", t)
    for block in range(0, 0x3000, 0x100):
        s = "".join(chr(cp) for cp in range(block, block + 0x100) if not 0xD800 <= cp < 0xE000)
        c.add("pylower", s.encode("utf-8", "surrogatepass"))


def labeler_seeds(c):
    mentions = phrases("mentions.txt")
    neg, unc = phrases("negation.txt"), phrases("uncertainty.txt")
    pseudo = phrases("pseudo.txt")
    for i, m in enumerate(mentions):
        if i % 4:
            continue
        cue_n, cue_u = neg[i % len(neg)], unc[i % len(unc)]
        c.add("labeler", f"There is {m}. {cue_n} {m}. {m} {cue_u}.".encode())
    for p in pseudo:
        c.add("labeler", f"Heart size normal. {p} in the {mentions[0]}.".encode())
    c.add("labeler", b"No acute cardiopulmonary process.\0Stable cardiomegaly.\0\0Possible small left effusion.")


def file_seeds(c):
    for d, _, files in os.walk(src("tests/golden")):
        for n in sorted(files):
            p = os.path.join(d, n)
            if n.endswith(".weights.h5") and os.path.getsize(p) <= 1_200_000:
                c.add_file("weights", p)
            if d.endswith("prep") and n.endswith((".jpg", ".png")) and os.path.getsize(p) <= 40_000:
                c.add_file("decode", p)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fuzz_seeds.py OUT_DIR")
    out = sys.argv[1]
    if os.path.isdir(out):
        shutil.rmtree(out)
    c = Corpus(out)
    csv_seeds(c)
    text_seeds(c)
    labeler_seeds(c)
    file_seeds(c)
    for t in TARGETS:
        c.add_dir(t, src("tests/fuzz/seeds", t))
        c.add_dir(t, src("tests/fuzz/regress", t))
    missing = [t for t in TARGETS if not c.counts.get(t)]
    if missing:
        sys.exit("fuzz_seeds.py: no seeds for " + ", ".join(missing))
    print(" ".join(f"{t}:{c.counts[t]}" for t in TARGETS))


if __name__ == "__main__":
    main()
