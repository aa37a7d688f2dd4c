//! `timbang demo`, the README's main command: the whole story runs and leaves its chart and reports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn the_demo_runs_the_whole_posyandu_and_prints_the_charts_path() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_timbang"))
        .args(["demo", "--dir"])
        .arg(dir.path())
        .env_remove("TIMBANG_TODAY")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Three phones, 60 children after sync.
    assert!(out.contains("HP 1 60 anak, HP 2 60, HP 3 60"), "{out}");
    // The conflict was shown and settled, the duplicate merged.
    assert!(out.contains("konflik tersisa 0"), "{out}");
    assert!(out.contains("kini menunjuk ke"), "{out}");
    // The month's SKDN adds up.
    assert!(out.contains("SKDN Posyandu Melati"), "{out}");
    assert!(out.contains("(cocok)"), "{out}");
    // The chart's path on its own line, and the file is there.
    let chart = out
        .lines()
        .find_map(|l| l.strip_prefix("Grafik: "))
        .expect("the chart's path is printed");
    let svg = std::fs::read_to_string(chart.trim()).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Rina Kusuma"));
    assert!(dir.path().join("eppgbm-2025-06.xlsx").is_file());
    // The upload to the local ASIK test server, through random faults: nothing left, nothing held or
    // refused, one Encounter per visit sent, and a second sync sends nothing.
    let sent_line = out
        .lines()
        .find(|l| l.contains("kunjungan terkirim dalam"))
        .expect("the upload reports what it sent");
    assert!(
        sent_line.contains("tersisa 0, ditahan 0, ditolak 0"),
        "{sent_line}"
    );
    let sent: usize = sent_line
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(sent > 0, "{sent_line}");
    assert!(
        out.contains(&format!("Server menyimpan {sent} Encounter")),
        "{out}"
    );
    assert!(out.contains("sinkron ulang mengirim 0 lagi"), "{out}");
}
