#!/usr/bin/python3
"""X-REM pipeline benchmark on CPU: per-stage throughput of xrem, and the whole per-image cost of `xrem run`
against the reference control flow in PyTorch, at full model size, same machine, same threads, one run.

Interpreter: Debian's /usr/bin/python3 (python3-torch 1.13, numpy, h5py, pandas, transformers 4.30). No network.

usage: bench_pipeline.py [--xrem build/xrem] [--threads 2] [--images 4] [--corpus 2000] [--out results/bench]
                         [--tmpdir DIR] [--vocab VOCAB.txt] [--tgz NLMCXR_reports.tgz]
                         [--openblas-coretype auto|keep|CORE] [--vit-batch 2] [--keep-tmp]
       bench_pipeline.py --render results/bench/pipeline.json     (rewrite pipeline.md from the record only)

What it does (every command it runs is recorded in OUT/pipeline.json with its wall time):
  0. Threads and BLAS kernels as scripts/bench_vs_torch.py: OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = --threads set
     before torch loads (Debian's torch reaches OpenBLAS through libblas.so.3, which torch.set_num_threads does not
     pin), torch.set_num_threads(--threads), xrem gets --threads; --openblas-coretype auto: when OpenBLAS falls back
     to an SSE kernel set (Prescott...) on an AVX2/AVX-512 CPU, OPENBLAS_CORETYPE=SkylakeX/Haswell is set for both
     sides (xrem's CLI does that by itself).
  1. Inputs, in a temporary folder deleted at the end (~2.5 GB):
       corpus.csv   xrem dev iu-reports --corpus-max --corpus (the IU X-Ray impressions; pandas/xrem then drop
                    NaN and duplicates)
       cxr.h5       xrem dev synth-images --n --images --seed 7 (320x320 synthetic CXRs)
       ret.h5       xrem dev random-weights --arch albef_retrieval --preset full --seed 31 (ViT-B/16 + BERT-base,
                    N(0, 0.02), real bert-base-uncased vocabulary)
       itm.h5       xrem dev random-weights --arch albef_itm --preset full --seed 32
       nli.h5       a random BERTNLI (ifcc's module tree, scripts/make_nli_goldens.py) at bert-base shapes (vocab
                    30522, 12 x 768, 12 heads, 3072, 512 positions), N(0, 0.02), seed 33; its linear head re-drawn
                    with make_nli_goldens.calibrate_head on 16 corpus report pairs so the three labels all occur
                    (a random BERT's pooled output barely moves, so a plain random head answers one label for
                    everything: the filter would then make 1 or 10 calls per image, nothing in between);
                    saved as a plain state dict and converted with scripts/convert_nli.py --vocab.
  2. Per-stage throughput of xrem (CPU):
       vit256   xrem bench vit --weights ret.h5 --res 256 --batch VIT_BATCH --iters 1  (ViT + ITC projection)
       vit384   xrem bench vit --weights itm.h5 --res 384 --batch VIT_BATCH --iters 1  (ITM model's ViT)
       itm      xrem bench itm --weights itm.h5 --res 384 --batch 51 --len 40 --iters 1  (one image, 51 candidates)
                (each bench: one warm-up iteration, then the timed one, see src/cli/cmd_bench.c)
       embed    xrem embed on the corpus, wall time; its fixed cost (model load) measured by the same command on
                the first 20 rows of the corpus and subtracted: reports/s = (n - n20) / (wall - wall20)
       nli      direct timing: xrem_nli_timer (scripts/nli_timer.c, built by CMake beside xrem from the same
                xrem_lib, on every build) loads nli.h5 and classifies, one pair per call as the sequential filter asks
                (xrem_nli_classify(n = 1, max_len 384)), the pairs the reference's stage 3 judged in step 4 (so
                both sides time the same pairs); one warm-up call, then the pairs repeated to >= 16 calls.
                Also from the pipeline: xrem run --filter nli minus --filter none, per image.
  3. xrem run, K1 50, K2 10, K3 2, NLI filter, retrieval at 256, ITM at 384, --batch 1 (one chunk per image,
     so the chunk files' modification times give per-image timestamps; the default --batch 4 would also share
     the text layers of candidates retrieved for several images of a chunk, which random weights make
     frequent), once with --filter nli and once with --filter none. Per image = (last chunk - first chunk) /
     (N - 1): images 2..N, after the models are loaded and the first image has warmed up; also the whole wall
     time / N. The corpus cache comes from step 2's xrem embed.
  4. The reference (scripts/xrem_reference.py imported as a module, this process, torch threads pinned): its
     own functions, in its order: read_corpus, load_weights (retrieval at 256, ITM at 384), ALBEF tokenizer,
     NLIJudge (the full-size NLI model from nli.h5, one pair per call as m2trans_nli_filter), generate_embeddings
     (the corpus, batches of 2000, max_length 25); then per image, as stages_1_2 + run_setting do it:
     stage 1 = Images[i] at 256 + cosine_probs + top_order(K1) + '[SEP]' join; stage 2 = split, Images[i] at 384
     + itm_scores (batches of 100, padding='longest') + top_order(K2) + join; stage 3 = filter_loop(NLIJudge,
     K3 = 2). Each stage of each image is timed with time.perf_counter; per image = images 2..N (image 1 warms
     torch up), as for xrem. Its outputs are compared with xrem's reports.csv (parity of the two runs).
  5. Writes OUT/pipeline.md and OUT/pipeline.json: machine, commit, date, threads, BLAS kernels, load average
     before/after (and at every step), every command, the stage table, per-image seconds of both and the ratio
     xrem/reference speed-up (goal: >= 4x on CPU).
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))

K1, K2, K3 = 50, 10, 2
RES_RET, RES_ITM = 256, 384
SEED_RET, SEED_ITM, SEED_NLI, SEED_IMG = 31, 32, 33, 7
TEST_IMAGES = 2192  # MIMIC-CXR AP/PA test images of the published evaluation (DESIGN §2)
GOAL = 4.0


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="X-REM pipeline benchmark: xrem stages and xrem run vs the PyTorch "
                                             "reference control flow, full-size random models, CPU.")
    ap.add_argument("--xrem", default=os.path.join(ROOT, "build", "xrem"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--images", type=int, default=4, help="synthetic test images (default 4; >= 2)")
    ap.add_argument("--corpus", type=int, default=2000, help="IU corpus rows (--corpus-max, default 2000)")
    ap.add_argument("--out", default=os.path.join(ROOT, "results", "bench"), help="output folder")
    ap.add_argument("--tmpdir", default=None)
    ap.add_argument("--vocab", default=os.path.join(SHARED, "bert-base-uncased-vocab.txt"))
    ap.add_argument("--tgz", default=os.path.join(SHARED, "NLMCXR_reports.tgz"))
    ap.add_argument("--openblas-coretype", default="auto", metavar="auto|keep|CORE")
    ap.add_argument("--vit-batch", type=int, default=2, help="batch of the two ViT benches (default 2)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary folder (debugging)")
    ap.add_argument("--render", metavar="PIPELINE.json", help="only rewrite PIPELINE.md (beside it) from this record")
    a = ap.parse_args(argv)
    if a.threads < 1 or a.images < 2 or a.corpus < 100 or a.vit_batch < 1:
        ap.error("--threads >= 1, --images >= 2, --corpus >= 100, --vit-batch >= 1")
    return a


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:  # before torch (and its OpenBLAS) loads
    os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
    os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

SLOW_CORES = ("prescott", "core2", "nehalem", "sandybridge")  # the kernels xrem's CLI refuses (src/cli/main.c)


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def torch_openblas_core_in_child():
    code = ("import re,ctypes,torch; x=torch.ones(8,8); (x@x).sum(); "
            "libs=[m.group(1) for m in re.finditer(r'(/\\S*openblas\\S*\\.so\\S*)', open('/proc/self/maps').read())]; "
            "l=ctypes.CDLL(libs[0]); l.openblas_get_corename.restype=ctypes.c_char_p; "
            "print(l.openblas_get_corename().decode())")
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              timeout=120).stdout.strip()
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None


def blas_kernel_setup(mode):
    """As scripts/bench_vs_torch.py: the same OpenBLAS kernel set for torch (this process) and xrem (children)."""
    if mode == "keep":
        os.environ["XREM_NO_BLAS_FIXUP"] = "1"
        return "keep: OPENBLAS_CORETYPE %s, xrem's fix-up disabled" % os.environ.get("OPENBLAS_CORETYPE", "unset")
    if mode != "auto":
        os.environ["OPENBLAS_CORETYPE"] = mode
        return "OPENBLAS_CORETYPE=%s set for both (--openblas-coretype)" % mode
    if os.environ.get("OPENBLAS_CORETYPE"):
        return "auto: OPENBLAS_CORETYPE=%s already set, used by both" % os.environ["OPENBLAS_CORETYPE"]
    core = torch_openblas_core_in_child()
    flags = cpu_flags()
    want = "SkylakeX" if "avx512f" in flags else "Haswell" if "avx2" in flags else None
    if core and core.lower() in SLOW_CORES and want:
        os.environ["OPENBLAS_CORETYPE"] = want
        return ("auto: OpenBLAS fell back to %s kernels on this CPU; OPENBLAS_CORETYPE=%s set for both "
                "(xrem's CLI does the same by itself)" % (core, want))
    return "auto: OpenBLAS picked %s by itself; nothing set" % core


BLAS_FIXUP = blas_kernel_setup(ARGS.openblas_coretype) if ARGS is not None else None

import ctypes  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, HERE)
import albef_torch as A  # noqa: E402
import convert_albef  # noqa: E402
import convert_nli  # noqa: E402
import make_goldens as G  # noqa: E402
import make_nli_goldens as N  # noqa: E402
import xrem_reference as R  # noqa: E402


# ----------------------------------------------------------------------------------------------------------
# machine notes
# ----------------------------------------------------------------------------------------------------------
def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return None


def cpu_info():
    model, flags, ident = "unknown", set(), {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key = line.split(":", 1)[0].strip()
                if key == "model name" and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif key == "flags" and not flags:
                    flags = set(line.split(":", 1)[1].split())
                elif key in ("cpu family", "model", "stepping") and key not in ident:
                    ident[key] = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_gb = round(int(line.split()[1]) / 1048576.0, 1)
    except OSError:
        pass
    return {"cpu": model, "family_model_stepping": "%s/%s/%s" % (ident.get("cpu family"), ident.get("model"),
                                                                   ident.get("stepping")),
            "nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(),
            "simd": [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags],
            "mem_gb": mem_gb, "kernel": platform.release()}


def git(*args):
    try:
        return subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def torch_blas(threads):
    x = torch.randn(64, 64)
    (x @ x).sum()
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            m = re.search(r"(/\S*(?:blas|lapack|gomp|mkl)\S*\.so\S*)", line)
            if m:
                libs.add(m.group(1))
    info = {"libs": sorted(libs)}
    ob = [p for p in libs if "openblas" in os.path.basename(p)]
    if ob:
        try:
            lib = ctypes.CDLL(ob[0])
            lib.openblas_set_num_threads(ctypes.c_int(threads))
            lib.openblas_get_num_threads.restype = ctypes.c_int
            lib.openblas_get_corename.restype = ctypes.c_char_p
            info.update(openblas_threads=lib.openblas_get_num_threads(),
                        openblas_core=lib.openblas_get_corename().decode())
        except (OSError, AttributeError) as e:
            info["openblas_error"] = str(e)
    return info


# ----------------------------------------------------------------------------------------------------------
# running commands
# ----------------------------------------------------------------------------------------------------------
class Log:
    def __init__(self):
        self.commands = []

    def run(self, cmd, what, check=True, cwd=None):
        """Run cmd (a list), record it, its wall and CPU time, the load average; returns (record, stdout)."""
        env = dict(os.environ, OMP_NUM_THREADS=str(ARGS.threads), OPENBLAS_NUM_THREADS=str(ARGS.threads))
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.time()
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        rec = {"what": what, "cmd": " ".join(cmd), "rc": p.returncode, "wall_s": round(wall, 3),
               "cpu_s": round(cpu, 2), "cores_busy": round(cpu / wall, 2) if wall > 0 else None,
               "start_unix": start, "loadavg_after": loadavg()}
        self.commands.append(rec)
        print("bench_pipeline: %-28s %7.1fs  (%s)" % (what, wall, " ".join(os.path.basename(c) if i == 0 else c
                                                                           for i, c in enumerate(cmd))[:150]),
              flush=True)
        if p.returncode != 0:
            rec["stderr"] = (p.stderr or "")[-2000:]
            if check:
                raise RuntimeError("%s failed (rc %d): %s" % (what, p.returncode, (p.stderr or p.stdout)[-2000:]))
        rec["stderr_tail"] = (p.stderr or "").strip().splitlines()[-3:]
        return rec, p.stdout

    def note(self, what, desc, wall):
        self.commands.append({"what": what, "cmd": desc, "wall_s": round(wall, 3), "loadavg_after": loadavg()})
        print("bench_pipeline: %-28s %7.1fs  (%s)" % (what, wall, desc[:150]), flush=True)


# ----------------------------------------------------------------------------------------------------------
# step 1: inputs
# ----------------------------------------------------------------------------------------------------------
def bert_base_nli_cfg(vocab_size):
    return A.BertConfig(vocab_size=vocab_size, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072,
                        max_position=512, type_vocab_size=2, fusion_layer=12, encoder_width=768)


def make_nli(tmp, vocab_path, corpus_csv, log):
    """A random full-size BERTNLI, head calibrated on corpus pairs, converted with convert_nli (--vocab)."""
    t0 = time.perf_counter()
    vocab = convert_albef.read_vocab(vocab_path)
    cfg = bert_base_nli_cfg(len(vocab))
    model = N.make_model(cfg, SEED_NLI, std=0.02)
    tok = R.BertTokenizer(vocab_file=vocab_path, do_lower_case=True)
    ids = {t: i for i, t in enumerate(vocab)}
    reps = [r for r in pd.read_csv(corpus_csv)["report"].dropna().drop_duplicates().tolist()][:32]
    prem, hyp = reps[0::2][:16], reps[1::2][:16]
    calib = N.ifcc_inputs(prem, hyp, tok.tokenize, ids, N.MAX_LEN)
    N.calibrate_head(model, *calib[:3], SEED_NLI)
    with torch.no_grad():
        labels = model(*calib[:3]).argmax(1).tolist()
    pth = os.path.join(tmp, "nli.pth")
    torch.save(N.state_dict_of(model), pth)
    del model
    h5 = os.path.join(tmp, "nli.h5")
    convert_nli.convert(pth, h5, vocab=vocab_path, quiet=True)
    os.remove(pth)
    log.note("nli weights (torch+convert)",
             "random BERTNLI at bert-base shapes (N(0,0.02), seed %d) -> make_nli_goldens.calibrate_head on 16 "
             "corpus pairs -> torch.save(state_dict) -> convert_nli.convert(--vocab %s)"
             % (SEED_NLI, vocab_path), time.perf_counter() - t0)
    return h5, {"calibration_labels_e_n_c": [labels.count(k) for k in range(3)], "size_bytes": os.path.getsize(h5)}


# ----------------------------------------------------------------------------------------------------------
# step 2: xrem stage benches
# ----------------------------------------------------------------------------------------------------------
def bench(log, xrem, what, weights, res, batch, length, threads, name):
    cmd = [xrem, "bench", what, "--weights", weights, "--batch", str(batch), "--threads", str(threads),
           "--iters", "1", "--json", "--res", str(res)]
    if what == "itm":
        cmd += ["--len", str(length)]
    rec, out = log.run(cmd, name)
    j = json.loads([ln for ln in out.splitlines() if ln.strip().startswith("{")][-1])
    return {"seconds_per_iter": j["seconds_per_iter"], "rate": batch / j["seconds_per_iter"], "batch": batch,
            "res": res, "len": length or None, "blas_core": j.get("blas_core"), "xrem_commit": j.get("commit"),
            "wall_s": rec["wall_s"], "cores_busy": rec["cores_busy"]}


def nli_timer_path(xrem):
    """The NLI timer CMake builds beside xrem (scripts/nli_timer.c, target xrem_nli_timer, linked from the same
    xrem_lib as xrem), or None."""
    exe = os.path.join(os.path.dirname(xrem), "xrem_nli_timer")
    return exe if os.access(exe, os.X_OK) else None


# ----------------------------------------------------------------------------------------------------------
# step 3: xrem run
# ----------------------------------------------------------------------------------------------------------
def proc_cpu_s(pid):
    """utime + stime of a running process (all its threads), seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def xrem_run(log, xrem, paths, filt, outdir, threads, n):
    """xrem run --batch 1: one chunk file per image. While it runs, the chunk folder is polled every 50 ms; when a
    chunk appears, the process's CPU time is read, so each image gets wall (chunk mtimes) and CPU seconds."""
    cmd = [xrem, "run", "--retrieval", paths["ret"], "--itm", paths["itm"], "--images", paths["cxr"],
           "--corpus", paths["corpus_h5"], "--out", outdir, "--k1", str(K1), "--k2", str(K2), "--k3", str(K3),
           "--filter", filt, "--batch", "1", "--threads", str(threads), "--res-retrieval", str(RES_RET),
           "--res-itm", str(RES_ITM)]
    if filt == "nli":
        cmd[cmd.index("--images"):cmd.index("--images")] = ["--nli", paths["nli"]]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    chunkdir = os.path.join(outdir, "chunks")
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    t0 = time.perf_counter()
    errf = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf, env=env)
    seen, cpu_at = set(), {}
    while True:
        done = p.poll() is not None
        try:
            names = [c for c in os.listdir(chunkdir) if c.startswith("chunk_") and c.endswith(".h5")]
        except OSError:
            names = []
        fresh = [c for c in names if c not in seen]
        if fresh and not done:
            c = proc_cpu_s(p.pid)
            for name in fresh:
                cpu_at[name] = c
        seen.update(fresh)
        if done:
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    errf.seek(0)
    err = errf.read()
    rec = {"what": "xrem run --filter %s" % filt, "cmd": " ".join(cmd), "rc": p.returncode, "wall_s": round(wall, 3),
           "cpu_s": round(cpu, 2), "cores_busy": round(cpu / wall, 2), "start_unix": start,
           "loadavg_after": loadavg(), "stderr_tail": err.strip().splitlines()[-3:]}
    log.commands.append(rec)
    print("bench_pipeline: %-28s %7.1fs  (xrem run --filter %s --batch 1, %d images)" % (rec["what"], wall, filt, n),
          flush=True)
    if p.returncode != 0:
        raise RuntimeError("xrem run failed (rc %d): %s" % (p.returncode, err[-2000:]))
    chunks = sorted(c for c in os.listdir(chunkdir) if c.startswith("chunk_") and c.endswith(".h5"))
    if len(chunks) != n:
        raise RuntimeError("xrem run wrote %d chunks for %d images" % (len(chunks), n))
    stamps = [os.stat(os.path.join(chunkdir, c)).st_mtime_ns / 1e9 for c in chunks]
    per = [b - a for a, b in zip(stamps, stamps[1:])]
    cpus = [cpu_at.get(c) for c in chunks]
    cpu_per = [b - a for a, b in zip(cpus, cpus[1:])] if None not in cpus else None
    with h5py.File(os.path.join(outdir, "run.h5"), "r") as f:
        idx = f["itc_idx"][()]
    distinct = len(set(idx.ravel().tolist()))
    return {"wall_s": rec["wall_s"], "cpu_s": rec["cpu_s"], "cores_busy": rec["cores_busy"],
            "itc_distinct_of": [distinct, int(idx.size)],
            "setup_plus_first_image_s": round(stamps[0] - start, 3),
            "image_s": [round(x, 3) for x in per],  # images 2..N
            "image_cpu_s": [round(x, 2) for x in cpu_per] if cpu_per else None,
            "per_image_s": (stamps[-1] - stamps[0]) / (n - 1),
            "per_image_cpu_s": (cpus[-1] - cpus[0]) / (n - 1) if cpu_per else None,
            "wall_per_image_s": rec["wall_s"] / n,
            "reports_csv": os.path.join(outdir, "reports.csv")}


