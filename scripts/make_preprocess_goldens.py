#!/usr/bin/python3
"""Goldens for src/models/preprocess.c (bicubic resize + DESIGN §2 image preprocessing).

Run with Debian's interpreter, which has python3-torch 1.13, numpy and h5py:

    /usr/bin/python3 scripts/make_preprocess_goldens.py [--out tests/golden]

Writes (gzip + shuffle, fixed seeds, about 1.3 MB together):

  preprocess_cxr.h5      two synthetic chest-X-ray-like 320x320 gray images (uint8-valued float32
                         0..255, black letterbox bars) through the reference preprocessing:
                         gray -> 3 channels -> F.interpolate(bicubic, align_corners=False) to R
                         -> (x - 101.48761) / 83.43944 (torchvision Normalize: float sub, float div).
                           cxr/input   [2, 320, 320]
                           cxr/out256  [2, 1, 256, 256]   channel 0 (the script asserts that the
                           cxr/out384  [2, 1, 384, 384]   three channels are identical)
  preprocess_resize.h5   plain F.interpolate(bicubic) on [C, H, W] planes, one group per case:
                           <case>/input [C, H, W], <case>/output [C, OH, OW],
                           attribute align_corners (0/1) on the group; dataset `cases` lists them.
                         Adversarial cases (checkerboard, impulses, constants, random uniform,
                         1x1, identity size, downscale) on 0..255 data; `pos_*` cases are ViT
                         position-embedding grids with N(0,1) values resized the way ALBEF's
                         interpolate_pos_embed does it (tokens [1, g*g, C] -> permute to [1, C, g, g]
                         (a non-contiguous view) -> interpolate -> back), stored as planes.

The C test (tests/test_preprocess.c) states the tolerances. With the torch this was made with
(Debian 1.13.1, AVX2 kernels) xrem matches bit for bit; see preprocess.c for that arithmetic.
"""
import argparse
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as F

MEAN, STD = 101.48761, 83.43944
H5OPT = dict(compression="gzip", compression_opts=9, shuffle=True)


def bicubic(x, size, align_corners=False):
    """x: [C, H, W] float32 numpy -> [C, OH, OW], torch CPU float32."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
    return F.interpolate(t, size=size, mode="bicubic", align_corners=align_corners)[0].numpy()


def preprocess(gray, r):
    """The reference's image transform on [N, H, W] gray 0..255 -> [N, 3, r, r]."""
    x = torch.from_numpy(gray)[:, None].repeat(1, 3, 1, 1)
    x = F.interpolate(x, size=(r, r), mode="bicubic", align_corners=False)
    mean = torch.as_tensor([MEAN] * 3, dtype=torch.float32)[:, None, None]
    std = torch.as_tensor([STD] * 3, dtype=torch.float32)[:, None, None]
    return x.sub(mean).div(std).numpy()


def box_blur(a, k):
    """Separable box blur with edge padding (numpy only), to make smooth anatomy."""
    p = k // 2
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (p, p)
        b = np.pad(a, pad, mode="edge")
        c = np.cumsum(b, axis=axis, dtype=np.float64)
        c = np.concatenate([np.zeros_like(c.take([0], axis=axis)), c], axis=axis)
        n = a.shape[axis]
        a = (c.take(np.arange(k, k + n), axis=axis) - c.take(np.arange(0, n), axis=axis)) / k
    return a


