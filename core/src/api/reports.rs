//! Reports: SKDN per posyandu per month, the KMS card flag (the K of SKDN), and the posyandu names a
//! joined phone learns from the documents it received. The counting rules are pure functions in
//! [`crate::reports`]; this room only reads the projections into their inputs.

use std::collections::BTreeMap;

use super::Timbang;
use crate::crdt;
use crate::domain::{ChildId, FieldValue};
use crate::error::Error;
use crate::error::Result;
use crate::output_file::OutputFile;
use crate::reports::agregat::{self, Agregat, AgregatChild, AgregatVisit};
use crate::reports::chart::{self, ChartPoint, GrowthChart};
use crate::reports::export::{self, ColumnSet, RegisterChild, ServiceCounts, Table, WeighedChild};
use crate::reports::kohort::{self, KohortColumns, KohortVisit};
use crate::reports::warnings::{self, Warning, WarningChild, WarningVisit};
use crate::reports::{self, Month, MonthWeighing, Skdn, SkdnChild};
use crate::store::children::{self, ReportChild};
use crate::store::projection::VisitRow;
use crate::store::settings::{self, MetaKey};

/// A kept child with the visits of a period, as every report reads it (no personal data).
#[derive(Debug, Clone)]
pub(crate) struct PeriodChild {
    pub child: ReportChild,
    pub visits: Vec<VisitRow>,
}

