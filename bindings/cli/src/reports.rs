//! Report commands: `report skdn`, `child kms`. Parsing and printing only.

use clap::Subcommand;
use serde_json::json;
use timbang_core::domain::{self, ChildId};
use timbang_core::reports::{Month, Skdn};

use crate::Cli;
use crate::commands::open;
use crate::output::{self, CliError, line};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// SKDN of a month: S, K, D, N (and T, O, B, BGM, 2T), D/S and N/D.
    Skdn {
        /// The month, YYYY-MM.
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        /// Only the children of this posyandu (by name); default: every child on this device.
        #[arg(long, value_name = "NAME")]
        posyandu: Option<String>,
        /// One SKDN per posyandu held on this device (JSON: an array).
        #[arg(long, conflicts_with = "posyandu")]
        each_posyandu: bool,
        #[arg(long)]
        json: bool,
    },
}

/// Run a `report` command.
pub fn report(cli: &Cli, r: &ReportCommand) -> Result<(), CliError> {
    match r {
        ReportCommand::Skdn {
            month,
            posyandu,
            each_posyandu,
            json,
        } => {
            let month = Month::parse(month)?;
            let t = open(cli, false)?;
            if *each_posyandu {
                let all = t.skdn_by_posyandu(month)?;
                if *json {
                    return output::json(&all);
                }
                for s in &all {
                    print_skdn(s);
                }
                return Ok(());
            }
            let s = t.skdn(month, posyandu.as_deref())?;
            if *json {
                return output::json(&s);
            }
            print_skdn(&s);
            Ok(())
        }
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{:.1}%", x * 100.0))
}

/// The SKDN as the bidan reads it.
pub fn print_skdn(s: &Skdn) {
    line(format!(
        "SKDN Posyandu {} ({}), {}",
        s.posyandu,
        s.village,
        s.month.label_id()
    ));
    line(format!(
        "  S {:>4}  sasaran (semua balita)\n  K {:>4}  punya KMS / Buku KIA\n  D {:>4}  ditimbang bulan ini\n  N {:>4}  naik berat badannya",
        s.s, s.k, s.d, s.n
    ));
    line(format!(
        "  T {}  O {}  B {}  BGM {}  2T {}",
        s.t, s.o, s.b, s.bgm, s.two_t
    ));
    line(format!(
        "  D = N + T + O + B: {}",
        if s.identity_holds {
            format!("{} = {} (cocok)", s.d, s.n + s.t + s.o + s.b)
        } else {
            format!("{} ≠ {} (tidak cocok)", s.d, s.n + s.t + s.o + s.b)
        }
    ));
    line(format!(
        "  D/S partisipasi {}   N/D keberhasilan {}   K/S liputan {}",
        percent(s.d_s),
        percent(s.n_d),
        percent(s.k_s)
    ));
    for m in &s.mismatch {
        line(format!("  Catatan: {}", m.text));
    }
}

/// `warnings [--json]`: the early warnings as of today.
pub fn warnings(cli: &Cli, as_json: bool) -> Result<(), CliError> {
    let t = open(cli, false)?;
    let all = t.warnings()?;
    if as_json {
        return output::json(&all);
    }
    if all.is_empty() {
        line("Tidak ada peringatan.");
    }
    for w in &all {
        line(format!("[{}] {}", w.code, w.text));
    }
    Ok(())
}

/// `child kms ID ya|tidak`.
pub fn child_kms(cli: &Cli, id: &str, value: &str, as_json: bool) -> Result<(), CliError> {
    let id = ChildId::parse(id)?;
    let has = domain::parse_bool("value", value)?;
    let t = open(cli, false)?;
    t.set_has_kms(&id, has)?;
    if as_json {
        return output::json(&json!({"child_id": t.resolve_id(&id)?, "has_kms": has}));
    }
    line(if has {
        "Dicatat: anak ini punya KMS / Buku KIA."
    } else {
        "Dicatat: anak ini tidak punya KMS / Buku KIA."
    });
    Ok(())
}

/// `chart ID --out FILE.svg`: the child's growth chart; prints the path written.
pub fn chart(cli: &Cli, id: &str, out: &std::path::Path, as_json: bool) -> Result<(), CliError> {
    let id = ChildId::parse(id)?;
    let is_svg = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    if !is_svg {
        return Err(timbang_core::Error::invalid(
            "out",
            format!("Berkas grafik {} harus berakhiran .svg.", out.display()),
            format!("chart output {} does not end in .svg", out.display()),
        )
        .into());
    }
    let t = open(cli, false)?;
    let c = t.write_growth_chart(&id, out)?;
    if as_json {
        return output::json(&json!({
            "child_id": t.resolve_id(&id)?,
            "out": out,
            "points": c.marks.len(),
        }));
    }
    line(format!("Grafik pertumbuhan ditulis ke {}", out.display()));
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// A month's measurements for the e-PPGBM (Sigizi Terpadu) bulk upload: xlsx or csv by extension.
    Eppgbm {
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        /// A column file (header,field) instead of schema/id/eppgbm-columns.csv.
        #[arg(long, value_name = "FILE.csv")]
        columns: Option<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The posyandu register of a month (SIP format 2): xlsx or csv by extension.
    Register {
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The children at risk of stunting in a month, with their family, for the ELSIMIL / TPK hand-over:
    /// xlsx or csv by extension.
    Elsimil {
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The monthly activity report (SIP format 6): xlsx or csv by extension.
    Sip6 {
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The kohort anak balita of a year for the puskesmas (schema/id/kohort-columns.csv): one row per
    /// child, the twelve months' weighings (kg and N/T/O/B), vitamin A rounds, latest status; xlsx or
    /// csv by extension.
    Kohort {
        #[arg(long, value_name = "YYYY")]
        year: String,
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// A month as counts only, small counts suppressed, for the puskesmas or district to combine
    /// across posyandu (schema/id/agregat-format.md): no name, no id. A .json file.
    Agregat {
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        #[arg(long, value_name = "FILE.json")]
        out: std::path::PathBuf,
        /// Only the children of this posyandu (by name); default: every child on this device.
        #[arg(long, value_name = "NAME")]
        posyandu: Option<String>,
        /// Kemendagri region code (2, 4, 6 or 10 digits) written into the file; default: the village
        /// code of the saved ASIK settings, if any.
        #[arg(long, value_name = "KODE")]
        kode_wilayah: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Read a column file named on the command line (at most 64 KiB, a regular file).
fn read_columns(
    path: &std::path::Path,
) -> Result<timbang_core::reports::export::ColumnSet, CliError> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| CliError::io("Berkas kolom", path, &e))?;
    if !meta.is_file() {
        return Err(timbang_core::Error::invalid(
            "columns",
            format!("Berkas kolom {} bukan berkas biasa.", path.display()),
            format!("column file {} is not a regular file", path.display()),
        )
        .into());
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_string(&mut text))
        .map_err(|e| CliError::io("Berkas kolom", path, &e))?;
    let name = path.display().to_string();
    Ok(timbang_core::reports::export::ColumnSet::parse(
        &name, &text,
    )?)
}

/// `export kohort --year YYYY --out FILE`.
fn export_kohort(cli: &Cli, year: &str, out: &std::path::Path, json: bool) -> Result<(), CliError> {
    let year = timbang_core::reports::parse_year(year)?;
    let t = open(cli, false)?;
    let table = t.kohort_export(year)?;
    t.write_table(&table, out)?;
    if json {
        return output::json(&json!({
            "out": out,
            "year": year,
            "rows": table.rows.len(),
            "columns": table.headers.len(),
        }));
    }
    line(format!(
        "Kohort anak balita {year} ditulis ke {} ({} anak).",
        out.display(),
        table.rows.len()
    ));
    Ok(())
}

/// `export agregat --month YYYY-MM --out FILE.json`.
fn export_agregat(
    cli: &Cli,
    month: &str,
    out: &std::path::Path,
    posyandu: Option<&str>,
    region: Option<&str>,
    json: bool,
) -> Result<(), CliError> {
    let month = Month::parse(month)?;
    if let Some(r) = region {
        timbang_core::reports::agregat::parse_region_code(r)?;
    }
    let t = open(cli, false)?;
    let a = t.agregat(month, posyandu, region)?;
    t.write_agregat(&a, out)?;
    if json {
        return output::json(&json!({
            "out": out,
            "month": month,
            "format": a.format,
            "version": a.version,
        }));
    }
    line(format!(
        "Agregat {} ditulis ke {} (hanya jumlah; angka 1 sampai {} disamarkan).",
        month.label_id(),
        out.display(),
        timbang_core::reports::agregat::MIN_SHOWN - 1
    ));
    Ok(())
}

/// The table exports (xlsx or csv by extension).
#[derive(Debug, Clone, Copy)]
enum TableExport {
    Eppgbm,
    Register,
    Sip6,
    Elsimil,
}

/// Run an `export` command.
pub fn export(cli: &Cli, c: &ExportCommand) -> Result<(), CliError> {
    let (kind, what, month, out, json) = match c {
        ExportCommand::Kohort { year, out, json } => return export_kohort(cli, year, out, *json),
        ExportCommand::Agregat {
            month,
            out,
            posyandu,
            kode_wilayah,
            json,
        } => {
            return export_agregat(
                cli,
                month,
                out,
                posyandu.as_deref(),
                kode_wilayah.as_deref(),
                *json,
            );
        }
        ExportCommand::Eppgbm {
            month, out, json, ..
        } => (TableExport::Eppgbm, "e-PPGBM", month, out, *json),
        ExportCommand::Register { month, out, json } => {
            (TableExport::Register, "register", month, out, *json)
        }
        ExportCommand::Sip6 { month, out, json } => {
            (TableExport::Sip6, "SIP format 6", month, out, *json)
        }
        ExportCommand::Elsimil { month, out, json } => {
            (TableExport::Elsimil, "ELSIMIL", month, out, *json)
        }
    };
    let month = Month::parse(month)?;
    let columns = match c {
        ExportCommand::Eppgbm {
            columns: Some(p), ..
        } => Some(read_columns(p)?),
        _ => None,
    };
    let t = open(cli, false)?;
    let table = match kind {
        TableExport::Eppgbm => t.eppgbm_export(month, columns.as_ref())?,
        TableExport::Register => t.register_export(month)?,
        TableExport::Sip6 => t.sip6_export(month)?,
        TableExport::Elsimil => t.elsimil_export(month)?,
    };
    t.write_table(&table, out)?;
    if json {
        return output::json(&json!({
            "out": out,
            "month": month,
            "rows": table.rows.len(),
            "columns": table.headers.len(),
        }));
    }
    line(format!(
        "{what} {} ditulis ke {} ({} baris).",
        month.label_id(),
        out.display(),
        table.rows.len()
    ));
    Ok(())
}

/// `list` arguments: the village list and its filters.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only the children of this posyandu (by name).
    #[arg(long, value_name = "NAME")]
    pub posyandu: Option<String>,
    /// Only this RT.
    #[arg(long, value_name = "RT")]
    pub rt: Option<String>,
    /// Only this RW.
    #[arg(long, value_name = "RW")]
    pub rw: Option<String>,
    /// Only children not weighed in the month (`--month`, default this month).
    #[arg(long)]
    pub not_weighed: bool,
    /// The month for --not-weighed, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM", requires = "not_weighed")]
    pub month: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The core filter for `list`: the month of `--not-weighed` is `--month` or this month (by the clock).
pub fn list_filter(a: &ListArgs) -> Result<timbang_core::api::ListFilter, CliError> {
    let not_weighed_in = if a.not_weighed {
        Some(match &a.month {
            Some(m) => Month::parse(m)?,
            None => Month::of(crate::commands::clock()?.today()),
        })
    } else {
        None
    };
    Ok(timbang_core::api::ListFilter {
        posyandu: a.posyandu.clone(),
        rt: a.rt.clone(),
        rw: a.rw.clone(),
        not_weighed_in,
    })
}
