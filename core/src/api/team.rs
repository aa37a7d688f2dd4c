//! The team: pairing codes, joining, and phone-to-phone sessions over any host byte pipe.

use super::peer_adapter::{PeerStore, PipelinedStore};
use super::setup::new_device;
use super::{DeviceSettings, PeerReport, PeerRole, Timbang};
use crate::crypto::Key;
use crate::domain;
use crate::error::{Error, Result};
use crate::growth::KbmTable;
use crate::host::{ByteStream, StreamIo};
use crate::peer::{self, Invite, Role, SecureChannel, SessionConfig, TeamSecret};
use crate::store::peers;
use crate::store::teams::{self, TeamNo};
use std::collections::BTreeMap;

fn no_team() -> Error {
    Error::invalid(
        "team",
        "Perangkat ini belum punya tim: jalankan `timbang team invite` di HP pertama.",
        "this device has no team yet: run `team invite` on the first phone",
    )
}

fn parse_invite(code: &str) -> Result<Invite> {
    peer::parse_invite_code(code).map_err(|e| {
        Error::invalid(
            "code",
            "Kode pasangan tidak sah; periksa lagi hurufnya.",
            format!("pairing code: {e}"),
        )
    })
}

/// One team of this device as `team list` shows it (no secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TeamInfo {
    /// The first 8 hex digits of the team id (None: the first team before `team invite`).
    pub team: Option<String>,
    /// The posyandu's name once known (from `init` or the team's documents).
    pub posyandu: Option<String>,
    pub village: Option<String>,
    /// Kept children of this team on this device.
    pub children: i64,
}

impl Timbang {
    /// Every team of this device that has an id and secret, with its local number.
    pub(super) fn teams(&self) -> Result<Vec<(TeamNo, TeamSecret)>> {
        let rows = self.store.read(|c| teams::all(&self.store, c))?;
        let mut out = Vec::new();
        for r in rows {
            if let Some((team_id, secret)) = r.team {
                out.push((
                    r.team_no,
                    TeamSecret {
                        team_id,
                        secret: Key::from_bytes(&secret)?,
                    },
                ));
            }
        }
        Ok(out)
    }

    /// The first team (the one `init` set up or the first join), or the team error.
    pub(super) fn team(&self) -> Result<TeamSecret> {
        match self.teams()?.into_iter().find(|(n, _)| *n == teams::FIRST) {
            Some((_, t)) => Ok(t),
            None => Err(no_team()),
        }
    }

    /// Per team number, its posyandu and village names: the first team's are this device's own (else
    /// what its documents carry), another team's are the names most of its documents carry.
    pub(super) fn team_names(&self) -> Result<BTreeMap<TeamNo, (String, String)>> {
        let s = self.device()?.settings;
        let mut out: BTreeMap<TeamNo, (String, String)> = BTreeMap::new();
        if !s.posyandu.is_empty() {
            out.insert(teams::FIRST, (s.posyandu, s.village));
        }
        for (team, p, v, _) in self.store.read(teams::posyandu_names)? {
            out.entry(team).or_insert((p, v.unwrap_or_default()));
        }
        Ok(out)
    }