impl Timbang {
    /// Every kept child with its visit rows from `from` to `to`; checks the interrupt handle every
    /// 256 children.
    pub(crate) fn period_children(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<PeriodChild>> {
        let scope = self.interrupt.begin();
        let kids = self.store.read(children::report_children)?;
        let mut out = Vec::with_capacity(kids.len());
        for chunk in kids.chunks(256) {
            scope.check()?;
            let rows = self.store.read(|c| {
                chunk
                    .iter()
                    .map(|k| VisitRow::read_between(c, k.child_id.as_str(), from, to))
                    .collect::<Result<Vec<_>, _>>()
            })?;
            out.extend(
                chunk
                    .iter()
                    .cloned()
                    .zip(rows)
                    .map(|(child, visits)| PeriodChild { child, visits }),
            );
        }
        Ok(out)
    }

    /// The posyandu and village a child belongs to: the names its document carries, else this device's.
    pub(super) fn names_of(&self, c: &ReportChild) -> Result<(String, String)> {
        let s = self.device()?.settings;
        Ok((
            c.posyandu
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or(s.posyandu),
            c.village
                .clone()
                .filter(|v| !v.is_empty())
                .unwrap_or(s.village),
        ))
    }

    /// SKDN of `month` for the children of `posyandu` (by name, as the documents carry it), or for
    /// every child on this device when `None` (labelled with this device's posyandu).
    pub fn skdn(&self, month: Month, posyandu: Option<&str>) -> Result<Skdn> {
        let device = self.device()?.settings;
        let kids = self.period_children(month.first_day(), month.last_day())?;
        let mut inputs = Vec::with_capacity(kids.len());
        let mut village = device.village.clone();
        for k in &kids {
            let (p, v) = self.names_of(&k.child)?;
            if let Some(want) = posyandu {
                if !p.eq_ignore_ascii_case(want.trim()) {
                    continue;
                }
                village = v;
            }
            inputs.push(skdn_input(k));
        }
        let name = posyandu.map_or(device.posyandu, |p| p.trim().to_owned());
        Ok(reports::skdn(month, &name, &village, &inputs))
    }

    /// SKDN of `month` for each posyandu this device holds children of, by name.
    pub fn skdn_by_posyandu(&self, month: Month) -> Result<Vec<Skdn>> {
        let kids = self.period_children(month.first_day(), month.last_day())?;
        let mut groups: BTreeMap<(String, String), Vec<SkdnChild>> = BTreeMap::new();
        for k in &kids {
            groups
                .entry(self.names_of(&k.child)?)
                .or_default()
                .push(skdn_input(k));
        }
        Ok(groups
            .into_iter()
            .map(|((p, v), inputs)| reports::skdn(month, &p, &v, &inputs))
            .collect())
    }

    /// The e-PPGBM table of `month`: one row per child weighed that month (its last weighing), in the
    /// columns of `columns` (default: `schema/id/eppgbm-columns.csv`), ordered by name.
    pub fn eppgbm_export(&self, month: Month, columns: Option<&ColumnSet>) -> Result<Table> {
        let default;
        let columns = match columns {
            Some(c) => c,
            None => {
                default = ColumnSet::eppgbm_default()?;
                &default
            }
        };
        let kids = self.period_children(month.first_day(), month.last_day())?;
        let mut rows = Vec::new();
        for k in &kids {
            let Some(v) = k
                .visits
                .iter()
                .rev()
                .find(|v| v.measured.weight_g.is_some())
            else {
                continue;
            };
            let identity = self
                .store
                .read(|c| children::identity(&self.store, c, &k.child.child_id))?;
            let (posyandu, village) = self.names_of(&k.child)?;
            rows.push(WeighedChild {
                identity,
                posyandu,
                village,
                date: v.date,
                measured: v.measured,
                assessment: v.assessment("", ""),
            });
        }
        rows.sort_by(|a, b| {
            a.identity
                .name
                .to_lowercase()
                .cmp(&b.identity.name.to_lowercase())
        });
        Ok(export::eppgbm_table(columns, month, &rows))
    }

    /// The ELSIMIL hand-over of `month`: one row per target child at risk (the triggers of
    /// `schema/id/elsimil-triggers.csv`) with its latest visit up to the month's last day, ordered by
    /// name. A child with no visit at all is not in it.
    pub fn elsimil_export(&self, month: Month) -> Result<Table> {
        use crate::growth::{self, HfaClass};
        let columns = ColumnSet::elsimil_default()?;
        let triggers = export::elsimil_triggers();
        let start = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
        let end = month.last_day();
        let kids = self.period_children(start, end)?;
        let mut rows = Vec::new();
        for k in &kids {
            let Some(birth) = k.child.birth_date else {
                continue;
            };
            if !reports::is_target(birth, month) {
                continue;
            }
            let Some(last) = k.visits.last() else {
                continue;
            };
            let assessment = last.assessment("", "");
            let status = k
                .visits
                .iter()
                .rev()
                .map(|v| v.assessment("", ""))
                .find(|a| a.status_gizi.is_some());
            let last_weighing = k
                .visits
                .iter()
                .rev()
                .find(|v| v.measured.weight_g.is_some())
                .map(|v| v.date);
            let reasons = growth::referrals_as_of(
                last.referral.iter().copied(),
                status.as_ref().and_then(|a| a.status_gizi),
                last_weighing,
                Some(birth),
                end,
            );
            let pendek = k
                .visits
                .iter()
                .rev()
                .find(|v| v.measured.height_mm.is_some())
                .map(|v| v.assessment("", ""))
                .is_some_and(|a| a.classes.hfa == Some(HfaClass::Pendek));
            let signs = status
                .as_ref()
                .map(|a| a.status_gizi_signs.clone())
                .unwrap_or_default();
            let mut texts = Vec::new();
            for (code, text) in &triggers {
                let hit = if code == "PENDEK" {
                    pendek && !reasons.contains(&growth::ReferralReason::PendekBaru)
                } else {
                    reasons.iter().any(|r| r.code() == code)
                };
                if !hit {
                    continue;
                }
                let shown = match code.parse::<growth::ReferralReason>() {
                    Ok(
                        r
                        @ (growth::ReferralReason::GiziBuruk | growth::ReferralReason::GiziKurang),
                    ) => growth::referral_text(r, &signs),
                    _ => text.clone(),
                };
                texts.push(shown);
            }
            if texts.is_empty() {
                continue;
            }
            let identity = self
                .store
                .read(|c| children::identity(&self.store, c, &k.child.child_id))?;
            let (posyandu, village) = self.names_of(&k.child)?;
            rows.push(export::AtRiskChild {
                child: WeighedChild {
                    identity,
                    posyandu,
                    village,
                    date: last.date,
                    measured: last.measured,
                    assessment,
                },
                status_gizi: status
                    .and_then(|a| a.status_gizi)
                    .map(|s| s.label_id().to_owned()),
                reasons: texts,
            });
        }
        rows.sort_by(|a, b| {
            a.child
                .identity
                .name
                .to_lowercase()
                .cmp(&b.child.identity.name.to_lowercase())
        });
        Ok(export::elsimil_table(&columns, month, &rows))
    }

    /// The posyandu register of `month` (SIP format 2): every target child of the month with the
    /// weighings of the year up to it, ordered by name.
    pub fn register_export(&self, month: Month) -> Result<Table> {
        let device = self.device()?.settings;
        let year_start = Month::new(month.year(), 1).unwrap_or(month).first_day();
        let kids = self.period_children(year_start, month.last_day())?;
        let mut rows = Vec::new();
        for k in &kids {
            let Some(birth) = k.child.birth_date else {
                continue;
            };
            if !reports::is_target(birth, month) {
                continue;
            }
            let identity = self
                .store
                .read(|c| children::identity(&self.store, c, &k.child.child_id))?;
            let mut weights = [None; 12];
            for v in &k.visits {
                if let Some(w) = v.measured.weight_kg() {
                    weights[(Month::of(v.date).number() - 1) as usize % 12] = Some(w);
                }
            }
            let this_month: Vec<&VisitRow> =
                k.visits.iter().filter(|v| month.contains(v.date)).collect();
            let mut services: Vec<String> =
                this_month.iter().flat_map(|v| v.services.clone()).collect();
            services.sort();
            services.dedup();
            rows.push(RegisterChild {
                identity,
                weights,
                kms: this_month
                    .iter()
                    .rev()
                    .find(|v| v.measured.weight_g.is_some())
                    .and_then(|v| v.kms)
                    .map(|k| k.to_string()),
                services,
                referral: this_month
                    .last()
                    .map(|v| v.referral.clone())
                    .unwrap_or_default(),
            });
        }
        rows.sort_by(|a, b| {
            a.identity
                .name
                .to_lowercase()
                .cmp(&b.identity.name.to_lowercase())
        });
        Ok(export::register_table(
            &device.posyandu,
            &device.village,
            month,
            &rows,
        ))
    }

    /// The kohort anak balita of `year` (`schema/id/kohort-columns.csv`): every kept child who was a
    /// balita in some month of the year (and every child with no birth date), ordered by name, with the
    /// weighings of each month, the vitamin A rounds of the year and the latest status of the year.
    pub fn kohort_export(&self, year: i32) -> Result<Table> {
        let columns = KohortColumns::default_set()?;
        let device = self.device()?.settings;
        let bad = || Error::invalid("year", format!("Tahun {year} tidak sah."), "bad year");
        let from = chrono::NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(bad)?;
        // A capsule of the year's last round can be given early the next year.
        let to = chrono::NaiveDate::from_ymd_opt(year + 1, 12, 31).ok_or_else(bad)?;
        let kids = self.period_children(from, to)?;
        let mut rows = Vec::new();
        for k in &kids {
            if !kohort::in_kohort(k.child.birth_date, year) {
                continue;
            }
            let identity = self
                .store
                .read(|c| children::identity(&self.store, c, &k.child.child_id))?;
            let visits: Vec<KohortVisit> = k
                .visits
                .iter()
                .map(|v| {
                    let a = v.assessment("", "");
                    KohortVisit {
                        date: v.date,
                        weight_kg: v.measured.weight_kg(),
                        kms: v.kms,
                        services: v.services.clone(),
                        status_gizi: a.status_gizi,
                        hfa: a.classes.hfa,
                        wfa: a.classes.wfa,
                    }
                })
                .collect();
            rows.push(kohort::kohort_child(identity, year, &visits));
        }
        rows.sort_by(|a, b| {
            a.identity
                .name
                .to_lowercase()
                .cmp(&b.identity.name.to_lowercase())
        });
        Ok(kohort::kohort_table(
            &columns,
            &device.posyandu,
            &device.village,
            year,
            &rows,
        ))
    }

    /// The federated aggregate of `month` ([`crate::reports::agregat`]): counts only, suppressed, for
    /// the children of `posyandu` (by name) or every child on this device. The region code is
    /// `region_code` if given, else the village code of the saved ASIK settings, else none.
    pub fn agregat(
        &self,
        month: Month,
        posyandu: Option<&str>,
        region_code: Option<&str>,
    ) -> Result<Agregat> {
        let region = match region_code {
            Some(c) => Some(agregat::parse_region_code(c)?),
            None => self
                .asik_saved_config()?
                .and_then(|c| c.map.village_code.clone())
                .and_then(|c| agregat::parse_region_code(&c).ok()),
        };
        let s = self.skdn(month, posyandu)?;
        let kids = self.period_children(month.first_day(), month.last_day())?;
        let mut inputs = Vec::with_capacity(kids.len());
        for k in &kids {
            if let Some(want) = posyandu {
                let (p, _) = self.names_of(&k.child)?;
                if !p.eq_ignore_ascii_case(want.trim()) {
                    continue;
                }
            }
            inputs.push(AgregatChild {
                sex: k.child.sex,
                birth_date: k.child.birth_date,
                visits: k
                    .visits
                    .iter()
                    .map(|v| {
                        let a = v.assessment("", "");
                        AgregatVisit {
                            date: v.date,
                            age_months: v.age_months,
                            status_gizi: a.status_gizi,
                            wfa: a.classes.wfa,
                            hfa: a.classes.hfa,
                            wfh: a.classes.wfh,
                            services: v.services.clone(),
                        }
                    })
                    .collect(),
            });
        }
        Ok(agregat::agregat(
            month,
            region,
            self.agregat_source(posyandu)?,
            &s,
            &inputs,
        ))
    }

    /// The `source` of an aggregate: the first 16 hex digits of SHA-256 over a label and the id of the
    /// team of `posyandu` (the first team without one; this device's id before it has a team), so every
    /// phone of a team writes the same code and the code says nothing about anyone.
    fn agregat_source(&self, posyandu: Option<&str>) -> Result<String> {
        let teams = self.teams()?;
        let want = posyandu
            .and_then(|p| self.team_for(Some(p)).ok())
            .unwrap_or(crate::store::teams::FIRST);
        let team = match teams.iter().find(|(n, _)| *n == want).or(teams.first()) {
            Some((_, t)) => t.team_id.to_vec(),
            None => self.device()?.settings.device_id.into_bytes(),
        };
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"timbang-agregat/1\0");
        ctx.update(&team);
        let hex = hex::encode(ctx.finish().as_ref());
        Ok(hex[..16].to_owned())
    }

