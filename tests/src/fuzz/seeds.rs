//! Valid inputs for every fuzz target, so the fuzzer starts from real structure instead of learning
//! the framing byte by byte. Everything is synthetic and deterministic (fixed ids, actors, times and
//! team), so the same files come out on every machine: `cargo test -p timbang-tests --test
//! fuzz_corpus -- --ignored write_seeds` writes them as `seed-*` files into `tests/fuzz/corpus/NAME/`.
//!
//! The session seeds are real conversations: [`record_session`] runs this phone's session (on
//! [`super::session_store`]) against a real peer session on another store, through a relay that
//! holds a sealed channel to each side and writes down, in plain text, what the peer said.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc};
use timbang_core::crdt;
use timbang_core::domain::{
    ChildId, Measurements, NewChild, Position, Service, Services, Sex, VisitEntry,
};
use timbang_core::peer::memory::MemoryStore;
use timbang_core::peer::pairing::INVITE_KBM_TABLES;
use timbang_core::peer::pipe::duplex;
use timbang_core::peer::{
    PeerError, Role, SecureChannel, SessionConfig, SyncStats, make_invite_code, make_pairing_code,
    run_session,
};

use super::{AsikAnswer, AsikInput, SessionInput, session_store, team};

const NOW_MS: i64 = 1_750_000_000_000;

/// Named inputs of one target.
pub type Named = Vec<(String, Vec<u8>)>;

fn actor(n: u8) -> ActorId {
    ActorId::from(&[n; 16][..])
}

fn new_child(name: &str, sex: Sex, birth: &str) -> NewChild {
    NewChild {
        name: name.into(),
        sex,
        birth_date: birth.parse().expect("a fixed date"),
        nik: None,
        kk: None,
        mother_name: None,
        mother_nik: None,
        address: None,
    }
}

fn visit(date: &str, weight_g: u32, height_mm: Option<u32>, services: &[&str]) -> VisitEntry {
    let mut s = Services::default();
    for code in services {
        s.insert(Service::parse(code).expect("a known service"));
    }
    VisitEntry {
        date: Some(date.parse().expect("a fixed date")),
        measured: Measurements {
            weight_g: Some(weight_g),
            height_mm,
            position: height_mm.map(|_| Position::Lying),
            ..Default::default()
        },
        services: s,
    }
}

fn record(doc: &mut Automerge, e: &VisitEntry, device: &str, at: i64) {
    let date = e.date.expect("a dated visit");
    crdt::write_visit(doc, date, e, &[], device, NOW_MS + at).expect("a visit writes");
}

/// The synthetic child documents every seed is made of.
#[derive(Debug)]
pub struct Fixture {
    pub id_a: String,
    pub id_b: String,
    pub id_c: String,
    /// Child A as registered (actor 1), before either phone weighed her.
    pub base_a: Automerge,
    /// Child A on this phone: weighed 9.1 kg on 2025-06-14 (actor 1).
    pub ours_a: Automerge,
    /// Child A on the peer: weighed 9.3 kg the same day with a length (actor 2): a conflict.
    pub theirs_a: Automerge,
    /// Child A on the peer after it synced ours and weighed her again a month later.
    pub ahead_a: Automerge,
    /// Child B (actor 1), never weighed.
    pub b: Automerge,
    /// Child C, registered on the peer (actor 2): two visits with services, the first deleted.
    pub c: Automerge,
}

