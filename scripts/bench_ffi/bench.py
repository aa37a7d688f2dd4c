"""Per-call cost of the Python bindings (scripts/bench_ffi.sh runs it). Synthetic data only.

`set_kader(None)`: a call that does almost nothing in Rust (one lock), so its time is the crossing.
`village_list()` with 100 children: the records coming back. `child(id)`: one detail with 12 visits.
"""

import os
import sys
import tempfile
import time

import timbang as t


def per_call(f, n):
    best = None
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        dt = (time.perf_counter() - t0) / n
        best = dt if best is None else min(best, dt)
    return best


with tempfile.TemporaryDirectory() as d:
    db = t.Timbang.open(os.path.join(d, "bench.db"), os.urandom(32), "2025-06-15")
    db.init("Posyandu Melati", "Sukamaju", "hp-1")
    ids = [
        db.register_child(t.NewChild(name=f"Anak Nomor {i}", sex=t.Sex.FEMALE, birth_date="2024-05-02"), True).child_id
        for i in range(100)
    ]
    for m in range(6, 13):
        db.record_visit(ids[0], t.VisitEntry(date=f"2024-{m:02d}-20", weight_kg=f"{3.5 + 0.5 * m:.1f}"), True)
    for m in range(1, 7):
        db.record_visit(ids[0], t.VisitEntry(date=f"2025-{m:02d}-10", weight_kg=f"{6.5 + 0.3 * m:.1f}"), True)
    rows = [
        ("set_kader(None): the crossing", lambda: db.set_kader(None), 20000),
        ("village_list(), 100 children", db.village_list, 200),
        ("child(id), 13 visits", lambda: db.child(ids[0]), 500),
    ]
    print(f"python {sys.version.split()[0]}")
    for name, f, n in rows:
        print(f"{name}: {per_call(f, n) * 1e6:.1f} us")
