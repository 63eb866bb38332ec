#!/usr/bin/env python3
"""Make the BLEU goldens that tests/test_bleu.c checks (to 1e-12).

Needs (pyenv python3, from PyPI):  pip install fast-bleu==0.0.90 nltk sacrebleu
Run from the repository root:       python3 scripts/make_bleu_goldens.py [--data ../shared/data]

Writes (scores, counts and hashes only; no report text):
  tests/golden/bleu_iu.csv         one row per real report pair (see the pairing rule below):
                                   i, ref_id, hyp_id, kind, sha16 = first 16 hex digits of
                                   sha256(ref UTF-8 + b"\\0" + hyp UTF-8), then
                                   fast_bleu2  fast_bleu.BLEU([ref_toks], {"bigram": (1/2., 1/2.)})
                                               .get_score([hyp_toks]) as CXR-Report-Metric calls it
                                   nltk_bleu2  nltk sentence_bleu([ref_toks], hyp_toks, (0.5, 0.5), method1)
                                   sacre_sent  sacrebleu.sentence_bleu(hyp, [ref]).score (13a, exp)
  tests/golden/bleu_iu_corpus.txt  key value lines: pair count, sha256 of all pairs, NLTK corpus BLEU-1..4
                                   (no smoothing and method1), sacreBLEU corpus BLEU, mean fast_bleu2
  tests/golden/bleu_edge.csv       hand-made edge cases (our own strings, hex-encoded UTF-8; the "long"
                                   case is built by rule, see long_texts) with the same per-pair scores
                                   plus NLTK sentence BLEU-4 (method0 and method1)
  tests/golden/pylower_blocks.txt  sha256 of str.lower() of every 4096-code-point block (see below)

Tokens for fast_bleu and NLTK are CXR-Report-Metric's prep_reports:
  [t for t in str(report).lower().replace(".", " .").split(" ") if t != ""]

IU X-Ray pairing rule (tests/test_bleu.c rebuilds exactly this from NLMCXR_reports.tgz):
  * members "ecgen-radiology/<N>.xml"; study id = N;
  * a section's text is what lies between the first '<AbstractText Label="SECTION">' and the next
    '</AbstractText>', with &lt; &gt; &quot; &apos; &amp; decoded in one left-to-right pass; a section
    that is absent, self-closing or empty counts as absent;
  * S = the studies that have an IMPRESSION, sorted by id; n = len(S);
  * splitmix64 with state 0x58524D45 ("XRME"); for i in 0..n-1: j = next() % n; the reference is
    IMPRESSION(S[i]); the hypothesis, by i % 3: 0 -> IMPRESSION(S[j]); 1 -> FINDINGS(S[j]) or, if
    absent, IMPRESSION(S[j]); 2 -> FINDINGS(S[i]) or, if absent, IMPRESSION(S[j]).

pylower_blocks.txt: for each block b = 0x0000, 0x1000, ..., 0x10F000, the code points of the block
except surrogates, as s = " ".join(chars) + "\\n" + "".join(chars); the line holds b (hex) and
sha256(s.lower().encode()). It checks xrem's str.lower() (full mappings and Final_Sigma) on every
code point.
"""
import argparse
import hashlib
import os
import re
import sys
import tarfile
import warnings

from fast_bleu import BLEU
from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu, sentence_bleu
import sacrebleu

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GOLDEN = os.path.join(ROOT, "tests", "golden")
SEED = 0x58524D45
M64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


ENT = {"lt": "<", "gt": ">", "quot": '"', "apos": "'", "amp": "&"}


def section(xml, label):
    tag = '<AbstractText Label="%s">' % label
    a = xml.find(tag)
    if a < 0:
        return None
    a += len(tag)
    b = xml.find("</AbstractText>", a)
    if b < 0:
        return None
    t = re.sub(r"&(lt|gt|quot|apos|amp);", lambda m: ENT[m.group(1)], xml[a:b])
    return t if t else None


def iu_pairs(tgz):
    studies = {}
    with tarfile.open(tgz, "r:gz") as tf:
        for m in tf:
            mm = re.fullmatch(r"ecgen-radiology/(\d+)\.xml", m.name)
            if not mm or not m.isfile():
                continue
            xml = tf.extractfile(m).read().decode("utf-8")
            studies[int(mm.group(1))] = (section(xml, "IMPRESSION"), section(xml, "FINDINGS"))
    S = sorted(k for k, v in studies.items() if v[0] is not None)
    n = len(S)
    state = SEED
    pairs = []
    for i in range(n):
        state, r = splitmix64(state)
        j = r % n
        kind = i % 3
        imp_i, fin_i = studies[S[i]]
        imp_j, fin_j = studies[S[j]]
        if kind == 0:
            hyp, hid = imp_j, S[j]
        elif kind == 1:
            hyp, hid = (fin_j, S[j]) if fin_j is not None else (imp_j, S[j])
        else:
            hyp, hid = (fin_i, S[i]) if fin_i is not None else (imp_j, S[j])
        pairs.append((i, S[i], hid, kind, imp_i, hyp))
    return pairs


