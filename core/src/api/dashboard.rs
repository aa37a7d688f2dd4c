//! The bidan's dashboard ([`crate::reports::dashboard`]): this room gathers its inputs. SKDN comes from
//! [`Timbang::skdn`] (never re-counted), the warnings from [`Timbang::warnings_as_of`], the children to
//! visit and the RT/RW of each child from the village list ([`Timbang::village_list_filtered`]); the
//! monthly shares of stunted, wasted and underweight children from the stored assessments of each
//! month's visits.

use std::collections::{BTreeMap, HashMap};

use super::{ListFilter, Timbang};
use crate::error::{Error, Result};
use crate::reports::dashboard::{
    self, AreaChild, ChildMonth, Dashboard, DashboardMonth, Section, ToVisit,
};
use crate::reports::{self, Month};

/// The most months a dashboard shows (five years: every month of a balita's life).
pub const MAX_MONTHS: u32 = 60;

/// Which children one section of the page covers.
struct Scope {
    /// The posyandu shown (None: all together).
    label: Option<String>,
    /// The posyandu filtered on (None: every child on this device).
    filter: Option<String>,
    village: String,
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl Timbang {
    /// The dashboard of the last `months` months ending with today's month: all posyandu together and
    /// each one when this device holds several, or only `posyandu`.
    pub fn dashboard(&self, months: u32, posyandu: Option<&str>) -> Result<Dashboard> {
        if !(1..=MAX_MONTHS).contains(&months) {
            return Err(Error::invalid(
                "months",
                format!("Jumlah bulan {months} tidak sah; pilih 1 sampai {MAX_MONTHS}."),
                format!("months {months} is not within 1..={MAX_MONTHS}"),
            ));
        }
        let device = self.device()?.settings;
        let today = self.today();
        let now = Month::of(today);
        let mut list = vec![now];
        while list.len() < months as usize {
            list.insert(0, list[0].prev());
        }
        let first = list[0];

        // Every kept child with its visits of the period, and what each month says of it.
        let kids = self.period_children(first.first_day(), now.last_day())?;
        let mut names: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut per_child: Vec<(String, String, Vec<Option<ChildMonth>>)> = Vec::new();
        for k in &kids {
            let (p, v) = self.names_of(&k.child)?;
            names
                .entry(p.to_lowercase())
                .or_insert_with(|| (p.clone(), v));
            let by_month = list
                .iter()
                .map(|m| {
                    let birth = k.child.birth_date?;
                    if !reports::is_target(birth, *m) {
                        return None;
                    }
                    let visits: Vec<_> = k.visits.iter().filter(|v| m.contains(v.date)).collect();
                    let weighing = visits
                        .iter()
                        .rev()
                        .find(|v| v.measured.weight_g.is_some())?;
                    let length = visits.iter().rev().find(|v| v.measured.height_mm.is_some());
                    let status = visits
                        .iter()
                        .rev()
                        .find_map(|v| v.assessment("", "").status_gizi);
                    Some(ChildMonth {
                        waz: weighing.assessment("", "").z.waz,
                        haz: length.and_then(|v| v.assessment("", "").z.haz),
                        status_gizi: status,
                    })
                })
                .collect();
            per_child.push((k.child.child_id.to_string(), p, by_month));
        }

        let scopes = match posyandu {
            Some(want) => {
                let found = names.get(&want.trim().to_lowercase()).cloned().or_else(|| {
                    same(want, &device.posyandu)
                        .then(|| (device.posyandu.clone(), device.village.clone()))
                });
                let Some((p, v)) = found else {
                    return Err(Error::invalid(
                        "posyandu",
                        format!("Posyandu {} tidak ada di perangkat ini.", want.trim()),
                        "no child of the posyandu asked for on this device",
                    ));
                };
                vec![Scope {
                    label: Some(p.clone()),
                    filter: Some(p),
                    village: v,
                }]
            }
            None if names.len() <= 1 => {
                let (p, v) = names
                    .values()
                    .next()
                    .cloned()
                    .unwrap_or((device.posyandu.clone(), device.village.clone()));
                vec![Scope {
                    label: Some(p),
                    filter: None,
                    village: v,
                }]
            }
            None => {
                let mut s = vec![Scope {
                    label: None,
                    filter: None,
                    village: device.village.clone(),
                }];
                s.extend(names.into_values().map(|(p, v)| Scope {
                    label: Some(p.clone()),
                    filter: Some(p),
                    village: v,
                }));
                s
            }
        };

        let warnings = self.warnings_as_of(today)?;
        let weighed_now: HashMap<&str, bool> = per_child
            .iter()
            .map(|(id, _, m)| (id.as_str(), m.last().is_some_and(Option::is_some)))
            .collect();
        let mut sections = Vec::with_capacity(scopes.len());
        for scope in scopes {
            let in_scope = |p: &str| scope.filter.as_deref().is_none_or(|f| same(f, p));
            let mut months_out = Vec::with_capacity(list.len());
            for (i, m) in list.iter().enumerate() {
                let skdn = self.skdn(*m, scope.filter.as_deref())?;
                let month_kids: Vec<ChildMonth> = per_child
                    .iter()
                    .filter(|(_, p, _)| in_scope(p))
                    .filter_map(|(_, _, by)| by[i])
                    .collect();
                months_out.push(DashboardMonth {
                    skdn,
                    shares: dashboard::shares(&month_kids),
                });
            }
            let section_warnings: Vec<_> = warnings
                .iter()
                .filter(|w| in_scope(&w.posyandu))
                .cloned()
                .collect();
            let rows = self.village_list_filtered(&ListFilter {
                posyandu: scope.filter.clone(),
                ..ListFilter::default()
            })?;
            let mut to_visit: Vec<ToVisit> = Vec::new();
            let mut area_kids = Vec::with_capacity(rows.len());
            let row_posyandu = |p: &Option<String>| {
                p.clone()
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| device.posyandu.clone())
            };
            for r in &rows {
                let id = r.child_id.to_string();
                let mut reasons = r.referral_text.clone();
                for w in section_warnings
                    .iter()
                    .filter(|w| w.child_id.as_deref() == Some(id.as_str()))
                {
                    let prefix = format!("{}: ", r.name);
                    let text = w.text.strip_prefix(&prefix).unwrap_or(&w.text).to_owned();
                    if !reasons.contains(&text) {
                        reasons.push(text);
                    }
                }
                let visit = !reasons.is_empty();
                area_kids.push(AreaChild {
                    rt: r.rt.clone(),
                    rw: r.rw.clone(),
                    balita: r.birth_date.is_some_and(|b| reports::is_target(b, now)),
                    weighed_this_month: weighed_now.get(id.as_str()).copied().unwrap_or(false),
                    haz: r.haz,
                    waz: r.waz,
                    status_gizi: r.status_gizi,
                    to_visit: visit,
                });
                if visit {
                    to_visit.push(ToVisit {
                        child_id: id,
                        name: r.name.clone(),
                        posyandu: row_posyandu(&r.posyandu),
                        rt: r.rt.clone(),
                        rw: r.rw.clone(),
                        age_months: r.age_months,
                        reasons,
                    });
                }
            }
            sections.push(Section {
                posyandu: scope.label,
                village: scope.village,
                months: months_out,
                areas: dashboard::areas(&area_kids),
                warnings: section_warnings,
                to_visit,
            });
        }
        Ok(Dashboard { today, sections })
    }

    /// Write the dashboard to `out` (`.html`) through [`crate::output_file::OutputFile`].
    pub fn write_dashboard(
        &self,
        out: &std::path::Path,
        months: u32,
        posyandu: Option<&str>,
    ) -> Result<Dashboard> {
        let html_ext = out
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
        if !html_ext {
            return Err(Error::invalid(
                "out",
                format!("Berkas dasbor {} harus berakhiran .html.", out.display()),
                format!("dashboard output {} does not end in .html", out.display()),
            ));
        }
        let d = self.dashboard(months, posyandu)?;
        self.write_output(out, dashboard::render(&d).as_bytes())?;
        Ok(d)
    }
}
