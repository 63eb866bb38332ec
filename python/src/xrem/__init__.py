"""xrem: report-generation metrics for chest X-ray reports, over the C library libxrem.

    import xrem
    res = xrem.evaluate(gt_df, pred_df, metrics=("bleu", "labels"))
    res.per_report      # pandas DataFrame, the columns of `xrem eval`'s per_report.csv
    res.summary         # dict, as summary.json
    res.signature       # every setting that changes a number
    xrem.embed("retrieval.h5", "train_impressions.csv", "corpus.h5")          # as `xrem embed`
    pred = xrem.run("retrieval.h5", "cxr.h5", "corpus.h5", "run", itm="itm.h5", nli="nli.h5")  # `xrem run`

Every number comes from xrem_eval_run (include/xrem/eval.h), the entry `xrem eval` calls, so the
two cannot disagree. The binding is ctypes (no compiled extension); ctypes releases the GIL for
the duration of each C call.
"""

import ctypes
import glob
import io
import json
import math
import numbers
import os

__all__ = ["evaluate", "bleu2", "embed", "run", "sweep", "EvalResult", "XremError", "library_path", "version"]
__version__ = "0.1.0"

_HERE = os.path.dirname(os.path.abspath(__file__))


class XremError(RuntimeError):
    """A libxrem failure; the message names the file or table, row and field (xrem_last_error)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def library_path():
    """The libxrem.so this package loads: $XREM_LIBRARY, else the one installed inside the package."""
    env = os.environ.get("XREM_LIBRARY")
    if env:
        return env
    found = sorted(glob.glob(os.path.join(_HERE, "lib*", "libxrem.so.*")))
    if not found:
        raise XremError("io", f"libxrem.so not found under {_HERE} (set XREM_LIBRARY)")
    return found[0]


_lib = None
_NOTE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)


def _L():
    global _lib
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL(library_path())  # CDLL: the GIL is released during calls
    P, S, I64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_int64
    sigs = {
        "xrem_status_name": ([S], ctypes.c_char_p),
        "xrem_last_error": ([], ctypes.c_char_p),
        "xrem_version": ([], ctypes.c_char_p),
        "xrem_build_commit": ([], ctypes.c_char_p),
        "xrem_eval_opts_create": ([ctypes.POINTER(P)], S),
        "xrem_eval_opts_free": ([P], None),
        "xrem_eval_opts_set": ([P, ctypes.c_char_p, ctypes.c_char_p], S),
        "xrem_eval_opts_set_progress": ([P, _NOTE, P], None),
        "xrem_eval_opts_check": ([P], S),
        "xrem_eval_table_csv": ([ctypes.c_char_p, ctypes.POINTER(P)], S),
        "xrem_eval_table_new": ([ctypes.c_char_p, I64, ctypes.POINTER(P)], S),
        "xrem_eval_table_add_column": ([P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)], S),
        "xrem_eval_table_free": ([P], None),
        "xrem_eval_run": ([P, ctypes.POINTER(P * 3), ctypes.POINTER(P)], S),
        "xrem_eval_result_free": ([P], None),
        "xrem_eval_result_rows": ([P], I64),
        "xrem_eval_result_col_f64": ([P, ctypes.c_char_p], ctypes.POINTER(ctypes.c_double)),
        "xrem_eval_result_signature": ([P], ctypes.c_char_p),
        "xrem_eval_result_number": ([P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_double)], S),
        "xrem_eval_result_format": ([P, S, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)], S),
        "xrem_eval_text_free": ([P], None),
        "xrem_eval_result_write": ([P, ctypes.c_char_p], S),
        "xrem_backend_create": ([ctypes.c_char_p, S, ctypes.POINTER(P)], S),
        "xrem_backend_free": ([P], None),
        "xrem_job_opts_create": ([S, ctypes.POINTER(P)], S),
        "xrem_job_opts_free": ([P], None),
        "xrem_job_opts_set": ([P, ctypes.c_char_p, ctypes.c_char_p], S),
        "xrem_job_opts_check": ([P], S),
        "xrem_job_run": ([P, P], S),
        "xrem_job_embed_counts": ([P, ctypes.POINTER(I64), ctypes.POINTER(I64), ctypes.POINTER(I64)], None),
        "xrem_job_out": ([P], ctypes.c_char_p),
    }
    for name, (args, res) in sigs.items():
        f = getattr(lib, name)
        f.argtypes, f.restype = args, res
    _lib = lib
    return lib


def version():
    """libxrem's version and build commit."""
    L = _L()
    return f"{L.xrem_version().decode()} ({L.xrem_build_commit().decode()})"