def prep(report):
    return [t for t in str(report).lower().replace(".", " .").split(" ") if t != ""]


WEIGHTS = {"bigram": (1 / 2.0, 1 / 2.0)}
M1 = SmoothingFunction().method1


def scores(ref, hyp):
    r, h = prep(ref), prep(hyp)
    fb = BLEU([r], WEIGHTS).get_score([h])["bigram"][0]
    nl = sentence_bleu([r], h, weights=(0.5, 0.5), smoothing_function=M1)
    sa = sacrebleu.sentence_bleu(hyp, [ref]).score
    return fb, nl, sa


def sha16(ref, hyp):
    return hashlib.sha256(ref.encode("utf-8") + b"\0" + hyp.encode("utf-8")).hexdigest()[:16]


def long_texts():
    """The "long" edge case is not stored (the hex would be large): tests/test_bleu.c builds the
    same two texts from this rule."""
    long_a = " ".join("word%d." % (i % 97) for i in range(3000))
    long_b = " ".join("Word%d" % (i % 89) for i in range(2500))
    return long_a, long_b


def edge_cases():
    long_a, long_b = long_texts()
    E = [
        ("empty_both", "", ""),
        ("empty_ref", "", "no acute disease."),
        ("empty_hyp", "No acute disease.", ""),
        ("spaces_only", "   ", "  "),
        ("one_token_same", "normal", "normal"),
        ("one_token_diff", "normal", "abnormal"),
        ("one_token_hyp", "the heart is normal", "heart"),
        ("no_overlap", "lungs are clear", "cardiomegaly with effusion"),
        ("identical", "No acute cardiopulmonary abnormality.", "No acute cardiopulmonary abnormality."),
        ("repeated_unigram", "the cat is on the mat", "the the the the the the the"),
        ("repeated_bigram", "the cat the cat", "the cat the cat the cat"),
        ("hyp_longer", "a b", "a b c d e f"),
        ("punct_only", "...", "..."),
        ("punct_mixed", ". . .", "...,;:!?"),
        ("period_glue", "a.b.c", "a . b . c"),
        ("period_start", ".a .b", ". a . b"),
        ("tabs_newlines", "a\tb\nc d", "a\tb c d"),
        ("multi_space", "  a   b  c ", "a b c"),
        ("case", "NO ACUTE Disease", "no acute disease"),
        ("latin1", "Ünïcödé TEXT élan", "ünïcödé text Élan"),
        ("dotted_I", "İstanbul İ", "i\u0307stanbul i"),
        ("final_sigma", "ΟΔΟΣ ΟΔΟΣ. ΣΑ", "οδος οδοσ. σα"),
        ("sigma_context", "AΣ.B AΣ'B Σ A\u00adΣ\u00ad", "aς.b aσ'b σ a\u00adς\u00ad"),
        ("kelvin_angstrom", "\u212a \u212b \u2126", "k å ω"),
        ("sharp_s", "\u1e9e STRASSE", "ß strasse"),
        ("cjk_emoji", "肺部 正常 🙂 ok", "肺部 正常 🙂 OK"),
        ("cherokee_georgian", "\u13a0\u13a1 \u1c90\u1c91 \u10a0", "\uab70\uab71 \u10d0\u10d1 \u2d00"),
        ("nul_in_token", "a\x00b c d", "a\x00x c d"),
        ("nul_token", "x \x00 y", "x \x00z y"),
        ("long", long_a, long_b),
        ("numbers_13a", "1,000.5 -3 x-ray 2-3 a.b,c", "1,000.5-3 x-ray 2 - 3 a . b , c"),
        ("entities_13a", "&amp; &lt;tag&gt; &quot;q&quot; &amp;lt;", "& <tag> \"q\" <"),
        ("skipped_13a", "<skipped> word end-\nline", "word endline"),
        ("unicode_ws_13a", "trailing \u00a0\u2003a\u3000b\u0085c\u2028", "trailing a b c"),
        ("lone_cr", "a\rb c\r\nd", "a b c d"),
        ("punct_13a", "a(b)[c]{d}e/f g'h i\"j k@l m_n", "a ( b ) [ c ] { d } e / f g'h i \" j k @ l m_n"),
        ("dash_dot_comma", "x.,y ., ,. -- 1-2-3 a-b", "x . , y . , , . - - 1 - 2 - 3 a-b"),
        ("xxxx_redaction", "Normal chest x-XXXX.", "normal chest x-xxxx ."),
    ]
    return E


