//! The `teams` table (schema 8): the posyandu teams this database belongs to, and which team each
//! document belongs to (`docs.team`). Team 1 is the first team (`init` or the first `team join`).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Res, Store, StoreError, decode_heads};
use automerge::ChangeHash;

/// The local number of a team (`teams.team_no`).
pub type TeamNo = i64;

/// The first team of every database.
pub const FIRST: TeamNo = 1;

/// A team as stored, its secret opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRow {
    pub team_no: TeamNo,
    /// None for the first team before `team invite` made it.
    pub team: Option<([u8; 16], Vec<u8>)>,
}

fn id_of(blob: Vec<u8>) -> Res<[u8; 16]> {
    blob.as_slice()
        .try_into()
        .map_err(|_| StoreError::Other("a stored team id is not 16 bytes".into()))
}

/// Every team of this database, by number.
pub fn all(store: &Store, conn: &Connection) -> Res<Vec<TeamRow>> {
    let mut stmt =
        conn.prepare_cached("SELECT team_no, team_id, secret FROM teams ORDER BY team_no")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<Vec<u8>>>(1)?,
            r.get::<_, Option<Vec<u8>>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (team_no, id, sealed) = row?;
        let team = match (id, sealed) {
            (Some(id), Some(sealed)) => {
                Some((id_of(id)?, store.open_secret("team_secret", &sealed)?))
            }
            _ => None,
        };
        out.push(TeamRow { team_no, team });
    }
    Ok(out)
}

/// The number of the team with `team_id`, if this database belongs to it.
pub fn number_of(conn: &Connection, team_id: &[u8; 16]) -> Res<Option<TeamNo>> {
    Ok(conn
        .prepare_cached("SELECT team_no FROM teams WHERE team_id = ?1")?
        .query_row(params![team_id.as_slice()], |r| r.get(0))
        .optional()?)
}

/// Give team `team_no` (made when absent) its id and sealed secret.
pub fn set(
    store: &Store,
    tx: &Transaction<'_>,
    team_no: TeamNo,
    id: &[u8; 16],
    secret: &[u8],
) -> Res<()> {
    let sealed = store.seal_secret("team_secret", secret)?;
    tx.prepare_cached(
        "INSERT INTO teams(team_no, team_id, secret, added_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(team_no) DO UPDATE SET team_id = excluded.team_id, secret = excluded.secret",
    )?
    .execute(params![
        team_no,
        id.as_slice(),
        sealed,
        chrono::Utc::now().to_rfc3339()
    ])?;
    Ok(())
}

/// Add a team under the next number; returns it.
pub fn add(store: &Store, tx: &Transaction<'_>, id: &[u8; 16], secret: &[u8]) -> Res<TeamNo> {
    let next: TeamNo =
        tx.query_row("SELECT COALESCE(MAX(team_no), 0) + 1 FROM teams", [], |r| {
            r.get(0)
        })?;
    set(store, tx, next, id, secret)?;
    Ok(next)
}

/// The team document `child_id` belongs to, if it is stored.
pub fn of_doc(conn: &Connection, child_id: &str) -> Res<Option<TeamNo>> {
    Ok(conn
        .prepare_cached("SELECT team FROM docs WHERE child_id = ?1")?
        .query_row(params![child_id], |r| r.get(0))
        .optional()?)
}

/// Put a stored document in `team` (a new document; its row was just made with the default team).
pub fn set_doc_team(tx: &Transaction<'_>, child_id: &str, team: TeamNo) -> Res<()> {
    tx.prepare_cached("UPDATE docs SET team = ?2 WHERE child_id = ?1")?
        .execute(params![child_id, team])?;
    Ok(())
}

/// Every document of `team`: its id and heads, by id (the team's part of [`Store::all_heads`]).
pub fn heads(conn: &Connection, team: TeamNo) -> Res<Vec<(String, Vec<ChangeHash>)>> {
    let mut stmt =
        conn.prepare_cached("SELECT child_id, heads FROM docs WHERE team = ?1 ORDER BY child_id")?;
    let rows = stmt.query_map(params![team], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, blob) = row?;
        out.push((id, decode_heads(&blob)));
    }
    Ok(out)
}

/// Per team, its kept children (not merged away, not deleted).
pub fn child_counts(conn: &Connection) -> Res<Vec<(TeamNo, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.team, COUNT(*) FROM children c JOIN docs d ON d.child_id = c.child_id
         WHERE c.root_id = c.child_id AND c.deleted = 0 GROUP BY d.team",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One posyandu and village name a team's children carry, with how many children carry it.
pub type PosyanduName = (TeamNo, String, Option<String>, i64);

/// Per team, the posyandu and village names its children's documents carry, most frequent first.
pub fn posyandu_names(conn: &Connection) -> Res<Vec<PosyanduName>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.team, c.posyandu, c.village, COUNT(*) AS n FROM children c
         JOIN docs d ON d.child_id = c.child_id
         WHERE c.posyandu IS NOT NULL AND c.posyandu <> '' AND c.deleted = 0
         GROUP BY d.team, c.posyandu, c.village ORDER BY d.team, n DESC, c.posyandu, c.village",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
