//! # timbang-ffi
//!
//! The uniffi bindings of `timbang-core` for the phone apps (Kotlin on Android, Swift on iOS) and for
//! Python (the smoke tests). Wrapping only: every call is one call of the core facade
//! [`timbang_core::Timbang`], its records are mirrored field for field in [`records`], its error is
//! [`TimbangError`], and the host's capabilities are foreign traits adapted to the core's ([`host`]).
//!
//! Calls block; the app chooses the thread (a Kotlin `Dispatchers.IO`, a Swift detached task) and
//! stops long work (a peer session, a rebuild) from another thread with [`InterruptHandle`].
//! Generate the bindings with `bindings/ffi/generate.sh`.
//!
//! This is the workspace's one crate that allows `unsafe_code`: the scaffolding uniffi's macros
//! generate (the `extern "C"` functions, `#[unsafe(no_mangle)]`) is unsafe code. None is written by
//! hand here.

uniffi::setup_scaffolding!("timbang");

pub mod asik;
mod error;
pub mod host;
pub mod records;
pub mod relay;

use std::path::Path;
use std::sync::Arc;

use timbang_core::crypto::Key;
use timbang_core::reports::Month;
use timbang_core::reports::export::{ColumnSet, Table};
use timbang_core::{Error, FixedDate, SystemClock};
use zeroize::Zeroize;

use asik::{AsikConfig, AsikStatus, SyncReason, SyncReport};
pub use error::{NetworkService, TimbangError};
use host::{
    ByteStream, ChangeListener, HostHttp, HostListener, HostStream, HttpClient, ImportProgress,
};
use records::{
    ChildDetail, Conflict, CurvePoint, DashboardSummary, DeviceSettings, DuplicateCandidate,
    EarlyWarning, ExportSummary, GrowthChart, GrowthCurve, ImportReport, NewChild, PeerReport,
    PeerRole, Registered, Sex, Skdn, TeamInfo, VillageFilter, VillageRow, VisitEntry, VisitResult,
    child_id,
};
use relay::{RelayConfig, RelayReport};

type Result<T, E = TimbangError> = std::result::Result<T, E>;

/// One posyandu's database on this phone. Every method blocks and may be called from any thread.
#[derive(Debug, uniffi::Object)]
pub struct Timbang {
    core: timbang_core::Timbang,
}

/// Stops long work (a peer session, a rebuild) that began before the call, from any thread.
#[derive(Debug, uniffi::Object)]
pub struct InterruptHandle(timbang_core::InterruptHandle);

#[uniffi::export]
impl InterruptHandle {
    /// Stop: the work returns `Interrupted`; what it committed stays.
    pub fn interrupt(&self) {
        self.0.interrupt();
    }
}

#[uniffi::export]
impl Timbang {
    /// Open (or create) the database at `path` with the host's 32-byte key (kept by the Android
    /// Keystore or the iOS Keychain; the copy given here is wiped). `today` (`YYYY-MM-DD`) fixes the
    /// date for tests; apps leave it out.
    #[uniffi::constructor(default(today = None))]
    pub fn open(path: String, mut key: Vec<u8>, today: Option<String>) -> Result<Arc<Self>> {
        let parsed = Key::from_bytes(&key).map_err(|_| {
            Error::invalid(
                "key",
                "Kunci basis data harus tepat 32 bita.",
                format!("the key has {} bytes, not 32", key.len()),
            )
        });
        key.zeroize();
        let key = parsed?;
        let clock: Arc<dyn timbang_core::Clock> = match today {
            Some(t) => Arc::new(FixedDate(timbang_core::domain::parse_date(
                "today", "Tanggal", &t,
            )?)),
            None => Arc::new(SystemClock),
        };
        let core = timbang_core::Timbang::open(Path::new(&path), &key, clock)?;
        Ok(Arc::new(Self { core }))
    }

    /// Set up this phone as the first of a posyandu's team.
    pub fn init(
        &self,
        posyandu: String,
        village: String,
        device_name: String,
    ) -> Result<DeviceSettings> {
        Ok(self.core.init(&posyandu, &village, &device_name)?.into())
    }

