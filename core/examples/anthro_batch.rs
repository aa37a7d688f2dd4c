//! `anthro_batch IN.csv OUT.csv`: the batch z-score job end to end (files on disk), as `timbang anthro`
//! will run it. Used by `scripts/bench_anthro.sh`. `anthro_batch --generate N OUT.csv` writes a test
//! input of N rows made from the 800 public cases.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::time::Instant;

const CASES: &str = include_str!("../../schema/who-2006/public_cases.csv");

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--generate" {
        let rows: usize = args[2].parse().unwrap();
        let mut lines = CASES.lines();
        let header = lines.next().unwrap();
        let body: Vec<&str> = lines.collect();
        let mut w = BufWriter::new(File::create(&args[3]).unwrap());
        writeln!(w, "{header}").unwrap();
        for i in 0..rows {
            let (_, rest) = body[i % body.len()].split_once(',').unwrap();
            writeln!(w, "C{i},{rest}").unwrap();
        }
        w.flush().unwrap();
        return;
    }
    if args.len() != 3 {
        eprintln!("usage: anthro_batch IN.csv OUT.csv | anthro_batch --generate N OUT.csv");
        std::process::exit(2);
    }
    let start = Instant::now();
    let input = BufReader::with_capacity(1 << 16, File::open(&args[1]).unwrap());
    let output = File::create(&args[2]).unwrap();
    match timbang_core::growth::run_batch(input, output, &mut |_| {}) {
        Ok(s) => {
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{} rows in {:.3} s = {:.0} rows/s",
                s.rows,
                secs,
                s.rows as f64 / secs
            );
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}