def synthetic_cxr(rng, size=320, bars="lr"):
    """A chest-X-ray-like image: bright mediastinum and ribs, dark lungs, gradients, noise,
    and black letterbox bars (left/right or top/bottom), rounded to integers 0..255."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    img = 150 + 60 * y - 30 * np.abs(x - 0.5) + rng.normal(0, 1) * 10
    for cx in (0.30, 0.70):  # lungs
        e = ((x - cx - rng.normal(0, 0.02)) / 0.17) ** 2 + ((y - 0.45) / 0.30) ** 2
        img -= 95 * np.clip(1.2 - e, 0, 1)
    img += 70 * np.exp(-((x - 0.5) / 0.06) ** 2)  # spine / mediastinum
    ribs = np.sin(2 * np.pi * (y * 9 + 1.5 * (x - 0.5) ** 2))
    img += 18 * np.clip(ribs, 0, None) * (np.abs(x - 0.5) > 0.08)
    heart = ((x - 0.57) / 0.16) ** 2 + ((y - 0.68) / 0.14) ** 2
    img += 40 * np.clip(1 - heart, 0, 1)
    img = box_blur(img, 5) + rng.normal(0, 3, img.shape)
    img = np.clip(np.rint(img), 0, 255)
    bar = int(size * 0.12)
    if bars == "lr":
        img[:, :bar] = 0
        img[:, size - bar:] = 0
    else:
        img[:bar, :] = 0
        img[size - bar:, :] = 0
    return img.astype(np.float32)


def write_cxr(path, rng):
    gray = np.stack([synthetic_cxr(rng, bars="lr"), synthetic_cxr(rng, bars="tb")])
    with h5py.File(path, "w") as f:
        f.attrs["torch_version"] = str(torch.__version__)
        f.attrs["mean"], f.attrs["std"] = MEAN, STD
        f.create_dataset("cxr/input", data=gray, **H5OPT)
        for r in (256, 384):
            out = preprocess(gray, r)
            assert np.array_equal(out[:, 0], out[:, 1]) and np.array_equal(out[:, 0], out[:, 2])
            f.create_dataset(f"cxr/out{r}", data=out[:, :1], **H5OPT)


def pos_embed_case(rng, c, g, g2):
    """ALBEF interpolate_pos_embed on random grid tokens; returns planes in/out."""
    tokens = torch.from_numpy(rng.standard_normal((1, g * g, c)).astype(np.float32))
    t = tokens.reshape(-1, g, g, c).permute(0, 3, 1, 2)  # non-contiguous, as ALBEF does it
    t = F.interpolate(t, size=(g2, g2), mode="bicubic", align_corners=False)
    out_tokens = t.permute(0, 2, 3, 1).flatten(1, 2)  # [1, g2*g2, c]
    planes_in = tokens[0].T.reshape(c, g, g).numpy()
    planes_out = out_tokens[0].T.reshape(c, g2, g2).numpy()
    # The memory layout must not change torch's numbers, or planes would not be a fair golden.
    assert np.array_equal(planes_out, bicubic(planes_in, (g2, g2)))
    return planes_in, planes_out


def resize_cases(rng):
    cases = []  # (name, input [C,H,W], (OH, OW), align_corners)
    yy, xx = np.mgrid[0:7, 0:5]
    cases.append(("checker_7x5_to_13x11", (255.0 * ((yy + xx) % 2))[None], (13, 11), 0))
    imp = np.zeros((2, 16, 16))
    imp[0, 0, 0] = imp[0, 15, 15] = imp[0, 7, 8] = 255
    imp[1, 3, :] = 255
    imp[1, :, 12] = 255
    cases.append(("impulses_16_to_5", imp, (5, 5), 0))
    cases.append(("impulses_16_to_37", imp, (37, 37), 0))
    const = np.stack([np.zeros((9, 9)), np.full((9, 9), 255.0)])
    cases.append(("const_0_255_9_to_17x4", const, (17, 4), 0))
    cases.append(("uniform_1x1_to_4x4", rng.uniform(0, 255, (3, 1, 1)), (4, 4), 0))
    cases.append(("uniform_2x3_identity", rng.uniform(0, 255, (2, 2, 3)), (2, 3), 0))
    cases.append(("uniform_33x47_to_61x29", rng.uniform(0, 255, (2, 33, 47)), (61, 29), 0))
    # 77 -> 257: output 128 sits on source 38 exactly, where float rounding of the source
    # coordinate decides the taps (see preprocess.c); once along each axis.
    cases.append(("uniform_3x77_to_5x257", rng.uniform(0, 255, (1, 3, 77)), (5, 257), 0))
    cases.append(("uniform_77x3_to_257x5", rng.uniform(0, 255, (1, 77, 3)), (257, 5), 0))
    cases.append(("checker_7x5_to_13x11_ac", (255.0 * ((yy + xx) % 2))[None], (13, 11), 1))
    cases.append(("uniform_33x47_to_61x29_ac", rng.uniform(0, 255, (1, 33, 47)), (61, 29), 1))
    cases.append(("uniform_5x6_to_1x1_ac", rng.uniform(0, 255, (1, 5, 6)), (1, 1), 1))
    out = [(n, x.astype(np.float32), bicubic(x.astype(np.float32), s, bool(ac)), ac)
           for n, x, s, ac in cases]
    for c, g, g2 in ((8, 16, 24), (8, 2, 3), (8, 24, 16)):
        pin, pout = pos_embed_case(rng, c, g, g2)
        out.append((f"pos_{c}x{g}x{g}_to_{g2}", pin, pout, 0))
    return out


def write_resize(path, rng):
    cases = resize_cases(rng)
    with h5py.File(path, "w") as f:
        f.attrs["torch_version"] = str(torch.__version__)
        f.create_dataset("cases", data=np.array([n for n, *_ in cases], dtype=h5py.string_dtype()))
        for name, x, y, ac in cases:
            g = f.create_group(name)
            g.attrs["align_corners"] = np.int64(ac)
            g.create_dataset("input", data=x, **H5OPT)
            g.create_dataset("output", data=y, **H5OPT)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "golden"))
    a = ap.parse_args()
    torch.set_num_threads(1)  # the kernels are deterministic anyway; keep runs comparable
    os.makedirs(a.out, exist_ok=True)
    write_cxr(os.path.join(a.out, "preprocess_cxr.h5"), np.random.default_rng(20240601))
    write_resize(os.path.join(a.out, "preprocess_resize.h5"), np.random.default_rng(20240602))
    for n in ("preprocess_cxr.h5", "preprocess_resize.h5"):
        p = os.path.join(a.out, n)
        print(f"{p}: {os.path.getsize(p) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