# ----------------------------------------------------------------------------------------------------------
# step 4: the reference
# ----------------------------------------------------------------------------------------------------------
class TimedJudge:
    """NLIJudge, recording each call's pair and time."""

    def __init__(self, judge):
        self.judge, self.pairs, self.times = judge, [], []

    def __call__(self, premise, hypothesis):
        t = time.perf_counter()
        out = self.judge(premise, hypothesis)
        self.times.append(time.perf_counter() - t)
        self.pairs.append((premise, hypothesis, out))
        return out


@torch.no_grad()
def reference(log, paths, n, tmp):
    res = {"load": {}}
    t0 = time.perf_counter()
    reports, n_na, n_dup = R.read_corpus(paths["corpus_csv"])
    ret, vocab, _ = R.load_weights(paths["ret"], RES_RET)
    itm, ivocab, _ = R.load_weights(paths["itm"], RES_ITM)
    tok = R.make_tokenizer(vocab, tmp)
    itok = tok if ivocab == vocab else R.make_tokenizer(ivocab, tmp)
    judge = TimedJudge(R.NLIJudge(paths["nli"], tmp))
    img_ret, img_itm = R.Images(paths["cxr"], RES_RET), R.Images(paths["cxr"], RES_ITM)
    res["load_s"] = time.perf_counter() - t0
    log.note("reference: load", "xrem_reference read_corpus + load_weights(ret, 256) + load_weights(itm, 384) + "
             "make_tokenizer + NLIJudge(nli.h5)", res["load_s"])
    t0 = time.perf_counter()
    emb = R.generate_embeddings(ret, tok, reports)
    res["embed_s"] = time.perf_counter() - t0
    res["corpus_n"] = len(reports)
    log.note("reference: embed corpus", "xrem_reference.generate_embeddings(%d reports)" % len(reports),
             res["embed_s"])
    imgs = []
    for i in range(n):
        r = {}
        c0 = time.process_time()
        t = time.perf_counter()
        logits, probs = R.cosine_probs(ret, img_ret[i], emb)
        order = R.top_order(probs, K1)
        stage1 = "".join(reports[j] + R.DELIM for j in order)
        r["s1"] = time.perf_counter() - t
        r["s1_cpu"] = time.process_time() - c0
        t = time.perf_counter()
        cands = stage1.split(R.DELIM)
        scores = R.itm_scores(itm, itok, img_itm[i], cands)
        o2 = R.top_order(scores, K2)
        impression = "".join(cands[j] + R.DELIM for j in o2)
        r["s2"] = time.perf_counter() - t
        r["s2_cpu"] = time.process_time() - c0 - r["s1_cpu"]
        r["itm_tokens_padded"] = max(len(x) for x in itok(cands)["input_ids"])
        c2 = time.process_time()
        t = time.perf_counter()
        calls0 = len(judge.times)
        filtered = R.filter_loop(judge, impression, K3)
        r["s3"] = time.perf_counter() - t
        r["s3_cpu"] = time.process_time() - c2
        r["nli_calls"] = len(judge.times) - calls0
        r["total"] = r["s1"] + r["s2"] + r["s3"]
        r["cpu_s"] = r["s1_cpu"] + r["s2_cpu"] + r["s3_cpu"]
        r["cores_busy"] = round(r["cpu_s"] / r["total"], 2)
        r["impression"], r["filtered"] = impression, filtered
        imgs.append(r)
        log.note("reference: image %d" % (i + 1), "stage1 %.2fs stage2 %.2fs stage3 %.2fs (%d NLI calls)"
                 % (r["s1"], r["s2"], r["s3"], r["nli_calls"]), r["total"])
    res["images"] = imgs
    res["nli_pairs"] = judge.pairs
    res["nli_times"] = judge.times
    res["nli_labels"] = list(judge.judge.labels)
    res["itm_tokenize"] = itok
    del ret, itm, emb, judge
    return res


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def pipe_table(meta, pipe):
    """Section 2's rows, from what pipeline.json keeps (so --render can redo them)."""
    runs, ref, rs = pipe["runs"], pipe["reference"], pipe["ref_steady"]
    n, xn, xo = meta["images"], runs["nli"], runs["none"]
    ri = ref["images"][1:]
    xcpu, ocpu = xn.get("per_image_cpu_s"), xo.get("per_image_cpu_s")
    xp, rp = pipe["xrem_nli_s_per_pair"], pipe["ref_nli_s_per_pair"]
    calls = pipe.get("nli_calls_per_image") or mean([r["nli_calls"] for r in ri])
    embed_wall = pipe.get("xrem_embed_wall_s") or [c["wall_s"] for c in meta["commands"]
                                                   if c["what"] == "xrem embed (corpus)"][0]
    setup = pipe.get("x_setup_s", xn["setup_plus_first_image_s"] - xn["per_image_s"])
    oi = pipe["outputs_identical"]

    def cpu(key):
        return ", %.2f CPU-s" % rs[key] if rs.get(key) is not None else ""

    return [
        ("per image, stage 1 (ViT 256 + ITC top-50)", "- (not separable in the run; see the ViT 256 bench)",
         "%.2f s%s" % (rs["s1"], cpu("s1_cpu")), "-"),
        ("per image, stage 1+2 (`--filter none` run) / stage 2 (reference)",
         "%.2f s%s (stages 1+2)" % (xo["per_image_s"], ", %.2f CPU-s" % ocpu if ocpu else ""),
         "%.2f s%s (stage 2; stages 1+2: %.2f s)" % (rs["s2"], cpu("s2_cpu"), rs["s1"] + rs["s2"]),
         "%.2fx (1+2 vs 1+2)" % ((rs["s1"] + rs["s2"]) / xo["per_image_s"])),
        ("per image, stage 3 (NLI, %.1f calls/image)" % calls,
         "%.2f s%s (nli run - none run); direct: %.2f s" % (
             xn["per_image_s"] - xo["per_image_s"], ", %.2f CPU-s" % (xcpu - ocpu) if xcpu and ocpu else "",
             calls * xp), "%.2f s%s" % (rs["s3"], cpu("s3_cpu")), "%.2fx (direct, per pair)" % (rp / xp)),
        ("**per image, whole (images 2..%d)**" % n, "**%.2f s**" % xn["per_image_s"], "**%.2f s**" % rs["total"],
         "**%.2fx**" % (rs["total"] / xn["per_image_s"])),
        ("per image, CPU seconds (all threads; less sensitive to other jobs)", "%.2f s" % xcpu if xcpu else "-",
         "%.2f s" % rs["cpu_s"], "%.2fx" % (rs["cpu_s"] / xcpu) if xcpu else "-"),
        ("cores kept busy per image (CPU s / wall s, of %d threads)" % meta["threads"],
         ", ".join("%.2f" % (c / w) for c, w in zip(xn.get("image_cpu_s") or [], xn["image_s"])),
         ", ".join("%.2f" % r["cores_busy"] for r in ri), "-"),
        ("wall seconds of images 2..%d" % n, ", ".join("%.2f" % x for x in xn["image_s"]),
         ", ".join("%.2f" % r["total"] for r in ri), "-"),
        ("first image incl. model load", "%.2f s (setup ~%.1f s)" % (xn["setup_plus_first_image_s"], setup),
         "%.2f s + load %.1f s" % (ref["images"][0]["total"], ref["load_s"]), "-"),
        ("corpus embedding (%d reports)" % meta["corpus_n"], "%.1f s (xrem embed, separate command, cached)"
         % embed_wall, "%.1f s (every run)" % ref["embed_s"], "%.2fx" % (ref["embed_s"] / embed_wall)),
        ("whole job, %d images (embed + run)" % n, "%.1f s" % pipe["xrem_whole_job_s"],
         "%.1f s (load + embed + images)" % pipe["ref_whole_job_s"],
         "%.2fx" % (pipe["ref_whole_job_s"] / pipe["xrem_whole_job_s"])),
        ("outputs identical (impression / filtered)", "%d/%d, %d/%d" % (oi["impression"], oi["of"], oi["filtered"],
                                                                       oi["of"]), "-", "-"),
    ]


