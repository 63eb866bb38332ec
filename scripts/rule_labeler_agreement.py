#!/usr/bin/env python3
"""Agreement of xrem's rule-based labeler with the MeSH terms of the IU X-Ray reports.

The labeler runs in C (tests/test_rule_labeler --dump, over FINDINGS + IMPRESSION of every report);
this script reads the MeSH <major> terms of the same reports straight from NLMCXR_reports.tgz,
maps them to CheXbert observations where a mapping exists (MAPPING below), and reports, per
observation, precision / recall / F1 of the labeler's positive-or-uncertain labels (f1chexbert's
"rrg" binarisation) against the MeSH-derived labels, with support (MeSH positives) and the count
the labeler predicts; plus F1 of positive-only labels (CXR-RePaiR's binarisation).

MeSH terms are not labels of the same kind: indexers coded what a report describes (findings,
anatomy, devices) with their own vocabulary and granularity, never coded negatives, and did not
index everything (devices and chronic findings are often left out). So this measures how the
labeler agrees with an independent human coding, not accuracy against CheXbert.

Only stdlib. No report text is printed or written; only counts and file names (with --list).

  python3 scripts/rule_labeler_agreement.py                       # table to stdout
  python3 scripts/rule_labeler_agreement.py --out results/rule_labeler_agreement.md
  python3 scripts/rule_labeler_agreement.py --list Cardiomegaly   # FP/FN file names (to --explain)
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET

CONDITIONS = ["Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
              "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion",
              "Pleural Other", "Fracture", "Support Devices", "No Finding"]

# MeSH <major> term "Heading/qualifier/qualifier..." -> observation. Each entry: (observation,
# tier, description, predicate(heading, qualifiers)). "clean": the heading names the same finding;
# "approximate": the heading is broader, narrower or coded differently.
MAPPING = [
    ("Cardiomegaly", "clean", "Cardiomegaly; Cardiac Shadow/enlarged",
     lambda h, q: h == "Cardiomegaly" or (h == "Cardiac Shadow" and "enlarged" in q)),
    ("Edema", "clean", "Pulmonary Edema; Pulmonary Congestion; Heart Failure",
     lambda h, q: h in ("Pulmonary Edema", "Pulmonary Congestion", "Heart Failure")),
    ("Consolidation", "clean", "Consolidation", lambda h, q: h == "Consolidation"),
    ("Pneumonia", "clean", "Pneumonia", lambda h, q: h == "Pneumonia"),
    ("Atelectasis", "clean", "Pulmonary Atelectasis", lambda h, q: h == "Pulmonary Atelectasis"),
    ("Pneumothorax", "clean", "Pneumothorax; Hydropneumothorax; Hemopneumothorax",
     lambda h, q: h in ("Pneumothorax", "Hydropneumothorax", "Hemopneumothorax")),
    ("Pleural Effusion", "clean", "Pleural Effusion; Hemothorax", lambda h, q: h in ("Pleural Effusion", "Hemothorax")),
    ("Fracture", "clean", "Fractures, Bone", lambda h, q: h == "Fractures, Bone"),
    ("No Finding", "clean", "the only major term is \"normal\"", None),  # handled per report
    ("Enlarged Cardiomediastinum", "approximate", "Mediastinum/{enlarged, prominent, widened}",
     lambda h, q: h == "Mediastinum" and bool({"enlarged", "prominent", "widened"} & set(q))),
    ("Lung Opacity", "approximate", "Opacity; Airspace Disease; Infiltrate; Density/lung",
     lambda h, q: h in ("Opacity", "Airspace Disease", "Infiltrate") or (h == "Density" and "lung" in q)),
    ("Lung Lesion", "approximate", "Nodule; Mass", lambda h, q: h in ("Nodule", "Mass")),
    ("Pleural Other", "approximate", "Thickening/pleura; Pleura", lambda h, q: (h == "Thickening" and "pleura" in q) or h == "Pleura"),
    ("Support Devices", "approximate",
     "Catheters, Indwelling; Surgical Instruments; Implanted Medical Device; Tube, Inserted; Medical Device; Stents; Sutures; Breast Implants",
     lambda h, q: h in ("Catheters, Indwelling", "Surgical Instruments", "Implanted Medical Device", "Tube, Inserted",
                        "Medical Device", "Stents", "Sutures", "Breast Implants")),
]


def read_mesh(tgz):
    """file name -> list of (heading, [qualifiers]) from <MeSH><major>."""
    out = {}
    with tarfile.open(tgz, "r:gz") as tf:
        for m in tf:
            if not m.isfile() or not m.name.endswith(".xml"):
                continue
            root = ET.fromstring(tf.extractfile(m).read())
            terms = []
            for e in root.iter("major"):
                parts = [p.strip() for p in (e.text or "").split("/")]
                terms.append((parts[0], [p.lower() for p in parts[1:] if p]))
            out[os.path.basename(m.name)] = terms
    return out


def run_labeler(binary, tgz):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "labels.tsv")
        subprocess.run([binary, "--dump", path, tgz], check=True, stdout=subprocess.DEVNULL)
        sig, rows = None, {}
        with open(path) as f:
            for line in f:
                if line.startswith("# signature "):
                    sig = line.split()[2]
                    continue
                name, empty, cls = line.rstrip("\n").split("\t")
                rows[name] = (empty == "1", [int(c) for c in cls.split()])
    return sig, rows


def prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return p, r, f


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs"


def commit(root):
    try:
        c = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "eval/rule_labeler.c", "eval/rule_labeler.h", "data/labeler"],
                               cwd=root, capture_output=True, text=True).stdout.strip()
        return c + (" + uncommitted labeler files (identified by the signature)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(root, "build-rl", "test_rule_labeler"))
    data = os.environ.get("XREM_DATA_DIR") or os.path.join(root, "..", "shared", "data")
    ap.add_argument("--tgz", default=os.path.join(data, "NLMCXR_reports.tgz"))
    ap.add_argument("--out", help="write the Markdown table here (default: stdout)")
    ap.add_argument("--list", metavar="OBSERVATION", help="print the file names of false positives / negatives")
    a = ap.parse_args()

    sig, labels = run_labeler(a.bin, a.tgz)
    mesh = read_mesh(a.tgz)
    missing = set(mesh) ^ set(labels)
    if missing:
        sys.exit(f"labeler and MeSH disagree on the report set: {sorted(missing)[:5]}")
    names = sorted(mesh, key=lambda s: int(s.split(".")[0]) if s.split(".")[0].isdigit() else 1 << 30)
    no_text = [n for n in names if labels[n][0]]
    no_index = [n for n in names if not labels[n][0] and (not mesh[n] or [t[0] for t in mesh[n]] == ["No Indexing"])]
    use = [n for n in names if not labels[n][0] and n not in no_index]

    results = []
    for obs, tier, desc, pred in MAPPING:
        j = CONDITIONS.index(obs)
        tp = fp = fn = tp1 = fp1 = fn1 = unc = fp_unc = 0
        fps, fns = [], []
        for n in use:
            if obs == "No Finding":
                truth = [t[0] for t in mesh[n]] == ["normal"]
            else:
                truth = any(pred(h, q) for h, q in mesh[n])
            c = labels[n][1][j]
            guess, guess1 = c in (1, 3), c == 1
            tp += truth and guess
            fp += guess and not truth
            fn += truth and not guess
            tp1 += truth and guess1
            fp1 += guess1 and not truth
            fn1 += truth and not guess1
            unc += c == 3
            fp_unc += c == 3 and not truth
            if guess and not truth:
                fps.append(n)
            if truth and not guess:
                fns.append(n)
        p, r, f = prf(tp, fp, fn)
        f1pos = prf(tp1, fp1, fn1)[2]
        results.append(dict(obs=obs, tier=tier, desc=desc, tp=tp, fp=fp, fn=fn, p=p, r=r, f=f, f1pos=f1pos,
                            support=tp + fn, predicted=tp + fp, unc=unc, fp_unc=fp_unc, fps=fps, fns=fns))
        if a.list and a.list == obs:
            print(f"{obs}: false positives ({len(fps)}): {' '.join(fps)}")
            print(f"{obs}: false negatives ({len(fns)}): {' '.join(fns)}")
    if a.list:
        return

    def avg(tier):
        rs = [x for x in results if x["tier"] == tier]
        tp, fp, fn = (sum(x[k] for x in rs) for k in ("tp", "fp", "fn"))
        micro = prf(tp, fp, fn)
        macro = tuple(sum(x[k] for x in rs) / len(rs) for k in ("p", "r", "f"))
        return micro, macro

    L = []
    L.append("# Rule-based labeler vs IU X-Ray MeSH terms\n")
    L.append(f"- date: {datetime.date.today().isoformat()}")
    L.append(f"- machine: {machine()}")
    L.append(f"- commit: {commit(root)}")
    L.append(f"- labeler: `{sig}` (eval/rule_labeler.c with data/labeler/)")
    L.append(f"- made by: `python3 scripts/rule_labeler_agreement.py --out results/rule_labeler_agreement.md` "
             f"(labels from `build-rl/test_rule_labeler --dump`)")
    L.append(f"- data: {len(names)} IU X-Ray reports (NLMCXR_reports.tgz, read in place); labeler input = FINDINGS, a blank line, "
             f"IMPRESSION; {len(no_text)} reports with neither are left out, and {len(no_index)} whose MeSH is \"No Indexing\" "
             f"or empty; **{len(use)} reports** scored.")
    L.append("- labeler positive = class 1 or 3 (positive or uncertain: f1chexbert's \"rrg\" binarisation); "
             "F1(pos) counts class 1 only (CXR-RePaiR's). MeSH positive = one `<major>` term maps to the observation (table below). "
             "Support = MeSH positives; predicted = labeler positives.\n")
    for tier in ("clean", "approximate"):
        L.append(f"## {'Observations that map cleanly' if tier == 'clean' else 'Observations that map only approximately'}\n")
        L.append("| observation | MeSH major terms | support | predicted (unc.) | FP (unc.) | FN | precision | recall | F1 | F1 (pos) |")
        L.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
        for x in results:
            if x["tier"] == tier:
                L.append(f"| {x['obs']} | {x['desc']} | {x['support']} | {x['predicted']} ({x['unc']}) | {x['fp']} ({x['fp_unc']}) | "
                         f"{x['fn']} | {x['p']:.3f} | {x['r']:.3f} | {x['f']:.3f} | {x['f1pos']:.3f} |")
        (mi, ma) = avg(tier)
        L.append(f"| *micro* | | | | | | {mi[0]:.3f} | {mi[1]:.3f} | {mi[2]:.3f} | |")
        L.append(f"| *macro* | | | | | | {ma[0]:.3f} | {ma[1]:.3f} | {ma[2]:.3f} | |")
        L.append("")
    # No Finding false positives that only differ by definition: MeSH withholds "normal" for low lung
    # volumes, image quality and devices; the CheXpert rule ignores devices and the labeler does not
    # count technique as a finding.
    devices = {"Catheters, Indwelling", "Surgical Instruments", "Implanted Medical Device", "Tube, Inserted", "Medical Device",
               "Stents", "Sutures", "Breast Implants"}
    nf = next(x for x in results if x["obs"] == "No Finding")
    definitional = sum(1 for n in nf["fps"] if all(h in devices or h == "Technical Quality of Image Unsatisfactory"
                                                   or (h == "Lung" and "hypoinflation" in q) for h, q in mesh[n]))
    L.append("## What the numbers mean, and their limits\n")
    L.append("- **MeSH terms are not labels of the same kind.** IU indexers coded findings a report describes, with their "
             "own headings (\"Costophrenic Angle/blunted\", \"Cardiac Shadow/enlarged\", \"Markings\"), never coded negatives, "
             "and coded inconsistently (the same \"degenerative change of the thoracic spine\" is coded in some reports and "
             "left as \"normal\" in others). Only positive-vs-not can be compared; negative vs blank cannot.")
    L.append("- **Hedged findings.** The labeler labels \"may represent pneumonia\" uncertain, which the rrg binarisation counts "
             "as positive; indexers mostly did not code such hedges. Column *FP (unc.)* counts false positives that are "
             "uncertain labels; F1 (pos) drops them. Pneumonia's low precision is mostly this.")
    L.append(f"- **No Finding**: MeSH \"normal\" excludes low lung volumes, poor image quality and devices; the CheXpert rule "
             f"ignores Support Devices and the labeler does not count technique as a finding. {definitional} of the "
             f"{nf['fp']} No Finding false positives have only such MeSH terms.")
    L.append("- **Labeler conventions that move the numbers**: \"heart size at the upper limits of normal\" / \"top normal\" is "
             "negative (a normal-size statement), \"borderline\" is uncertain; blunting of a costophrenic angle is a Pleural "
             "Effusion mention; vascular congestion and heart failure are Edema mentions; sternotomy, clips, wires and "
             "monitoring leads are Support Devices; granuloma, scarring, emphysema, degenerative and other abnormalities "
             "outside the 13 observations keep No Finding blank.")
    L.append("- **In-sample.** The lists were refined while reading this comparison (which phrases and cues the IU reports use), "
             "so these figures are optimistic for other corpora; MIMIC-CXR and generated reports phrase things differently. "
             "(The first version of the lists, written before any disagreement was read, scored micro-F1 0.845 and macro-F1 "
             "0.764 on the clean rows.) "
             "The hand-written sentences in tests/test_rule_labeler.c are the labeler's specification; this table is a "
             "sanity check, not a validation against CheXbert.")
    L.append("- **Small supports** (Pneumothorax, Consolidation, Enlarged Cardiomediastinum, Pleural Other: fewer than 50 "
             "MeSH positives) make those rows uncertain by several points.")
    L.append("- The approximate rows compare unlike things: MeSH \"Opacity\" also codes bone and soft-tissue opacities, "
             "\"Nodule\" also calcified granulomas, the mediastinal terms mostly paratracheal or nodal enlargement, and devices are "
             "coded only sometimes.")
    text = "\n".join(L) + "\n"
    if a.out:
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, a.out)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