    /// Write an aggregate to `out` (must end in `.json`) through [`OutputFile`].
    pub fn write_agregat(&self, a: &Agregat, out: &std::path::Path) -> Result<()> {
        let is_json = out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if !is_json {
            return Err(Error::invalid(
                "out",
                format!("Berkas {} harus berakhiran .json.", out.display()),
                format!("{} does not end in .json", out.display()),
            ));
        }
        let mut bytes = serde_json::to_vec_pretty(a)
            .map_err(|e| Error::storage(format!("agregat json: {e}")))?;
        bytes.push(b'\n');
        self.write_output(out, &bytes)
    }

    /// SIP format 6, the monthly activity report of this device's children for `month`.
    pub fn sip6_export(&self, month: Month) -> Result<Table> {
        let s = self.skdn(month, None)?;
        let kids = self.period_children(month.first_day(), month.last_day())?;
        let mut counts = ServiceCounts::new();
        for k in &kids {
            if !k
                .child
                .birth_date
                .is_some_and(|b| reports::is_target(b, month))
            {
                continue;
            }
            let mut given: Vec<&String> = k.visits.iter().flat_map(|v| v.services.iter()).collect();
            given.sort();
            given.dedup();
            for code in given {
                *counts.entry(code.clone()).or_default() += 1;
            }
        }
        Ok(export::sip6_table(&s, &counts))
    }