# ----------------------------------------------------------------------------------------------------------
# outputs
# ----------------------------------------------------------------------------------------------------------
def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def f3(x):
    return "-" if x is None else "%.3f" % x if x < 10 else "%.2f" % x if x < 100 else "%.1f" % x


def markdown(meta, st, pipe):
    m = meta["machine"]
    L = ["# X-REM pipeline on CPU: xrem stages, and `xrem run` vs the reference control flow (PyTorch)", "",
         "Made by `%s` on %s, total %.0f s." % (meta["command"], meta["date"], meta["total_s"]), "",
         "- machine: %s (family/model/stepping %s), nproc %d, %s GB RAM, SIMD %s, Linux %s" % (
             m["cpu"], m["family_model_stepping"], m["nproc"], m["mem_gb"], "/".join(m["simd"]) or "-", m["kernel"]),
         "- commit: %s%s (xrem binary reports %s)" % (meta["commit"], " + uncommitted changes" if meta["dirty"]
                                                       else "", meta.get("xrem_commit")),
         "- torch %s, transformers %s, numpy %s, pandas %s (Debian /usr/bin/python3 %s)" % (
             meta["torch"]["version"], meta["transformers"], meta["numpy"], meta["pandas"], meta["python"]),
         "- threads: %d for both. xrem `--threads %d`; torch `set_num_threads(%d)`, OPENBLAS_NUM_THREADS=%d "
         "(torch's OpenBLAS reports %s threads)" % (meta["threads"], meta["threads"], meta["threads"],
                                                     meta["threads"], meta["torch"]["blas"].get("openblas_threads")),
         "- OpenBLAS kernels: torch %s, xrem %s (%s)" % (meta["torch"]["blas"].get("openblas_core"),
                                                         meta.get("xrem_blas_core"), meta["openblas_kernel_choice"]),
         "- load average (1/5/15 min): before %s, after %s%s" % (
             meta["loadavg_before"], meta["loadavg_after"],
             " — the machine was shared with other jobs: every number is lower and noisier than on a quiet "
             "machine" if meta["busy"] else ""),
         "- models: full size, random (ALBEF retrieval ViT-B/16 + BERT-base, seed %d; ALBEF ITM, seed %d: "
         "`xrem dev random-weights --preset full`, N(0, 0.02), real bert-base-uncased vocab; NLI: ifcc BERTNLI at "
         "bert-base shapes, seed %d, head calibrated so all labels occur, converted with scripts/convert_nli.py)"
         % (SEED_RET, SEED_ITM, SEED_NLI),
         "- inputs: %d synthetic CXRs (`xrem dev synth-images --seed %d`), IU X-Ray corpus: %d rows "
         "(`xrem dev iu-reports --corpus-max %d`) -> %d reports after NaN/duplicate drop"
         % (meta["images"], SEED_IMG, meta["corpus_rows"], meta["corpus_rows"], meta["corpus_n"]), "",
         "## 1. xrem per-stage throughput (CPU, %d threads)" % meta["threads"], "",
         "| stage | what | xrem | seconds |", "|---|---|---|---|"]
    for r in st:
        L.append("| %s | %s | %s %s | %s |" % (r["stage"], r["what"], f3(r["rate"]) if r.get("rate") else "-",
                                               r["unit"], r["seconds"]))
    L += ["", "## 2. Whole per-image cost: `xrem run` vs the reference control flow", "",
          "K1 %d, K2 %d, K3 %d, NLI filter, retrieval at %d, ITM at %d; %d images; per image = images 2..N "
          "(models loaded, first image done), same machine, same threads, same weights and inputs."
          % (K1, K2, K3, RES_RET, RES_ITM, meta["images"]), "",
          "| | xrem run | reference (PyTorch) | xrem speed-up |", "|---|---|---|---|"]
    for row in pipe["table"]:
        L.append("| %s | %s | %s | %s |" % row)
    L += ["", "**Per image: xrem %.2f s, reference %.2f s: xrem is %.2fx the reference (goal >= %.0fx: %s).**"
          % (pipe["xrem_per_image_s"], pipe["ref_per_image_s"], pipe["ratio"], GOAL,
             "met" if pipe["ratio"] >= GOAL else "NOT met"), ""]
    L += ["For the %d images of the published evaluation at these rates: xrem %.1f h, reference %.1f h (%d threads)."
          % (TEST_IMAGES, pipe["xrem_per_image_s"] * TEST_IMAGES / 3600, pipe["ref_per_image_s"] * TEST_IMAGES / 3600,
             meta["threads"]), ""]
    L += ["## How each number was taken", ""] + ["- " + x for x in meta["method"]] + [""]
    xb = meta["xrem_binary"]
    L += ["## Commands", "", "Temporary folder `$T` (deleted at the end); `$X` = `$T/bin/xrem`, a copy of %s taken at "
          "the start (mtime %s, sha256 %s…; %s), with build/xrem_nli_timer beside it (other engineers rebuild "
          "build/ meanwhile)." % (xb["path"], xb["mtime"], xb["sha256"][:16],
                                                    "up to date with the work tree by `make -n`"
                                                    if xb["make_n_up_to_date"] else
                                                    "NOT up to date with the work tree by `make -n`"), ""]
    for c in meta["commands"]:
        L.append("- %s (%.1f s): `%s`" % (c["what"], c["wall_s"], c["cmd"].replace(
            os.path.join(meta["tmp"], "bin", "xrem_nli_timer"), "$T/bin/xrem_nli_timer").replace(
            os.path.join(meta["tmp"], "bin", "xrem "), "$X ").replace(meta["tmp"], "$T")))
    L += [""]
    if meta["notes"]:
        L += ["## Notes", ""] + ["- " + n for n in meta["notes"]] + [""]
    return "\n".join(L)


