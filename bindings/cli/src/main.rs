//! `timbang`: the command line over the core facade. Parsing and printing only; behaviour lives in
//! `timbang-core`. Exit codes: 0 done, 2 bad input, 3 needs the kader's confirmation (`--yes`), 1 other.

mod asik;
mod commands;
mod dashboard;
mod demo;
mod demo_posyandu;
mod import;
mod output;
mod relay;
mod reports;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Timbang: child growth monitoring for the posyandu, offline first.
#[derive(Debug, Parser)]
#[command(name = "timbang", version, about, long_about = None)]
pub struct Cli {
    /// Database file (default: timbang.db in the platform data directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// 32-byte key file (default: the database path + ".key", created on first use).
    #[arg(long, global = true, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// The kader entering data (recorded in the audit log).
    #[arg(long, global = true, value_name = "NAME", env = "TIMBANG_KADER")]
    pub kader: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a whole posyandu story on a temporary database.
    Demo(DemoArgs),
    /// Set up this database as the first phone of a posyandu.
    Init(InitArgs),
    /// Register and look at children.
    #[command(subcommand)]
    Child(ChildCommand),
    /// Record visits.
    #[command(subcommand)]
    Visit(VisitCommand),
    /// The village list, most urgent first.
    List(reports::ListArgs),
    /// Fields with concurrent different values, for the bidan to settle.
    Conflicts(JsonArg),
    /// Batch WHO z-scores: a CSV of measurements in, a CSV of z-scores and flags out.
    Anthro {
        #[arg(long, value_name = "IN.csv")]
        input: PathBuf,
        #[arg(long, value_name = "OUT.csv")]
        output: PathBuf,
    },
    /// Pair phones of one posyandu.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Phone-to-phone sync (both directions in one session).
    #[command(subcommand)]
    Peer(PeerCommand),
    /// Sync through an S3-compatible object store (sealed; for phones that seldom meet).
    #[command(subcommand)]
    Relay(relay::RelayCommand),
    /// Keep one value of a conflict.
    Resolve { conflict_id: String, value: String },
    /// Write a consistent, still sealed copy of the database (opens with the same key).
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Posyandu reports: SKDN.
    #[command(subcommand)]
    Report(reports::ReportCommand),
    /// Exports for other systems and paper forms: e-PPGBM, the register (SIP 2), SIP format 6, ELSIMIL,
    /// the kohort anak balita, the federated aggregate.
    #[command(subcommand)]
    Export(reports::ExportCommand),
    /// Early warnings for the bidan: children newly gizi buruk or kurang, newly pendek, 2T, BGM, a weight
    /// loss over 10 %, not weighed 3 months; a posyandu whose D/S or N/D keeps falling.
    Warnings {
        #[arg(long)]
        json: bool,
    },
    /// The bidan's dashboard: one self-contained HTML file (D/S and N/D, status gizi, RT/RW, warnings,
    /// children to visit) that opens offline.
    Dashboard(dashboard::DashboardArgs),
    /// Import an existing register (CSV).
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// A child's growth chart as SVG (BB/U, PB/U or TB/U, BB/PB or BB/TB).
    Chart {
        id: String,
        #[arg(long, value_name = "FILE.svg")]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Upload to ASIK/SATUSEHAT.
    #[command(subcommand)]
    Asik(asik::AsikCommand),
    /// Check the database: integrity, every document opens, projections equal a rebuild, the audit
    /// chain is whole. Exit 0 when all is well, 1 otherwise.
    Check {
        /// Rebuild the projections from the documents (the documents are the truth).
        #[arg(long)]
        repair: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's files in this folder instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Print the pairing code (alone on the last line) that lets another phone join.
    Invite,
    /// Set up a fresh database as another phone of the team (instead of `init`); on a database set up
    /// already, add that team (a bidan's phone in several posyandu).
    Join {
        code: String,
        /// The device's name (needed for a fresh database).
        #[arg(long)]
        device: Option<String>,
    },
    /// The teams of this device: team id (short), posyandu, number of children (no secrets).
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PeerCommand {
    /// Wait for phones to sync with this one.
    Serve {
        #[arg(long, value_name = "HOST:PORT")]
        listen: String,
        /// Serve one session, then exit (0 only when it completed).
        #[arg(long)]
        once: bool,
        #[arg(long)]
        json: bool,
    },
    /// Sync with a phone that is serving.
    Sync {
        #[arg(long, value_name = "HOST:PORT")]
        connect: String,
        /// On a device in several teams: sync the team of this posyandu (default: the one the other
        /// phone is in).
        #[arg(long, value_name = "NAME")]
        posyandu: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[arg(long)]
    pub posyandu: String,
    #[arg(long)]
    pub village: String,
    #[arg(long)]
    pub device: String,
    /// KBM table for the KMS N/T status (default: the one cited in schema/id).
    #[arg(long, value_name = "ID")]
    pub kbm_table: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ChildCommand {
    /// Register a child; prints the new id alone on the last line.
    Add(Box<ChildAddArgs>),
    /// Show a child with all visits.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Record whether the child has a KMS / Buku KIA (ya or tidak).
    Kms {
        id: String,
        value: String,
        #[arg(long)]
        json: bool,
    },
    /// Merge a duplicate record into the one to keep.
    Merge {
        keep_id: String,
        duplicate_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ChildAddArgs {
    #[arg(long)]
    pub name: String,
    /// L (laki-laki) or P (perempuan).
    #[arg(long)]
    pub sex: String,
    /// Date of birth, YYYY-MM-DD.
    #[arg(long)]
    pub dob: String,
    #[arg(long)]
    pub nik: Option<String>,
    #[arg(long)]
    pub kk: Option<String>,
    /// Mother's name.
    #[arg(long)]
    pub mother: Option<String>,
    #[arg(long)]
    pub mother_nik: Option<String>,
    #[arg(long)]
    pub address: Option<String>,
    /// The child has no KMS / Buku KIA (not counted in K of SKDN).
    #[arg(long)]
    pub no_kms: bool,
    /// RT of the address (a number, e.g. 002).
    #[arg(long)]
    pub rt: Option<String>,
    /// RW of the address (a number, e.g. 001).
    #[arg(long)]
    pub rw: Option<String>,
    /// The posyandu the child is registered in (needed on a device in several teams).
    #[arg(long, value_name = "NAME")]
    pub posyandu: Option<String>,
    /// Register even if a possible duplicate or a NIK disagreement is found.
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum VisitCommand {
    /// Record (or add to / correct) the visit of a date; prints the assessment.
    Add(VisitAddArgs),
    /// Soft-delete the visit of a date (kept in the history; recording the date again restores it).
    Delete {
        id: String,
        #[arg(long)]
        date: String,
    },
}

#[derive(Debug, Args)]
pub struct VisitAddArgs {
    pub id: String,
    /// Visit date, YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// Weight in kg.
    #[arg(long, value_name = "KG", allow_hyphen_values = true)]
    pub weight: Option<String>,
    /// Length (lying) or height (standing) in cm.
    #[arg(long, value_name = "CM", allow_hyphen_values = true)]
    pub height: Option<String>,
    /// lying or standing.
    #[arg(long)]
    pub position: Option<String>,
    /// Head circumference in cm.
    #[arg(long, value_name = "CM", allow_hyphen_values = true)]
    pub head: Option<String>,
    /// Mid-upper arm circumference (LiLA) in cm.
    #[arg(long, value_name = "CM", allow_hyphen_values = true)]
    pub muac: Option<String>,
    /// Bilateral pitting oedema present.
    #[arg(long)]
    pub oedema: bool,
    /// No oedema (to correct an earlier entry).
    #[arg(long)]
    pub no_oedema: bool,
    /// A service given (repeatable): vit_a_biru, vit_a_merah, pmt, oralit, zinc, obat_cacing.
    #[arg(long, value_name = "CODE")]
    pub service: Vec<String>,
    /// Store values that need confirmation.
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = output::report_error(&e);
            ExitCode::from(code)
        }
    }
}
