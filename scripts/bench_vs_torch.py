#!/usr/bin/python3
"""xrem vs PyTorch: forward throughput of the X-REM models on the same weights, same machine, one run.

Interpreter: Debian's /usr/bin/python3 (python3-torch 1.13 CPU, numpy, h5py). No network, no downloads.

usage: bench_vs_torch.py [--xrem build/xrem] [--threads 2] [--iters 3] [--out results/bench_vs_torch]
                         [--tmpdir DIR] [--vocab VOCAB.txt] [--openblas-coretype auto|keep|CORE]
                         [--cases vit384 vit256 bert itm]

What it does
  1. Builds random full-size checkpoints (ViT-B/16 at checkpoint res 256 + BERT-base; weights N(0, 0.02)) in
     the real key layouts with scripts/make_goldens.py (retrieval: seed 31; ITM: seed 32), saves them as .pth
     and converts them with scripts/convert_albef.py, all inside a temporary folder that is deleted at the end
     (it holds ~4 GB).
  2. For every case runs `xrem bench CASE --weights W.h5 --threads N --iters I --json` (a warm-up iteration,
     then I timed ones, see src/cli/cmd_bench.c) and the same forward in PyTorch (scripts/albef_torch.py
     modules loaded from the same .pth, torch.set_num_threads(N), no_grad, eval, one warm-up + I timed
     iterations with time.perf_counter):
       vit384  ITM model's ViT at 384 (pos_embed interpolated bicubic from the 256 grid, as ALBEF), batch 8
               -> image_embeds only. xrem gets 1 gray channel (channel-summed patch weights), torch 3 copies.
       vit256  retrieval model's ViT at 256, batch 8 -> image_embeds + vision_proj + L2-normalise (ITC features),
               which is what `xrem bench vit` computes on a retrieval model.
       bert    retrieval model's BERT layers 0..5 (text mode) + text_proj + L2-normalise, batch 64, length 25.
       itm     ITM model at 384: ONE image, 51 candidate texts (X-REM's K1+1) of 40 tokens. xrem: ViT once,
               text layers once per text, fusion layers 6..11 with cross-attention, cls_head. PyTorch is run
               the reference X-REM way: image_embeds once, repeated per candidate, text_encoder in its default
               multi_modal mode over all 51 candidates (padding='longest' -> 51 x 40 here, all tokens real),
               cls_head on [CLS]. Its seconds per iteration is the reference's per-image ITM-stage cost.
     Inputs are the ones xrem bench builds (same pixel / id formulas), so both see the same tensors.
  3. Writes OUT.md (table: case, xrem rate, torch rate, ratio xrem/torch, threads, batch) and OUT.json, both
     with the machine, commit, date, torch version, BLAS/thread notes and the load average before and after;
     prints the table.

Threads: torch.set_num_threads(N) for ATen/OpenMP, and OPENBLAS_NUM_THREADS=N (set before torch loads: Debian's
torch calls its BLAS through libblas.so.3 = OpenBLAS pthread build, which set_num_threads does not reach); xrem
gets --threads N (OpenMP + the OpenBLAS OpenMP build). The OpenBLAS kernel set each side picks is recorded:
Debian's OpenBLAS 0.3.21 falls back to Prescott (SSE3) kernels on CPUs newer than it knows (e.g. family 6 model
207). xrem's CLI then re-executes itself with OPENBLAS_CORETYPE=SkylakeX/Haswell (src/cli/main.c); the default
--openblas-coretype auto applies the same rule to torch, so both sides run the same kernels; `keep` runs both
with what OpenBLAS picks (XREM_NO_BLAS_FIXUP=1); a core name sets OPENBLAS_CORETYPE for both.
Each case also records the cores each side kept busy (CPU time / wall time): on a shared machine that shows
how much the other jobs took.
"""
import argparse
import ctypes
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


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Benchmark xrem against PyTorch on the same random full-size weights.")
    ap.add_argument("--xrem", default=os.path.join(ROOT, "build", "xrem"), help="xrem binary (default build/xrem)")
    ap.add_argument("--threads", type=int, default=2, help="threads for both (default 2)")
    ap.add_argument("--iters", type=int, default=3, help="timed iterations after one warm-up (default 3)")
    ap.add_argument("--out", default=os.path.join(ROOT, "results", "bench_vs_torch"),
                    help="output prefix: writes OUT.md and OUT.json (default results/bench_vs_torch)")
    ap.add_argument("--tmpdir", default=None, help="where the temporary checkpoints go (default: $TMPDIR or /tmp)")
    ap.add_argument("--vocab", default=None, help="bert-base-uncased vocab.txt (default ../shared/data copy; "
                                                  "without one the weights files get no tokenizer group)")
    ap.add_argument("--openblas-coretype", default="auto", metavar="auto|keep|CORE",
                    help="OpenBLAS kernels for both sides. auto (default): xrem's own rule, applied to torch too -- "
                         "if OpenBLAS fell back to an SSE kernel (Prescott...) on an AVX2/AVX-512 CPU, set "
                         "OPENBLAS_CORETYPE=SkylakeX/Haswell; keep: as the environment gives (xrem's fix-up off "
                         "through XREM_NO_BLAS_FIXUP=1); CORE: OPENBLAS_CORETYPE=CORE for both")
    ap.add_argument("--cases", nargs="*", default=None, choices=["vit384", "vit256", "bert", "itm"],
                    help="run only these cases (default all)")
    a = ap.parse_args(argv)
    if a.threads < 1 or a.iters < 1:
        ap.error("--threads and --iters must be >= 1")
    return a


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    # PyTorch's BLAS here is Debian's OpenBLAS (pthread build, through libblas.so.3): torch.set_num_threads does
    # not reach it, its own default is every core. Pin it (and OpenMP) before torch loads it.
    os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
    os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


