#!/usr/bin/env python3
"""Goldens for `xrem prep` (src/pipeline/prep.c, src/pipeline/image_io.c): Pillow's CXR-RePaiR letterbox.

The reference (CXR-RePaiR data_preprocessing/create_bootstrapped_testset.py) does, per image:

    img = Image.open(path)                                   # no convert: 'L' for gray, 'RGB' for colour
    ratio = float(320) / max(img.size)
    new_size = tuple([int(x * ratio) for x in img.size])
    img = img.resize(new_size, Image.ANTIALIAS)              # ANTIALIAS == LANCZOS (removed in Pillow 10)
    new = Image.new('L', (320, 320))                         # black
    new.paste(img, ((320 - new_size[0]) // 2, (320 - new_size[1]) // 2))   # RGB -> 'L' happens here
    cxr[i] = new                                             # h5py float32 dataset, values 0..255

This script makes synthetic chest-X-ray-like images (gradients, body/lung/heart ellipses, rib arcs, a
burnt-in marker with hard edges so the Lanczos lobes overshoot and clip, noise) in several sizes, aspect
ratios and encodings, saves them with Pillow, and runs exactly that function on them.

Interpreter: any python3 with Pillow, numpy and h5py (`pip install pillow numpy h5py`, or Debian's
python3-pil python3-numpy python3-h5py). Deterministic for a given Pillow/libjpeg-turbo version.

    python3 scripts/make_prep_goldens.py                       # -> tests/golden/prep/ (committed, small)
    python3 scripts/make_prep_goldens.py --big --out DIR       # full-size MIMIC cases (reference test)
    python3 scripts/make_prep_goldens.py --big --out DIR --mimic   # also lay them out as MIMIC-CXR-JPG

Writes into --out: the image files and prep_golden.h5:

    cases                 [K] strings, case names in order
    <case>/out            uint8 [320, 320]: the reference letterbox above
    <case>/decoded        (only with --decoded) uint8 [H, W] or [H, W, 3]: Pillow's decoded pixels
    <case> attributes     file, mode ('L' or 'RGB'), width, height, new_width, new_height, encoding,
                          decoded_sha256 (of np.asarray(Image.open(file)).tobytes(): row-major, RGB interleaved)
    root attributes       generator, pillow_version, libjpeg_turbo_version, numpy_version, seed

With --mimic, the files are also copied to DIR/files/p10/p100000NN/s5000000NN/<dicom_id>.jpg (PNG content
keeps its bytes under the .jpg name: xrem detects the format from the file's first bytes), with
DIR/split.csv (dicom_id,study_id,subject_id,split; every case in split 'test') and <case> attributes
dicom_id, study_id, subject_id.
"""
import argparse
import hashlib
import os
import shutil

import h5py
import numpy as np
from PIL import Image, features

SEED = 20230509
R = 320
LANCZOS = getattr(Image, "Resampling", Image).LANCZOS

# name, width, height, mode, format, save options
SMALL_CASES = [
    ("portrait_gray_jpg", 560, 700, "L", "JPEG", dict(quality=90)),
    ("landscape_gray_jpg", 700, 540, "L", "JPEG", dict(quality=85)),
    ("progressive_gray_jpg", 333, 517, "L", "JPEG", dict(quality=80, progressive=True)),
    ("upscale_gray_png", 200, 321, "L", "PNG", dict()),
    ("tiny_gray_jpg", 150, 120, "L", "JPEG", dict(quality=95)),
    ("same_size_gray_png", 320, 256, "L", "PNG", dict()),
    ("rgb420_jpg", 512, 400, "RGB", "JPEG", dict(quality=90, subsampling=2)),
    ("rgb422_jpg", 300, 380, "RGB", "JPEG", dict(quality=90, subsampling=1)),
    ("rgb_png", 256, 330, "RGB", "PNG", dict()),
]

BIG_CASES = [
    ("mimic_portrait_jpg", 2544, 3056, "L", "JPEG", dict(quality=95)),
    ("mimic_landscape_jpg", 3056, 2544, "L", "JPEG", dict(quality=95)),
    ("mimic_square_jpg", 2539, 2539, "L", "JPEG", dict(quality=90)),
    ("big_rgb420_jpg", 2048, 2500, "RGB", "JPEG", dict(quality=92, subsampling=2)),
    ("wide_gray_png", 1111, 397, "L", "PNG", dict()),
    ("upscale_gray_jpg", 200, 321, "L", "JPEG", dict(quality=90)),
    ("mid_gray_jpg", 512, 400, "L", "JPEG", dict(quality=90)),
]


def box_blur(a, k):
    """Separable box blur with edge padding (numpy only): spatially correlated texture."""
    p = k // 2
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (p, p)
        b = np.pad(a, pad, mode="edge")
        c = np.cumsum(b, axis=axis, dtype=np.float64)
        c = np.concatenate([np.zeros_like(c.take([0], axis=axis)), c], axis=axis)
        n = a.shape[axis]
        a = (c.take(range(k, k + n), axis=axis) - c.take(range(0, n), axis=axis)) / k
    return a


