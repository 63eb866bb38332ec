#!/usr/bin/env bash
# `xrem eval --metrics chexbert,semb` against the reference stack run on the same CSV files (ctest label:
# reference). The reference: pandas.read_csv of each file, CheXbert's get_impressions_from_csv cleaning and
# tokenize() (transformers' slow BertTokenizer), label.py's batches of 18, bert_labeler (transformers BertModel +
# linear_heads) holding the tensors of tests/golden/chexbert_small.weights.h5, argmax per head, and
# CXR-Report-Metric's add_semb_col on encode.py's [CLS] vectors (GT and PRED sorted by study_id, as its
# calc_metric does). Checked: xrem's per-report labels identical, s_emb within 1e-4. The reports include
# multi-line fields, runs of whitespace, special-token strings, upper case and one longer than 512 tokens.
# Interpreter: Debian's /usr/bin/python3 (torch 1.13, transformers 4.30, pandas 1.5). Exit 77 without them or
# without $XREM_BIN.
set -u
PY=/usr/bin/python3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN=${XREM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
if ! "$PY" -c 'import torch, h5py, numpy, pandas, transformers' >/dev/null 2>&1; then
    echo "SKIP: $PY cannot import torch/h5py/numpy/pandas/transformers"
    exit 77
fi
W="$ROOT/tests/golden/chexbert_small.weights.h5"
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_ref_eval_chexbert.XXXXXX")
trap 'rm -rf "$T"' EXIT

"$PY" - "$T" <<'EOF' || { echo "FAIL: could not write the CSV files"; exit 1; }
import csv, sys
d = sys.argv[1]
unit = "the heart is normal in size and the lungs are clear . "
gt = {
    301: "No acute cardiopulmonary process.",
    302: "FINDINGS:\nSmall left pleural effusion.\n\n  IMPRESSION:   Effusion, atelectasis.",
    303: "Large right pneumothorax. [SEP] Chest tube recommended. [CLS]",
    304: "MODERATE CARDIOMEGALY WITH MILD EDEMA.",
    305: unit * 50,  # 600 tokens
    306: "Endotracheal tube 4 cm above the carina.\tNasogastric tube in the stomach.",
    307: "Increased opacity at the left base may represent atelectasis or possibly early pneumonia.",
    308: "Calcified granuloma in the right upper lobe, unchanged since 2015.",
}
pred = {
    308: "Granuloma, right upper lobe.",
    307: "Left basilar opacity, possibly pneumonia.",
    306: "Support devices in standard position.",
    305: unit * 43 + "no effusion .",
    304: "Mild cardiomegaly.\r\nNo edema.",
    303: "No pneumothorax.",
    302: "Left pleural effusion with atelectasis.",
    301: "Normal chest radiograph.",
}
for name, rows in (("gt", gt), ("pred", pred)):
    with open("%s/%s.csv" % (d, name), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["study_id", "report"])
        for k, v in rows.items():
            w.writerow([k, v])
EOF

if ! "$BIN" eval --gt "$T/gt.csv" --pred "$T/pred.csv" --out "$T/out" --metrics chexbert,semb --chexbert "$W" \
    --bootstrap 0 >"$T/xrem.log" 2>&1; then
    echo "FAIL: xrem eval:"; cat "$T/xrem.log"; exit 1
fi

"$PY" - "$ROOT/scripts" "$W" "$T" <<'EOF'
import sys, os, csv
import h5py, numpy as np, pandas as pd, torch
sys.path.insert(0, sys.argv[1])
import make_chexbert_goldens as G
wpath, d = sys.argv[2], sys.argv[3]

with h5py.File(wpath, "r") as f:
    c = f["config"].attrs
    vocab = [t.decode() if isinstance(t, bytes) else t for t in f["tokenizer/vocab"][()]]
    cfg = G.small_cfg(int(c["vocab_size"]))
    cfg.hidden_size, cfg.num_hidden_layers = int(c["hidden_size"]), int(c["num_layers"])
    cfg.num_attention_heads, cfg.intermediate_size = int(c["num_heads"]), int(c["intermediate_size"])
    cfg.max_position_embeddings = int(c["max_position"])
    model = G.bert_labeler(cfg)
    sd = model.state_dict()
    keys = [k for k in sd if k not in G.buffers_of(model)]
    model.load_state_dict({k: torch.from_numpy(f[k][()]) for k in keys}, strict=False)
    model.eval()
vpath = os.path.join(d, "vocab.txt")
with open(vpath, "w", encoding="utf-8") as f:
    f.write("\n".join(vocab) + "\n")
tok = G.slow_tokenizer(vpath)

def run(csv_path):
    """CXR-Report-Metric calc_metric's sort by study_id, then CheXbert's path on the 'report' column."""
    df = pd.read_csv(csv_path).sort_values(by=["study_id"]).reset_index(drop=True)
    imp = df["report"]
    imp = imp.str.strip()
    imp = imp.replace('\n', ' ', regex=True)
    imp = imp.replace(r'\s+', ' ', regex=True)
    imp = imp.str.strip()
    enc = G.chexbert_tokenize(imp, tok)
    logits, classes, cls = G.label_py(model, enc)
    return df["study_id"].tolist(), classes.numpy(), cls.numpy(), [len(e) for e in enc], logits.numpy()

ids, cg, eg, lg, log_g = run(os.path.join(d, "gt.csv"))
ids_p, cp, ep, lp, log_p = run(os.path.join(d, "pred.csv"))
assert ids == ids_p
assert max(lg) == 512, lg
semb = [G.semb_numpy(a, b) for a, b in zip(eg, ep)]

raw = {"": 0, "1": 1, "0": 2, "-1": 3}
rows = {int(r["study_id"]): r for r in csv.DictReader(open(os.path.join(d, "out", "per_report.csv")))}
def near_tie(logit_row, head, a, b):
    """The reference's own logits of classes a and b of this head within 2e-4: rounding may pick either."""
    return abs(float(logit_row[4 * head + a]) - float(logit_row[4 * head + b])) <= 2e-4


bad_lab, worst, ties = 0, 0.0, 0
for i, sid in enumerate(ids):
    r = rows[sid]
    for t, ref, lrow in (("gt", cg[i], log_g[i]), ("pred", cp[i], log_p[i])):
        got = [raw[r["%s:%s" % (t, cond)]] for cond in
               ("Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema", "Consolidation",
                "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture",
                "Support Devices", "No Finding")]
        diff = [h for h in range(14) if got[h] != ref[h]]
        if diff and all(near_tie(lrow, h, got[h], ref[h]) for h in diff):
            ties += 1
        elif diff:
            bad_lab += 1
            print("  study %d %s: xrem %s, reference %s" % (sid, t, got, list(ref)))
    worst = max(worst, abs(float(r["semb"]) - float(semb[i])))
print("  %d reports per side: %d label rows differ (%d more only in near ties, logits within 2e-4); "
      "s_emb max abs err %.3g (tol 1e-4)" % (len(ids), bad_lab, ties, worst))
sys.exit(0 if bad_lab == 0 and worst <= 1e-4 else 1)
EOF
rc=$?
if [ $rc -ne 0 ]; then
    echo "test_ref_eval_chexbert: FAILED"
    exit 1
fi
echo "test_ref_eval_chexbert: ok"
exit 0
