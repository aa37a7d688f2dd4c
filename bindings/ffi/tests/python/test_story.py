"""The whole posyandu story through the generated Python bindings, on real encrypted SQLite files.

Run by bindings/ffi/tests/bindings.rs (cargo test), which generates `timbang.py` beside the built
library and puts that folder first on PYTHONPATH. Synthetic people only.
"""

import datetime
import os
import queue
import tempfile
import threading
import unittest

import timbang as t

TODAY = "2025-06-15"


class Pipe:
    """One direction of an in-memory byte pipe: bytes written at one end are read at the other."""

    def __init__(self):
        self.q = queue.Queue()
        self.pending = b""

    def put(self, data):
        self.q.put(bytes(data))

    def take(self, max_len):
        if not self.pending:
            self.pending = self.q.get(timeout=30)
            if not self.pending:
                self.q.put(b"")  # closed stays closed
        out, self.pending = self.pending[:max_len], self.pending[max_len:]
        return out

    def close(self):
        self.q.put(b"")


class PipeEnd(t.ByteStream):
    """The host transport, written in Python: what a Bluetooth socket is on the phone."""

    def __init__(self, inbound, outbound):
        self.inbound, self.outbound = inbound, outbound
        self.paired_called = False

    def read(self, max):
        try:
            return self.inbound.take(max)
        except queue.Empty:
            raise t.StreamError.TimedOut()

    def write(self, data):
        self.outbound.put(data)

    def paired(self):
        self.paired_called = True


def duplex():
    a_to_b, b_to_a = Pipe(), Pipe()
    return PipeEnd(b_to_a, a_to_b), PipeEnd(a_to_b, b_to_a), (a_to_b, b_to_a)


def sync(dialer, acceptor, posyandu=None, session_version=None):
    """One session over the in-memory pipe: `acceptor` on a thread, `dialer` here (presenting the team
    of `posyandu` when it is in several). Returns (dial, accept, ends)."""
    x, y, pipes = duplex()
    served = {}

    def serve():
        try:
            served["report"] = acceptor.peer_session(y, t.PeerRole.ACCEPT)
        except t.TimbangError as e:
            served["error"] = e
        finally:
            for p in pipes:
                p.close()

    th = threading.Thread(target=serve)
    th.start()
    try:
        pulled = dialer.peer_session(x, t.PeerRole.DIAL, posyandu, session_version)
    finally:
        for p in pipes:
            p.close()
        th.join(60)
    if "error" in served:
        raise served["error"]
    return pulled, served["report"], (x, y)


class Counter(t.ChangeListener):
    def __init__(self, on_change=None):
        self.calls = 0
        self.on_change = on_change

    def changed(self):
        self.calls += 1
        if self.on_change:
            self.on_change(self)


def child(name, dob, sex=t.Sex.FEMALE, **kw):
    return t.NewChild(name=name, sex=sex, birth_date=dob, **kw)


def weighing(date, kg, cm=None):
    return t.VisitEntry(
        date=date,
        weight_kg=kg,
        height_cm=cm,
        position=t.Position.LYING if cm else None,
    )