    /// The team a new child registered at `posyandu` belongs to. A device in one team needs no name;
    /// a device in several needs one of its teams' posyandu names.
    pub(super) fn team_for(&self, posyandu: Option<&str>) -> Result<TeamNo> {
        let rows = self.store.read(|c| teams::all(&self.store, c))?;
        let names = self.team_names()?;
        let choices = || {
            names
                .values()
                .map(|(p, _)| p.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match posyandu.map(str::trim).filter(|p| !p.is_empty()) {
            None if rows.len() <= 1 => Ok(teams::FIRST),
            None => Err(Error::invalid(
                "posyandu",
                format!(
                    "HP ini ikut beberapa posyandu ({}); sebutkan posyandunya dengan --posyandu NAMA.",
                    choices()
                ),
                "this device is in several teams: name the posyandu",
            )),
            Some(want) => names
                .iter()
                .find(|(_, (p, _))| p.eq_ignore_ascii_case(want))
                .map(|(n, _)| *n)
                .or_else(|| (rows.len() <= 1 && names.is_empty()).then_some(teams::FIRST))
                .ok_or_else(|| {
                    Error::invalid(
                        "posyandu",
                        format!(
                            "Posyandu '{want}' tidak ada di HP ini; pilihan: {}.",
                            choices()
                        ),
                        "no team of this device has that posyandu",
                    )
                }),
        }
    }

    /// The teams of this device with their posyandu names and numbers of children (no secrets).
    pub fn team_list(&self) -> Result<Vec<TeamInfo>> {
        self.device()?;
        let rows = self.store.read(|c| teams::all(&self.store, c))?;
        let counts: BTreeMap<TeamNo, i64> =
            self.store.read(teams::child_counts)?.into_iter().collect();
        let names = self.team_names()?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let (posyandu, village) = names
                    .get(&r.team_no)
                    .cloned()
                    .map_or((None, None), |(p, v)| {
                        (Some(p), Some(v).filter(|v| !v.is_empty()))
                    });
                TeamInfo {
                    team: r.team.map(|(id, _)| hex::encode(&id[..4])),
                    posyandu,
                    village,
                    children: counts.get(&r.team_no).copied().unwrap_or(0),
                }
            })
            .collect())
    }

    /// Add the team whose pairing code is `code` to this database, already set up (a bidan's phone in
    /// several posyandu). Its documents arrive through its phones; nothing else changes.
    pub fn team_add(&self, code: &str) -> Result<TeamInfo> {
        let invite = parse_invite(code)?;
        let device = self.device()?;
        if let Some(k) = invite.kbm_table
            && k != device.settings.kbm_table
        {
            return Err(Error::invalid(
                "code",
                format!(
                    "Tim itu memakai tabel KBM {k}, HP ini {}; satu HP memakai satu tabel KBM.",
                    device.settings.kbm_table
                ),
                "the team uses another KBM table than this device",
            ));
        }
        let team = invite.team;
        self.store.write(|tx| {
            if teams::number_of(tx, &team.team_id)?.is_some() {
                return Err(Error::invalid(
                    "code",
                    "HP ini sudah anggota tim itu.",
                    "this device is in that team already",
                ));
            }
            teams::add(&self.store, tx, &team.team_id, team.secret.as_bytes())?;
            self.store.audit(
                tx,
                &device.settings.device_name,
                self.kader().as_deref(),
                "team_add",
                None,
                None,
            )?;
            Ok(())
        })?;
        let short = hex::encode(&team.team_id[..4]);
        self.team_list()?
            .into_iter()
            .find(|t| t.team.as_deref() == Some(short.as_str()))
            .ok_or_else(|| Error::storage("the added team is missing"))
    }

    /// Ok when this device belongs to a team (so it can sync), the team error otherwise.
    pub fn check_team(&self) -> Result<()> {
        if self.teams()?.is_empty() {
            return Err(no_team());
        }
        Ok(())
    }

    /// Check what `team_join` would be given, without a database.
    pub fn validate_join(code: &str, device_name: &str) -> Result<()> {
        parse_invite(code)?;
        domain::clean_name("device", "Nama perangkat", device_name)?;
        Ok(())
    }

    /// The pairing code that lets another phone join this posyandu's team (made on first use).
    pub fn team_invite(&self) -> Result<String> {
        let device = self.device()?;
        let invite = |team: &TeamSecret| -> Result<String> {
            Ok(peer::make_invite_code(team, &device.settings.kbm_table)?)
        };
        if let Ok(team) = self.team() {
            return invite(&team);
        }
        let team = TeamSecret::make()?;
        self.store.write(|tx| {
            teams::set(
                &self.store,
                tx,
                teams::FIRST,
                &team.team_id,
                team.secret.as_bytes(),
            )?;
            self.store.audit(
                tx,
                &device.settings.device_name,
                self.kader().as_deref(),
                "team_invite",
                None,
                None,
            )
        })?;
        invite(&team)
    }

    /// Set up a fresh database as another phone of the team whose pairing code is `code`.
    pub fn team_join(&self, code: &str, device_name: &str) -> Result<DeviceSettings> {
        Self::validate_join(code, device_name)?;
        let invite = parse_invite(code)?;
        let team = invite.team;
        let kbm_table = invite.kbm_table.unwrap_or(KbmTable::default_table().id());
        let device = new_device(
            domain::clean_name("device", "Nama perangkat", device_name)?,
            None,
            None,
            kbm_table,
        )?;
        self.set_up(
            &device,
            |tx| {
                teams::set(
                    &self.store,
                    tx,
                    teams::FIRST,
                    &team.team_id,
                    team.secret.as_bytes(),
                )
            },
            "team_join",
        )?;
        self.settings()
    }

    /// One sync session with another phone of the team over `stream` (Bluetooth, Wi-Fi Direct, TCP, a
    /// cable). Both directions in one session; documents are stored in batches as they arrive, so a
    /// session that breaks off (or is interrupted through the handle, checked after every batch) keeps
    /// what arrived and the next session fetches only the rest.
    pub fn peer_session(&self, stream: &dyn ByteStream, role: PeerRole) -> Result<PeerReport> {
        self.peer_session_in(stream, role, None)
    }

    /// [`Timbang::peer_session`] for one team: the dialling phone presents the team of `posyandu`
    /// (None: its first team); the accepting phone serves a phone of any of its teams. Only that team's
    /// documents cross.
    pub fn peer_session_in(
        &self,
        stream: &dyn ByteStream,
        role: PeerRole,
        posyandu: Option<&str>,
    ) -> Result<PeerReport> {
        self.peer_session_offering(stream, role, posyandu, None)
    }

    /// [`Timbang::peer_session_in`] with the session version a dialling phone offers (None: the
    /// newest, [`peer::SESSION_VERSION`]). A phone of an older Timbang refuses a version it does not
    /// speak: the session fails with a sentence saying so (`Error::Sync`, not retryable as it is),
    /// and the host opens a new stream and offers the version before, down to 1, as
    /// [`Timbang::peer_sync_tcp`] does by itself. An accepting phone serves every version up to the
    /// one offered here.
    pub fn peer_session_offering(
        &self,
        stream: &dyn ByteStream,
        role: PeerRole,
        posyandu: Option<&str>,
        version: Option<u8>,
    ) -> Result<PeerReport> {
        let version = version.unwrap_or(peer::SESSION_VERSION);
        if !(1..=peer::SESSION_VERSION).contains(&version) {
            return Err(Error::invalid(
                "session_version",
                format!(
                    "Versi sesi {version} tidak dikenal; pakai 1 sampai {}.",
                    peer::SESSION_VERSION
                ),
                "session version out of range",
            ));
        }
        let team = posyandu.map(|p| self.team_for(Some(p))).transpose()?;
        Ok(self.peer_session_team(stream, role, team, version)?)
    }

    /// One session; a failure of the session itself stays a [`peer::PeerError`], so a caller that can
    /// dial again tells "not paired with this team" and "an older phone" from the rest.
    fn peer_session_team(
        &self,
        stream: &dyn ByteStream,
        role: PeerRole,
        dial_team: Option<TeamNo>,
        version: u8,
    ) -> std::result::Result<PeerReport, SessionFailure> {
        let device = self.device()?;
        let all = self.teams()?;
        if all.is_empty() {
            return Err(no_team().into());
        }
        let io = StreamIo(stream);
        let id = &device.settings.device_id;
        let (mut ch, peer_device, team_no) = match role {
            PeerRole::Dial => {
                let want = dial_team.unwrap_or(all[0].0);
                let (n, team) = all.iter().find(|(n, _)| *n == want).ok_or_else(no_team)?;
                let (ch, peer) = SecureChannel::connect(io, team, id)?;
                (ch, peer, *n)
            }
            PeerRole::Accept => {
                let secrets: Vec<TeamSecret> = all.iter().map(|(_, t)| t.clone()).collect();
                let (ch, peer, i) = SecureChannel::accept_any(io, &secrets, id)?;
                (ch, peer, all[i].0)
            }
        };
        stream.paired();
        let role = match role {
            PeerRole::Dial => Role::Client,
            PeerRole::Accept => Role::Server,
        };
        let config = SessionConfig {
            version,
            ..SessionConfig::default()
        };
        // Received documents are written on a second thread, joined before this returns.
        let stats = std::thread::scope(|scope| {
            let reads = PeerStore::new(self, self.interrupt.begin(), team_no);
            let mut store = PipelinedStore::new(scope, reads);
            peer::run_session(&mut ch, &mut store, &peer_device, role, &config)
        })?;
        let at = self.clock.now().to_rfc3339();
        self.store.write(|tx| {
            peers::record_session(tx, &peer_device, &at)?;
            self.store.audit(
                tx,
                &device.settings.device_name,
                self.kader().as_deref(),
                "peer_sync",
                None,
                Some(&peer_device),
            )
        })?;
        // A phone that joined has no posyandu names until documents carrying them arrive.
        self.adopt_posyandu_names()?;
        Ok(PeerReport {
            peer_device,
            sent_bytes: stats.sent_bytes,
            received_bytes: stats.received_bytes,
            docs_sent: stats.docs_sent as u64,
            docs_received: stats.docs_received as u64,
            completed: stats.completed,
        })
    }

    /// One sync session as the dialling phone, over TCP to `addr` (`HOST:PORT`). A phone in several
    /// teams presents the team of `posyandu`, or (None) each of its teams in turn until the other
    /// phone accepts one.
    pub fn peer_sync_tcp(&self, addr: &str) -> Result<PeerReport> {
        self.peer_sync_tcp_in(addr, None)
    }

    /// [`Timbang::peer_sync_tcp`] for the team of `posyandu` (None: the one the other phone is in).
    pub fn peer_sync_tcp_in(&self, addr: &str, posyandu: Option<&str>) -> Result<PeerReport> {
        self.device()?;
        self.check_team()?;
        let tries: Vec<TeamNo> = match posyandu {
            Some(p) => vec![self.team_for(Some(p))?],
            None => self.teams()?.into_iter().map(|(n, _)| n).collect(),
        };
        let mut last = None;
        for n in tries {
            // A phone of the team that runs an older Timbang refuses the newest session version:
            // dial again offering the one before, down to the oldest.
            let mut version = peer::SESSION_VERSION;
            loop {
                let stream =
                    crate::host::TcpStream::connect(addr).map_err(peer::PeerError::from)?;
                match self.peer_session_team(&stream, PeerRole::Dial, Some(n), version) {
                    Err(SessionFailure::Peer(peer::PeerError::SessionRefused(v))) if v > 1 => {
                        version = v - 1;
                    }
                    Err(SessionFailure::Peer(e @ peer::PeerError::NotPaired)) => {
                        last = Some(Error::from(e));
                        break;
                    }
                    other => return Ok(other?),
                }
            }
        }
        Err(last.unwrap_or_else(no_team))
    }
}

/// Why one session failed: the session's own error, or the facade's (storage, no team...).
#[derive(Debug)]
enum SessionFailure {
    Peer(peer::PeerError),
    Other(Error),
}

impl From<peer::PeerError> for SessionFailure {
    fn from(e: peer::PeerError) -> Self {
        Self::Peer(e)
    }
}

impl From<Error> for SessionFailure {
    fn from(e: Error) -> Self {
        Self::Other(e)
    }
}

impl From<crate::store::StoreError> for SessionFailure {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Other(e.into())
    }
}

impl From<SessionFailure> for Error {
    fn from(e: SessionFailure) -> Self {
        match e {
            SessionFailure::Peer(p) => p.into(),
            SessionFailure::Other(e) => e,
        }
    }
}
