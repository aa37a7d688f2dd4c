//! Deflates the WHO 2006 LMS tables (`schema/who-2006/*.csv`, the files as WHO published them) into
//! `OUT_DIR`, so the library embeds them compressed: about 590 KB of text becomes about a quarter of
//! that in the phone library, whose stripped size has a 6 MB aim (docs/BENCHMARKS.md).
//! `growth::tables` inflates each table once, at first use.

use std::error::Error;
use std::io::Write;
use std::path::PathBuf;

/// The tables `growth::tables` embeds.
const TABLES: [&str; 7] = [
    "weianthro",
    "lenanthro",
    "bmianthro",
    "hcanthro",
    "acanthro",
    "wflanthro",
    "wfhanthro",
];

fn main() -> Result<(), Box<dyn Error>> {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("no OUT_DIR")?);
    for name in TABLES {
        let src = manifest.join(format!("../schema/who-2006/{name}.csv"));
        println!("cargo::rerun-if-changed={}", src.display());
        let text = std::fs::read(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        deflate.write_all(&text)?;
        std::fs::write(out.join(format!("{name}.csv.deflate")), deflate.finish()?)?;
    }
    Ok(())
}