class Story(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.key = os.urandom(32)
        self.path = os.path.join(self.dir.name, "hp1.db")
        self.a = t.Timbang.open(self.path, self.key, TODAY)
        settings = self.a.init("Posyandu Melati", "Sukamaju", "hp-1")
        self.assertEqual(settings.device_name, "hp-1")
        self.assertEqual(self.a.settings().village, "Sukamaju")

    def tearDown(self):
        self.dir.cleanup()

    def second_phone(self):
        code = self.a.team_invite()
        b = t.Timbang.open(os.path.join(self.dir.name, "hp2.db"), os.urandom(32), TODAY)
        self.assertEqual(b.team_join(code, "hp-2").device_name, "hp-2")
        return b

    def test_register_record_and_list(self):
        budi = self.a.register_child(child("Budi Santoso", "2024-01-10", t.Sex.MALE), False)
        self.assertEqual(budi.confirmed, [])

        # A similar child born near the same date: a possible duplicate, asked, nothing written.
        twin = child("Budi Santosa", "2024-01-12", t.Sex.MALE)
        dups = self.a.possible_duplicates(twin)
        self.assertEqual([d.child_id for d in dups], [budi.child_id])
        self.assertEqual(dups[0].reason, "similar_name")
        with self.assertRaises(t.TimbangError.NeedsConfirmation) as e:
            self.a.register_child(twin, False)
        self.assertEqual([r.code for r in e.exception.reasons], ["possible_duplicate"])
        self.assertIn(budi.child_id, e.exception.reasons[0].message_id)
        self.assertEqual(len(self.a.village_list()), 1)

        # A comma decimal, as a kader types it.
        r = self.a.record_visit(budi.child_id, weighing("2025-05-14", "9,1", "76.5"), False)
        self.assertEqual(r.date, "2025-05-14")
        self.assertEqual(r.assessment.age_months, 16)
        self.assertEqual(r.assessment.kms, "B")
        for z in (r.assessment.waz, r.assessment.haz, r.assessment.whz):
            self.assertIsNotNone(z)
            self.assertTrue(-3 < z < 3, z)
        self.assertEqual(r.assessment.class_wfa, "berat_badan_normal")

        # A weight that fell by 2.6 kg in a month: the kader must confirm, with the reasons.
        with self.assertRaises(t.TimbangError.NeedsConfirmation) as e:
            self.a.record_visit(budi.child_id, weighing("2025-06-14", "6.5"), False)
        self.assertIn("weight_kg", [c.field for c in e.exception.reasons])
        self.assertTrue(all(c.message_id and c.message_en for c in e.exception.reasons))
        self.assertEqual(len(self.a.child(budi.child_id).visits), 1, "nothing written")
        r = self.a.record_visit(budi.child_id, weighing("2025-06-14", "6.5"), True)
        self.assertEqual(r.assessment.kms, "T")
        self.assertTrue(r.confirmed)

        sari = self.a.register_child(child("Sari Wulandari", "2023-03-02"), False).child_id
        self.a.record_visit(sari, weighing("2025-06-14", "11.8", "88.0"), False)
        rows = self.a.village_list()
        self.assertEqual([row.name for row in rows], ["Budi Santoso", "Sari Wulandari"])
        self.assertEqual(rows[0].kms, "T")
        self.assertTrue(rows[0].referral, "a weight loss is a referral reason")
        self.assertEqual(len(rows[0].referral), len(rows[0].referral_text))
        self.assertAlmostEqual(rows[1].weight_kg, 11.8)
        self.assertEqual(rows[1].sex, t.Sex.FEMALE)

        detail = self.a.child(budi.child_id)
        self.assertEqual([v.date for v in detail.visits], ["2025-05-14", "2025-06-14"])
        self.assertAlmostEqual(detail.visits[0].height_cm, 76.5)
        self.assertEqual(detail.visits[0].position, t.Position.LYING)
        self.assertEqual(detail.visits[1].assessment.kms, "T")

        # The data is in the file: another handle with the same key sees it.
        again = t.Timbang.open(self.path, self.key, TODAY)
        self.assertEqual(len(again.village_list()), 2)

    def test_errors_cross_with_their_fields(self):
        kid = self.a.register_child(child("Rina Putri", "2024-05-01"), False).child_id
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            self.a.record_visit(kid, weighing("2025-06-14", "-1"), False)
        self.assertEqual(e.exception.field, "weight_kg")
        self.assertIn("negatif", e.exception.message_id)
        # Outside the hard limits: refused even when confirmed.
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            self.a.record_visit(kid, weighing("2025-06-14", "95"), True)
        self.assertEqual(e.exception.field, "weight_kg")
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            self.a.record_visit(kid, weighing("2025-06-16", "8.0"), False)
        self.assertEqual(e.exception.field, "date")
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            self.a.record_visit(kid, t.VisitEntry(date="2025-06-14", services=["jamu"]), False)
        self.assertEqual(e.exception.field, "service")
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            self.a.register_child(child("Rina", "15-06-2024"), False)
        self.assertEqual(e.exception.field, "birth_date")
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            self.a.child("not-an-id")
        self.assertEqual(e.exception.field, "child_id")
        missing = "01900000-0000-7000-8000-000000000000"
        with self.assertRaises(t.TimbangError.NotFound) as e:
            self.a.child(missing)
        self.assertEqual((e.exception.what, e.exception.id), ("child", missing))
        with self.assertRaises(t.TimbangError.NotFound) as e:
            self.a.resolve("no-such-conflict", "7.4")
        self.assertEqual(e.exception.what, "conflict")
        with self.assertRaises(t.TimbangError.AlreadyInitialized):
            self.a.init("Posyandu Mawar", "Sukamaju", "hp-1")

        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            t.Timbang.open(self.path, b"short", TODAY)
        self.assertEqual(e.exception.field, "key")
        with self.assertRaises(t.TimbangError.WrongKey) as e:
            t.Timbang.open(self.path, os.urandom(32), TODAY)
        self.assertIn("Kunci", e.exception.message_id)
        fresh = t.Timbang.open(os.path.join(self.dir.name, "new.db"), os.urandom(32), TODAY)
        with self.assertRaises(t.TimbangError.NotInitialized):
            fresh.register_child(child("Rina Putri", "2024-05-01"), False)
        # Another program's SQLite file is refused and left alone.
        other = os.path.join(self.dir.name, "other.db")
        import sqlite3

        with sqlite3.connect(other) as c:
            c.execute("create table notes(x)")
        with open(other, "rb") as f:
            before = f.read()
        with self.assertRaises(t.TimbangError.NotOurs):
            t.Timbang.open(other, os.urandom(32), TODAY)
        with open(other, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_two_phones_sync_conflict_and_resolution_over_a_python_transport(self):
        b = self.second_phone()
        listener = Counter()
        b.set_change_listener(listener)
        kid = self.a.register_child(child("Dewi Lestari", "2024-02-01"), False).child_id
        self.a.record_visit(kid, weighing("2025-05-10", "8.2"), False)

        pulled, served, (x, y) = sync(b, self.a)
        self.assertTrue(pulled.completed and served.completed)
        self.assertEqual(pulled.peer_device, self.a.settings().device_id)
        self.assertEqual(pulled.docs_received, 1)
        self.assertTrue(x.paired_called and y.paired_called)
        self.assertGreaterEqual(listener.calls, 1, "B was told it stored a child")
        self.assertEqual([r.child_id for r in b.village_list()], [kid])

        # The same visit weighed on both phones with different values: a conflict on both.
        self.a.record_visit(kid, weighing("2025-06-14", "8.6"), False)
        b.record_visit(kid, weighing("2025-06-14", "8.9"), False)
        sync(b, self.a)
        for phone in (self.a, b):
            conflicts = phone.conflicts()
            self.assertEqual(len(conflicts), 1)
            c = conflicts[0]
            self.assertEqual((c.child_id, c.field, c.visit_date), (kid, "weight_kg", "2025-06-14"))
            self.assertEqual(sorted(c.values), ["8.6", "8.9"])
        self.assertEqual(len(b.child(kid).conflicts), 1)
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            b.resolve(c.conflict_id, "7.0")
        self.assertEqual(e.exception.field, "value")

        b.resolve(b.conflicts()[0].conflict_id, "8.9")
        self.assertEqual(b.conflicts(), [])
        sync(b, self.a)
        self.assertEqual(self.a.conflicts(), [])
        self.assertAlmostEqual(self.a.child(kid).visits[-1].weight_kg, 8.9)
        self.assertEqual(self.a.village_list(), b.village_list())

        # Two records of one child, merged on B, arrive merged on A.
        dup = b.register_child(child("Dewi Lestary", "2024-02-03"), True).child_id
        self.assertEqual(b.merge_children(kid, dup), kid)
        sync(b, self.a)
        self.assertEqual(self.a.child(dup).child_id, kid)
        self.assertEqual(self.a.child(kid).merged_ids, [dup])
        self.assertEqual(len(self.a.village_list()), 1)

    def test_a_bidan_phone_in_two_teams_keeps_each_posyandu_to_its_own_phones(self):
        self.a.register_child(child("Ani Melati", "2024-01-01"), False)
        mawar = t.Timbang.open(os.path.join(self.dir.name, "mawar.db"), os.urandom(32), TODAY)
        mawar.init("Posyandu Mawar", "Sukamaju", "hp-m")
        mawar.register_child(child("Bunga Mawar", "2024-02-02"), False)
        bidan = t.Timbang.open(os.path.join(self.dir.name, "bidan.db"), os.urandom(32), TODAY)
        bidan.team_join(self.a.team_invite(), "hp-bidan")
        added = bidan.team_add(mawar.team_invite())
        self.assertEqual(added.children, 0)
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            bidan.team_add(mawar.team_invite())
        self.assertEqual(e.exception.field, "code")

        sync(self.a, bidan)
        sync(mawar, bidan)
        teams = sorted((x.posyandu, x.children) for x in bidan.team_list())
        self.assertEqual(teams, [("Posyandu Mawar", 1), ("Posyandu Melati", 1)])
        names = lambda db, **f: sorted(r.name for r in db.village_list_filtered(t.VillageFilter(**f)))
        self.assertEqual(names(bidan), ["Ani Melati", "Bunga Mawar"])
        self.assertEqual(names(bidan, posyandu="posyandu mawar"), ["Bunga Mawar"])

        # On her phone a new child needs its posyandu; it then reaches that posyandu's phone only.
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            bidan.register_child(child("Citra", "2024-03-03"), False)
        self.assertEqual(e.exception.field, "posyandu")
        bidan.register_child(child("Citra Mawar", "2024-03-03", posyandu="Posyandu Mawar"), False)
        sync(bidan, mawar, posyandu="Posyandu Mawar")  # she dials Mawar's phone with Mawar's team
        sync(self.a, bidan)
        self.assertEqual(names(mawar), ["Bunga Mawar", "Citra Mawar"])
        self.assertEqual(names(self.a), ["Ani Melati"], "Melati's phone never gets Mawar's children")

    def test_a_stranger_is_refused_and_the_error_says_not_retryable(self):
        self.a.register_child(child("Agus Salim", "2024-04-04", t.Sex.MALE), False)
        self.a.team_invite()
        stranger = t.Timbang.open(os.path.join(self.dir.name, "x.db"), os.urandom(32), TODAY)
        other_team = t.Timbang.open(os.path.join(self.dir.name, "y.db"), os.urandom(32), TODAY)
        other_team.init("Posyandu Lain", "Desa Lain", "hp-9")
        stranger.team_join(other_team.team_invite(), "hp-x")
        with self.assertRaises(t.TimbangError.Network) as e:
            sync(stranger, self.a)
        self.assertFalse(e.exception.retryable)
        self.assertEqual(e.exception.service, t.NetworkService.PEER)
        self.assertTrue(e.exception.message_id)
        self.assertEqual(stranger.village_list(), [], "a stranger gets nothing")

    def test_interrupt_stops_a_session_and_the_next_one_fetches_the_rest(self):
        # Enough children that they travel in more than one frame (a frame's documents are stored in
        # as few transactions as a time slice allows).
        header = "name,sex,birth_date,nik,kk,mother_name,mother_nik,address,visit_date,weight_kg,height_cm,measured,head_circ_cm,muac_cm"
        rows = []
        for i in range(300):
            born = datetime.date(2023, 1, 1) + datetime.timedelta(days=i)
            for month in (4, 5, 6):
                rows.append(f"Anak Uji {i},P,{born},,,,,,2025-0{month}-10,{8 + i % 3}.{month},,,,")
        imported = self.a.import_register("register.csv", ("\n".join([header] + rows) + "\n").encode())
        n = imported.children
        self.assertGreater(n, 250, imported)
        b = self.second_phone()
        handle = b.interrupt_handle()
        # The host interrupts as soon as the first batch is stored (from inside the listener).
        b.set_change_listener(Counter(lambda c: handle.interrupt() if c.calls == 1 else None))
        with self.assertRaises(t.TimbangError.Interrupted) as e:
            sync(b, self.a)
        self.assertTrue(e.exception.message_id)
        part = len(b.village_list())
        self.assertTrue(0 < part < n, (part, n))
        b.set_change_listener(None)
        pulled, _, _ = sync(b, self.a)
        self.assertEqual(pulled.docs_received, n - part)
        self.assertEqual(len(b.village_list()), n)

    def test_a_dialling_phone_may_offer_an_older_session_version(self):
        # What the app does after an older phone refused the newest version: a new stream, one less.
        b = self.second_phone()
        kid = self.a.register_child(child("Dewi Lestari", "2024-02-01"), False).child_id
        self.a.record_visit(kid, weighing("2025-05-10", "8.2"), False)
        pulled, served, _ = sync(b, self.a, session_version=2)
        self.assertTrue(pulled.completed and served.completed)
        self.assertEqual([r.child_id for r in b.village_list()], [kid])
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            b.peer_session(PipeEnd(Pipe(), Pipe()), t.PeerRole.DIAL, None, 9)
        self.assertEqual(e.exception.field, "session_version")

    def test_a_transport_that_breaks_is_a_retryable_network_error(self):
        b = self.second_phone()
        self.a.register_child(child("Putu Ayu", "2024-01-01"), False)

        class Broken(t.ByteStream):
            def read(self, max):
                raise t.StreamError.Failed("bluetooth link lost")

            def write(self, data):
                pass

            def paired(self):
                pass

        with self.assertRaises(t.TimbangError.Network) as e:
            b.peer_session(Broken(), t.PeerRole.DIAL)
        self.assertTrue(e.exception.retryable)


if __name__ == "__main__":
    unittest.main()
