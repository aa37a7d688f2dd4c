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