def _check(st):
    if st != 0:
        L = _L()
        raise XremError(L.xrem_status_name(st).decode(), L.xrem_last_error().decode("utf-8", "replace"))


def _b(s):
    return None if s is None else str(s).encode("utf-8")


# --- DataFrame cells as pandas' to_csv writes them, so a frame and its CSV are read alike -------
def _is_na(v):
    if v is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (ImportError, TypeError, ValueError):
        return isinstance(v, float) and math.isnan(v)


def _cell(v):
    if _is_na(v):
        return None  # an empty field
    if isinstance(v, bytes):
        v = v.decode("utf-8")
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))  # to_csv writes floats as repr: 7.0 stays '7.0' (not an integer id)
    return str(v)


class _Table:
    """An xrem_eval_table: a CSV path, or the id/text (and radgraph) columns of a DataFrame."""

    def __init__(self, src, name, id_col, text_col):
        L = _L()
        self.h = ctypes.c_void_p()
        if isinstance(src, (str, os.PathLike)):
            _check(L.xrem_eval_table_csv(_b(os.fspath(src)), ctypes.byref(self.h)))
            return
        cols = list(src.columns)
        n = len(src)
        _check(L.xrem_eval_table_new(_b(name), n, ctypes.byref(self.h)))
        # every column, so messages about the header read as they would for the frame's CSV
        for c in cols:
            cells = (ctypes.c_char_p * max(n, 1))()
            for i, v in enumerate(src[c].tolist()):
                s = _cell(v)
                cells[i] = None if s is None else s.encode("utf-8", "surrogatepass")
            _check(L.xrem_eval_table_add_column(self.h, _b(c), cells))

    def free(self):
        if self.h:
            _L().xrem_eval_table_free(self.h)
            self.h = ctypes.c_void_p()


class EvalResult:
    """What xrem_eval_run computed: .per_report (DataFrame), .summary (dict), .signature (str)."""

    def __init__(self, handle):
        self._h = handle

    def __del__(self):
        h, self._h = getattr(self, "_h", None), None
        if h and _lib is not None:
            _lib.xrem_eval_result_free(h)

    def _text(self, fmt):
        L = _L()
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        _check(L.xrem_eval_result_format(self._h, fmt, ctypes.byref(p), ctypes.byref(n)))
        try:
            return ctypes.string_at(p, n.value).decode("utf-8")
        finally:
            L.xrem_eval_text_free(p)

    @property
    def rows(self):
        return int(_L().xrem_eval_result_rows(self._h))

    @property
    def per_report(self):
        """One row per shared study id: per_report.csv as pandas reads that file."""
        import pandas as pd

        return pd.read_csv(io.StringIO(self._text(0)))

    @property
    def summary(self):
        """summary.json as a dict."""
        return json.loads(self._text(1))

    @property
    def summary_md(self):
        return self._text(2)

    @property
    def text(self):
        """The summary lines `xrem eval` prints."""
        return self._text(3)

    @property
    def signature(self):
        return _L().xrem_eval_result_signature(self._h).decode("utf-8")

    def number(self, key):
        """A summary number by its summary.json path ("bleu2.mean", "labels.rrg_all14.micro.f1", ...)."""
        v = ctypes.c_double()
        _check(_L().xrem_eval_result_number(self._h, _b(key), ctypes.byref(v)))
        return v.value

    def column(self, name):
        """A numeric per-report column as a numpy array (exact doubles), or None."""
        import numpy as np

        p = _L().xrem_eval_result_col_f64(self._h, _b(name))
        return None if not p else np.ctypeslib.as_array(p, shape=(self.rows,)).copy()

    def write(self, out_dir):
        """per_report.csv, summary.json and summary.md in out_dir, as `xrem eval --out` writes them."""
        _check(_L().xrem_eval_result_write(self._h, _b(os.fspath(out_dir))))