    /// This phone's settings.
    pub fn settings(&self) -> Result<DeviceSettings> {
        Ok(self.core.settings()?.into())
    }

    /// Name the kader whose entries follow (recorded, sealed, in the audit log).
    pub fn set_kader(&self, kader: Option<String>) {
        self.core.set_kader(kader);
    }

    /// The pairing code another phone joins with (show it as a QR code; never send it).
    pub fn team_invite(&self) -> Result<String> {
        Ok(self.core.team_invite()?)
    }

    /// Set up a fresh database as another phone of the team whose pairing code is `code`.
    pub fn team_join(&self, code: String, device_name: String) -> Result<DeviceSettings> {
        Ok(self.core.team_join(&code, &device_name)?.into())
    }

    /// Children already registered who may be `child` (same NIK, or similar name and birth date).
    pub fn possible_duplicates(&self, child: NewChild) -> Result<Vec<DuplicateCandidate>> {
        let c = child.try_into()?;
        Ok(into_all(self.core.possible_duplicates(&c)?))
    }

    /// Register a child. `NeedsConfirmation` (possible duplicates, a NIK that disagrees with the birth
    /// date) writes nothing: ask the kader, then call again with `confirm = true`.
    pub fn register_child(&self, child: NewChild, confirm: bool) -> Result<Registered> {
        let registration = child.registration();
        Ok(self
            .core
            .register_child_with(child.try_into()?, registration, confirm)?
            .into())
    }

    /// Record (add to or correct) the visit of `entry.date`. `NeedsConfirmation` carries the reasons
    /// (a WHO flag, a height that shrank, ...); nothing is written until the kader confirms.
    pub fn record_visit(
        &self,
        child_id: String,
        entry: VisitEntry,
        confirm: bool,
    ) -> Result<VisitResult> {
        let id = records::child_id("child_id", &child_id)?;
        Ok(self
            .core
            .record_visit(&id, entry.try_into()?, confirm)?
            .into())
    }

    /// Delete the visit of `date` (`YYYY-MM-DD`).
    pub fn delete_visit(&self, child_id: String, date: String) -> Result<()> {
        let id = records::child_id("child_id", &child_id)?;
        let date = timbang_core::domain::parse_date("date", "Tanggal kunjungan", &date)?;
        Ok(self.core.delete_visit(&id, date)?)
    }

    /// Everything about one child, with every visit's assessment (a merged duplicate's id shows the
    /// kept child).
    pub fn child(&self, child_id: String) -> Result<ChildDetail> {
        let id = records::child_id("child_id", &child_id)?;
        Ok(self.core.child(&id)?.into())
    }

    /// The village list, most urgent first.
    pub fn village_list(&self) -> Result<Vec<VillageRow>> {
        Ok(into_all(self.core.village_list()?))
    }

    /// The village list of one posyandu, RT/RW, or the children not weighed in a month.
    pub fn village_list_filtered(&self, filter: VillageFilter) -> Result<Vec<VillageRow>> {
        Ok(into_all(
            self.core.village_list_filtered(&filter.try_into()?)?,
        ))
    }

    /// The teams of this phone: a bidan's phone is in one team per posyandu (no secrets).
    pub fn team_list(&self) -> Result<Vec<TeamInfo>> {
        Ok(into_all(self.core.team_list()?))
    }

    /// Add the team of another posyandu to this phone, already set up, by its pairing code (a bidan's
    /// phone). Its children arrive through that team's phones.
    pub fn team_add(&self, code: String) -> Result<TeamInfo> {
        Ok(self.core.team_add(&code)?.into())
    }

    /// Merge `duplicate_id` into `keep_id` (replicated to every phone); returns the kept id.
    pub fn merge_children(&self, keep_id: String, duplicate_id: String) -> Result<String> {
        let keep = child_id("keep_id", &keep_id)?;
        let dup = child_id("duplicate_id", &duplicate_id)?;
        Ok(self.core.merge_children(&keep, &dup)?.to_string())
    }