impl Fixture {
    /// Build the documents (the same bytes every time).
    pub fn new() -> Self {
        let id_a = ChildId::parse("0197a000-0000-7000-8000-00000000000a").expect("a uuid");
        let id_b = ChildId::parse("0197a000-0000-7000-8000-00000000000b").expect("a uuid");
        let id_c = ChildId::parse("0197a000-0000-7000-8000-00000000000c").expect("a uuid");
        let base_a = crdt::new_child_doc(
            &id_a,
            &new_child("Anak Satu", Sex::Female, "2024-01-10"),
            &[],
            "hp-1",
            actor(1),
            NOW_MS,
        )
        .expect("a new document");
        let mut ours_a = base_a.fork().with_actor(actor(1));
        record(
            &mut ours_a,
            &visit("2025-06-14", 9_100, None, &[]),
            "hp-1",
            1_000,
        );
        let mut theirs_a = base_a.fork().with_actor(actor(2));
        record(
            &mut theirs_a,
            &visit("2025-06-14", 9_300, Some(765), &["vit_a_biru"]),
            "hp-2",
            2_000,
        );
        let mut ahead_a = ours_a.fork().with_actor(actor(2));
        record(
            &mut ahead_a,
            &visit("2025-07-12", 9_400, Some(772), &["pmt"]),
            "hp-2",
            3_000,
        );
        let b = crdt::new_child_doc(
            &id_b,
            &new_child("Anak Dua", Sex::Male, "2023-05-02"),
            &[],
            "hp-1",
            actor(1),
            NOW_MS + 4_000,
        )
        .expect("a new document");
        let mut c = crdt::new_child_doc(
            &id_c,
            &new_child("Anak Tiga", Sex::Male, "2024-11-30"),
            &[],
            "hp-2",
            actor(2),
            NOW_MS + 5_000,
        )
        .expect("a new document");
        record(
            &mut c,
            &visit("2025-05-10", 6_200, Some(610), &["obat_cacing"]),
            "hp-2",
            6_000,
        );
        crdt::delete_visit(
            &mut c,
            "2025-05-10".parse().expect("a date"),
            "hp-2",
            NOW_MS + 7_000,
        )
        .expect("a visit deletes");
        record(
            &mut c,
            &visit("2025-06-14", 6_900, Some(640), &["vit_a_biru", "oralit"]),
            "hp-2",
            8_000,
        );
        Self {
            id_a: id_a.as_str().to_owned(),
            id_b: id_b.as_str().to_owned(),
            id_c: id_c.as_str().to_owned(),
            base_a,
            ours_a,
            theirs_a,
            ahead_a,
            b,
            c,
        }
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

/// Pairing and invite codes of the fixed team, as printed and as a person might type them.
pub fn pairing_code() -> Named {
    let team = team();
    let code = make_pairing_code(&team);
    let mut out = vec![
        ("pairing".to_owned(), code.clone().into_bytes()),
        (
            "pairing-sloppy".to_owned(),
            format!("  {} ", code.to_lowercase().replace('-', " ")).into_bytes(),
        ),
        (
            "pairing-lookalikes".to_owned(),
            code.replace('1', "l").replace('0', "O").into_bytes(),
        ),
    ];
    for (i, table) in INVITE_KBM_TABLES.iter().enumerate() {
        let invite = make_invite_code(&team, table).expect("a known table");
        out.push((format!("invite-{i}"), invite.into_bytes()));
    }
    out
}

fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    out.push(kind);
    out.extend_from_slice(body);
    out
}

fn hello(version: u8, team_id: &[u8; 16], device: &str, proof: Option<[u8; 32]>) -> Vec<u8> {
    let mut out = vec![version];
    out.extend_from_slice(team_id);
    out.extend_from_slice(&[0x42; 32]);
    out.push(device.len() as u8);
    out.extend_from_slice(device.as_bytes());
    if let Some(p) = proof {
        out.extend_from_slice(&p);
    }
    out
}

/// Handshake streams: well-formed hellos of the team (with proofs that cannot be right), refusals, a
/// hello of another version, a sealed frame too early.
pub fn handshake() -> Named {
    let t = team().team_id;
    let client_hello = frame(0x01, &hello(1, &t, "hp-2", None));
    let server_hello = frame(0x02, &hello(1, &t, "hp-2", Some([0x17; 32])));
    let proof = frame(0x03, &[0x17; 32]);
    vec![
        (
            "client-hello-and-proof".to_owned(),
            [client_hello.clone(), proof.clone()].concat(),
        ),
        (
            "server-hello".to_owned(),
            [server_hello.clone(), proof].concat(),
        ),
        (
            "both-hellos".to_owned(),
            [client_hello.clone(), server_hello].concat(),
        ),
        ("refuse-version".to_owned(), frame(0x7F, &[2, 1])),
        ("refuse-not-paired".to_owned(), frame(0x7F, &[1, 1])),
        ("hello-version-2".to_owned(), frame(0x01, &[2, 9, 9])),
        (
            "other-team".to_owned(),
            frame(0x01, &hello(1, &[7; 16], "hp-9", None)),
        ),
        (
            "sealed-too-early".to_owned(),
            [client_hello, frame(0x04, &[0; 40])].concat(),
        ),
    ]
}

/// Record a real session of this phone (on [`session_store`], role and configuration from `flags`
/// as in [`SessionInput`]) against a peer session on `peer_store` (default configuration): returns
/// what the peer said and how this phone's session ended.
pub fn record_session(
    peer_store: MemoryStore,
    flags: u8,
) -> Option<(SessionInput, Result<SyncStats, PeerError>)> {
    let mut input = SessionInput {
        flags,
        messages: Vec::new(),
    };
    let role = input.role();
    let config = input.config();
    let (ours_end, relay_ours_end) = duplex();
    let (peer_end, relay_peer_end) = duplex();
    std::thread::scope(|s| {
        // This phone and the relay (standing in for the peer).
        let ours = s.spawn(move || {
            let mut store = session_store().clone();
            let (mut ch, peer_id) = match role {
                Role::Client => SecureChannel::connect(ours_end, &team(), "fuzz-phone")?,
                Role::Server => SecureChannel::accept(ours_end, &team(), "fuzz-phone")?,
            };
            run_session(&mut ch, &mut store, &peer_id, role, &config)
        });
        // The peer and the relay (standing in for this phone).
        let peer_role = match role {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        };
        let peer = s.spawn(move || {
            let mut store = peer_store;
            let (mut ch, id) = match peer_role {
                Role::Client => SecureChannel::connect(peer_end, &team(), "peer-phone")?,
                Role::Server => SecureChannel::accept(peer_end, &team(), "peer-phone")?,
            };
            run_session(
                &mut ch,
                &mut store,
                &id,
                peer_role,
                &SessionConfig::default(),
            )
        });
        let relayed = relay(relay_ours_end, relay_peer_end, role, &mut input.messages);
        let ours = ours.join().ok()?;
        let _ = peer.join();
        relayed.then_some((input, ours))
    })
}

/// Pass messages between this phone and the peer, strictly taking turns as sessions do, writing down
/// what the peer says. False when a handshake failed.
fn relay(
    to_ours: timbang_core::peer::pipe::PipeEnd,
    to_peer: timbang_core::peer::pipe::PipeEnd,
    role: Role,
    said: &mut Vec<Vec<u8>>,
) -> bool {
    let Some((mut ours, mut peer)) = relay_channels(to_ours, to_peer, role) else {
        return false;
    };
    // The client speaks first; kind 7 is "more frames of this turn follow"; 10 abort, 16 verified and
    // 17 unverified end a session, and 9 ack does after 2 in sync.
    let mut peer_speaks = role == Role::Server;
    let mut last = None;
    for _ in 0..10_000 {
        let from = if peer_speaks { &mut peer } else { &mut ours };
        let Ok(msg) = from.recv() else {
            break;
        };
        if peer_speaks {
            // Written down as it is when it came deflated: a session reads either, and the fuzzer's
            // mutations of plain messages reach the parsers.
            said.push(inflated(&msg));
        }
        let to = if peer_speaks { &mut ours } else { &mut peer };
        if to.send(&msg).is_err() {
            break;
        }
        let kind = msg.first().map(|k| k & !DEFLATED);
        match kind {
            Some(9) if last == Some(2) => break,
            Some(10 | 16 | 17) | None => break,
            Some(7) => {}
            Some(_) => peer_speaks = !peer_speaks,
        }
        last = kind;
    }
    true
}

/// The bit a session sets in the kind byte of a message whose body travels deflated (version 3).
const DEFLATED: u8 = 0x80;

/// `msg` as the session reads it: a deflated body inflated, the kind byte without [`DEFLATED`].
fn inflated(msg: &[u8]) -> Vec<u8> {
    use std::io::Read;
    match msg.split_first() {
        Some((&kind, body)) if kind & DEFLATED != 0 => {
            let mut out = vec![kind & !DEFLATED];
            flate2::read::DeflateDecoder::new(body)
                .read_to_end(&mut out)
                .expect("a session deflates what inflates");
            out
        }
        _ => msg.to_vec(),
    }
}

type Channel = SecureChannel<timbang_core::peer::pipe::PipeEnd>;

fn relay_channels(
    to_ours: timbang_core::peer::pipe::PipeEnd,
    to_peer: timbang_core::peer::pipe::PipeEnd,
    role: Role,
) -> Option<(Channel, Channel)> {
    let t = team();
    // Towards this phone the relay plays the peer; towards the peer it plays this phone.
    let ours = match role {
        Role::Client => SecureChannel::accept(to_ours, &t, "peer-phone"),
        Role::Server => SecureChannel::connect(to_ours, &t, "peer-phone"),
    }
    .ok()?
    .0;
    let peer = match role {
        Role::Client => SecureChannel::connect(to_peer, &t, "fuzz-phone"),
        Role::Server => SecureChannel::accept(to_peer, &t, "fuzz-phone"),
    }
    .ok()?
    .0;
    Some((ours, peer))
}

/// The peers the session seeds talk to.
pub fn session_peers() -> Vec<(&'static str, MemoryStore)> {
    let f = Fixture::new();
    let mut in_sync = MemoryStore::default();
    in_sync.put(&f.id_a, &f.ours_a);
    in_sync.put(&f.id_b, &f.b);
    let mut diverged = MemoryStore::default();
    diverged.put(&f.id_a, &f.theirs_a);
    diverged.put(&f.id_c, &f.c);
    let mut ahead = MemoryStore::default();
    ahead.put(&f.id_a, &f.ahead_a);
    ahead.put(&f.id_b, &f.b);
    ahead.put(&f.id_c, &f.c);
    vec![
        ("in-sync", in_sync),
        ("empty", MemoryStore::default()),
        ("diverged", diverged),
        ("ahead", ahead),
    ]
}

/// Real conversations with each of [`session_peers`], in both roles and both configurations, with
/// how this phone's session ended when it talked to the real peer.
pub fn session_recordings() -> Vec<(String, SessionInput, Result<SyncStats, PeerError>)> {
    let mut out = Vec::new();
    for (name, store) in session_peers() {
        for flags in 0..4u8 {
            let role = if flags & 1 == 1 { "dial" } else { "serve" };
            let size = if flags & 2 == 2 { "small" } else { "default" };
            if let Some((input, result)) = record_session(store.clone(), flags) {
                out.push((format!("{name}-{role}-{size}"), input, result));
            }
        }
    }
    out
}

/// The session seeds: [`session_recordings`] as fuzz inputs.
pub fn session_messages() -> Named {
    session_recordings()
        .into_iter()
        .map(|(name, input, _)| (name, input.encode()))
        .collect()
}

/// Documents: each child as saved, a merged document with conflicts, changes saved in two chunks, a
/// duplicate merged into another child, a conflict on the name, and a document that is not a child.
pub fn document() -> Named {
    let f = Fixture::new();
    let mut merged = f.ours_a.fork().with_actor(actor(1));
    let mut theirs = f.theirs_a.fork().with_actor(actor(2));
    merged.merge(&mut theirs).expect("documents merge");
    let mut chunks = f.base_a.save();
    chunks.extend_from_slice(&f.ahead_a.save_after(&f.base_a.get_heads()));
    let mut duplicate = f.b.fork().with_actor(actor(1));
    crdt::mark_merged_into(
        &mut duplicate,
        &ChildId::parse(&f.id_a).expect("an id"),
        NOW_MS + 9_000,
    )
    .expect("a mark");
    let mut name_one = f.b.fork().with_actor(actor(1));
    let mut name_two = f.b.fork().with_actor(actor(2));
    for (doc, name) in [(&mut name_one, "Anak Dua"), (&mut name_two, "Anak Kedua")] {
        let ident = match doc.get(ROOT, "identity") {
            Ok(Some((_, id))) => id,
            _ => panic!("the identity map"),
        };
        let mut tx = doc.transaction();
        tx.put(&ident, "name", format!("{name}!")).expect("a put");
        tx.commit();
    }
    name_one.merge(&mut name_two).expect("documents merge");
    let mut not_a_child = Automerge::new().with_actor(actor(3));
    let mut tx = not_a_child.transaction();
    tx.put(ROOT, "hello", "world").expect("a put");
    let list = tx
        .put_object(ROOT, "visits", ObjType::List)
        .expect("a list");
    tx.insert(&list, 0, 5_i64).expect("an insert");
    tx.commit();
    vec![
        ("child-a-ours".to_owned(), f.ours_a.save()),
        ("child-a-theirs".to_owned(), f.theirs_a.save()),
        ("child-a-merged-conflict".to_owned(), merged.save()),
        ("child-a-two-chunks".to_owned(), chunks),
        ("child-b".to_owned(), f.b.save()),
        ("child-b-merged-into-a".to_owned(), duplicate.save()),
        ("child-b-name-conflict".to_owned(), name_one.save()),
        ("child-c-services-deleted".to_owned(), f.c.save()),
        ("not-a-child".to_owned(), not_a_child.save()),
    ]
}

/// CSV files for `timbang anthro`: dates, age in days, decimal commas, quoting, a byte-order mark,
/// missing values, and a bad row after good ones.
pub fn anthro_csv() -> Named {
    let files: &[(&str, &str)] = &[
        (
            "dates",
            "case_id,sex,birth_date,measure_date,weight_kg,height_cm,measured,head_circ_cm,muac_cm,oedema\n\
             1,M,2024-01-10,2025-06-14,9.1,76.5,lying,45.2,14.1,n\n\
             2,F,2023-05-02,2025-06-14,10.2,84.0,standing,,13.5,y\n\
             3,L,2021-02-28,2025-06-14,NA,NA,,NA,NA,\n",
        ),
        (
            "age-days",
            "sex,age_days,weight_kg,height_cm,oedema\n1,0,3.3,49.9,0\n2,365,8.9,74.0,1\n1,1826,18.3,110.0,false\n",
        ),
        (
            "decimal-comma-semicolon-quoted",
            "\u{feff}Case_ID,SEX,Birth_Date,Measure_Date,Weight_Kg,Height_Cm\n\
             \"a,1\",p,2024-02-29,2025-02-28,\"8,7\",\"72,5\"\n\
             \"b\"\"2\",l,2024-12-31,2025-01-01,4,55\n",
        ),
        (
            "bad-row-after-good",
            "case_id,sex,birth_date,measure_date,weight_kg\n1,M,2024-01-10,2025-06-14,9.1\n2,X,2024-01-10,2025-06-14,9.1\n",
        ),
        (
            "extremes",
            "case_id,sex,birth_date,measure_date,weight_kg,height_cm,measured,muac_cm\n\
             1,M,2024-01-10,2024-01-10,0.1,45.0,H,5\n\
             2,F,1900-01-01,2099-12-31,999,250,L,40\n\
             3,F,2024-01-10,2025-06-14,-1,-0.0,lying,1e300\n",
        ),
    ];
    files
        .iter()
        .map(|(n, s)| ((*n).to_owned(), s.as_bytes().to_vec()))
        .collect()
}

/// Register files for `timbang import`: good rows of two children, a baby with the mother's NIK only,
/// decimal commas and a byte-order mark, bad rows among good ones, and a file missing a column.
pub fn register_csv() -> Named {
    let header = "name,sex,birth_date,nik,kk,mother_name,mother_nik,address,visit_date,weight_kg,height_cm,measured,head_circ_cm,muac_cm";
    let files: Vec<(&str, String)> = vec![
        (
            "two-children",
            format!(
                "{header}\n\
                 Anak Satu,P,2024-01-10,3301014101240001,3301010101010001,Ibu Satu,3301014101900001,Dusun Uji,2025-05-10,8.1,70.2,lying,44.0,14.0\n\
                 Anak Satu,P,2024-01-10,3301014101240001,3301010101010001,Ibu Satu,3301014101900001,Dusun Uji,2025-06-10,8.4,71.0,lying,,\n\
                 Anak Dua,L,2022-03-02,,,Ibu Dua,3301014101880002,Dusun Uji,2025-06-10,11.9,88.5,standing,,14.5\n"
            ),
        ),
        (
            "bom-decimal-comma-quoted",
            format!(
                "\u{feff}{}\n\"Anak, Tiga\",L,2024-11-30,,,Ibu Tiga,,,2025-06-01,\"6,2\",\"62,5\",H,,\n",
                header.to_uppercase()
            ),
        ),
        (
            "bad-rows-among-good",
            format!(
                "{header}\n\
                 Anak Empat,P,2024-02-29,,,,,,2025-06-10,7.9,68.0,lying,,\n\
                 ,P,2024-02-29,,,,,,2025-06-10,7.9,68.0,lying,,\n\
                 Anak Lima,X,2099-01-01,12,,,,,2025-13-40,-3,999,sideways,1e9,NA\n\
                 Anak Enam,L,2023-08-08,,,,,,,,,,,\n"
            ),
        ),
        (
            "missing-column",
            "name,sex,birth_date\nAnak Tujuh,L,2024-01-01\n".to_owned(),
        ),
    ];
    files
        .into_iter()
        .map(|(n, s)| (n.to_owned(), s.into_bytes()))
        .collect()
}

/// Records what a real server (the SATUSEHAT test double) answers while passing it on.
#[derive(Debug)]
struct Recorder {
    inner: timbang_core::host::UreqHttp,
    answers: std::sync::Mutex<Vec<AsikAnswer>>,
}

impl timbang_core::host::HttpClient for Recorder {
    fn send(
        &self,
        request: timbang_core::host::HttpRequest,
    ) -> Result<timbang_core::host::HttpResponse, timbang_core::host::HttpError> {
        let answer = self.inner.send(request)?;
        if let Ok(mut a) = self.answers.lock() {
            a.push(AsikAnswer {
                status: answer.status,
                retry_after: answer
                    .header("Retry-After")
                    .and_then(|v| v.trim().parse::<u8>().ok()),
                body: answer.body.clone(),
            });
        }
        Ok(answer)
    }
}

/// Conversations of the ASIK harness's phone with the SATUSEHAT test double on 127.0.0.1: a first
/// upload (token, Patient searches and creations, transaction Bundles), the same upload through the
/// server's faults (500, 503 and 429 with Retry-After, expired tokens, a body that is not JSON), and
/// an upload the server refuses (unknown client). Each starts from a copy of the template phone.
pub fn asik_responses() -> Named {
    use asik_server::Fault;
    let mut out = Vec::new();
    let runs: Vec<(&str, Vec<Fault>, bool)> = vec![
        ("first-upload", vec![], false),
        (
            "through-faults",
            vec![
                Fault::ServerError,
                Fault::Unavailable { retry_after: 0 },
                Fault::TooManyRequests { retry_after: 0 },
                Fault::ExpireTokens,
                Fault::Malformed,
            ],
            false,
        ),
        ("unknown-client", vec![], true),
    ];
    for (name, faults, wrong_client) in runs {
        let server = asik_server::start().expect("the test double starts on 127.0.0.1");
        server.add_patient_with_nik(super::CHILD_NIK, "female", "2024-03-10");
        for f in faults {
            server.push_fault(f);
        }
        let dir = tempfile::tempdir().expect("a temporary folder");
        let db = dir.path().join("hp.db");
        std::fs::copy(super::asik_template().join("hp.db"), &db).expect("the template copies");
        let t = super::open_phone(&db);
        let rec = Recorder {
            inner: timbang_core::host::UreqHttp::new(),
            answers: std::sync::Mutex::new(Vec::new()),
        };
        let mut cfg = super::asik_config(&server.base_url(), &server.auth_url());
        if wrong_client {
            cfg.client_secret = "not-the-secret".into();
        }
        let _ = t.asik_sync(
            &rec,
            &cfg,
            timbang_core::asik::SyncReason::Manual,
            std::time::Duration::from_secs(30),
        );
        let answers = rec.answers.into_inner().unwrap_or_default();
        out.push((name.to_owned(), AsikInput { flags: 0, answers }.encode()));
    }
    out
}

/// Every target's seeds, by target name.
pub fn all() -> Vec<(&'static str, Named)> {
    vec![
        ("pairing_code", pairing_code()),
        ("handshake", handshake()),
        ("session_messages", session_messages()),
        ("document", document()),
        ("anthro_csv", anthro_csv()),
        ("register_csv", register_csv()),
        ("asik_responses", asik_responses()),
    ]
}