def _default_labeler_dir():
    d = os.path.join(_HERE, "share", "xrem", "labeler")
    return d if os.path.isdir(d) else None


def evaluate(gt, pred, metrics=None, chexbert=None, bertscore_model=None, backend="cpu", threads=0, bootstrap=1000,
             seed=12345, pred_b=None, labels_gt=None, labels_pred=None, labeler_dir=None, bertscore_layer=None,
             bertscore_idf=False, pandas_na=False, pandas=1, id_col="study_id", text_col="report",
             allow_unmatched=False, progress=None):
    """Score PRED reports against GT reports with the same study id, as `xrem eval` does.

    gt, pred, pred_b: pandas DataFrames with `study_id` and `report` columns (and optionally a per-report
    `radgraph` column for RadCliQ), or CSV paths. metrics: names (or a comma-separated string) from
    bleu2, bleu, labels, chexbert, semb, bertscore, radcliq; None gives `xrem eval`'s default. The other
    arguments are `xrem eval`'s options. progress: None, or a function (level, line) receiving the notes
    `xrem eval` prints (level 1: a warning). Raises XremError with the library's message on bad input.
    """
    L = _L()
    if isinstance(metrics, (list, tuple)):
        metrics = ",".join(metrics)
    opts = {
        "metrics": metrics, "chexbert": chexbert, "bertscore-model": bertscore_model, "backend": backend,
        "threads": threads, "bootstrap": bootstrap, "seed": seed, "labels-gt": labels_gt,
        "labels-pred": labels_pred, "labeler-dir": labeler_dir or _default_labeler_dir(),
        "bertscore-layer": bertscore_layer, "bertscore-idf": int(bool(bertscore_idf)),
        "pandas-na": int(bool(pandas_na)), "pandas": pandas, "id-col": id_col, "text-col": text_col,
        "allow-unmatched": int(bool(allow_unmatched)),
    }
    o = ctypes.c_void_p()
    tables = []
    cb = None
    _check(L.xrem_eval_opts_create(ctypes.byref(o)))
    try:
        for k, v in opts.items():
            if v is not None:
                _check(L.xrem_eval_opts_set(o, _b(k), _b(v)))
        if progress is not None:
            cb = _NOTE(lambda user, level, line: progress(level, line.decode("utf-8", "replace")))
            L.xrem_eval_opts_set_progress(o, cb, None)
        _check(L.xrem_eval_opts_check(o))
        for src, name in ((gt, "gt"), (pred, "pred"), (pred_b, "pred_b")):
            tables.append(None if src is None else _Table(src, f"<{name} DataFrame>", id_col, text_col))
        ins = (ctypes.c_void_p * 3)(*[t.h if t else None for t in tables])
        r = ctypes.c_void_p()
        _check(L.xrem_eval_run(o, ctypes.byref(ins), ctypes.byref(r)))
        return EvalResult(r)
    finally:
        for t in tables:
            if t:
                t.free()
        L.xrem_eval_opts_free(o)


def bleu2(gt_texts, pred_texts):
    """Per-report BLEU-2 (CXR-Report-Metric's fast_bleu) of each (GT, PRED) pair, as a list of floats."""
    import pandas as pd

    gt_texts, pred_texts = list(gt_texts), list(pred_texts)
    if len(gt_texts) != len(pred_texts):
        raise ValueError(f"bleu2: {len(gt_texts)} GT texts but {len(pred_texts)} predictions")
    ids = list(range(len(gt_texts)))
    res = evaluate(pd.DataFrame({"study_id": ids, "report": gt_texts}),
                   pd.DataFrame({"study_id": ids, "report": pred_texts}), metrics="bleu2", bootstrap=0)
    return res.column("bleu2").tolist()