    /// The early warnings as of today ([`reports::warnings`]).
    pub fn warnings(&self) -> Result<Vec<Warning>> {
        self.warnings_as_of(self.today())
    }

    /// The early warnings as of `today`: every kept child with all its visits up to `today`, and the
    /// SKDN of each posyandu for the months the posyandu rules compare.
    pub fn warnings_as_of(&self, today: chrono::NaiveDate) -> Result<Vec<Warning>> {
        let start = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
        let kids = self.period_children(start, today)?;
        let mut inputs = Vec::with_capacity(kids.len());
        for k in &kids {
            let identity = self
                .store
                .read(|c| children::identity(&self.store, c, &k.child.child_id))?;
            let (posyandu, _) = self.names_of(&k.child)?;
            inputs.push(WarningChild {
                child_id: k.child.child_id.to_string(),
                name: identity.name,
                posyandu,
                birth_date: k.child.birth_date,
                visits: k
                    .visits
                    .iter()
                    .map(|v| WarningVisit {
                        date: v.date,
                        weighed: v.measured.weight_g.is_some(),
                        measured_length: v.measured.height_mm.is_some(),
                        status_gizi: v.assessment("", "").status_gizi,
                        referral: v.referral.clone(),
                    })
                    .collect(),
            });
        }
        let months = warnings::warning_rules()
            .iter()
            .filter(|r| r.scope == "posyandu")
            .filter_map(|r| r.months)
            .max()
            .unwrap_or(0);
        let mut first = Month::of(today);
        for _ in 0..=months {
            first = first.prev();
        }
        let mut series: BTreeMap<String, Vec<Skdn>> = BTreeMap::new();
        let mut m = first;
        while m <= Month::of(today) {
            for s in self.skdn_by_posyandu(m)? {
                series.entry(s.posyandu.clone()).or_default().push(s);
            }
            m = m.next();
        }
        // A posyandu missing in a month (no child yet) breaks its run: keep only full series.
        let want = series.values().map(Vec::len).max().unwrap_or(0);
        let series: Vec<Vec<Skdn>> = series.into_values().filter(|s| s.len() == want).collect();
        Ok(warnings::warnings(today, &inputs, &series))
    }

