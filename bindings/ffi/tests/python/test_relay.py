"""The relay through the generated Python bindings, with the host's HTTP written in Python (the same
urllib client as the ASIK test). Without a store: the typed errors (a closed port on 127.0.0.1, no
team). With the OpenStack Swift store bindings/ffi/tests/bindings.rs starts (RELAY_* variables): two
phones of a team sync through a bucket, and a wrong secret and a missing bucket are refused with
their own sentences. Synthetic people only.
"""

import os
import socket
import tempfile
import unittest

import timbang as t
from test_asik import UrllibHttp

TODAY = "2025-06-15"


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class RelayErrors(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.db = t.Timbang.open(os.path.join(self.dir.name, "hp1.db"), os.urandom(32), TODAY)
        self.db.init("Posyandu Melati", "Sukamaju", "hp-1")

    def tearDown(self):
        self.dir.cleanup()

    def config(self, **kw):
        c = dict(url=closed_port_url(), bucket="timbang", access_key="relay:tester", secret_key="rahasia")
        c.update(kw)
        return t.RelayConfig(**c)

    def test_a_phone_without_a_team_is_told_so(self):
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            self.db.relay_sync(UrllibHttp(), self.config())
        self.assertEqual(e.exception.field, "team")

    def test_a_closed_port_is_a_retryable_relay_error_with_its_own_sentence(self):
        self.db.team_invite()  # makes the team
        kid = self.db.register_child(t.NewChild(name="Anak Relay", sex=t.Sex.FEMALE, birth_date="2024-04-04"), True)
        self.db.record_visit(kid.child_id, t.VisitEntry(date="2025-06-14", weight_kg="8.0"), False)
        http = UrllibHttp()
        with self.assertRaises(t.TimbangError.Network) as e:
            self.db.relay_sync(http, self.config())
        err = e.exception
        self.assertEqual(err.service, t.NetworkService.RELAY)
        self.assertTrue(err.retryable)
        self.assertIn("Penyimpanan relay tidak bisa dihubungi", err.message_id)
        self.assertNotIn("--", err.message_id, "no CLI flags on a phone")
        self.assertNotIn("HP lain", err.message_id, "not the peer-sync sentence")
        self.assertIn("could not be reached", err.detail)
        self.assertGreaterEqual(http.requests, 1, "it went through the Python client")
        # Nothing was lost: the child is still here.
        self.assertEqual(len(self.db.village_list()), 1)

    def test_a_url_that_cannot_be_used_names_the_field(self):
        self.db.team_invite()
        with self.assertRaises(t.TimbangError.InvalidInput) as e:
            self.db.relay_sync(UrllibHttp(), self.config(url="bukan alamat"))
        self.assertEqual(e.exception.field, "url")


@unittest.skipUnless("RELAY_URL" in os.environ, "run by bindings/ffi/tests/bindings.rs with the Swift store")
class RelaySync(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.a = t.Timbang.open(os.path.join(self.dir.name, "hp1.db"), os.urandom(32), TODAY)
        self.a.init("Posyandu Melati", "Sukamaju", "hp-1")
        self.b = t.Timbang.open(os.path.join(self.dir.name, "hp2.db"), os.urandom(32), TODAY)
        self.b.team_join(self.a.team_invite(), "hp-2")

    def tearDown(self):
        self.dir.cleanup()

    def config(self, **kw):
        c = dict(
            url=os.environ["RELAY_URL"],
            bucket=os.environ["RELAY_BUCKET"],
            access_key=os.environ["RELAY_ACCESS_KEY"],
            secret_key=os.environ["RELAY_SECRET"],
        )
        c.update(kw)
        return t.RelayConfig(**c)

    def test_two_phones_sync_through_the_bucket(self):
        kid = self.a.register_child(t.NewChild(name="Anak Relay", sex=t.Sex.MALE, birth_date="2024-02-02"), True).child_id
        self.a.record_visit(kid, t.VisitEntry(date="2025-06-14", weight_kg="9.1"), False)

        pushed = self.a.relay_sync(UrllibHttp(), self.config())
        self.assertEqual((pushed.pushed, pushed.pulled, pushed.refused), (1, 0, []), pushed)
        self.assertGreaterEqual(pushed.requests, 2, "a list, then the object")

        pulled = self.b.relay_sync(UrllibHttp(), self.config())
        self.assertEqual(pulled.pulled, 1, pulled)
        self.assertEqual([r.child_id for r in self.b.village_list()], [kid])
        self.assertAlmostEqual(self.b.child(kid).visits[0].weight_kg, 9.1)

        # B's edit goes back to A; compacting on request writes a snapshot.
        self.b.record_visit(kid, t.VisitEntry(date="2025-06-15", weight_kg="9.2"), False)
        self.b.relay_sync(UrllibHttp(), self.config())
        back = self.a.relay_sync(UrllibHttp(), self.config(), compact=True)
        self.assertEqual(back.pulled, 1, back)
        self.assertTrue(back.compacted)
        self.assertEqual([v.date for v in self.a.child(kid).visits], ["2025-06-14", "2025-06-15"])

    def test_a_wrong_secret_and_a_missing_bucket_are_refused_and_not_retried(self):
        with self.assertRaises(t.TimbangError.Network) as e:
            self.a.relay_sync(UrllibHttp(), self.config(secret_key="salah"))
        self.assertEqual(e.exception.service, t.NetworkService.RELAY)
        self.assertFalse(e.exception.retryable)
        self.assertIn("kunci akses", e.exception.message_id)

        with self.assertRaises(t.TimbangError.Network) as e:
            self.a.relay_sync(UrllibHttp(), self.config(bucket=os.environ["RELAY_BUCKET"] + "-tidak-ada"))
        self.assertFalse(e.exception.retryable)
        self.assertIn("Bucket itu tidak ada", e.exception.message_id)


if __name__ == "__main__":
    unittest.main()