def lower_blocks():
    out = []
    for b in range(0, 0x110000, 0x1000):
        chars = [chr(c) for c in range(b, b + 0x1000) if not (0xD800 <= c <= 0xDFFF)]
        s = " ".join(chars) + "\n" + "".join(chars)
        out.append((b, hashlib.sha256(s.lower().encode("utf-8")).hexdigest()))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("XREM_DATA_DIR", os.path.join(ROOT, "..", "shared", "data")))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    os.makedirs(GOLDEN, exist_ok=True)

    pairs = iu_pairs(os.path.join(args.data, "NLMCXR_reports.tgz"))
    refs, hyps = [p[4] for p in pairs], [p[5] for p in pairs]
    rows, n_diff, max_diff = [], 0, 0.0
    fb_sum = 0.0
    for (i, rid, hid, kind, ref, hyp) in pairs:
        fb, nl, sa = scores(ref, hyp)
        if fb != nl:
            n_diff += 1
            max_diff = max(max_diff, abs(fb - nl))
        fb_sum += fb
        rows.append("%d,%d,%d,%d,%s,%r,%r,%r" % (i, rid, hid, kind, sha16(ref, hyp), fb, nl, sa))
    with open(os.path.join(GOLDEN, "bleu_iu.csv"), "w") as f:
        f.write("i,ref_id,hyp_id,kind,sha16,fast_bleu2,nltk_bleu2,sacre_sent\n")
        f.write("\n".join(rows) + "\n")

    all_hash = hashlib.sha256()
    for ref, hyp in zip(refs, hyps):
        all_hash.update(ref.encode("utf-8") + b"\0" + hyp.encode("utf-8") + b"\0")
    R = [[prep(r)] for r in refs]
    Hs = [prep(h) for h in hyps]
    lines = ["pairs %d" % len(pairs), "sha256_all %s" % all_hash.hexdigest()]
    for n in range(1, 5):
        w = tuple(1.0 / n for _ in range(n))
        lines.append("nltk_corpus_bleu%d_none %r" % (n, corpus_bleu(R, Hs, weights=w)))
        lines.append("nltk_corpus_bleu%d_method1 %r" % (n, corpus_bleu(R, Hs, weights=w, smoothing_function=M1)))
    lines.append("sacre_corpus %r" % sacrebleu.corpus_bleu(hyps, [refs]).score)
    lines.append("fast_bleu2_mean %r" % (fb_sum / len(pairs)))
    with open(os.path.join(GOLDEN, "bleu_iu_corpus.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    erows, e_diff = [], []
    for name, ref, hyp in edge_cases():
        fb, nl, sa = scores(ref, hyp)
        r, h = prep(ref), prep(hyp)
        b4n = sentence_bleu([r], h)
        b4m = sentence_bleu([r], h, smoothing_function=M1)
        if fb != nl:
            e_diff.append((name, fb, nl))
        rh, hh = (ref.encode("utf-8").hex(), hyp.encode("utf-8").hex()) if name != "long" else ("", "")
        erows.append("%s,%s,%s,%r,%r,%r,%r,%r" % (name, rh, hh,
                                                  fb, nl, sa, b4n, b4m))
    with open(os.path.join(GOLDEN, "bleu_edge.csv"), "w") as f:
        f.write("name,ref_hex,hyp_hex,fast_bleu2,nltk_bleu2,sacre_sent,nltk_bleu4_none,nltk_bleu4_method1\n")
        f.write("\n".join(erows) + "\n")

    with open(os.path.join(GOLDEN, "pylower_blocks.txt"), "w") as f:
        f.write("# block sha256(str.lower()) -- Python %s, Unicode %s\n" % (sys.version.split()[0], __import__("unicodedata").unidata_version))
        for b, h in lower_blocks():
            f.write("%05X %s\n" % (b, h))

    print("IU pairs: %d; fast_bleu != nltk sentence_bleu in %d pairs (max |diff| %.3g)" % (len(pairs), n_diff, max_diff))
    print("edge cases: %d; fast_bleu != nltk in: %s" % (len(erows), ", ".join("%s (%r vs %r)" % d for d in e_diff) or "none"))


if __name__ == "__main__":
    main()
