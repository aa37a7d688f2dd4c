//! Sync through an S3-compatible object store (the relay): push what changed since the last push as
//! sealed bundles, pull what this phone has not applied, apply it through the same path as a peer
//! session ([`PeerStore`]: merged into what is stored now, projected and audited, a few documents per
//! transaction, interruptible), and now and then compact (a snapshot, then delete what it superseded).
//! See `docs/RELAY.md`.

use std::collections::{BTreeSet, HashMap};

use automerge::{Automerge, ChangeHash, ReadDoc};
use serde::Serialize;

use super::Timbang;
use super::peer_adapter::PeerStore;
use crate::error::{Error, Result};
use crate::host::HttpClient;
use crate::interrupt::InterruptScope;
use crate::peer::{Received, SyncStore};
use crate::relay::keys::make_device_id;
use crate::relay::s3::Listed;
use crate::relay::{Bundle, BundleKind, ObjectName, RelayError, RelayKeys, S3Config, S3Relay};
use crate::store::{Store, relay as rs, sorted_heads, teams};

/// The largest plaintext of one object: larger pushes and snapshots are split.
const MAX_OBJECT: usize = 4 * 1024 * 1024;
/// Objects fetched and applied together (one cursor step): bounded by count and listed bytes.
const PULL_GROUP_OBJECTS: usize = 64;
const PULL_GROUP_BYTES: u64 = 8 * 1024 * 1024;
/// A sync compacts when the team's prefix holds more objects than this.
pub const COMPACT_AT: usize = 32;

/// What one relay sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    /// Documents whose changes were pushed.
    pub pushed: u64,
    /// Documents that changed here from what was pulled.
    pub pulled: u64,
    /// Objects written and read.
    pub objects: u64,
    /// Bytes of object bodies and listings sent and received.
    pub bytes: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// List requests among them.
    pub lists: u64,
    /// Objects refused (they do not open with the team's key, or are garbled), by key.
    pub refused: Vec<String>,
    /// Whether this sync wrote a snapshot.
    pub compacted: bool,
    /// Objects deleted because a snapshot superseded them.
    pub deleted: u64,
}

fn relay_err(e: RelayError) -> Error {
    match e {
        RelayError::Config(message) => Error::invalid(
            "url",
            format!("Alamat penyimpanan relay tidak bisa dipakai: {message}."),
            message,
        ),
        other => Error::Sync {
            retryable: other.retryable(),
            message: other.to_string(),
        },
    }
}

/// Per document, the heads an object brings the relay to.
type DocHeads = Vec<(String, Vec<ChangeHash>)>;

/// A listed object of this team.
#[derive(Debug, Clone)]
struct Entry {
    name: ObjectName,
    key: String,
    size: u64,
}