def _job(kind, opts, backend, threads):
    """One library job (include/xrem/run.h) with `xrem embed`/`xrem run`'s option names."""
    L = _L()
    o, be = ctypes.c_void_p(), ctypes.c_void_p()
    _check(L.xrem_job_opts_create(kind, ctypes.byref(o)))
    try:
        for k, v in opts.items():
            if v is None or v is False:
                continue
            _check(L.xrem_job_opts_set(o, _b(k), b"1" if v is True else _b(v)))
        _check(L.xrem_job_opts_check(o))
        _check(L.xrem_backend_create(_b(backend), int(threads), ctypes.byref(be)))
        _check(L.xrem_job_run(o, be))
        if kind == 2:
            return L.xrem_job_out(o).decode()
        if kind == 0:
            n, na, dup = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
            L.xrem_job_embed_counts(o, ctypes.byref(n), ctypes.byref(na), ctypes.byref(dup))
            return {"reports": n.value, "dropped_na": na.value, "dropped_duplicates": dup.value}
        return None
    finally:
        L.xrem_backend_free(be)
        L.xrem_job_opts_free(o)


def embed(weights, corpus, out, column="report", max_len=None, batch=None, pandas=None, backend="cpu", threads=0):
    """Embed a report corpus CSV into corpus.h5 with the retrieval model, as `xrem embed` does.

    Returns the counts of reports kept and dropped (empty/NaN, duplicates). Raises XremError.
    """
    return _job(0, {"weights": weights, "corpus": corpus, "out": out, "column": column, "max-len": max_len,
                    "batch": batch, "pandas": pandas}, backend, threads)


def run(retrieval, images, corpus, out, itm=None, nli=None, k1=None, k2=None, k3=None, filter=None, no_itm=False,
        drop_empty_candidate=False, reports=None, ids=None, batch=None, resume=False, bertscore_model=None,
        res_retrieval=None, res_itm=None, backend="cpu", threads=0):
    """X-REM as `xrem run` does (same defaults: K1 50, K2 10, K3 2, the NLI filter); writes OUT/run.h5,
    reports.csv and pred.csv and returns pred.csv as a DataFrame (study_id, report)."""
    import pandas as pd

    _job(1, {"retrieval": retrieval, "itm": itm, "nli": nli, "images": images, "corpus": corpus, "out": out,
             "reports": reports, "ids": ids, "k1": k1, "k2": k2, "k3": k3, "filter": filter, "no-itm": no_itm,
             "drop-empty-candidate": drop_empty_candidate, "batch": batch, "resume": resume,
             "bertscore-model": bertscore_model, "res-retrieval": res_retrieval, "res-itm": res_itm},
         backend, threads)
    return pd.read_csv(f"{out}/pred.csv", keep_default_na=False)


def sweep(run_dir, k1=None, k2=None, k3=None, preset=None, gt=None, nli=None, bertscore_model=None, out=None,
          backend="cpu", threads=0):
    """Other (K1, K2, K3) settings from one run's cached scores, as `xrem sweep` does (k1/k2/k3: lists or
    comma strings; preset "paper": the paper's ablation rows). Returns table.csv as a DataFrame."""
    import pandas as pd

    def lst(v):
        return ",".join(str(x) for x in v) if isinstance(v, (list, tuple)) else v

    d = _job(2, {"run": run_dir, "k1": lst(k1), "k2": lst(k2), "k3": lst(k3), "preset": preset, "gt": gt,
                 "nli": nli, "bertscore-model": bertscore_model, "out": out}, backend, threads)
    return pd.read_csv(f"{d}/table.csv")
