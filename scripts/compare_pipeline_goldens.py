#!/usr/bin/python3
"""Are the committed pipeline goldens what the reference makes now, on this CPU?

    /usr/bin/python3 scripts/compare_pipeline_goldens.py LIVE_DIR COMMITTED_DIR SETTING...
    /usr/bin/python3 scripts/compare_pipeline_goldens.py --self-test COMMITTED_DIR SETTING

Interpreter: Debian's /usr/bin/python3 (h5py, numpy). Compares LIVE_DIR/pipeline_<setting>.h5 (just
made by scripts/xrem_reference.py --suite) with COMMITTED_DIR/pipeline_<setting>.h5 and exits 1 when
the committed ones are stale. Used by tests/test_ref_pipeline.sh.

The goldens were made on one CPU; the live reference runs on whichever CPU CI has (Intel Xeon, AMD
EPYC with OPENBLAS_CORETYPE=Haswell, ...), where float32 GEMMs round differently. So nothing here
may depend on an order that rounding can flip:
  - integers, strings and hashes must be equal;
  - float datasets (scores, probabilities) to FLOAT_TOL, matched by *candidate identity* (corpus
    index; the empty candidate), not by position: a near-tie swap moves a score to another position;
  - float attributes (the smallest gaps and margins the reference saw) to ATTR_TOL;
  - rankings (itc_idx: the top-K1, stage2_pos: the top-K2) exactly, except inside near ties: runs of
    consecutive entries whose committed scores differ by <= TIE_TOL are compared as sets, and at the
    K1 / K2 boundary an entry may be exchanged for one scored within TIE_TOL of the last kept score
    (the K+1-th score is not stored);
  - the stage-3 hashes (which follow the stage-2 order) of an image whose stage-2 order or stage-1
    boundary moved inside a near tie are not compared; the script names those images.
"""
import sys

import h5py
import numpy as np

FLOAT_TOL = 2e-5  # largest cross-CPU difference seen on these small models: 6.2e-6 (nli_min_margin)
ATTR_TOL = 1e-4  # min gaps/margins: statistics of the same scores, reported to 1e-4 by the reference
TIE_TOL = 1e-5  # the near-tie bound, as `xrem dev compare-run --tie-tol`
SKIP_ATTRS = ("generator", "torch_version", "pandas_version")


def clusters(scores):
    """Runs [a, b) of consecutive positions whose scores differ by <= TIE_TOL."""
    out, a = [], 0
    for i in range(1, len(scores) + 1):
        if i == len(scores) or abs(float(scores[i - 1]) - float(scores[i])) > TIE_TOL:
            out.append((a, i))
            a = i
    return out


def ranking_ok(live, comm, comm_scores, score_of_live):
    """live/comm: ranked identities; comm_scores: committed scores by position; score_of_live(x):
    the live score of identity x. Returns (ok, moved): moved is True when a near tie reordered it."""
    if list(live) == list(comm):
        return True, False
    last = float(comm_scores[-1])
    for a, b in clusters(comm_scores):
        ls, cs = set(live[a:b]), set(comm[a:b])
        if ls == cs:
            continue
        if b != len(comm):
            return False, True
        # The boundary: what was exchanged must be scored within TIE_TOL of the last kept score.
        for x in ls - cs:
            if abs(score_of_live(x) - last) > TIE_TOL:
                return False, True
        for i in range(a, b):
            if comm[i] not in ls and abs(float(comm_scores[i]) - last) > TIE_TOL:
                return False, True
    return True, True


def candidates(idx_row, n_cand):
    """Identity of each stage-2 candidate: the K1 corpus indices, then the empty one when kept."""
    ids = [int(x) for x in idx_row]
    return ids + ["empty"] * (n_cand - len(ids))


def compare_attrs(a, b, probs):
    for k in sorted(set(a.attrs) | set(b.attrs)):
        if k in SKIP_ATTRS:
            continue
        x, y = a.attrs.get(k), b.attrs.get(k)
        if isinstance(x, (float, np.floating)) and isinstance(y, (float, np.floating)):
            same = (np.isinf(x) and x == y) or abs(float(x) - float(y)) <= ATTR_TOL
        else:
            same = np.array_equal(np.asarray(x), np.asarray(y))
        if not same:
            probs.append("attr %s: %r vs %r" % (k, x, y))


