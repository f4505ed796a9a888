#!/usr/bin/env python3
"""Exits 0 when two run files hold identical contents: every dataset (dtype, shape, bytes) and
every attribute, except the ones that record when and how often the run was (re)started."""
import sys

import h5py
import numpy as np

VOLATILE = {"created", "resume_count"}  # root attributes
VOLATILE_DATASETS = {"run/finished", "run/wall_seconds"}


def items(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj))
    return out


def compare_attrs(path, a, b, problems):
    keys = (set(a.attrs) | set(b.attrs)) - (VOLATILE if path == "/" else set())
    for k in sorted(keys):
        if k not in a.attrs or k not in b.attrs:
            problems.append(f"{path}: attribute {k} only in one file")
        elif not np.array_equal(np.asarray(a.attrs[k]), np.asarray(b.attrs[k])):
            problems.append(f"{path}: attribute {k}: {a.attrs[k]!r} != {b.attrs[k]!r}")


def main(left, right):
    problems = []
    with h5py.File(left, "r") as a, h5py.File(right, "r") as b:
        compare_attrs("/", a, b, problems)
        ia, ib = items(a), items(b)
        for name in sorted(set(ia) | set(ib)):
            if name not in ia or name not in ib:
                problems.append(f"{name}: only in one file")
                continue
            oa, ob = ia[name], ib[name]
            compare_attrs(name, oa, ob, problems)
            if isinstance(oa, h5py.Dataset) and name not in VOLATILE_DATASETS:
                va, vb = oa[()], ob[()]
                if oa.dtype != ob.dtype or np.shape(va) != np.shape(vb):
                    problems.append(f"{name}: {oa.dtype}{np.shape(va)} != {ob.dtype}{np.shape(vb)}")
                elif isinstance(va, np.ndarray) and va.dtype.kind == "f":
                    if va.tobytes() != vb.tobytes():
                        n = int(np.sum(va != vb))
                        problems.append(f"{name}: {n} values differ")
                elif not np.array_equal(va, vb):
                    problems.append(f"{name}: contents differ")
    for p in problems:
        print("DIFF", p)
    print(f"compared {left} and {right}: {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