fn entries(prefix: &str, listed: Vec<Listed>) -> Vec<Entry> {
    let mut out: Vec<Entry> = listed
        .into_iter()
        .filter_map(|l| {
            ObjectName::parse(prefix, &l.key).map(|name| Entry {
                name,
                key: l.key,
                size: l.size,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// One sync's context.
struct Run<'a, 'h> {
    api: &'a Timbang,
    s3: S3Relay<'h>,
    keys: RelayKeys,
    prefix: String,
    tag: String,
    device: String,
    scope: InterruptScope,
    report: RelayReport,
    /// Objects this run wrote (they are applied here by construction).
    written: Vec<Entry>,
    /// The team of this run: only its documents are pushed, pulled into and compacted.
    team: crate::store::teams::TeamNo,
}

impl Timbang {
    /// Push this phone's changes to the relay in `config`'s bucket, then pull and apply what the other
    /// phones of the team pushed; compact when the team's objects pile up. Safe to break off at any
    /// point (interrupt handle, a lost connection): what was applied stays and the next sync continues.
    pub fn relay_sync(&self, config: &S3Config, http: &dyn HttpClient) -> Result<RelayReport> {
        self.relay_run(config, http, false)
    }

    /// [`Timbang::relay_sync`], then compact whatever the object count.
    pub fn relay_sync_compact(
        &self,
        config: &S3Config,
        http: &dyn HttpClient,
    ) -> Result<RelayReport> {
        self.relay_run(config, http, true)
    }

    fn relay_run(
        &self,
        config: &S3Config,
        http: &dyn HttpClient,
        force_compact: bool,
    ) -> Result<RelayReport> {
        self.device()?;
        let all = self.teams()?;
        if all.is_empty() {
            self.check_team()?;
        }
        // A device in several teams syncs each team in turn, under that team's prefix and keys.
        let mut total = RelayReport::default();
        for (team_no, team) in all {
            let r = self.relay_run_team(config, http, force_compact, team_no, &team)?;
            total.pushed += r.pushed;
            total.pulled += r.pulled;
            total.objects += r.objects;
            total.bytes += r.bytes;
            total.requests += r.requests;
            total.lists += r.lists;
            total.refused.extend(r.refused);
            total.compacted |= r.compacted;
            total.deleted += r.deleted;
        }
        self.adopt_posyandu_names()?;
        Ok(total)
    }

    fn relay_run_team(
        &self,
        config: &S3Config,
        http: &dyn HttpClient,
        force_compact: bool,
        team_no: crate::store::teams::TeamNo,
        team: &crate::peer::TeamSecret,
    ) -> Result<RelayReport> {
        let keys = RelayKeys::new(team);
        let s3 = S3Relay::new(config, http).map_err(relay_err)?;
        let tag = keys.team_tag().to_owned();
        let fresh = make_device_id()?;
        let me = self.store.write(|tx| rs::ensure_self(tx, &tag, &fresh))?;
        let mut run = Run {
            api: self,
            s3,
            prefix: keys.prefix(),
            keys,
            tag,
            device: me.device,
            scope: self.interrupt.begin(),
            report: RelayReport::default(),
            written: Vec::new(),
            team: team_no,
        };
        let result = run.sync(force_compact);
        let stats = run.s3.stats;
        run.report.objects = stats.puts + stats.gets;
        run.report.bytes = stats.bytes_up + stats.bytes_down;
        run.report.requests = stats.requests;
        run.report.lists = stats.lists;
        result?;
        let device = self.device()?;
        self.store.write(|tx| {
            self.store.audit(
                tx,
                &device.settings.device_name,
                self.kader().as_deref(),
                "relay_sync",
                None,
                Some(&format!(
                    "pushed {} pulled {} refused {}",
                    run.report.pushed,
                    run.report.pulled,
                    run.report.refused.len()
                )),
            )
        })?;
        Ok(run.report)
    }
}

impl Run<'_, '_> {
    fn sync(&mut self, force_compact: bool) -> Result<()> {
        let listed = self.s3.list(&self.prefix).map_err(relay_err)?;
        let listed = entries(&self.prefix, listed);
        self.push(&listed)?;
        self.pull(&listed)?;
        let count = listed.len() + self.written.len();
        if force_compact || count > COMPACT_AT {
            self.compact(&listed)?;
        }
        Ok(())
    }

    fn store(&self) -> &Store {
        &self.api.store
    }

    /// The lamport for a new object: above everything listed and everything seen before.
    fn next_lamport(&self, listed: &[Entry]) -> Result<u64> {
        let seen = self
            .store()
            .read(|c| rs::self_row(c, &self.tag))?
            .map(|s| s.lamport)
            .unwrap_or(0);
        let listed_max = listed
            .iter()
            .chain(&self.written)
            .map(|e| e.name.lamport)
            .max()
            .unwrap_or(0);
        Ok(seen.max(listed_max) + 1)
    }

    /// Write `bundles` as new objects of this device, each followed by `done` in one transaction once
    /// the store has it.
    fn write_objects(
        &mut self,
        listed: &[Entry],
        kind: BundleKind,
        bundles: Vec<(Bundle, DocHeads)>,
    ) -> Result<()> {
        if bundles.is_empty() {
            return Ok(());
        }
        let lamport = self.next_lamport(listed)?;
        // A database restored from a backup may find its own later objects: continue after them.
        let own_max = listed
            .iter()
            .chain(&self.written)
            .filter(|e| e.name.device == self.device)
            .map(|e| e.name.seq)
            .max()
            .unwrap_or(0);
        let n = bundles.len() as u64;
        let first = self
            .store()
            .write(|tx| rs::reserve(tx, &self.tag, own_max + 1, n, lamport))?;
        for (i, (bundle, heads)) in bundles.into_iter().enumerate() {
            self.scope.check()?;
            let name = ObjectName::make(lamport, &self.device, first + i as u64, kind)?;
            let key = name.key(&self.prefix);
            let sealed = self.keys.seal(&key, &bundle.encode())?;
            let size = sealed.len() as u64;
            self.s3.put(&key, sealed).map_err(relay_err)?;
            let seq = name.seq;
            self.store().write(|tx| {
                rs::set_doc_heads(tx, &self.tag, &heads)?;
                rs::advance_cursor(tx, &self.tag, &self.device, seq)
            })?;
            self.written.push(Entry { name, key, size });
        }
        Ok(())
    }

    /// Push the changes of every document whose heads differ from what the relay holds.
    fn push(&mut self, listed: &[Entry]) -> Result<()> {
        let (heads, relay_heads) = self
            .store()
            .read(|c| Ok((teams::heads(c, self.team)?, rs::doc_heads(c, &self.tag)?)))?;
        let mut bundles = Vec::new();
        let mut docs = Vec::new();
        let mut size = 0usize;
        for (id, now) in heads {
            if relay_heads.get(&id) == Some(&now) {
                continue;
            }
            self.scope.check()?;
            let Some(doc) = self.store().read(|c| self.store().load_doc(c, &id))? else {
                continue;
            };
            // What the relay holds, if this document still knows all of it (a database restored from
            // an older backup may not): then only what is newer, else the whole document.
            let base: Vec<ChangeHash> = relay_heads
                .get(&id)
                .filter(|h| h.iter().all(|h| doc.get_change_by_hash(h).is_some()))
                .cloned()
                .unwrap_or_default();
            let bytes = if base.is_empty() {
                doc.save()
            } else {
                doc.save_after(&base)
            };
            let doc_heads = sorted_heads(&doc);
            if bytes.is_empty() {
                continue;
            }
            if size + bytes.len() > MAX_OBJECT && !docs.is_empty() {
                bundles.push(std::mem::take(&mut docs));
                size = 0;
            }
            size += bytes.len() + id.len() + 6;
            docs.push((id, bytes, doc_heads));
        }
        if !docs.is_empty() {
            bundles.push(docs);
        }
        self.report.pushed = bundles.iter().map(|b| b.len() as u64).sum();
        let bundles = bundles
            .into_iter()
            .map(|docs| {
                let heads = docs
                    .iter()
                    .map(|(i, _, h)| (i.clone(), h.clone()))
                    .collect();
                let docs = docs.into_iter().map(|(i, b, _)| (i, b)).collect();
                (
                    Bundle {
                        kind: BundleKind::Changes,
                        docs,
                    },
                    heads,
                )
            })
            .collect();
        self.write_objects(listed, BundleKind::Changes, bundles)
    }

    /// Fetch, open and apply every listed object past its writer's cursor, in name (causal) order, a
    /// group at a time; each group's cursors move in one transaction after its documents are stored.
    fn pull(&mut self, listed: &[Entry]) -> Result<()> {
        let cursors = self.store().read(|c| rs::cursors(c, &self.tag))?;
        let unseen: Vec<&Entry> = listed
            .iter()
            .filter(|e| e.name.seq > cursors.get(&e.name.device).copied().unwrap_or(0))
            .collect();
        let mut group: Vec<&Entry> = Vec::new();
        let mut bytes = 0u64;
        for e in unseen {
            if !group.is_empty()
                && (group.len() >= PULL_GROUP_OBJECTS || bytes + e.size > PULL_GROUP_BYTES)
            {
                self.apply_group(&group)?;
                group.clear();
                bytes = 0;
            }
            bytes += e.size;
            group.push(e);
        }
        if !group.is_empty() {
            self.apply_group(&group)?;
        }
        Ok(())
    }

    fn apply_group(&mut self, group: &[&Entry]) -> Result<()> {
        self.scope.check()?;
        let before: HashMap<String, Vec<ChangeHash>> =
            self.store().read(Store::all_heads)?.into_iter().collect();
        let relay_heads = self.store().read(|c| rs::doc_heads(c, &self.tag))?;
        let mut working: HashMap<String, Automerge> = HashMap::new();
        let mut touched_by: HashMap<String, Vec<String>> = HashMap::new();
        for e in group {
            self.scope.check()?;
            let Some(body) = self.s3.get(&e.key).map_err(relay_err)? else {
                // Deleted since it was listed: a snapshot that supersedes it is listed later.
                continue;
            };
            let bundle = self
                .keys
                .open(&e.key, &body)
                .ok()
                .and_then(|plain| Bundle::decode(&plain))
                .filter(|b| b.kind == e.name.kind);
            let Some(bundle) = bundle else {
                self.report.refused.push(e.key.clone());
                continue;
            };
            // Applied to copies first, so an object that fails half way leaves nothing behind.
            let mut staged: HashMap<String, Automerge> = HashMap::new();
            let mut ok = true;
            for (id, bytes) in &bundle.docs {
                let mut doc = match staged.remove(id).or_else(|| working.get(id).cloned()) {
                    Some(d) => d,
                    None => self
                        .store()
                        .read(|c| self.store().load_doc(c, id))?
                        .unwrap_or_default(),
                };
                // Bounded before automerge inflates it ([`crate::inflate`]).
                let within = crate::inflate::check(bytes, crate::inflate::DEFAULT_BUDGET).is_ok();
                match crate::crdt::catch_panic(|| within.then(|| doc.load_incremental(bytes)))
                    .flatten()
                {
                    Some(Ok(_)) => {
                        staged.insert(id.clone(), doc);
                    }
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                self.report.refused.push(e.key.clone());
                continue;
            }
            for (id, doc) in staged {
                touched_by
                    .entry(id.clone())
                    .or_default()
                    .push(e.key.clone());
                working.insert(id, doc);
            }
        }
        // Only documents that are whole child documents under their own id are stored; an object that
        // brought anything else is refused (what it brought to other documents still applies).
        let mut changed: Vec<Received> = Vec::new();
        let mut relay_known: DocHeads = Vec::new();
        let mut bad: BTreeSet<String> = BTreeSet::new();
        for (id, doc) in working {
            let heads = sorted_heads(&doc);
            let saved = matches!(crate::crdt::read_child(&doc), Ok(c) if c.id.as_str() == id)
                .then(|| crate::crdt::save_reopening(&doc, None))
                .flatten();
            let Some(saved) = saved else {
                bad.extend(touched_by.remove(&id).unwrap_or_default());
                continue;
            };
            // Nothing of this phone's own was waiting to be pushed: the relay holds all of it now.
            if relay_heads.get(&id) == before.get(&id) {
                relay_known.push((id.clone(), heads.clone()));
            }
            if before.get(&id) != Some(&heads) {
                changed.push(Received { id, doc, saved });
            }
        }
        for key in bad {
            if !self.report.refused.contains(&key) {
                self.report.refused.push(key);
            }
        }
        let n = changed.len() as u64;
        PeerStore::new(self.api, self.scope.clone(), self.team).store(&mut changed)?;
        self.report.pulled += n;
        let mut upto: HashMap<&str, u64> = HashMap::new();
        for e in group {
            let s = upto.entry(e.name.device.as_str()).or_default();
            *s = (*s).max(e.name.seq);
        }
        let lamport = group.iter().map(|e| e.name.lamport).max().unwrap_or(0);
        self.store().write(|tx| {
            for (device, seq) in &upto {
                rs::advance_cursor(tx, &self.tag, device, *seq)?;
            }
            rs::raise_lamport(tx, &self.tag, lamport)?;
            rs::set_doc_heads(tx, &self.tag, &relay_known)
        })?;
        Ok(())
    }

    /// Write every document whole as a snapshot, then delete the listed objects it supersedes (every
    /// one applied here: past no cursor). Objects written meanwhile by other phones stay.
    fn compact(&mut self, listed: &[Entry]) -> Result<()> {
        let cursors = self.store().read(|c| rs::cursors(c, &self.tag))?;
        let superseded: Vec<Entry> = listed
            .iter()
            .chain(&self.written)
            .filter(|e| e.name.seq <= cursors.get(&e.name.device).copied().unwrap_or(0))
            .cloned()
            .collect();
        let ids: Vec<String> = self
            .store()
            .read(|c| teams::heads(c, self.team))?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut bundles = Vec::new();
        let mut docs: Vec<(String, Vec<u8>)> = Vec::new();
        let mut heads = Vec::new();
        let mut size = 0usize;
        for id in ids {
            self.scope.check()?;
            let Some(doc) = self.store().read(|c| self.store().load_doc(c, &id))? else {
                continue;
            };
            let bytes = doc.save();
            if size + bytes.len() > MAX_OBJECT && !docs.is_empty() {
                bundles.push((
                    Bundle {
                        kind: BundleKind::Snapshot,
                        docs: std::mem::take(&mut docs),
                    },
                    std::mem::take(&mut heads),
                ));
                size = 0;
            }
            size += bytes.len() + id.len() + 6;
            heads.push((id.clone(), sorted_heads(&doc)));
            docs.push((id, bytes));
        }
        if !docs.is_empty() {
            bundles.push((
                Bundle {
                    kind: BundleKind::Snapshot,
                    docs,
                },
                heads,
            ));
        }
        let mut all = listed.to_vec();
        all.extend(self.written.iter().cloned());
        self.write_objects(&all, BundleKind::Snapshot, bundles)?;
        self.report.compacted = true;
        for e in superseded {
            self.scope.check()?;
            self.s3.delete(&e.key).map_err(relay_err)?;
            self.report.deleted += 1;
        }
        Ok(())
    }
}