# ----------------------------------------------------------------------------------------------------------
def render(path):
    with open(path) as f:
        d = json.load(f)
    meta, pipe = d["meta"], d["pipeline"]
    pipe["table"] = pipe_table(meta, pipe)
    write_atomic(path, json.dumps(d, indent=1) + "\n")
    md = markdown(meta, pipe["stages"], pipe)
    write_atomic(os.path.splitext(path)[0] + ".md", md)
    print(md)
    return 0


def main():
    a = ARGS
    if a.render:
        return render(a.render)
    t_start = time.time()
    xrem = os.path.abspath(a.xrem)
    for p, what in ((xrem, "xrem binary"), (a.vocab, "vocabulary"), (a.tgz, "IU reports archive")):
        if not os.path.exists(p):
            print("bench_pipeline: %s %s not found" % (what, p), file=sys.stderr)
            return 2
    if not nli_timer_path(xrem):
        print("bench_pipeline: xrem_nli_timer not found beside %s: build it with cmake --build %s --target "
              "xrem_nli_timer" % (xrem, os.path.dirname(xrem)), file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    import transformers
    meta = {"command": "/usr/bin/python3 scripts/bench_pipeline.py " + " ".join(sys.argv[1:]),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": cpu_info(), "commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "modified_files": [ln.split(None, 1)[1] for ln in (git("status", "--porcelain", "--untracked-files=no")
                                                                or "").splitlines() if ln.strip()],
            "python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
            "transformers": transformers.__version__,
            "torch": {"version": torch.__version__, "blas": torch_blas(a.threads)},
            "xrem": xrem, "threads": a.threads, "images": a.images, "corpus_rows": a.corpus,
            "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"), "openblas_kernel_choice": BLAS_FIXUP,
            "loadavg_before": loadavg(), "notes": [], "method": []}
    meta["torch"]["num_threads"] = torch.get_num_threads()
    print("bench_pipeline: %s, nproc %d, load %s, %d threads, torch %s, %s" % (
        meta["machine"]["cpu"], meta["machine"]["nproc"], meta["loadavg_before"], a.threads, torch.__version__,
        BLAS_FIXUP), flush=True)
    log = Log()
    tmp = tempfile.mkdtemp(prefix="xrem-bench-pipeline-", dir=a.tmpdir)
    meta["tmp"] = tmp
    # a snapshot of the binary and its libraries: other engineers rebuild build/ while this runs
    snap = os.path.join(tmp, "bin")
    os.makedirs(snap)
    for f_ in ("xrem", "xrem_nli_timer"):
        shutil.copy2(os.path.join(os.path.dirname(xrem), f_), snap)
    meta["xrem_binary"] = {"path": xrem, "mtime": datetime.datetime.fromtimestamp(os.path.getmtime(xrem)).astimezone()
                           .isoformat(timespec="seconds"),
                           "sha256": subprocess.run(["sha256sum", xrem], capture_output=True, text=True)
                           .stdout.split()[0],
                           "make_n_up_to_date": not re.search(r"Building|Linking", subprocess.run(
                               ["make", "-n", "xrem", "xrem_nli_timer"], cwd=os.path.dirname(xrem), capture_output=True,
                               text=True).stdout)}
    xrem = os.path.join(snap, "xrem")
    P = {k: os.path.join(tmp, v) for k, v in (("corpus_csv", "corpus.csv"), ("gt", "gt.csv"), ("cxr", "cxr.h5"),
                                              ("ret", "ret.h5"), ("itm", "itm.h5"), ("corpus_h5", "corpus.h5"))}
    stages, pipe = [], {}
    try:
        # ---- 1. inputs
        log.run([xrem, "dev", "iu-reports", "--tgz", a.tgz, "--corpus", P["corpus_csv"], "--gt", P["gt"],
                 "--corpus-max", str(a.corpus)], "iu reports")
        log.run([xrem, "dev", "synth-images", "--n", str(a.images), "--seed", str(SEED_IMG), "--out", P["cxr"]],
                "synthetic images")
        log.run([xrem, "dev", "random-weights", "--arch", "albef_retrieval", "--preset", "full", "--vocab", a.vocab,
                 "--seed", str(SEED_RET), "--out", P["ret"]], "retrieval weights")
        log.run([xrem, "dev", "random-weights", "--arch", "albef_itm", "--preset", "full", "--vocab", a.vocab,
                 "--seed", str(SEED_ITM), "--out", P["itm"]], "itm weights")
        P["nli"], meta["nli_model"] = make_nli(tmp, a.vocab, P["corpus_csv"], log)
        timer = os.path.join(snap, "xrem_nli_timer")

        # ---- 2. stage benches
        vb = a.vit_batch
        b = bench(log, xrem, "vit", P["ret"], RES_RET, vb, 0, a.threads, "bench vit 256 (retrieval)")
        meta["xrem_commit"], meta["xrem_blas_core"] = b["xrem_commit"], b["blas_core"]
        stages.append(dict(b, stage="ViT 256 + ITC projection", what="retrieval model, batch %d" % vb,
                           unit="images/s", seconds="%.2f s/batch" % b["seconds_per_iter"]))
        b = bench(log, xrem, "vit", P["itm"], RES_ITM, vb, 0, a.threads, "bench vit 384 (itm)")
        stages.append(dict(b, stage="ViT 384", what="ITM model's ViT, batch %d" % vb, unit="images/s",
                           seconds="%.2f s/batch" % b["seconds_per_iter"]))
        b = bench(log, xrem, "itm", P["itm"], RES_ITM, K1 + 1, 40, a.threads, "bench itm (51 x 40 tokens)")
        stages.append(dict(b, stage="ITM re-rank", what="one image at 384 (ViT included), 51 candidates x 40 "
                                                        "tokens", unit="pairs/s",
                           seconds="%.2f s/image" % b["seconds_per_iter"]))
        c20 = os.path.join(tmp, "corpus20.csv")
        pd.read_csv(P["corpus_csv"]).head(20).to_csv(c20, index=False)
        small, _ = log.run([xrem, "embed", "--weights", P["ret"], "--corpus", c20, "--out",
                            os.path.join(tmp, "corpus20.h5"), "--threads", str(a.threads)], "xrem embed (20 rows)")
        full, _ = log.run([xrem, "embed", "--weights", P["ret"], "--corpus", P["corpus_csv"], "--out",
                           P["corpus_h5"], "--threads", str(a.threads)], "xrem embed (corpus)")
        with h5py.File(P["corpus_h5"], "r") as f:
            n_full = f["text_feat"].shape[0]
        with h5py.File(os.path.join(tmp, "corpus20.h5"), "r") as f:
            n_small = f["text_feat"].shape[0]
        meta["corpus_n"] = n_full
        emb_rate = (n_full - n_small) / max(full["wall_s"] - small["wall_s"], 1e-9)
        stages.append(dict(stage="corpus embedding", what="xrem embed, %d reports (text layers 0-5 + text_proj, "
                                                          "25 ids); load cost subtracted" % n_full,
                           unit="reports/s", rate=emb_rate,
                           seconds="%.1f s wall (%.1f s for %d reports)" % (full["wall_s"], small["wall_s"], n_small)))

        # ---- 3. xrem run
        runs = {}
        for filt in ("nli", "none"):
            runs[filt] = xrem_run(log, xrem, P, filt, os.path.join(tmp, "run_" + filt), a.threads, a.images)

        # ---- 4. the reference
        ref = reference(log, P, a.images, tmp)
        meta["ref_corpus_n"] = ref["corpus_n"]

        # ---- NLI direct timing on the pairs the reference judged
        pairs = ref["nli_pairs"]
        pf = os.path.join(tmp, "pairs.bin")
        with open(pf, "wb") as f:
            for p_, h_, _ in pairs:
                f.write(p_.encode("utf-8") + b"\0" + h_.encode("utf-8") + b"\0")
        rec, out = log.run([timer, P["nli"], pf, str(a.threads), "16"], "xrem NLI, direct (nli_timer)")
        nt = json.loads(out.strip().splitlines()[-1])
        tok = ref["itm_tokenize"]
        pair_tokens = [len(tok.tokenize(p_.lower())) + len(tok.tokenize(h_.lower())) + 3 for p_, h_, _ in pairs]
        xrem_pair_s = nt["seconds"] / nt["calls"]
        ref_pair_s = mean(ref["nli_times"])
        ref_labels = "".join({"entailment": "e", "neutral": "n", "contradiction": "c"}[o] for _, _, o in pairs)
        nli_label_agree = sum(x == y for x, y in zip(nt["labels"], ref_labels))
        stages.append(dict(stage="NLI filter", what="BERT-base NLI, one pair per call, the %d pairs the filter "
                                                    "judged (mean %.0f tokens)" % (len(pairs), mean(pair_tokens)),
                           unit="pairs/s", rate=1.0 / xrem_pair_s,
                           seconds="%.3f s/pair (reference %.3f s/pair: %.2fx)" % (xrem_pair_s, ref_pair_s,
                                                                                  ref_pair_s / xrem_pair_s)))
        nli_diff = runs["nli"]["per_image_s"] - runs["none"]["per_image_s"]
        stages.append(dict(stage="NLI filter (in xrem run)", what="per image: run --filter nli minus --filter none, "
                                                                  "images 2..N", unit="s/image", rate=None,
                           seconds="%.2f s/image (%.2f - %.2f)%s" % (
                               nli_diff, runs["nli"]["per_image_s"], runs["none"]["per_image_s"],
                               "; CPU %.2f s/image" % (runs["nli"]["per_image_cpu_s"] - runs["none"]["per_image_cpu_s"])
                               if runs["nli"]["per_image_cpu_s"] and runs["none"]["per_image_cpu_s"] else "")))

        # ---- parity of the two runs
        xr = pd.read_csv(runs["nli"]["reports_csv"], keep_default_na=False)
        same_imp = sum(str(x) == r["impression"] for x, r in zip(xr["Report Impression"], ref["images"]))
        same_fil = sum(str(x) == r["filtered"] for x, r in zip(xr["filtered"], ref["images"]))

        # ---- per image
        ri = ref["images"][1:]
        rs = {k: mean([r[k] for r in ri]) for k in ("s1", "s2", "s3", "total", "cpu_s", "s1_cpu", "s2_cpu", "s3_cpu")}
        xper = runs["nli"]["per_image_s"]
        calls_steady = mean([r["nli_calls"] for r in ri])
        pipe.update(xrem_per_image_s=xper, ref_per_image_s=rs["total"], ratio=rs["total"] / xper)
        if runs["nli"]["per_image_cpu_s"]:
            pipe["cpu_ratio"] = rs["cpu_s"] / runs["nli"]["per_image_cpu_s"]
        x_load = runs["nli"]["setup_plus_first_image_s"] - xper
        ref_all = ref["load_s"] + ref["embed_s"] + sum(r["total"] for r in ref["images"])
        x_all = full["wall_s"] + runs["nli"]["wall_s"]
        pipe.update(runs=runs, reference={k: v for k, v in ref.items() if k not in ("nli_pairs", "itm_tokenize")},
                    ref_steady=rs, nli_timer=nt, nli_pair_tokens=pair_tokens, xrem_nli_s_per_pair=xrem_pair_s,
                    ref_nli_s_per_pair=ref_pair_s, nli_labels_agree="%d/%d" % (nli_label_agree, len(pairs)),
                    ref_nli_labels_e_n_c=ref["nli_labels"], outputs_identical={"impression": same_imp,
                                                                               "filtered": same_fil, "of": a.images},
                    xrem_whole_job_s=x_all, ref_whole_job_s=ref_all, xrem_embed_wall_s=full["wall_s"],
                    nli_calls_per_image=calls_steady, x_setup_s=x_load)
        pipe["table"] = pipe_table(meta, pipe)
        for r in pipe["reference"]["images"]:
            r.pop("impression", None)
            r.pop("filtered", None)
        meta["method"] = [
            "xrem stage benches: `xrem bench` with `--iters 1` (one warm-up iteration, then one timed); inputs are "
            "the bench's own synthetic pixels and token ids (src/cli/cmd_bench.c).",
            "corpus embedding rate: (reports(corpus) - reports(20 rows)) / (wall(corpus) - wall(20 rows)) of "
            "`xrem embed`, so the model load is not counted.",
            "NLI pairs/s (xrem): xrem_nli_timer (scripts/nli_timer.c, built by CMake beside xrem from the same "
            "xrem_lib) loads nli.h5 and calls xrem_nli_classify with one pair per call (as the sequential stage-3 "
            "loop asks) on exactly the pairs the reference's stage 3 judged, repeated to >= "
            "16 calls after one warm-up call. Reference: the NLIJudge calls timed inside its stage 3. Label "
            "agreement of the two on those pairs: %d/%d." % (nli_label_agree, len(pairs)),
            "xrem run: `--batch 1`, so each image is its own chunk file; per image = (mtime of the last chunk - "
            "mtime of the first) / (N - 1), i.e. images 2..N with models loaded and the first image done. The "
            "default --batch 4 would share the text layers of reports that several images of a chunk retrieve; "
            "with random weights the images' top-50 lists overlap heavily, so that would flatter xrem.",
            "xrem NLI cost in the run: per image of `--filter nli` minus per image of `--filter none` (two "
            "separate runs: on a shared machine this difference is noisy; the direct timing is the clean one).",
            "reference: scripts/xrem_reference.py imported as a module in this process (torch %s, %d threads); its "
            "functions called in stages_1_2's order, one image at a time, each stage timed; per image = mean of "
            "images 2..N (image 1 includes torch's warm-up). Stage 3 is the real filter loop with its NLIJudge "
            "(ifcc BERTNLI module, full size, one pair per call). Corpus embedding (generate_embeddings, one batch "
            "of 2000) and model loading are reported apart: the reference redoes them in every run; xrem embeds "
            "once into a cache (xrem embed) and loads models in its setup." % (torch.__version__, a.threads),
            "speed-up = reference seconds / xrem seconds (> 1: xrem faster).",
        ]
        pipe["stages"] = stages
    finally:
        meta["loadavg_after"] = loadavg()
        if a.keep_tmp:
            print("bench_pipeline: kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    meta["commands"] = log.commands
    meta["total_s"] = round(time.time() - t_start, 1)
    nproc = meta["machine"]["nproc"]
    loads = [meta["loadavg_before"][0], meta["loadavg_after"][0]] + [c["loadavg_after"][0] for c in log.commands
                                                                     if c.get("loadavg_after")]
    meta["loadavg_1min_max"] = max(loads)
    meta["busy"] = max(loads) > 0.5 * nproc
    if meta["busy"]:
        meta["notes"].append("1-min load average up to %.2f on %d cores during the run (other jobs): both sides "
                             "got less than %d cores at times; ratios are more robust than absolute rates, but "
                             "the two sides ran at different moments, so even the ratio carries that noise"
                             % (max(loads), nproc, a.threads))
    if meta.get("xrem_commit") and meta["commit"] and meta["xrem_commit"] != meta["commit"]:
        meta["notes"].append("the xrem binary reports commit %s, the tree is at %s (XREM_GIT_COMMIT is stamped when "
                             "cmake configures build/); `make -n` found the binary %s the work tree (which holds "
                             "other engineers' uncommitted edits: %s)"
                             % (meta["xrem_commit"], meta["commit"], "up to date with"
                                if meta["xrem_binary"]["make_n_up_to_date"] else "older than",
                                ", ".join(meta["modified_files"]) or "none"))
    if meta.get("xrem_blas_core") and meta["torch"]["blas"].get("openblas_core") and \
            meta["xrem_blas_core"] != meta["torch"]["blas"]["openblas_core"]:
        meta["notes"].append("the two sides ran different OpenBLAS kernels: torch %s, xrem %s"
                             % (meta["torch"]["blas"]["openblas_core"], meta["xrem_blas_core"]))
    oi = pipe["outputs_identical"]
    if oi["impression"] != oi["of"] or oi["filtered"] != oi["of"]:
        meta["notes"].append("xrem and the reference differ on %d impressions / %d filtered reports (random "
                             "full-size weights: near-ties in ITC/ITM scores or NLI margins can flip an order "
                             "between two float32 implementations)" % (oi["of"] - oi["impression"],
                                                                       oi["of"] - oi["filtered"]))
    busy_x = pipe["runs"]["nli"]["cores_busy"]
    busy_r = mean([r["cores_busy"] for r in pipe["reference"]["images"]])
    if min(busy_x, busy_r) < 0.6 * a.threads:
        meta["notes"].append("cores kept busy (CPU s / wall s): xrem run %.2f, reference %.2f of %d threads: other jobs "
                             "held the CPUs. With more runnable threads than cores, every OpenMP barrier can wait a "
                             "scheduler slice for a descheduled thread, so stages made of many small parallel "
                             "regions (NLI on one short pair, text layers) slow down far more than the big GEMMs; "
                             "the CPU-seconds row is the less load-sensitive comparison"
                             % (busy_x, busy_r, a.threads))
    d, t = pipe["runs"]["nli"]["itc_distinct_of"]
    meta["notes"].append("the %d images' top-%d lists hold %d distinct reports of %d (random weights make the images' "
                         "retrievals overlap; with --batch 1 xrem shares nothing across images, as the reference)"
                         % (a.images, K1, d, t))
    if pipe["ratio"] < GOAL:
        meta["notes"].append("the goal (xrem >= %.0fx the reference per image on CPU) is not met: %.2fx (CPU seconds: "
                             "%s)" % (GOAL, pipe["ratio"], "%.2fx" % pipe["cpu_ratio"] if pipe.get("cpu_ratio") else "-"))
    os.makedirs(a.out, exist_ok=True)
    write_atomic(os.path.join(a.out, "pipeline.json"), json.dumps({"meta": meta, "pipeline": pipe}, indent=1,
                                                                  default=float) + "\n")
    md = markdown(meta, stages, pipe)
    write_atomic(os.path.join(a.out, "pipeline.md"), md)
    print()
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