def synth_cxr(w, h, rng):
    """A gray chest-X-ray-like image, float64 before quantisation."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    u = x / max(w - 1, 1) * 2 - 1
    v = y / max(h - 1, 1) * 2 - 1
    img = 40 + 40 * (v + 1) / 2 + 15 * u
    body = (u / 0.85) ** 2 + (v / 0.97) ** 2 < 1
    img += 70 * body
    for cx in (-0.42, 0.4):
        lung = ((u - cx) / 0.28) ** 2 + ((v + 0.05) / 0.62) ** 2 < 1
        img -= 75 * lung
    img += 70 * np.exp(-((u / 0.07) ** 2)) * (v > -0.85)
    heart = ((u + 0.1) / 0.3) ** 2 + ((v - 0.35) / 0.25) ** 2 < 1
    img += 45 * heart
    ribs = np.sin((v * 9 + 1.8 * u * u) * np.pi) > 0.75
    img += 16 * ribs * body
    tex = box_blur(rng.normal(0, 1, size=(h, w)), max(3, (min(w, h) // 60) | 1))
    img += 12 * tex / (tex.std() + 1e-9)
    img += rng.normal(0, 2.0, size=(h, w))
    # burnt-in marker: white square with a black hole, and a black bar at the bottom (clipping at 0/255)
    y0, x0 = int(0.05 * h), int(0.05 * w)
    img[y0:y0 + max(2, h // 18), x0:x0 + max(2, w // 22)] = 255
    img[y0 + max(1, h // 72):y0 + max(2, h // 36), x0 + max(1, w // 88):x0 + max(2, w // 44)] = 0
    img[h - max(1, h // 40):, :] = 0
    return img


def make_pixels(w, h, mode, rng):
    g = synth_cxr(w, h, rng)
    if mode == "L":
        return np.clip(np.rint(g), 0, 255).astype(np.uint8)
    rgb = np.stack([g, 0.85 * g + 25, 255 - 0.6 * g], axis=-1)  # three distinct channels
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def reference_letterbox(path, desired_size=R):
    """CXR-RePaiR's preprocess() applied to Image.open(path), as a uint8 array, plus the new size."""
    img = Image.open(path)
    old_size = img.size
    ratio = float(desired_size) / max(old_size)
    new_size = tuple([int(x * ratio) for x in old_size])
    img = img.resize(new_size, LANCZOS)
    new_img = Image.new("L", (desired_size, desired_size))
    new_img.paste(img, ((desired_size - new_size[0]) // 2, (desired_size - new_size[1]) // 2))
    return np.asarray(new_img, dtype=np.uint8), new_size


def dicom_id(rng):
    parts = [rng.integers(0, 2**32, dtype=np.uint64) for _ in range(5)]
    return "-".join("%08x" % int(p) for p in parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "prep"))
    ap.add_argument("--big", action="store_true", help="the full-size cases (not committed)")
    ap.add_argument("--mimic", action="store_true", help="also lay the files out as MIMIC-CXR-JPG + split.csv")
    ap.add_argument("--decoded", action="store_true", help="also store Pillow's decoded pixels (large)")
    args = ap.parse_args()
    cases = BIG_CASES if args.big else SMALL_CASES
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(SEED + (1 if args.big else 0))
    h5opt = dict(compression="gzip", compression_opts=9, shuffle=False)
    split_rows = []
    golden = os.path.join(args.out, "prep_golden.h5")
    with h5py.File(golden + ".tmp", "w") as f:
        f.attrs["generator"] = "scripts/make_prep_goldens.py" + (" --big" if args.big else "")
        f.attrs["pillow_version"] = Image.__version__
        f.attrs["libjpeg_turbo_version"] = str(features.version("libjpeg_turbo") or features.version("jpg"))
        f.attrs["numpy_version"] = np.__version__
        f.attrs["seed"] = SEED
        f.create_dataset("cases", data=np.array([c[0] for c in cases], dtype=h5py.string_dtype()))
        for k, (name, w, h, mode, fmt, opts) in enumerate(cases):
            px = make_pixels(w, h, mode, rng)
            ext = ".jpg" if fmt == "JPEG" else ".png"
            fname = name[: name.rfind("_")] + ext
            path = os.path.join(args.out, fname)
            if fmt == "PNG":
                opts = dict(opts, compress_level=9)
            Image.fromarray(px, mode).save(path, fmt, **opts)
            dec = np.asarray(Image.open(path))
            out, new_size = reference_letterbox(path)
            g = f.create_group(name)
            g.attrs["decoded_sha256"] = hashlib.sha256(np.ascontiguousarray(dec).tobytes()).hexdigest()
            if args.decoded:
                g.create_dataset("decoded", data=dec, **h5opt)
            g.create_dataset("out", data=out, **h5opt)
            g.attrs["file"] = fname
            g.attrs["mode"] = mode
            g.attrs["width"], g.attrs["height"] = w, h
            g.attrs["new_width"], g.attrs["new_height"] = new_size
            g.attrs["encoding"] = fmt + "".join(" %s=%s" % kv for kv in sorted(opts.items()))
            if args.mimic:
                subject, study, did = 10000001 + k, 50000001 + k, dicom_id(rng)
                d = os.path.join(args.out, "files", "p%s" % str(subject)[:2], "p%d" % subject, "s%d" % study)
                os.makedirs(d, exist_ok=True)
                shutil.copyfile(path, os.path.join(d, did + ".jpg"))
                g.attrs["dicom_id"], g.attrs["study_id"], g.attrs["subject_id"] = did, study, subject
                split_rows.append("%s,%d,%d,test" % (did, study, subject))
            print("%-22s %4dx%-4d %-3s -> %dx%d  %s (%d bytes)" % (name, w, h, mode, new_size[0], new_size[1],
                                                                  fname, os.path.getsize(path)))
    os.replace(golden + ".tmp", golden)
    if args.mimic:
        with open(os.path.join(args.out, "split.csv"), "w") as s:
            s.write("dicom_id,study_id,subject_id,split\n" + "\n".join(split_rows) + "\n")
    print("wrote %s (Pillow %s, libjpeg-turbo %s)" % (golden, Image.__version__,
                                                     features.version("libjpeg_turbo")))


if __name__ == "__main__":
    main()
