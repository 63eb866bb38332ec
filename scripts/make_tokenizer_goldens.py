#!/usr/bin/env python3
"""Write the goldens tests/test_tokenizer.c checks xrem's WordPiece tokenizer against.

    python3 scripts/make_tokenizer_goldens.py [--data DIR]      # DIR defaults to ../shared/data

Run with /usr/bin/python3 (Debian's transformers 4.30). The reference is transformers 4.x's slow
BertTokenizer on the bert-base-uncased vocab, do_lower_case=True, nothing downloaded, called as ALBEF
calls it (tok(text)): 4.x's PreTrainedTokenizer.tokenize() lowercases each character on its own
before the basic tokenizer runs, so a word-final capital SIGMA becomes σ, never the final form ς.
transformers 5 lowercases whole words (ς) and is refused.

Files written (tests/golden/):

tokenizer_reports.tsv   one row per report in NLMCXR_reports.tgz: file name, then for IMPRESSION and
                        for FINDINGS the number of ids and the first 16 hex digits of
                        sha256(",".join(ids)). No text: the reports' licence (CC BY-NC-ND) forbids
                        committing anything they could be rebuilt from. The text of a section is the
                        content of the file's one <AbstractText Label="SECTION"> element with XML
                        entities decoded; a self-closing (empty) element is the empty string, which
                        has 0 ids. Every file has each section exactly once (asserted).
tokenizer_report_pairs.tsv
                        (IMPRESSION, FINDINGS) of the first 300 files (tar order) where both are
                        non-empty, as HF tokenizer(a, b, truncation='longest_first', max_length=N)
                        for N in 20, 64, 512: file, N, number of ids, sha256 prefix of the ids and
                        of the token types.
tokenizer_cases.tsv     hand-made hard cases (our own strings):
                          tok   name  -   hex  -    ids        tokens without [CLS]/[SEP]; the text
                                                               as hex UTF-8 bytes
                          enc   name  N   case -    ids        [CLS] + first N-1 tokens (ALBEF) of
                                                               the tok row named `case`
                          pair  name  N   casea caseb ids types  HF longest_first pair of two tok
                                                               rows' texts
                        "-" marks an empty or absent field. Cases named bad_* are invalid UTF-8: the
                        expected ids are HF's on bytes.decode("utf-8", "replace"), which is xrem's
                        documented behaviour (U+FFFD is dropped by the basic tokenizer).
"""
import argparse
import hashlib
import os
import re
import sys
import tarfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
GOLDEN = os.path.join(ROOT, "tests", "golden")
SECTIONS = ("IMPRESSION", "FINDINGS")
PAIR_FILES = 300
PAIR_LENS = (20, 64, 512)


def load_tokenizer(vocab):
    import transformers
    from transformers import BertTokenizer as Slow

    if int(transformers.__version__.split(".")[0]) != 4:
        sys.exit("make_tokenizer_goldens.py: needs transformers 4.x (ALBEF's), found %s; "
                 "run it with /usr/bin/python3" % transformers.__version__)
    tok = Slow(vocab_file=vocab, do_lower_case=True)
    # from_pretrained (what ALBEF calls) registers the special tokens as never-split; a tokenizer
    # built from a vocab file alone would split "b[SEP]c" into b [ sep ] c.
    tok.sanitize_special_tokens()
    assert not getattr(tok, "is_fast", False)
    return tok


def sha16(ints):
    return hashlib.sha256(",".join(str(i) for i in ints).encode()).hexdigest()[:16]


