//! The team: pairing codes, joining, and phone-to-phone sessions over any host byte pipe.

use super::peer_adapter::PeerStore;
use super::setup::new_device;
use super::{DeviceSettings, PeerReport, PeerRole, Timbang};
use crate::crypto::Key;
use crate::domain;
use crate::error::{Error, Result};
use crate::growth::KbmTable;
use crate::host::{ByteStream, StreamIo};
use crate::peer::{self, Invite, Role, SecureChannel, SessionConfig, TeamSecret};
use crate::store::{peers, settings};

fn parse_invite(code: &str) -> Result<Invite> {
    peer::parse_invite_code(code).map_err(|e| {
        Error::invalid(
            "code",
            "Kode pasangan tidak sah; periksa lagi hurufnya.",
            format!("pairing code: {e}"),
        )
    })
}

impl Timbang {
    pub(super) fn team(&self) -> Result<TeamSecret> {
        match self.store.read(|c| settings::team(&self.store, c))? {
            Some((team_id, secret)) => Ok(TeamSecret {
                team_id,
                secret: Key::from_bytes(&secret)?,
            }),
            None => Err(Error::invalid(
                "team",
                "Perangkat ini belum punya tim: jalankan `timbang team invite` di HP pertama.",
                "this device has no team yet: run `team invite` on the first phone",
            )),
        }
    }

    /// Ok when this device belongs to a team (so it can sync), the team error otherwise.
    pub fn check_team(&self) -> Result<()> {
        self.team().map(|_| ())
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
            settings::set_team(&self.store, tx, &team.team_id, team.secret.as_bytes())?;
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
            |tx| settings::set_team(&self.store, tx, &team.team_id, team.secret.as_bytes()),
            "team_join",
        )?;
        self.settings()
    }

    /// One sync session with another phone of the team over `stream` (Bluetooth, Wi-Fi Direct, TCP, a
    /// cable). Both directions in one session; documents are stored in batches as they arrive, so a
    /// session that breaks off (or is interrupted through the handle, checked after every batch) keeps
    /// what arrived and the next session fetches only the rest.
    pub fn peer_session(&self, stream: &dyn ByteStream, role: PeerRole) -> Result<PeerReport> {
        let device = self.device()?;
        let team = self.team()?;
        let mut store = PeerStore::new(self, self.interrupt.begin());
        let io = StreamIo(stream);
        let id = &device.settings.device_id;
        let (mut ch, peer_device) = match role {
            PeerRole::Dial => SecureChannel::connect(io, &team, id)?,
            PeerRole::Accept => SecureChannel::accept(io, &team, id)?,
        };
        stream.paired();
        let role = match role {
            PeerRole::Dial => Role::Client,
            PeerRole::Accept => Role::Server,
        };
        let stats = peer::run_session(
            &mut ch,
            &mut store,
            &peer_device,
            role,
            &SessionConfig::default(),
        )?;
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

    /// One sync session as the dialling phone, over TCP to `addr` (`HOST:PORT`).
    pub fn peer_sync_tcp(&self, addr: &str) -> Result<PeerReport> {
        self.device()?;
        self.check_team()?;
        let stream = crate::host::TcpStream::connect(addr).map_err(peer::PeerError::from)?;
        self.peer_session(&stream, PeerRole::Dial)
    }
}
