//! The `meta` table: this device's settings and the team secret, under typed keys.
//!
//! Every key the code reads or writes is a [`MetaKey`]; no key is spelled as a string anywhere else.
//! The team secret is sealed; the other values are plain (they are not personal data).

use rusqlite::{Connection, OptionalExtension, params};

use super::{Res, Store, StoreError};

/// A key of the `meta` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// This device's id (UUIDv7), made at `init` or `team join`.
    DeviceId,
    /// The device's name, as the kader gave it.
    DeviceName,
    Posyandu,
    Village,
    /// The 16 random bytes of this device's automerge actor.
    Actor,
    /// The id of the deployment's KBM table.
    KbmTable,
    /// The team id (16 bytes), once the team exists.
    TeamId,
    /// The team secret (32 bytes), sealed.
    TeamSecret,
    /// The ASIK access token and its expiry (JSON), sealed.
    AsikToken,
    /// The ASIK settings of the last sync (JSON, no secret).
    AsikConfig,
}

impl MetaKey {
    fn key(self) -> &'static str {
        match self {
            MetaKey::DeviceId => "device_id",
            MetaKey::DeviceName => "device_name",
            MetaKey::Posyandu => "posyandu",
            MetaKey::Village => "village",
            MetaKey::Actor => "actor",
            MetaKey::KbmTable => "kbm_table",
            MetaKey::TeamId => "team_id",
            MetaKey::TeamSecret => "team_secret",
            MetaKey::AsikToken => "asik_token",
            MetaKey::AsikConfig => "asik_config",
        }
    }
}

/// Read a value.
pub fn get(conn: &Connection, key: MetaKey) -> Res<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row(params![key.key()], |r| r.get(0))
        .optional()?)
}

/// Read a value as text.
pub fn text(conn: &Connection, key: MetaKey) -> Res<Option<String>> {
    Ok(get(conn, key)?.and_then(|v| String::from_utf8(v).ok()))
}

/// Write a value.
pub fn set(conn: &Connection, key: MetaKey, value: &[u8]) -> Res<()> {
    conn.prepare_cached(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key.key(), value])?;
    Ok(())
}

/// This device's settings as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub device_id: String,
    pub device_name: String,
    pub posyandu: Option<String>,
    pub village: Option<String>,
    pub kbm_table: Option<String>,
    pub actor: Vec<u8>,
}

/// The device settings, or None before `init` / `team join`.
pub fn device(conn: &Connection) -> Res<Option<DeviceRow>> {
    let (Some(device_id), Some(device_name), Some(actor)) = (
        text(conn, MetaKey::DeviceId)?,
        text(conn, MetaKey::DeviceName)?,
        get(conn, MetaKey::Actor)?,
    ) else {
        return Ok(None);
    };
    Ok(Some(DeviceRow {
        device_id,
        device_name,
        posyandu: text(conn, MetaKey::Posyandu)?,
        village: text(conn, MetaKey::Village)?,
        kbm_table: text(conn, MetaKey::KbmTable)?,
        actor,
    }))
}

/// Write the device settings (at `init` or `team join`).
pub fn set_device(conn: &Connection, d: &DeviceRow) -> Res<()> {
    set(conn, MetaKey::DeviceId, d.device_id.as_bytes())?;
    set(conn, MetaKey::DeviceName, d.device_name.as_bytes())?;
    set(conn, MetaKey::Actor, &d.actor)?;
    for (key, value) in [
        (MetaKey::Posyandu, &d.posyandu),
        (MetaKey::Village, &d.village),
        (MetaKey::KbmTable, &d.kbm_table),
    ] {
        if let Some(v) = value {
            set(conn, key, v.as_bytes())?;
        }
    }
    Ok(())
}

/// The team this device belongs to: (team id, opened secret), or None.
pub fn team(store: &Store, conn: &Connection) -> Res<Option<([u8; 16], Vec<u8>)>> {
    let (Some(id), Some(sealed)) = (get(conn, MetaKey::TeamId)?, get(conn, MetaKey::TeamSecret)?)
    else {
        return Ok(None);
    };
    let id: [u8; 16] = id
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Other("the stored team id is not 16 bytes".into()))?;
    Ok(Some((id, store.open_secret("team_secret", &sealed)?)))
}

/// Store the team id and its secret (sealed).
pub fn set_team(store: &Store, conn: &Connection, id: &[u8; 16], secret: &[u8]) -> Res<()> {
    set(conn, MetaKey::TeamId, id)?;
    set(
        conn,
        MetaKey::TeamSecret,
        &store.seal_secret("team_secret", secret)?,
    )
}
