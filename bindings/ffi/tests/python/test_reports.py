"""The reports through the generated Python bindings: SKDN and the early warnings after a few visits,
the exports written to files and read back, the growth chart (SVG and data), and a register import.
Run by bindings/ffi/tests/bindings.rs. Synthetic people only.
"""

import csv
import json
import os
import tempfile
import unittest

import timbang as t

TODAY = "2025-06-15"
MONTH = "2025-06"


def openpyxl_or_skip(test):
    """openpyxl reads the xlsx back; without it skip, unless TIMBANG_REQUIRE_EXTERNAL is set (.ci/run)."""
    try:
        import openpyxl

        return openpyxl
    except ImportError:
        if os.environ.get("TIMBANG_REQUIRE_EXTERNAL"):
            raise
        test.skipTest("openpyxl is not installed (.ci/run installs it)")


class Reports(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.db = t.Timbang.open(os.path.join(self.dir.name, "hp1.db"), os.urandom(32), TODAY)
        self.db.init("Posyandu Melati", "Sukamaju", "hp-1")
        self.kids = {}
        # Dimas: the same weight three months running, so T in May and T again in June (2T).
        # Joko: gaining, with lengths. Hadi: last weighed in March, and has no KMS card.
        for name, visits in {
            "Dimas Uji": [("2025-04-10", "9.0", None), ("2025-05-10", "9.0", None), ("2025-06-10", "9.0", None)],
            "Joko Uji": [("2025-04-10", "9.0", "74.0"), ("2025-05-10", "9.3", "75.0"), ("2025-06-10", "9.6", "76.0")],
            "Hadi Uji": [("2025-03-10", "9.0", None)],
        }.items():
            kid = self.db.register_child(t.NewChild(name=name, sex=t.Sex.MALE, birth_date="2024-06-01"), True).child_id
            for date, kg, cm in visits:
                entry = t.VisitEntry(date=date, weight_kg=kg, height_cm=cm, position=t.Position.LYING if cm else None)
                self.db.record_visit(kid, entry, True)
            self.kids[name] = kid
        self.db.set_has_kms(self.kids["Hadi Uji"], False)

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def test_skdn_of_a_month(self):
        s = self.db.skdn(MONTH)
        self.assertEqual((s.month, s.posyandu, s.village), (MONTH, "Posyandu Melati", "Sukamaju"))
        self.assertIn("2025", s.month_label)
        self.assertEqual((s.s, s.k, s.d), (3, 2, 2), s)
        self.assertEqual((s.n, s.t, s.o, s.b, s.two_t), (1, 1, 0, 0, 1), s)
        self.assertTrue(s.identity_holds)
        self.assertEqual(s.mismatch, [])
        self.assertAlmostEqual(s.d_s, 2 / 3)
        self.assertAlmostEqual(s.n_d, 0.5)
        # By posyandu name (case-insensitive), and one per posyandu: the same counts.
        self.assertEqual(self.db.skdn(MONTH, "posyandu melati").d, 2)
        self.assertEqual(self.db.skdn(MONTH, "Posyandu Lain").s, 0)
        per = self.db.skdn_by_posyandu(MONTH)
        self.assertEqual([(p.posyandu, p.s, p.d) for p in per], [("Posyandu Melati", 3, 2)])
        # In May Dimas and Joko were weighed, Hadi not.
        self.assertEqual(self.db.skdn("2025-05").d, 2)
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            self.db.skdn("06-2025")
        self.assertEqual(e.exception.field, "month")

    def test_early_warnings(self):
        w = self.db.warnings_as_of(TODAY)
        by_child = {}
        for x in w:
            by_child.setdefault(x.child_id, []).append(x.code)
        self.assertIn("2T", by_child.get(self.kids["Dimas Uji"], []), w)
        self.assertEqual(by_child.get(self.kids["Hadi Uji"]), ["TIDAK_DITIMBANG_3BLN"], w)
        self.assertNotIn(self.kids["Joko Uji"], by_child, w)
        two_t = next(x for x in w if x.code == "2T")
        self.assertEqual(two_t.name, "Dimas Uji")
        self.assertEqual(two_t.posyandu, "Posyandu Melati")
        self.assertRegex(two_t.since, r"^2025-0[56]-10$")
        self.assertIn("Dimas Uji", two_t.text)
        # Today by the phone's clock (fixed at TODAY here): the same list.
        self.assertEqual(self.db.warnings(), w)
        # In April Dimas had been weighed once: no 2T yet.
        self.assertNotIn("2T", [x.code for x in self.db.warnings_as_of("2025-04-15")])
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            self.db.warnings_as_of("15/06/2025")
        self.assertEqual(e.exception.field, "today")

    def test_exports_are_written_and_read_back(self):
        out = self.path("register.csv")
        r = self.db.export_register(MONTH, out)
        self.assertEqual((r.path, r.month, r.rows), (out, MONTH, 3))
        with open(out, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
        self.assertEqual(len(rows), 1 + 3, "the header and one row per target child")
        self.assertEqual(len(rows[0]), r.columns)
        text = "\n".join(",".join(row) for row in rows)
        for name in self.kids:
            self.assertIn(name, text)

        xlsx = openpyxl_or_skip(self)
        out = self.path("eppgbm.xlsx")
        e = self.db.export_eppgbm(MONTH, out)
        self.assertEqual(e.rows, 2, "the children weighed in June")
        sheet = xlsx.load_workbook(out).active
        cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
        self.assertTrue(any("Joko Uji" in c for c in cells), cells)
        self.assertTrue(any("Dimas Uji" in c for c in cells), cells)
        self.assertFalse(any("Hadi Uji" in c for c in cells), "not weighed in June")

        # A column file of the deployment's own: only those columns.
        own = "header,field\nNama Anak,name\nBerat (kg),weight_kg\n"
        e = self.db.export_eppgbm(MONTH, self.path("own.csv"), own)
        with open(self.path("own.csv"), newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["Nama Anak", "Berat (kg)"])
        self.assertEqual(e.columns, 2)
        with self.assertRaises(t.TimbangError.InvalidInput) as err:
            self.db.export_eppgbm(MONTH, self.path("bad.csv"), "header,field\nX,no_such_field\n")
        self.assertEqual(err.exception.field, "columns")

        self.assertGreaterEqual(self.db.export_sip6(MONTH, self.path("sip6.csv")).rows, 1)
        self.db.export_elsimil(MONTH, self.path("elsimil.csv"))
        self.assertTrue(os.path.exists(self.path("elsimil.csv")))

        with self.assertRaises(t.TimbangError.InvalidInput) as err:
            self.db.export_register(MONTH, self.path("register.txt"))
        self.assertEqual(err.exception.field, "out")
        self.assertFalse(os.path.exists(self.path("register.txt")), "nothing written")

    def test_kohort_aggregate_and_dashboard_files(self):
        out = self.path("kohort.csv")
        k = self.db.export_kohort(2025, out)
        self.assertEqual((k.path, k.month, k.rows), (out, "2025", 3), "one row per child")
        with open(out, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
        names = sorted(r[rows[0].index("Nama Anak")] for r in rows[1:])
        self.assertEqual(names, sorted(self.kids))

        out = self.path("agregat.json")
        self.db.export_agregat(MONTH, out)
        with open(out, encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(json.loads(text)["format"], "timbang-agregat")
        for name, kid in self.kids.items():
            self.assertNotIn(name, text)
            self.assertNotIn(kid, text)
        with self.assertRaises(t.TimbangError.InvalidInput) as err:
            self.db.export_agregat(MONTH, self.path("agregat.csv"))
        self.assertEqual(err.exception.field, "out")

        out = self.path("dasbor.html")
        d = self.db.write_dashboard(out)
        self.assertEqual(d.path, out)
        self.assertTrue(d.sections)
        with open(out, encoding="utf-8") as f:
            html = f.read()
        self.assertIn("Dimas Uji", html, "the children to visit are listed")
        self.assertNotIn("http://", html.replace("http://www.w3.org/2000/svg", ""))
        with self.assertRaises(t.TimbangError.InvalidInput) as err:
            self.db.write_dashboard(self.path("dasbor.txt"))
        self.assertEqual(err.exception.field, "out")

    def test_growth_chart_svg_and_data(self):
        joko = self.kids["Joko Uji"]
        c = self.db.growth_chart(joko)
        self.assertTrue(c.svg.lstrip().startswith("<svg") or c.svg.lstrip().startswith("<?xml"), c.svg[:40])
        self.assertIn("</svg>", c.svg)
        self.assertEqual(c.width, 360.0)
        self.assertEqual([p.kind for p in c.panels],
                         [t.ChartPanelKind.WEIGHT_FOR_AGE, t.ChartPanelKind.HEIGHT_FOR_AGE, t.ChartPanelKind.WEIGHT_FOR_HEIGHT])
        self.assertEqual([(p.date, p.weight_kg, p.height_cm) for p in c.points],
                         [("2025-04-10", 9.0, 74.0), ("2025-05-10", 9.3, 75.0), ("2025-06-10", 9.6, 76.0)])
        self.assertEqual({m.date for m in c.marks}, {p.date for p in c.points})
        wfa = [m for m in c.marks if m.panel == t.ChartPanelKind.WEIGHT_FOR_AGE]
        self.assertEqual(len(wfa), 3)
        self.assertTrue(wfa[0].y > wfa[2].y, "heavier is drawn higher")

        out = self.path("joko.svg")
        written = self.db.write_growth_chart(joko, out)
        with open(out, encoding="utf-8") as f:
            self.assertEqual(f.read(), written.svg)
        with self.assertRaises(t.TimbangError.NotFound):
            self.db.growth_chart("01900000-0000-7000-8000-000000000000")

        # The WHO lines, for an app that draws its own chart: x outside the table left out.
        curve = t.growth_curve(t.GrowthCurve.WEIGHT_FOR_AGE, t.Sex.MALE, [0.0, 365.0, 99999.0])
        self.assertEqual([p.x for p in curve], [0.0, 365.0])
        self.assertAlmostEqual(curve[0].median, 3.3464, places=3)  # WHO 2006, boys at birth
        for p in curve:
            self.assertTrue(p.sd_minus3 < p.sd_minus2 < p.sd_minus1 < p.median < p.sd1 < p.sd2 < p.sd3)

    def test_register_import_with_progress(self):
        header = "name,sex,birth_date,nik,kk,mother_name,mother_nik,address,visit_date,weight_kg,height_cm,measured,head_circ_cm,muac_cm"
        rows = [
            "Sari Impor,P,2024-01-05,,,Ibu Impor,,,2025-05-10,8.1,72.0,lying,,",
            "Sari Impor,P,2024-01-05,,,Ibu Impor,,,2025-06-10,8.4,73.0,lying,,",
            "Tono Impor,L,2024-02-02,,,,,,2025-06-10,-3,,,,",
            "Rudi Impor,L,2023-12-12,,,,,,,,,,,",
        ]
        data = ("\n".join([header] + rows) + "\n").encode()

        class Progress(t.ImportProgress):
            def __init__(self):
                self.calls = []

            def progress(self, done, total):
                self.calls.append((done, total))

        p = Progress()
        r = self.db.import_register("register.csv", data, p)
        self.assertEqual((r.children, r.existing_children, r.visits, r.skipped, r.rows), (2, 0, 2, 1, 4), r)
        self.assertEqual([(b.line, b.field) for b in r.bad_rows], [(4, "weight_kg")])
        self.assertTrue(r.bad_rows[0].reason)
        self.assertEqual(p.calls[0], (0, 2))
        self.assertEqual(p.calls[-1], (2, 2))
        names = {row.name for row in self.db.village_list()}
        self.assertTrue({"Sari Impor", "Rudi Impor"} <= names)
        self.assertNotIn("Tono Impor", names)

        again = self.db.import_register("register.csv", data)
        self.assertEqual((again.children, again.existing_children, again.visits), (0, 2, 0), "adds nothing")

        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            self.db.import_register("notes.csv", b"name,sex\nA,L\n")
        self.assertEqual(e.exception.field, "file")
        self.assertIn("notes.csv", e.exception.message_id)


if __name__ == "__main__":
    unittest.main()