    /// Every open conflict.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        Ok(into_all(self.core.conflicts()?))
    }

    /// Settle a conflict by keeping `value` (one of its `values`).
    pub fn resolve(&self, conflict_id: String, value: String) -> Result<()> {
        Ok(self.core.resolve(&conflict_id, &value)?)
    }

    /// One sync session with another phone of the team over the host's `stream`, both directions.
    /// Blocks until the session ends; interruptible.
    ///
    /// On a phone in several teams, `posyandu` names the team a dialling phone presents (absent: its
    /// first); an accepting phone serves a phone of any of its teams. Only that team's children cross.
    ///
    /// `session_version` is the session version a dialling phone offers (absent: the newest). A phone
    /// of an older Timbang refuses a version it does not speak: `Network { service: Peer, retryable:
    /// false }` whose sentence says the other phone is older; open a new stream and offer one less,
    /// down to 1. Outside 1 to the newest: `InvalidInput { field: "session_version" }`.
    #[uniffi::method(default(posyandu = None, session_version = None))]
    pub fn peer_session(
        &self,
        stream: Arc<dyn ByteStream>,
        role: PeerRole,
        posyandu: Option<String>,
        session_version: Option<u8>,
    ) -> Result<PeerReport> {
        Ok(self
            .core
            .peer_session_offering(
                &HostStream(stream),
                role.into(),
                posyandu.as_deref(),
                session_version,
            )?
            .into())
    }

    /// The upload state of every visit (pending, sent, rejected with the server's reason, held by an
    /// open conflict).
    pub fn asik_status(&self) -> Result<AsikStatus> {
        Ok(self.core.asik_status()?.into())
    }

    /// Upload what is pending to ASIK/SATUSEHAT through the host's `http`, within `budget_ms` (the
    /// host's deadline: WorkManager's, BGTaskScheduler's). Progress is kept after every answer; a run
    /// stopped by the deadline, the interrupt handle or a lost signal says so in `stopped`.
    /// `Network { service: Asik, retryable: true }` when the server could not be reached and nothing
    /// was done; `retryable: false` when it refused the client id and secret.
    pub fn asik_sync(
        &self,
        http: Arc<dyn HttpClient>,
        config: AsikConfig,
        reason: SyncReason,
        budget_ms: u64,
    ) -> Result<SyncReport> {
        let report = self
            .core
            .asik_sync(
                &HostHttp(http),
                &config.into(),
                reason.into(),
                std::time::Duration::from_millis(budget_ms),
            )
            .map_err(TimbangError::asik)?;
        Ok(report.into())
    }

    /// Push this phone's changes to the team's relay (an S3-compatible bucket, sealed: the store
    /// reads nothing) through the host's `http`, then pull and apply what the other phones pushed;
    /// `compact` also writes a snapshot and deletes what it supersedes, whatever the object count.
    /// Interruptible; what was applied stays and the next sync continues. Failures are
    /// `Network { service: Relay, retryable }`; a bad URL is `InvalidInput { field: "url" }`.
    #[uniffi::method(default(compact = false))]
    pub fn relay_sync(
        &self,
        http: Arc<dyn HttpClient>,
        config: RelayConfig,
        compact: bool,
    ) -> Result<RelayReport> {
        let config = config.into();
        let http = HostHttp(http);
        let report = if compact {
            self.core.relay_sync_compact(&config, &http)
        } else {
            self.core.relay_sync(&config, &http)
        };
        Ok(report.map_err(TimbangError::relay)?.into())
    }

    /// SKDN of `month` (`YYYY-MM`) for the children of `posyandu` (by name, as the documents carry
    /// it), or for every child on this phone when absent.
    #[uniffi::method(default(posyandu = None))]
    pub fn skdn(&self, month: String, posyandu: Option<String>) -> Result<Skdn> {
        Ok(self
            .core
            .skdn(Month::parse(&month)?, posyandu.as_deref())?
            .into())
    }

    /// SKDN of `month` for each posyandu this phone holds children of, by name.
    pub fn skdn_by_posyandu(&self, month: String) -> Result<Vec<Skdn>> {
        Ok(into_all(self.core.skdn_by_posyandu(Month::parse(&month)?)?))
    }

    /// Record whether a child has a KMS / Buku KIA (the K of SKDN).
    pub fn set_has_kms(&self, child_id: String, has_kms: bool) -> Result<()> {
        let id = records::child_id("child_id", &child_id)?;
        Ok(self.core.set_has_kms(&id, has_kms)?)
    }

    /// The early warnings as of today (children and posyandu).
    pub fn warnings(&self) -> Result<Vec<EarlyWarning>> {
        Ok(into_all(self.core.warnings()?))
    }

    /// The early warnings as of `today` (`YYYY-MM-DD`).
    pub fn warnings_as_of(&self, today: String) -> Result<Vec<EarlyWarning>> {
        let today = timbang_core::domain::parse_date("today", "Tanggal", &today)?;
        Ok(into_all(self.core.warnings_as_of(today)?))
    }

    /// The e-PPGBM table of `month` written to `out_path` (`.xlsx` or `.csv`, atomically). `columns`:
    /// the text of a column file (`header,field`) instead of the default columns.
    #[uniffi::method(default(columns = None))]
    pub fn export_eppgbm(
        &self,
        month: String,
        out_path: String,
        columns: Option<String>,
    ) -> Result<ExportSummary> {
        let month = Month::parse(&month)?;
        let columns = columns
            .map(|text| ColumnSet::parse("columns", &text))
            .transpose()?;
        let table = self.core.eppgbm_export(month, columns.as_ref())?;
        self.write(table, month, out_path)
    }

    /// The ELSIMIL hand-over of `month` (children at risk of stunting, with their family) written to
    /// `out_path` (`.xlsx` or `.csv`).
    pub fn export_elsimil(&self, month: String, out_path: String) -> Result<ExportSummary> {
        let month = Month::parse(&month)?;
        let table = self.core.elsimil_export(month)?;
        self.write(table, month, out_path)
    }

    /// The posyandu register of `month` (SIP format 2) written to `out_path` (`.xlsx` or `.csv`).
    pub fn export_register(&self, month: String, out_path: String) -> Result<ExportSummary> {
        let month = Month::parse(&month)?;
        let table = self.core.register_export(month)?;
        self.write(table, month, out_path)
    }

    /// The monthly activity report of `month` (SIP format 6) written to `out_path` (`.xlsx` or
    /// `.csv`).
    pub fn export_sip6(&self, month: String, out_path: String) -> Result<ExportSummary> {
        let month = Month::parse(&month)?;
        let table = self.core.sip6_export(month)?;
        self.write(table, month, out_path)
    }

    /// The kohort balita of `year` for the puskesmas (one row per child, twelve months) written to
    /// `out_path` (`.xlsx` or `.csv`); the summary's `month` is the year.
    pub fn export_kohort(&self, year: i32, out_path: String) -> Result<ExportSummary> {
        let table = self.core.kohort_export(year)?;
        self.core.write_table(&table, Path::new(&out_path))?;
        Ok(ExportSummary::of_period(out_path, year.to_string(), &table))
    }

    /// The federated aggregate of `month` (counts only, small cells suppressed; no names or ids)
    /// written to `out_path` (`.json`): what may leave the village. `posyandu` by name (absent: every
    /// child on this phone); `region_code` a Kemendagri code (absent: the ASIK village code, if set).
    #[uniffi::method(default(posyandu = None, region_code = None))]
    pub fn export_agregat(
        &self,
        month: String,
        out_path: String,
        posyandu: Option<String>,
        region_code: Option<String>,
    ) -> Result<()> {
        let a = self.core.agregat(
            Month::parse(&month)?,
            posyandu.as_deref(),
            region_code.as_deref(),
        )?;
        Ok(self.core.write_agregat(&a, Path::new(&out_path))?)
    }

    /// The bidan's dashboard (one self-contained HTML page that opens offline) of the last `months`
    /// months, written to `out_path` (`.html`): every posyandu together and each one, or `posyandu`.
    #[uniffi::method(default(months = 12, posyandu = None))]
    pub fn write_dashboard(
        &self,
        out_path: String,
        months: u32,
        posyandu: Option<String>,
    ) -> Result<DashboardSummary> {
        let d = self
            .core
            .write_dashboard(Path::new(&out_path), months, posyandu.as_deref())?;
        Ok(DashboardSummary {
            path: out_path,
            sections: d.sections.into_iter().map(|s| s.posyandu).collect(),
        })
    }

    /// The growth chart of a child (a merged duplicate's id shows the kept child): the SVG, and the
    /// measurements as data for an app that draws its own.
    pub fn growth_chart(&self, child_id: String) -> Result<GrowthChart> {
        let id = records::child_id("child_id", &child_id)?;
        let chart = self.core.growth_chart(&id)?;
        Ok(GrowthChart::of(chart, self.core.growth_chart_points(&id)?))
    }

    /// [`Timbang::growth_chart`], its SVG also written to `out_path` (atomically).
    pub fn write_growth_chart(&self, child_id: String, out_path: String) -> Result<GrowthChart> {
        let id = records::child_id("child_id", &child_id)?;
        let chart = self.core.write_growth_chart(&id, Path::new(&out_path))?;
        Ok(GrowthChart::of(chart, self.core.growth_chart_points(&id)?))
    }

    /// Import a register CSV (`csv`, UTF-8; `name` names it in errors): one row per child and visit,
    /// every row through the checks of a kader's entry; bad rows are reported by line and skipped,
    /// importing the same file again adds nothing. A file that is not a register is refused whole.
    /// `progress` is told after every batch. Interruptible between batches.
    #[uniffi::method(default(progress = None))]
    pub fn import_register(
        &self,
        name: String,
        csv: Vec<u8>,
        progress: Option<Arc<dyn ImportProgress>>,
    ) -> Result<ImportReport> {
        let mut tell = |done: usize, total: usize| {
            if let Some(p) = &progress {
                p.progress(done as u64, total as u64);
            }
        };
        Ok(self
            .core
            .import_register(&name, csv.as_slice(), &mut tell)?
            .into())
    }

    /// A consistent, still sealed copy of the database at `out_path`.
    pub fn backup(&self, out_path: String) -> Result<()> {
        Ok(self.core.backup(Path::new(&out_path))?)
    }

    /// The handle that stops long work from another thread.
    pub fn interrupt_handle(&self) -> Arc<InterruptHandle> {
        Arc::new(InterruptHandle(self.core.interrupt_handle()))
    }

    /// Stop long work that is running now (the same as through [`Timbang::interrupt_handle`]).
    pub fn interrupt(&self) {
        self.core.interrupt_handle().interrupt();
    }

    /// Tell `listener` after every commit from now on; `None` stops.
    pub fn set_change_listener(&self, listener: Option<Arc<dyn ChangeListener>>) {
        self.core.set_change_listener(
            listener
                .map(|l| Arc::new(HostListener(l)) as Arc<dyn timbang_core::host::ChangeListener>),
        );
    }
}

impl Timbang {
    fn write(&self, table: Table, month: Month, out_path: String) -> Result<ExportSummary> {
        self.core.write_table(&table, Path::new(&out_path))?;
        Ok(ExportSummary::of(out_path, month, &table))
    }
}

/// The WHO lines of `curve` for `sex` at each of `xs` (days for the age curves, cm for the others),
/// for an app that draws its own chart; an x outside the curve's table is left out.
#[uniffi::export]
pub fn growth_curve(curve: GrowthCurve, sex: Sex, xs: Vec<f64>) -> Vec<CurvePoint> {
    let (curve, sex) = (curve.into(), sex.into());
    xs.into_iter()
        .filter_map(|x| {
            timbang_core::growth::curve_values(curve, sex, x).map(|v| CurvePoint::of(x, v))
        })
        .collect()
}

fn into_all<T, U: From<T>>(v: Vec<T>) -> Vec<U> {
    v.into_iter().map(Into::into).collect()
}