SLOW_CORES = ("prescott", "core2", "nehalem", "sandybridge")  # the kernels xrem's CLI refuses (src/cli/main.c)


def torch_openblas_core_in_child():
    """The OpenBLAS kernel set torch would get in this environment (asked before torch loads here)."""
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
    """Set the OpenBLAS kernel choice for torch (this process, before it loads) and xrem (inherits the env)."""
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

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, HERE)
import albef_torch as A  # noqa: E402
import convert_albef  # noqa: E402
import make_goldens as G  # noqa: E402

# case: (model, res, batch, len, xrem bench kind, unit)
CASES = {
    "vit384": ("itm", 384, 8, 0, "vit", "images/s"),
    "vit256": ("retrieval", 256, 8, 0, "vit", "images/s"),
    "bert": ("retrieval", 0, 64, 25, "bert", "sequences/s"),
    "itm": ("itm", 384, 51, 40, "itm", "pairs/s"),
}
SEEDS = {"retrieval": 31, "itm": 32}
ARCH = {"retrieval": "albef_retrieval", "itm": "albef_itm"}
CKPT_RES = {"retrieval": 256, "itm": 384}  # the run res recorded in the converted file
TEST_IMAGES = 2192  # MIMIC-CXR AP/PA test images of the published evaluation (DESIGN §2)


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
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError, ValueError):
        nproc = len(os.sched_getaffinity(0))
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_gb = round(int(line.split()[1]) / 1048576.0, 1)
    except OSError:
        pass
    return {"cpu": model, "family_model_stepping": "%s/%s/%s" % (ident.get("cpu family"), ident.get("model"),
                                                                   ident.get("stepping")), "nproc": nproc, "cpu_count": os.cpu_count(), "simd": simd, "mem_gb": mem_gb,
            "kernel": platform.release()}


def git(*args):
    try:
        return subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def torch_blas():
    """Which BLAS this process's torch uses (from /proc/self/maps), pinned to --threads, and its config."""
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
            lib.openblas_set_num_threads(ctypes.c_int(ARGS.threads))
            lib.openblas_get_num_threads.restype = ctypes.c_int
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            info.update(openblas_threads=lib.openblas_get_num_threads(),
                        openblas_config=lib.openblas_get_config().decode(),
                        openblas_core=lib.openblas_get_corename().decode())
        except (OSError, AttributeError) as e:
            info["openblas_error"] = str(e)
    return info


