//! A phone of the team that runs an older Timbang: the dialling phone offers older session versions,
//! over real TCP on 127.0.0.1, until one is taken.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;

use common::*;
use timbang_core::domain::Sex;
use timbang_core::peer::memory::MemoryStore;
use timbang_core::peer::{
    PeerError, Role, SESSION_VERSION, SecureChannel, SessionConfig, parse_invite_code, run_session,
};

#[test]
fn a_phone_dialling_an_older_phone_offers_older_versions_until_one_is_taken() {
    let p = phone("hp-1");
    let id =
        p.t.register_child(child("Anak Satu", Sex::Female, "2024-03-03"), true)
            .unwrap()
            .child_id;
    p.t.record_visit(&id, weighing("2025-06-01", 8_100, Some(700)), true)
        .unwrap();
    let team = parse_invite_code(&p.t.team_invite().unwrap()).unwrap().team;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // The older phone: speaks session version 2 at most, as a phone of that release would.
    let old = std::thread::spawn(move || {
        let mut store = MemoryStore::default();
        let mut refused = Vec::new();
        loop {
            let (sock, _) = listener.accept().unwrap();
            let (mut ch, peer) = SecureChannel::accept(sock, &team, "old-phone").unwrap();
            let cfg = SessionConfig {
                version: 2,
                ..SessionConfig::default()
            };
            match run_session(&mut ch, &mut store, &peer, Role::Server, &cfg) {
                Ok(stats) => return (store, refused, stats),
                Err(PeerError::Protocol(why)) => refused.push(why),
                Err(e) => panic!("{e}"),
            }
        }
    });
    let report = p.t.peer_sync_tcp(&addr).unwrap();
    let (store, refused, stats) = old.join().unwrap();
    assert!(report.completed);
    assert_eq!(
        refused.len(),
        usize::from(SESSION_VERSION - 2),
        "{refused:?}"
    );
    assert!(stats.completed && !stats.verified);
    assert_eq!(store.ids(), vec![id.as_str().to_owned()]);
}
