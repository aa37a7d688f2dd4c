"""ASIK sync through the Python bindings, with the host's HTTP written in Python (urllib), against the
SATUSEHAT test double that bindings/ffi/tests/bindings.rs starts (its URLs come in ASIK_* variables;
the Rust side then checks what the server holds). Synthetic people only.
"""

import os
import socket
import tempfile
import unittest
import urllib.error
import urllib.request

import timbang as t

TODAY = "2025-06-15"


class UrllibHttp(t.HttpClient):
    """The host's HTTP: every status is an answer; no answer is an HttpError saying whether the
    request may have been delivered."""

    def __init__(self):
        self.requests = 0

    def send(self, request):
        self.requests += 1
        req = urllib.request.Request(
            request.url,
            data=bytes(request.body) if request.method in ("POST", "PUT") else None,
            method=request.method,
            headers={h.name: h.value for h in request.headers},
        )
        try:
            with urllib.request.urlopen(req, timeout=request.timeout_ms / 1000) as r:
                return self.answer(r.status, r.getheaders(), r.read())
        except urllib.error.HTTPError as e:
            return self.answer(e.code, e.headers.items(), e.read())
        except urllib.error.URLError as e:
            if isinstance(e.reason, (ConnectionRefusedError, socket.gaierror)):
                raise t.HttpError.Unreachable(str(e.reason))
            if isinstance(e.reason, TimeoutError):
                raise t.HttpError.TimedOut()
            raise t.HttpError.Failed(str(e.reason))
        except TimeoutError:
            raise t.HttpError.TimedOut()
        except OSError as e:
            raise t.HttpError.Failed(str(e))

    @staticmethod
    def answer(status, headers, body):
        return t.HttpResponse(
            status=status,
            headers=[t.HttpHeader(name=k, value=v) for k, v in headers],
            body=body,
        )


def config(**kw):
    base = dict(
        base_url=os.environ["ASIK_BASE_URL"],
        auth_url=os.environ["ASIK_AUTH_URL"],
        client_id=os.environ["ASIK_CLIENT_ID"],
        client_secret=os.environ["ASIK_CLIENT_SECRET"],
        org_id=os.environ["ASIK_ORG_ID"],
    )
    base.update(kw)
    return t.AsikConfig(**base)


@unittest.skipUnless("ASIK_BASE_URL" in os.environ, "run by bindings/ffi/tests/bindings.rs with the test server")
class AsikSync(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.db = t.Timbang.open(os.path.join(self.dir.name, "hp1.db"), os.urandom(32), TODAY)
        self.db.init("Posyandu Melati", "Sukamaju", "hp-1")

    def tearDown(self):
        self.dir.cleanup()

    def test_unreachable_is_retryable_and_sends_nothing(self):
        kid = self.db.register_child(t.NewChild(name="Anak Uji 9", sex=t.Sex.MALE, birth_date="2024-03-09",
                                                mother_name="Ibu Uji", mother_nik="3301015001900099"), True).child_id
        self.db.record_visit(kid, t.VisitEntry(date="2025-06-14", weight_kg="8.4"), False)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        closed = f"http://127.0.0.1:{port}"
        with self.assertRaises(t.TimbangError.Network) as e:
            self.db.asik_sync(UrllibHttp(), config(base_url=closed + "/fhir", auth_url=closed + "/oauth2"),
                              t.SyncReason.CONNECTIVITY, 5_000)
        self.assertTrue(e.exception.retryable)
        self.assertEqual(e.exception.service, t.NetworkService.ASIK)
        self.assertIn("unreachable", e.exception.detail)
        # ASIK's own sentence, not the one for a sync with another phone.
        self.assertIn("Server ASIK tidak dapat dihubungi", e.exception.message_id)
        self.assertNotIn("HP lain", e.exception.message_id)
        self.assertEqual(self.db.asik_status().pending, 1, "still pending")

    def test_three_visits_go_up_once_through_a_python_http_client(self):
        for i in range(1, 4):
            kid = self.db.register_child(
                t.NewChild(name=f"Anak Uji {i}", sex=t.Sex.FEMALE, birth_date=f"2024-03-0{i}",
                           mother_name="Ibu Uji", mother_nik=f"33010150019000{i:02d}"),
                True,
            ).child_id
            self.db.record_visit(kid, t.VisitEntry(date="2025-06-14", weight_kg="8.1", height_cm="70.5",
                                                   position=t.Position.LYING), False)
        status = self.db.asik_status()
        self.assertEqual((status.pending, status.sent), (3, 0))
        self.assertEqual({w.state for w in status.waiting}, {"pending"})

        http = UrllibHttp()
        report = self.db.asik_sync(http, config(), t.SyncReason.MANUAL, 60_000)
        self.assertEqual((report.sent, report.pending, report.rejected_total), (3, 0, 0), report)
        self.assertIsNone(report.stopped)
        self.assertGreaterEqual(report.requests, 2, "a token, then the bundles")
        self.assertEqual(report.requests, http.requests)
        self.assertEqual(self.db.asik_status().sent, 3)

        again = self.db.asik_sync(UrllibHttp(), config(), t.SyncReason.PERIODIC, 60_000)
        self.assertEqual((again.sent, again.created), (0, 0), "nothing is sent twice")

        # Wrong credentials on a fresh phone: refused, not retried blindly.
        other = t.Timbang.open(os.path.join(self.dir.name, "hp2.db"), os.urandom(32), TODAY)
        other.init("Posyandu Mawar", "Sukamaju", "hp-2")
        kid = other.register_child(t.NewChild(name="Anak Lain", sex=t.Sex.MALE, birth_date="2024-02-02",
                                              mother_name="Ibu Lain", mother_nik="3301015001900077"), True).child_id
        other.record_visit(kid, t.VisitEntry(date="2025-06-14", weight_kg="8.8"), False)
        with self.assertRaises(t.TimbangError.Network) as e:
            other.asik_sync(UrllibHttp(), config(client_secret="salah"), t.SyncReason.MANUAL, 30_000)
        self.assertFalse(e.exception.retryable, "someone must fix the credentials")
        self.assertEqual(e.exception.service, t.NetworkService.ASIK)
        self.assertIn("client ID", e.exception.message_id)
        self.assertEqual(other.asik_status().pending, 1)


if __name__ == "__main__":
    unittest.main()