def ids_of(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def pair_of(tok, a, b, n):
    enc = tok(a, b, truncation="longest_first", max_length=n, return_token_type_ids=True)
    return enc["input_ids"], enc["token_type_ids"]


def report_sections(tgz):
    """Yields (file name, {section: text}) in tar order."""
    with tarfile.open(tgz) as tf:
        for m in tf:
            if not m.isfile() or not m.name.endswith(".xml"):
                continue
            raw = tf.extractfile(m).read()
            root = ET.fromstring(raw)
            out = {}
            for sec in SECTIONS:
                # The C side finds the element by its literal start tag; make sure that is unique.
                tag = ('<AbstractText Label="%s"' % sec).encode()
                assert raw.count(tag) == 1, (m.name, sec)
                els = [e for e in root.iter("AbstractText") if e.get("Label") == sec]
                assert len(els) == 1 and len(els[0]) == 0, (m.name, sec)
                out[sec] = els[0].text or ""
            yield os.path.basename(m.name), out


def cases():
    """(name, text or bytes). All strings are ours."""
    long_report = ("The heart size is normal. The lungs are clear without focal consolidation, "
                   "effusion or pneumothorax. Degenerative changes of the thoracic spine. ") * 4
    c = [
        ("plain", "No acute cardiopulmonary process."),
        ("empty", ""),
        ("spaces_only", "  \t\n  "),
        ("accents", "café naïve Ångström résumé"),
        ("accents_decomposed", "cafe\u0301 nai\u0308ve A\u030angstro\u0308m"),
        ("combining_stack", "a\u0308\u0301 q\u0323\u0307 o\u031b\u0323 \u0301alone x\u0301\u0301\u0301"),
        ("cjk", "肺部正常，未见异常。"),
        ("cjk_mixed", "a中b 胸片X线检查 豈 \U00020000\U0002a700"),
        ("kana_hangul", "レントゲン 흉부 엑스레이"),
        ("control_chars", "right\x01 lung\x7f base\x1b[0m clear\x0b\x0cend\x85x"),
        ("emoji", "😀 lungs clear 👍🏽 ❤️"),
        ("zwj", "👨\u200d⚕️ ab\u200dcd pneu\u00admo \ufeffnormal a\u200bb"),
        ("long_101", "a" * 101),
        ("long_100", "b" * 100 + " c"),
        ("long_100_cps_more_bytes", "x" * 99 + "é"),
        ("long_after_strip", "e\u0301" * 60),
        ("long_word_pieces", "pneumonia" * 12 + " ok"),
        ("long_punct_split", "a" * 150 + "." + "b" * 50),
        ("punct_only", "...!?;:"),
        ("punct_unicode", "(-) — – «» ¿¡ ‘’ “” · … ※ ‰"),
        ("ascii_symbols", "$100 a+b=c ^_^ `quote` |pipe| ~50% <5mm> @x #3 {a} [b] \\ /"),
        ("xxxx", "XXXX"),
        ("xxxx_mixed", "Normal chest x-XXXX. XXXX-XXXX, XXXX's"),
        ("numbers_units", "1.5cm 1.5 x 2.3 cm T12-L1 3/4 10:30 2nd 1,000"),
        ("tabs_newlines", "right\tlung\nclear\r\nbase\rapex"),
        ("turkish", "İSTANBUL DİYARBAKIR ıi İ"),
        ("german", "Straße STRASSE ẞ Größe"),
        ("greek", "ΟΔΟΣ Σ ΑΣ. ΣΑ ΌΣΟΣ Ἀθῆναι ᾼ αΣ'Σ Σ̈ ΑΣ̈"),
        ("greek_sigma_contexts", "Α.Σ Α'Σ Α:Σ ΑΣ-Β ΑΣ\u00adΒ ΑΣ\u200dΒ 1Σ ΑΣ1"),
        ("case_other", "Ǆ ǅ Ⅻ Ꭰ 𐐀 Ω K Å ＡＢＣ１２３ ﬁle cm² ½"),
        ("kelvin_specials", "[UN\u212a] [MAS\u212a] \u212a"),
        ("specials", "a [SEP] b[SEP]c [CLS] [MASK] [PAD][PAD] [UNK]"),
        ("specials_lower", "[sep] [Sep] [SEP [ SEP ]"),
        ("specials_hidden", "[S\u200bEP] x[S\u200bEP] [CL\x01S]"),
        ("line_separators", "a\u2028b\u2029c\u3000d\u00a0e\u2003f\u1680g\u202fh"),
        ("private_unassigned", "a\ue000b \u0378c \U000e0001d \U0010fffde"),
        ("scripts", "हिन्दी مَرْحَبًا ภาษาไทย Привет ЁЛКА"),
        ("contractions", "don't e.g. U.S.A. p.o. n't o'clock"),
        ("mc_ccc", "a\U0001D165\U0001D16D\U0001D166 \u302e\u302f \u1b44"),
        ("hangul_jamo", "\u1100\u1161\u11a8 가각"),
        ("long_report", long_report),
        ("bad_lone_ff", b"ab\xffcd ef"),
        ("bad_truncated", b"caf\xc3 x \xe2\x82 y \xf0\x9f\x98"),
        ("bad_overlong", b"\xc0\xaf \xe0\x80\xaf a\xc1\xbfb"),
        ("bad_surrogate", b"a\xed\xa0\x80b \xed\xbf\xbfc"),
        ("bad_too_big", b"x\xf4\x90\x80\x80y \xf5\x80\x80\x80z \xf8\x88\x80\x80\x80w"),
        ("bad_continuation", b"\x80\x80abc\xbf [SEP]\xe2[SEP]"),
        ("bad_mixed_valid", b"caf\xc3\xa9 \xc3\xc3\xa9 \xce\xa3\xff"),
    ]
    return c


def as_text(t):
    return t.decode("utf-8", "replace") if isinstance(t, bytes) else t


def as_hex(t):
    b = t if isinstance(t, bytes) else t.encode("utf-8")
    assert b"\x00" not in b  # C strings
    return b.hex() if b else "-"


def join(ints):
    return ",".join(str(i) for i in ints) if ints else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    args = ap.parse_args()
    vocab = os.path.join(args.data, "bert-base-uncased-vocab.txt")
    tgz = os.path.join(args.data, "NLMCXR_reports.tgz")
    tok = load_tokenizer(vocab)
    cls, = tok.convert_tokens_to_ids(["[CLS]"])
    os.makedirs(GOLDEN, exist_ok=True)

    # --- reports ---
    rows, pair_rows, pairs_files = [], [], 0
    ntexts = nids = 0
    for name, secs in report_sections(tgz):
        row = [name]
        for sec in SECTIONS:
            ids = ids_of(tok, secs[sec])
            row += [str(len(ids)), sha16(ids)]
            ntexts += 1
            nids += len(ids)
        rows.append("\t".join(row))
        if pairs_files < PAIR_FILES and secs["IMPRESSION"] and secs["FINDINGS"]:
            pairs_files += 1
            for n in PAIR_LENS:
                ids, types = pair_of(tok, secs["IMPRESSION"], secs["FINDINGS"], n)
                pair_rows.append("%s\t%d\t%d\t%s\t%s" % (name, n, len(ids), sha16(ids), sha16(types)))
    with open(os.path.join(GOLDEN, "tokenizer_reports.tsv"), "w") as f:
        f.write("# file\tIMPRESSION n_ids\tsha256_16\tFINDINGS n_ids\tsha256_16; sha256_16 = first 16 hex of "
                "sha256(','.join(ids)); made by scripts/make_tokenizer_goldens.py\n")
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(GOLDEN, "tokenizer_report_pairs.tsv"), "w") as f:
        f.write("# file\tmax_len\tn_ids\tsha256_16(ids)\tsha256_16(types): (IMPRESSION, FINDINGS), "
                "longest_first\n")
        f.write("\n".join(pair_rows) + "\n")

    # --- hand-made cases ---
    cs = cases()
    out = ["# kind\tname\tmax_len\ta\tb\tids\ttypes (see scripts/make_tokenizer_goldens.py)"]
    toks = {}
    for name, t in cs:
        ids = ids_of(tok, as_text(t))
        toks[name] = ids
        out.append("tok\t%s\t-\t%s\t-\t%s\t-" % (name, as_hex(t), join(ids)))
    for name, t in cs:
        for n in (25, 1, 2):
            out.append("enc\t%s\t%d\t%s\t-\t%s\t-" % (name, n, name, join([cls] + toks[name][: n - 1])))
    by = dict(cs)
    pairs = [("plain", "long_report"), ("long_report", "plain"), ("long_report", "long_report"),
             ("empty", "long_report"), ("long_report", "empty"), ("empty", "empty"), ("accents", "greek"),
             ("greek", "accents"), ("specials", "xxxx_mixed"), ("numbers_units", "long_101")]
    npairs = 0
    for a, b in pairs:
        for n in (3, 4, 5, 8, 16, 25, 64, 512):
            ids, types = pair_of(tok, as_text(by[a]), as_text(by[b]), n)
            out.append("pair\t%s+%s\t%d\t%s\t%s\t%s\t%s" % (a, b, n, a, b, join(ids), join(types)))
            npairs += 1
    with open(os.path.join(GOLDEN, "tokenizer_cases.tsv"), "w") as f:
        f.write("\n".join(out) + "\n")

    print("reports: %d texts, %d ids; report pairs: %d rows; cases: %d tok, %d enc, %d pair"
          % (ntexts, nids, len(pair_rows), len(cs), 3 * len(cs), npairs))

    # Information only: does the Rust (fast) tokenizer agree on the reports?
    try:
        from transformers import BertTokenizerFast
        try:  # transformers 5 takes vocab=, 4.x vocab_file=; the other is silently ignored
            fast = BertTokenizerFast(vocab=vocab, do_lower_case=True)
        except TypeError:
            fast = None
        if fast is None or len(fast.get_vocab()) < 1000:
            fast = BertTokenizerFast(vocab_file=vocab, do_lower_case=True)
        diff = 0
        for name, secs in report_sections(tgz):
            for sec in SECTIONS:
                if fast(secs[sec], add_special_tokens=False)["input_ids"] != ids_of(tok, secs[sec]):
                    diff += 1
        fd = [n for n, t in cs if fast(as_text(t), add_special_tokens=False)["input_ids"] != toks[n]]
        print("fast tokenizer differs on %d report texts and on cases %s" % (diff, fd))
    except Exception as e:  # noqa: BLE001 - purely informative
        print("fast tokenizer comparison skipped: %s" % e)


if __name__ == "__main__":
    sys.exit(main())
