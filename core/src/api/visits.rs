//! Visits: recording (adding to or correcting) and deleting, and reading them back with their
//! assessments.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{Timbang, VisitResult, VisitView};
use crate::crdt;
use crate::domain::{ChildId, Services, VisitEntry};
use crate::error::{Confirmation, Error, Result};
use crate::growth;
use crate::store::projection::{self, VisitRow};
use crate::store::{children, outbox};

impl Timbang {
    /// The stored visits of a kept child with their assessments, by date.
    pub(super) fn visit_views(&self, root: &ChildId) -> Result<Vec<VisitView>> {
        Ok(self.store.read(|c| {
            let rows = VisitRow::read_all(c, root.as_str())?;
            let mut versions: BTreeMap<i64, (String, String)> = BTreeMap::new();
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                if let std::collections::btree_map::Entry::Vacant(e) = versions.entry(r.version) {
                    e.insert(projection::version_names(c, r.version)?);
                }
                let (standard, rules) = &versions[&r.version];
                let m = r.measured;
                out.push(VisitView {
                    date: r.date,
                    weight_kg: m.weight_kg(),
                    height_cm: m.height_cm(),
                    position: m.position,
                    head_circ_cm: m.head_cm(),
                    muac_cm: m.muac_cm(),
                    oedema: m.oedema,
                    assessment: Some(r.assessment(standard, rules)),
                    services: r.services,
                    confirmed: r.confirmed,
                });
            }
            Ok(out)
        })?)
    }

    /// Record (add to or correct) the visit of `entry.date` for a child. Refuses bad input (naming the
    /// field); asks for confirmation of implausible values; stores confirmed ones with the confirmation
    /// recorded. The checks are [`growth::check_entry`] and [`growth::entry_concerns`], the same for
    /// every path that stores a visit.
    pub fn record_visit(
        &self,
        id: &ChildId,
        entry: VisitEntry,
        confirm: bool,
    ) -> Result<VisitResult> {
        self.device()?;
        let root = self.resolve_id(id)?;
        let child = self.child_info(&root)?;
        let rows = self.store.read(|c| VisitRow::read_all(c, root.as_str()))?;
        let stored_day = entry.date.and_then(|d| rows.iter().find(|r| r.date == d));
        let checked = growth::check_entry(
            &child,
            &entry,
            stored_day.map(|r| &r.measured),
            self.today(),
        )?;
        let history: Vec<growth::VisitInput> = rows
            .iter()
            .filter(|r| r.date < checked.date)
            .map(VisitRow::input)
            .collect();
        let already_confirmed = stored_day.map_or(&[][..], |r| &r.confirmed[..]);
        let earlier_services: Vec<(NaiveDate, Services)> = rows
            .iter()
            .filter(|r| r.date != checked.date)
            .map(|r| (r.date, r.service_set()))
            .collect();
        let confirmations: Vec<Confirmation> = growth::entry_concerns(
            &child,
            &history,
            &checked,
            &earlier_services,
            already_confirmed,
        )
        .into_iter()
        .map(Confirmation::from)
        .collect();
        if !confirmations.is_empty() && !confirm {
            return Err(Error::NeedsConfirmation {
                reasons: confirmations,
            });
        }
        let codes: Vec<String> = confirmations.into_iter().map(|c| c.code).collect();
        let date = checked.date;
        self.commit("record_visit", |e| {
            let (now, device) = (e.now_ms, e.device.to_owned());
            e.change(root.as_str(), |d| {
                crdt::write_visit(d, date, &checked.entry, &codes, &device, now).map(|()| true)
            })?;
            e.child = Some(root.clone());
            e.detail = Some(date.to_string());
            Ok(())
        })?;
        let assessment = self
            .store
            .read(|c| {
                let Some(row) = VisitRow::read_one(c, root.as_str(), date)? else {
                    return Ok(None);
                };
                let (standard, rules) = projection::version_names(c, row.version)?;
                Ok(Some(row.assessment(&standard, &rules)))
            })?
            .ok_or_else(|| Error::storage("assessment missing after write"))?;
        Ok(VisitResult {
            child_id: root,
            date,
            assessment,
            confirmed: codes,
        })
    }

    /// Soft-delete the visit of `date` (entered for the wrong child, say). The values stay in the
    /// document's history; recording that date again brings the visit back.
    pub fn delete_visit(&self, id: &ChildId, date: NaiveDate) -> Result<()> {
        self.device()?;
        let root = self.resolve_id(id)?;
        let exists = self
            .store
            .read(|c| VisitRow::read_one(c, root.as_str(), date))?
            .is_some();
        if !exists {
            return Err(Error::NotFound {
                what: "visit".into(),
                id: format!("{root}/{date}"),
            });
        }
        self.commit("delete_visit", |e| {
            // The visit may come from a merged duplicate's document: mark it deleted in every
            // document of the group that has it.
            let (now, device) = (e.now_ms, e.device.to_owned());
            for m in children::group_members(e.tx, &root)? {
                e.change(&m, |d| {
                    if !crdt::read_child(d)?.visits.contains_key(&date) {
                        return Ok(false);
                    }
                    crdt::delete_visit(d, date, &device, now).map(|()| true)
                })?;
            }
            outbox::drop_pending(e.tx, root.as_str(), date)?;
            e.child = Some(root.clone());
            e.detail = Some(date.to_string());
            Ok(())
        })
    }
}