def xrem_libs(xrem):
    try:
        out = subprocess.run(["ldd", xrem], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return sorted({m.group(1) for m in re.finditer(r"=>\s*(\S*(?:blas|lapack|gomp|omp|mkl)\S*)", out)})


def openblas_core_of(lib):
    """The kernel set a (DYNAMIC_ARCH) OpenBLAS picks on this CPU by itself (OPENBLAS_CORETYPE unset), asked
    in a child process so that two OpenBLAS builds never share one process."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    code = ("import ctypes,sys; l=ctypes.CDLL(sys.argv[1]); l.openblas_get_corename.restype=ctypes.c_char_p; "
            "l.openblas_get_config.restype=ctypes.c_char_p; "
            "print(l.openblas_get_corename().decode()); print(l.openblas_get_config().decode())")
    try:
        out = subprocess.run([sys.executable, "-c", code, lib], capture_output=True, text=True, check=True,
                             timeout=60, env=env).stdout.splitlines()
        return {"lib": lib, "core": out[0], "config": out[1]}
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired, IndexError) as e:
        return {"lib": lib, "error": str(e)}


# ----------------------------------------------------------------------------------------------------------
# inputs, exactly as src/cli/cmd_bench.c builds them
# ----------------------------------------------------------------------------------------------------------
def bench_image(B, R):
    i = np.arange(B * R * R, dtype=np.uint64)
    v = (((i * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)) >> np.uint64(16)) % np.uint64(255)
    gray = torch.from_numpy((v.astype(np.float32) / np.float32(64.0) - np.float32(2.0)).reshape(B, 1, R, R))
    return gray.expand(B, 3, R, R).contiguous()  # gray -> 3 identical channels, as the reference preprocessing


def bench_text(M, L):
    i = np.arange(M * L, dtype=np.uint64)
    ids = np.where(i % np.uint64(L) != 0,
                   np.uint64(1000) + ((i * np.uint64(7919)) & np.uint64(0xFFFFFFFF)) % np.uint64(28000),
                   np.uint64(101)).astype(np.int64).reshape(M, L)
    return torch.from_numpy(ids), torch.ones(M, L, dtype=torch.long)


# ----------------------------------------------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------------------------------------------
def make_weights(kind, tmp, vocab_tokens):
    vit, bert, embed_dim = G.full_cfg()
    t0 = time.time()
    model, ckpt = G.make_checkpoint(ARCH[kind], vit, bert, embed_dim, SEEDS[kind], queue_size=256, std=0.02)
    del model
    pth = os.path.join(tmp, "%s.pth" % kind)
    torch.save(ckpt, pth)
    del ckpt
    h5 = os.path.join(tmp, "%s.weights.h5" % kind)
    convert_albef.convert(pth, h5, ARCH[kind], vocab_tokens=vocab_tokens, no_vocab=vocab_tokens is None,
                          image_res=CKPT_RES[kind], vit_heads=vit.heads, bert_heads=bert.num_heads, quiet=True)
    print("bench_vs_torch: %s checkpoint + conversion in %.1fs (%.2f GB .pth, %.2f GB .h5)"
          % (kind, time.time() - t0, os.path.getsize(pth) / 1e9, os.path.getsize(h5) / 1e9), flush=True)
    return pth, h5


def load_torch(kind, pth, res):
    vit, bert, embed_dim = G.full_cfg()
    model = G.build_model(ARCH[kind], G.with_run_res(vit, res), bert, embed_dim, 256).eval()
    ck = torch.load(pth, map_location="cpu")
    A.load_albef_state(model, ck, strict=True)  # pos_embed interpolated (bicubic) to the run grid, as ALBEF
    del ck
    return model


# ----------------------------------------------------------------------------------------------------------
# the two sides
# ----------------------------------------------------------------------------------------------------------
def run_xrem(xrem, what, h5, res, batch, L, threads, iters):
    cmd = [xrem, "bench", what, "--weights", h5, "--batch", str(batch), "--threads", str(threads),
           "--iters", str(iters), "--json"]
    if what != "bert":
        cmd += ["--res", str(res)]
    if what != "vit":
        cmd += ["--len", str(L)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.time() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    # cores busy on average over the whole process (loading, warm-up, timed): < threads = it waited for a CPU
    rec = {"cmd": " ".join(cmd), "rc": p.returncode, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
           "cores_busy_whole_run": round(cpu / wall, 2) if wall > 0 else None}
    if p.returncode != 0:
        rec["error"] = (p.stderr or p.stdout).strip()[-2000:]
        return rec
    line = [ln for ln in p.stdout.splitlines() if ln.strip().startswith("{")]
    try:
        j = json.loads(line[-1])
    except (IndexError, ValueError) as e:
        rec["error"] = "cannot parse xrem output (%s): %s" % (e, p.stdout[-500:])
        return rec
    rec["json"] = j
    rec["seconds_per_iter"] = j["seconds_per_iter"]
    rec["rate"] = batch / j["seconds_per_iter"]
    return rec


def time_torch(fn, iters):
    with torch.no_grad():
        t0 = time.perf_counter()
        fn()  # warm-up
        warm = time.perf_counter() - t0
        times = []
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(iters):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        total = time.perf_counter() - t0
        cpu = time.process_time() - c0
    # cores busy on average over the timed iterations: < threads = it waited for a CPU (other jobs)
    return {"seconds_per_iter": total / iters, "iter_s": [round(t, 4) for t in times], "warmup_s": round(warm, 4),
            "cpu_s": round(cpu, 2), "cores_busy_timed": round(cpu / total, 2) if total > 0 else None}


def torch_case(name, model, res, batch, L, iters):
    if name in ("vit384", "vit256"):
        image = bench_image(batch, res)
        if name == "vit256":  # retrieval model: xrem also projects and normalises the [CLS] (ITC features)
            def fn():
                e = model.visual_encoder(image)
                return model.image_features(e)
        else:
            def fn():
                return model.visual_encoder(image)
    elif name == "bert":
        ids, mask = bench_text(batch, L)
        bert = model.bert

        def fn():
            t = bert(ids, attention_mask=mask, mode="text")
            return model.text_features(t)
    else:
        image = bench_image(1, res)
        ids, mask = bench_text(batch, L)  # tokenizer(padding='longest'): every candidate is L tokens here

        def fn():
            # X-REM's ITM scoring of one image's candidates: image once, repeated per candidate, multi_modal
            image_embeds = model.visual_encoder(image)
            image_embeds = image_embeds.repeat(ids.shape[0], 1, 1)
            image_atts = torch.ones(image_embeds.size()[:-1], dtype=torch.long)
            out = model.text_encoder(ids, attention_mask=mask, encoder_hidden_states=image_embeds,
                                     encoder_attention_mask=image_atts)
            logits = model.cls_head(out[:, 0, :])
            return logits[:, 2]
    rec = time_torch(fn, iters)
    rec["rate"] = batch / rec["seconds_per_iter"]
    return rec


# ----------------------------------------------------------------------------------------------------------
# outputs
# ----------------------------------------------------------------------------------------------------------
def fmt_rate(r):
    return "%.3f" % r if r < 10 else "%.2f" % r if r < 100 else "%.1f" % r


def table(rows):
    lines = ["| case | model | res | batch | len | threads | xrem | torch | xrem/torch |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        x = fmt_rate(r["xrem"]["rate"]) + " " + r["unit"] if "rate" in r["xrem"] else "failed"
        t = fmt_rate(r["torch"]["rate"]) + " " + r["unit"] if "rate" in r.get("torch", {}) else "failed"
        ratio = "%.2fx" % r["ratio"] if r.get("ratio") else "-"
        lines.append("| %s | %s | %s | %d | %s | %d | %s | %s | %s |" % (
            r["case"], r["model"], r["res"] or "-", r["batch"], r["len"] or "-", r["threads"], x, t, ratio))
    return "\n".join(lines)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def markdown(meta, rows):
    m = meta["machine"]
    out = ["# xrem vs PyTorch (CPU, same weights, same machine, one run)", "",
           "Made by `%s` on %s." % (meta["command"], meta["date"]), "",
           "- machine: %s (family/model/stepping %s), nproc %d, %s GB RAM, SIMD %s, Linux %s" % (
               m["cpu"], m["family_model_stepping"], m["nproc"], m["mem_gb"], "/".join(m["simd"]) or "-", m["kernel"]),
           "- commit: %s%s (xrem binary reports %s)" % (
               meta["commit"], " + uncommitted changes" if meta["dirty"] else "", meta.get("xrem_commit")),
           "- torch %s (Debian python3-torch, %s); numpy %s" % (meta["torch"]["version"], meta["python"],
                                                                meta["numpy"]),
           "- threads: %d for both. xrem: `--threads %d` (OpenMP + %s). torch: `torch.set_num_threads(%d)`, "
           "its BLAS %s pinned with OPENBLAS_NUM_THREADS=%d (reports %s threads)" % (
               meta["threads"], meta["threads"], ", ".join(os.path.basename(p) for p in meta["xrem_blas"]) or "?",
               meta["threads"], ", ".join(os.path.basename(p) for p in meta["torch"]["blas"]["libs"]
                                          if "blas" in p) or "?",
               meta["threads"], meta["torch"]["blas"].get("openblas_threads", "?")),
           "- OpenBLAS kernels: torch %s, xrem %s (%s; left to itself OpenBLAS picks %s here)" % (
               meta["blas_core"]["torch"] or "?", "/".join(meta["blas_core"]["xrem"]) or "?",
               meta["openblas_kernel_choice"], (meta["xrem_openblas"] or {}).get("core", "?")),
           "- iterations: one warm-up, then %d timed (mean); torch fp32, `no_grad`, `eval()`" % meta["iters"],
           "- load average (1/5/15 min): before %s, after %s%s" % (
               meta["loadavg_before"], meta["loadavg_after"],
               " — the machine was busy with other jobs; rates are noisy" if meta["busy"] else ""),
           "- weights: random full-size checkpoints (ViT-B/16 checkpoint res 256 + BERT-base, N(0, 0.02)) from "
           "`scripts/make_goldens.py`, converted with `scripts/convert_albef.py`; temporary, deleted", "",
           table(rows), ""]
    itm = [r for r in rows if r["case"] == "itm" and "rate" in r["xrem"] and "rate" in r.get("torch", {})]
    if itm:
        r = itm[0]
        xs, ts = r["xrem"]["seconds_per_iter"], r["torch"]["seconds_per_iter"]
        out += ["ITM stage per image (X-REM's %d candidates at %d tokens, res %d): xrem %.2f s, PyTorch the "
                "reference way %.2f s; for the %d test images of the published evaluation that is %.1f min vs "
                "%.1f min at %d threads." % (r["batch"], r["len"], r["res"], xs, ts, TEST_IMAGES,
                                             xs * TEST_IMAGES / 60, ts * TEST_IMAGES / 60, meta["threads"]), ""]
    out += ["Cases:", "",
            "- `vit384`: ITM model's ViT at 384 (pos_embed bicubic-interpolated from the 256 grid), image_embeds. "
            "xrem gets one gray channel (channel-summed patch weights), torch three identical channels.",
            "- `vit256`: retrieval model's ViT at 256 + vision_proj + L2 normalise (what `xrem bench vit` computes "
            "on a retrieval model).",
            "- `bert`: retrieval model, BERT layers 0–5 (text mode) + text_proj + L2 normalise.",
            "- `itm`: one image, 51 candidates (K1+1). xrem: ViT once, text layers 0–5 once per text, fusion "
            "layers 6–11, cls_head. torch, the reference X-REM way: image_embeds once and repeated per candidate, "
            "text_encoder multi_modal (all 12 layers) over the 51 candidates, cls_head.",
            "", "Rates are per second; xrem/torch > 1 means xrem is faster.", ""]
    if meta.get("notes"):
        out += ["Notes:", ""] + ["- " + n for n in meta["notes"]] + [""]
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------------------
def main():
    a = ARGS
    t_start = time.time()
    xrem = os.path.abspath(a.xrem)
    if not os.access(xrem, os.X_OK):
        print("bench_vs_torch: %s is not an executable (build it: make, or cmake --build build)" % xrem,
              file=sys.stderr)
        return 2
    names = a.cases or list(CASES)
    torch.set_num_threads(a.threads)
    load_before = loadavg()
    meta = {
        "command": "/usr/bin/python3 scripts/bench_vs_torch.py " + " ".join(sys.argv[1:]),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": cpu_info(),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": {"version": torch.__version__, "num_threads": None, "blas": torch_blas(),
                  "parallel": torch.__config__.parallel_info().strip().splitlines()},
        "xrem": xrem,
        "xrem_blas": xrem_libs(xrem),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
        "openblas_kernel_choice": BLAS_FIXUP,
        "threads": a.threads,
        "iters": a.iters,
        "loadavg_before": load_before,
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
        "notes": [],
    }
    meta["torch"]["num_threads"] = torch.get_num_threads()
    ob = [p for p in meta["xrem_blas"] if "openblas" in os.path.basename(p)]
    meta["xrem_openblas"] = openblas_core_of(ob[0]) if ob else None  # as loaded, before xrem's own fix-up
    print("bench_vs_torch: %s, nproc %d, load %s, %d threads, %d iters, torch %s"
          % (meta["machine"]["cpu"], meta["machine"]["nproc"], load_before, a.threads, a.iters, torch.__version__),
          flush=True)

    vocab_path = a.vocab or G.SHARED_VOCAB
    vocab_tokens = convert_albef.read_vocab(vocab_path) if os.path.isfile(vocab_path) else None
    if vocab_tokens is None:
        meta["notes"].append("no vocabulary found at %s: weights files written without a tokenizer group "
                             "(the benchmark feeds ids, so nothing else changes)" % vocab_path)

    rows = []
    tmp = tempfile.mkdtemp(prefix="xrem-bench-vs-torch-", dir=a.tmpdir)
    try:
        kinds = [k for k in ("retrieval", "itm") if any(CASES[n][0] == k for n in names)]
        for kind in kinds:
            pth, h5 = make_weights(kind, tmp, vocab_tokens)
            for name in [n for n in names if CASES[n][0] == kind]:
                _, res, batch, L, what, unit = CASES[name]
                row = {"case": name, "model": kind, "bench": what, "res": res, "batch": batch, "len": L,
                       "threads": a.threads, "iters": a.iters, "unit": unit, "load_at_start": loadavg()}
                print("bench_vs_torch: %-6s xrem ..." % name, end="", flush=True)
                row["xrem"] = run_xrem(xrem, what, h5, res, batch, L, a.threads, a.iters)
                if "rate" in row["xrem"]:
                    print(" %s %s (%.3f s/iter)" % (fmt_rate(row["xrem"]["rate"]), unit,
                                                    row["xrem"]["seconds_per_iter"]), flush=True)
                    meta.setdefault("xrem_commit", row["xrem"]["json"].get("commit"))
                else:
                    print(" FAILED: %s" % row["xrem"].get("error"), flush=True)
                print("bench_vs_torch: %-6s torch ..." % name, end="", flush=True)
                model = load_torch(kind, pth, res or CKPT_RES[kind])
                row["torch"] = torch_case(name, model, res, batch, L, a.iters)
                del model
                print(" %s %s (%.3f s/iter)" % (fmt_rate(row["torch"]["rate"]), unit,
                                                row["torch"]["seconds_per_iter"]), flush=True)
                if "rate" in row["xrem"]:
                    row["ratio"] = row["xrem"]["rate"] / row["torch"]["rate"]
                if name == "itm":
                    row["per_image_s"] = {"xrem": row["xrem"].get("seconds_per_iter"),
                                          "torch_reference_way": row["torch"]["seconds_per_iter"],
                                          "candidates": batch, "tokens": L}
                row["load_at_end"] = loadavg()
                rows.append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows.sort(key=lambda r: list(CASES).index(r["case"]))  # report in CASES order (they run model by model)
    meta["loadavg_after"] = loadavg()
    cores = {"torch": meta["torch"]["blas"].get("openblas_core"),
             "xrem": sorted({r["xrem"]["json"].get("blas_core") for r in rows if "json" in r["xrem"]} - {None})}
    meta["blas_core"] = cores
    if cores["xrem"] and cores["xrem"] != [cores["torch"]]:
        meta["notes"].append("the two sides ran different OpenBLAS kernels: torch %s, xrem %s"
                             % (cores["torch"], "/".join(cores["xrem"])))
    if (cores["torch"] or "").lower() in SLOW_CORES and "avx2" in meta["machine"]["simd"]:
        meta["notes"].append(
            "torch ran OpenBLAS's %s (SSE) kernels on a CPU with %s: Debian's OpenBLAS 0.3.21 does not know this "
            "CPU (family/model/stepping %s); sgemm is several times slower than with OPENBLAS_CORETYPE=SkylakeX"
            % (cores["torch"], "/".join(meta["machine"]["simd"]), meta["machine"]["family_model_stepping"]))
    if meta.get("xrem_commit") and meta["commit"] and meta["xrem_commit"] != meta["commit"]:
        meta["notes"].append("the xrem binary reports commit %s, the tree is at %s: XREM_GIT_COMMIT is fixed when "
                             "cmake configures the build dir; reconfigure (or rebuild from scratch) to stamp HEAD"
                             % (meta["xrem_commit"], meta["commit"]))
    meta["total_s"] = round(time.time() - t_start, 1)
    busy = max((load_before or [0])[0], (meta["loadavg_after"] or [0])[0]) > 0.5 * meta["machine"]["nproc"]
    meta["busy"] = busy
    if busy:
        meta["notes"].append("load average above half the core count during the run: other jobs shared the "
                             "CPUs, so both rates are lower and noisier than on a quiet machine")
    if a.threads > meta["machine"]["nproc"]:
        meta["notes"].append("--threads %d exceeds nproc %d" % (a.threads, meta["machine"]["nproc"]))
    for r in rows:
        if r.get("ratio") is not None and r["ratio"] < 1:
            meta["notes"].append("xrem is slower than PyTorch on `%s`: %.2fx (%.0f%% slower)"
                                 % (r["case"], r["ratio"], 100 * (1 - r["ratio"])))
        tb = r.get("torch", {}).get("cores_busy_timed")
        if tb is not None and tb < 0.8 * a.threads:
            meta["notes"].append("torch kept only %.2f of %d cores busy over the timed `%s` iterations (other jobs "
                                 "took the rest)" % (tb, a.threads, r["case"]))
        if "error" in r["xrem"]:
            meta["notes"].append("xrem failed on `%s`: %s" % (r["case"], r["xrem"]["error"]))

    out_dir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    write_atomic(a.out + ".json", json.dumps({"meta": meta, "cases": rows}, indent=1) + "\n")
    write_atomic(a.out + ".md", markdown(meta, rows))
    print()
    print(table(rows))
    for r in rows:
        if "per_image_s" in r and r["per_image_s"]["xrem"]:
            p = r["per_image_s"]
            print("ITM stage per image (%d candidates): xrem %.2f s, torch (reference way) %.2f s"
                  % (p["candidates"], p["xrem"], p["torch_reference_way"]))
    print("load average before %s, after %s; total %.0fs" % (load_before, meta["loadavg_after"], meta["total_s"]))
    for n in meta["notes"]:
        print("note: " + n)
    print("wrote %s.md and %s.json" % (a.out, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
