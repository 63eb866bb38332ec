#!/usr/bin/env python3
"""Golden for src/text/utf8.c: CPython's bytes.decode("utf-8", errors="replace") on edge cases and
random byte strings (interpreter: any python3; the decoder is CPython's own).

Writes tests/golden/utf8_replace.txt: one line per input, "<input hex>\t<code points hex, space
separated>". Run: python3 scripts/make_utf8_goldens.py
"""
import os
import random

EDGES = [b"", b"a", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x99\x82", b"\x80", b"\xbf", b"\xc0\xaf",
         b"\xc1\xbf", b"\xc2", b"\xc2\x41", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xe0\xa0\x80", b"\xed\xa0\x80",
         b"\xed\x9f\xbf", b"\xee\x80", b"\xef\xbf\xbf", b"\xf0\x8f\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf",
         b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff", b"\xfe\xff", b"\xe2\x82", b"\xf0\x9f\x99", b"\xf0\x9f",
         b"a\xe2\x82b", b"\xf0\x9f\x99\x82\x82", b"\xe2\x28\xa1", b"\xf1\x80\x80\xc0"]
PIECES = [b"a", b" ", b"\x80", b"\xbf", b"\xc2", b"\xdf", b"\xe0", b"\xa0", b"\xed", b"\x9f", b"\xef", b"\xf0",
          b"\x90", b"\xf4", b"\x8f", b"\xf5", b"\xff", b"\xc3\xa9", b"\xe2\x82\xac"]


def main():
    rng = random.Random(20261208)
    cases = list(EDGES)
    for _ in range(2000):
        cases.append(b"".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8))))
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "utf8_replace.txt")
    with open(out, "w") as f:
        for c in cases:
            cps = " ".join("%x" % ord(ch) for ch in c.decode("utf-8", errors="replace"))
            f.write("%s\t%s\n" % (c.hex() or "-", cps))
    print("wrote", out, len(cases), "cases")


if __name__ == "__main__":
    main()