    /// Write `table` to `out` as xlsx or CSV, chosen by the file's extension, through [`OutputFile`].
    pub fn write_table(&self, table: &Table, out: &std::path::Path) -> Result<()> {
        let ext = out
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let bytes = match ext.as_deref() {
            Some("xlsx") => export::to_xlsx(table)?,
            Some("csv") => export::to_csv(table)?,
            _ => {
                return Err(Error::invalid(
                    "out",
                    format!("Berkas {} harus berakhiran .xlsx atau .csv.", out.display()),
                    format!("{} does not end in .xlsx or .csv", out.display()),
                ));
            }
        };
        self.write_output(out, &bytes)
    }

    /// The growth chart of a child (a merged duplicate's id shows the kept child), as SVG.
    pub fn growth_chart(&self, id: &ChildId) -> Result<GrowthChart> {
        let root = self.resolve_id(id)?;
        let identity = self
            .store
            .read(|c| children::identity(&self.store, c, &root))?;
        let (Some(sex), Some(birth)) = (identity.sex, identity.birth_date) else {
            return Err(Error::storage("child has no sex or birth date"));
        };
        let points = self.chart_points_of(&root)?;
        Ok(chart::growth_chart(&identity.name, sex, birth, &points))
    }

    /// The points [`Timbang::growth_chart`] plots, as data (for an app that draws its own chart).
    pub fn growth_chart_points(&self, id: &ChildId) -> Result<Vec<ChartPoint>> {
        self.chart_points_of(&self.resolve_id(id)?)
    }

