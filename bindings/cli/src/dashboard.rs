//! `timbang dashboard --out FILE.html [--months N] [--posyandu NAME]`: the bidan's dashboard, one
//! self-contained HTML file. Parsing and printing only.

use serde_json::json;

use crate::Cli;
use crate::commands::open;
use crate::output::{self, CliError, line};

/// `dashboard` arguments.
#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// The HTML file to write.
    #[arg(long, value_name = "FILE.html")]
    pub out: std::path::PathBuf,
    /// How many months, ending with this month.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub months: u32,
    /// Only this posyandu (by name); default: all together and each posyandu on this device.
    #[arg(long, value_name = "NAME")]
    pub posyandu: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// Write the dashboard; prints the path written.
pub fn run(cli: &Cli, a: &DashboardArgs) -> Result<(), CliError> {
    let t = open(cli, false)?;
    let d = t.write_dashboard(&a.out, a.months, a.posyandu.as_deref())?;
    let to_visit: usize = d.sections.first().map_or(0, |s| s.to_visit.len());
    let warnings: usize = d.sections.first().map_or(0, |s| s.warnings.len());
    if a.json {
        return output::json(&json!({
            "out": a.out,
            "months": a.months,
            "sections": d.sections.iter().map(|s| &s.posyandu).collect::<Vec<_>>(),
            "warnings": warnings,
            "to_visit": to_visit,
        }));
    }
    line(format!(
        "Dasbor {} bulan ditulis ke {} ({} peringatan, {} anak perlu dikunjungi).",
        a.months,
        a.out.display(),
        warnings,
        to_visit
    ));
    Ok(())
}
