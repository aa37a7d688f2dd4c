//! The `meta` table: this device's settings, under typed keys (the teams are in `teams`, schema 8).
//!
//! Every key the code reads or writes is a [`MetaKey`]; no key is spelled as a string anywhere else.
//! The ASIK token is sealed; the other values are plain (they are not personal data).

use rusqlite::{Connection, OptionalExtension, params};

use super::Res;

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
    /// Set by a migration that added projection columns: the projections are rebuilt from the
    /// documents at the next open with the key, then the key is removed.
    ProjectionsStale,
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
            MetaKey::ProjectionsStale => "projections_stale",
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

/// Remove a value.
pub fn remove(conn: &Connection, key: MetaKey) -> Res<()> {
    conn.prepare_cached("DELETE FROM meta WHERE key = ?1")?
        .execute(params![key.key()])?;
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