def compare_rankings(a, b, probs, notes):
    """Stage 1 and 2 by identity. Returns the images whose stage-3 hashes cannot be compared."""
    moved = set()
    li, ci = a["itc_idx"][()], b["itc_idx"][()]
    ls, cs = a["itc_score"][()], b["itc_score"][()]
    lp, cp = a["itc_prob"][()], b["itc_prob"][()]
    for n in range(ci.shape[0]):
        lmap = {int(x): (float(s), float(p)) for x, s, p in zip(li[n], ls[n], lp[n])}
        ok, mv = ranking_ok([int(x) for x in li[n]], [int(x) for x in ci[n]], cs[n], lambda x: lmap[x][0])
        if not ok:
            probs.append("itc_idx image %d: differs beyond near ties" % n)
        if mv:
            notes.append("image %d: stage-1 near tie reordered" % n)
            if set(li[n].tolist()) != set(ci[n].tolist()):
                moved.add(n)
        for x, s, p in zip(ci[n], cs[n], cp[n]):
            if int(x) in lmap and max(abs(lmap[int(x)][0] - s), abs(lmap[int(x)][1] - p)) > FLOAT_TOL:
                probs.append("itc_score/prob image %d report %d: %.9g/%.9g vs %.9g/%.9g" %
                             (n, x, lmap[int(x)][0], lmap[int(x)][1], s, p))
    if "itm_score" not in b:
        return moved
    lm, cm = a["itm_score"][()], b["itm_score"][()]
    lq, cq = a["stage2_pos"][()], b["stage2_pos"][()]
    for n in range(cm.shape[0]):
        lc, cc = candidates(li[n], lm.shape[1]), candidates(ci[n], cm.shape[1])
        lmap = dict(zip(lc, (float(v) for v in lm[n])))
        for x, v in zip(cc, cm[n]):
            if x in lmap and abs(lmap[x] - float(v)) > FLOAT_TOL:
                probs.append("itm_score image %d candidate %s: %.9g vs %.9g" % (n, x, lmap[x], v))
        lr, cr = [lc[p] for p in lq[n]], [cc[p] for p in cq[n]]
        ok, mv = ranking_ok(lr, cr, [cm[n][p] for p in cq[n]], lambda x: lmap[x])
        if not ok:
            probs.append("stage2_pos image %d: differs beyond near ties" % n)
        if mv:
            notes.append("image %d: stage-2 near tie reordered" % n)
            moved.add(n)
    return moved


def compare_file(live, committed, setting):
    a = h5py.File("%s/pipeline_%s.h5" % (live, setting), "r")
    b = h5py.File("%s/pipeline_%s.h5" % (committed, setting), "r")
    probs, notes = [], []
    compare_attrs(a, b, probs)
    ranked = ("itc_idx", "itc_score", "itc_prob", "itm_score", "stage2_pos")
    for k in sorted(set(a) | set(b)):
        if k not in a or k not in b:
            probs.append("dataset %s only in one file" % k)
        elif a[k].shape != b[k].shape or a[k].dtype.kind != b[k].dtype.kind:
            probs.append("%s: shape/type %s %s vs %s %s" % (k, a[k].shape, a[k].dtype, b[k].shape, b[k].dtype))
    if probs:
        return probs, notes
    moved = compare_rankings(a, b, probs, notes)
    for k in sorted(set(b) - set(ranked)):
        x, y = a[k][()], b[k][()]
        if x.dtype.kind == "f":
            d = float(np.max(np.abs(x.astype(np.float64) - y))) if x.size else 0.0
            if d > FLOAT_TOL:
                probs.append("%s: max abs diff %.3g" % (k, d))
            continue
        rows = [n for n in range(x.shape[0]) if not np.array_equal(x[n], y[n])] if x.ndim else []
        if x.ndim == 0 and x != y:
            probs.append("%s: differs" % k)
        bad = [n for n in rows if n not in moved or "sha256" not in k]
        if bad:
            probs.append("%s: differs at image(s) %s" % (k, bad[:5]))
        elif rows:
            notes.append("%s: image(s) %s not compared (downstream of a near tie)" % (k, rows))
    return probs, notes