    fn chart_points_of(&self, root: &ChildId) -> Result<Vec<ChartPoint>> {
        let rows = self.store.read(|c| VisitRow::read_all(c, root.as_str()))?;
        Ok(rows
            .iter()
            .map(|r| ChartPoint {
                date: r.date,
                age_days: r.age_days,
                weight_kg: r.measured.weight_kg(),
                height_cm: r
                    .clenhei_mm
                    .map(|mm| mm as f64 / 10.0)
                    .or_else(|| r.measured.height_cm()),
            })
            .collect())
    }

    /// Write the growth chart of a child to `out` (SVG) through [`OutputFile`]: atomically, never over
    /// the database or a symbolic link.
    pub fn write_growth_chart(&self, id: &ChildId, out: &std::path::Path) -> Result<GrowthChart> {
        let c = self.growth_chart(id)?;
        self.write_output(out, c.svg.as_bytes())?;
        Ok(c)
    }

    /// Write `bytes` to `out` through [`OutputFile`], refusing the database and its side files.
    pub(crate) fn write_output(&self, out: &std::path::Path, bytes: &[u8]) -> Result<()> {
        use std::io::Write;
        let db = self.store.path();
        let side = |suffix: &str| std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        let (wal, shm) = (side("-wal"), side("-shm"));
        let mut file = OutputFile::create(out, &[db, &wal, &shm])?;
        file.write_all(bytes)
            .map_err(|source| crate::output_file::OutputError::Io {
                path: out.to_owned(),
                source,
            })?;
        Ok(file.commit()?)
    }

    /// Record whether a child has a KMS / Buku KIA (K in SKDN). Replicates like any edit.
    pub fn set_has_kms(&self, id: &ChildId, has_kms: bool) -> Result<()> {
        self.device()?;
        let root = self.resolve_id(id)?;
        self.commit("set_has_kms", |e| {
            let now = e.now_ms;
            e.change(root.as_str(), |d| {
                crdt::set_identity_fields(d, &[("has_kms", FieldValue::Bool(has_kms))], now)
            })?;
            e.child = Some(root.clone());
            e.detail = Some(if has_kms { "ya" } else { "tidak" }.to_owned());
            Ok(())
        })
    }

    /// A phone that joined a team has no posyandu or village name of its own: take the ones most of
    /// the received children's documents carry. Does nothing when this device has names or no child
    /// carries any. Returns whether it adopted names.
    pub(super) fn adopt_posyandu_names(&self) -> Result<bool> {
        let device = self.device()?.settings;
        if !device.posyandu.is_empty() {
            return Ok(false);
        }
        // The device's own names are its first team's (a device in several teams keeps the others'
        // names with their documents).
        let Some((_, posyandu, village, _)) = self
            .store
            .read(crate::store::teams::posyandu_names)?
            .into_iter()
            .find(|(team, ..)| *team == crate::store::teams::FIRST)
        else {
            return Ok(false);
        };
        self.store.write(|tx| {
            settings::set(tx, MetaKey::Posyandu, posyandu.as_bytes())?;
            if let Some(v) = &village
                && device.village.is_empty()
            {
                settings::set(tx, MetaKey::Village, v.as_bytes())?;
            }
            self.store.audit(
                tx,
                &device.device_name,
                self.kader().as_deref(),
                "adopt_posyandu_names",
                None,
                None,
            )
        })?;
        self.forget_device();
        Ok(true)
    }
}

fn skdn_input(k: &PeriodChild) -> SkdnChild {
    let last = k
        .visits
        .iter()
        .rev()
        .find(|v| v.measured.weight_g.is_some());
    SkdnChild {
        birth_date: k.child.birth_date,
        has_kms: k.child.has_kms != Some(false),
        weighing: last.map(|v| MonthWeighing {
            date: v.date,
            kms: v.kms,
            bgm: v.bgm(),
            two_t: v.two_t(),
        }),
    }
}