def self_test(committed, setting):
    """The checker must be able to fail: mutate copies of a committed golden and check each verdict."""
    import os
    import shutil
    import tempfile

    src = "%s/pipeline_%s.h5" % (committed, setting)
    with h5py.File(src, "r") as f:
        sc, has_itm = f["itc_score"][()], "itm_score" in f
    n, i = next((n, i) for n in range(sc.shape[0]) for i in range(sc.shape[1] - 1)
                if abs(float(sc[n, i]) - float(sc[n, i + 1])) > 10 * TIE_TOL)

    def swap_far(f):
        row = f["itc_idx"][n]
        row[[i, i + 1]] = row[[i + 1, i]]
        f["itc_idx"][n] = row

    def make_tie(f):  # positions i and i+1 scored alike (to rounding) in both copies
        for k in ("itc_score", "itc_prob"):
            r = f[k][n]
            r[i + 1] = r[i]
            f[k][n] = r

    def swap_tie(f):  # the live copy orders the tie the other way: every dataset follows the swap
        make_tie(f)
        row = f["itc_idx"][n]
        row[[i, i + 1]] = row[[i + 1, i]]
        f["itc_idx"][n] = row
        if "itm_score" in f:
            m = f["itm_score"][n]
            m[[i, i + 1]] = m[[i + 1, i]]
            f["itm_score"][n] = m
            q = f["stage2_pos"][n]
            f["stage2_pos"][n] = np.where(q == i, i + 1, np.where(q == i + 1, i, q))

    def bump(name, d):
        def m(f):
            x = f[name][()]
            x.flat[0] += d
            f[name][...] = x
        return m

    def hash_change(f):
        x = f["filtered_sha256"][()]
        x[0] = b"0" * 64
        f["filtered_sha256"][...] = x

    def attr(name, d):
        return lambda f: f.attrs.__setitem__(name, f.attrs[name] + d)

    cases = [("itc order swapped beyond a near tie", swap_far, False),
             ("itc_score +1e-3", bump("itc_score", 1e-3), False),
             ("itm_score +1e-3", bump("itm_score", 1e-3), False),
             ("filtered hash changed", hash_change, False),
             ("k1 attribute +1", attr("k1", 1), False),
             ("itc_score +1e-6 (rounding)", bump("itc_score", 1e-6), True)]
    cases = [c for c in cases if has_itm or "itm" not in c[0]]
    tmp = tempfile.mkdtemp()
    bad = 0
    try:
        for what, mutate, want_ok in cases:
            for d in ("live", "comm"):
                os.makedirs(os.path.join(tmp, d), exist_ok=True)
                shutil.copy(src, os.path.join(tmp, d, "pipeline_%s.h5" % setting))
            with h5py.File(os.path.join(tmp, "live", "pipeline_%s.h5" % setting), "r+") as f:
                mutate(f)
            got_ok = not compare_file(os.path.join(tmp, "live"), os.path.join(tmp, "comm"), setting)[0]
            print("%s self-test: %s -> %s" % ("ok  " if got_ok == want_ok else "FAIL", what,
                                              "accepted" if got_ok else "rejected"))
            bad += got_ok != want_ok
        # A near tie in the committed copy, swapped in the live one: accepted.
        for d in ("live", "comm"):
            shutil.copy(src, os.path.join(tmp, d, "pipeline_%s.h5" % setting))
        with h5py.File(os.path.join(tmp, "comm", "pipeline_%s.h5" % setting), "r+") as f:
            make_tie(f)
        with h5py.File(os.path.join(tmp, "live", "pipeline_%s.h5" % setting), "r+") as f:
            swap_tie(f)
        got_ok = not compare_file(os.path.join(tmp, "live"), os.path.join(tmp, "comm"), setting)[0]
        print("%s self-test: near-tie swap -> %s" % ("ok  " if got_ok else "FAIL",
                                                      "accepted" if got_ok else "rejected"))
        bad += not got_ok
    finally:
        shutil.rmtree(tmp)
    return bad


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--self-test":
        sys.exit(1 if self_test(sys.argv[2], sys.argv[3]) else 0)
    if len(sys.argv) < 4:
        sys.exit("usage: compare_pipeline_goldens.py LIVE_DIR COMMITTED_DIR SETTING...")
    live, committed, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    bad = 0
    for n in names:
        probs, notes = compare_file(live, committed, n)
        print("%s pipeline_%s.h5: live reference vs committed: %s%s" % (
            "ok  " if not probs else "FAIL", n, "; ".join(probs) or "equal (floats to %g, near ties %g as sets)"
            % (FLOAT_TOL, TIE_TOL), "" if not notes else " [" + "; ".join(notes) + "]"))
        bad += bool(probs)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
