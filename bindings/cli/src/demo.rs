//! `timbang demo`: a posyandu morning told end to end on real, encrypted databases in a temporary
//! folder. Every step goes through the same facade the app uses; nothing is simulated.
//!
//! All people in it are synthetic.

#![allow(clippy::print_stdout)]

use std::path::Path;
use std::sync::Arc;

use timbang_core::crypto::Key;
use timbang_core::domain::{ChildId, NewChild, Position, Sex, VisitEntry};
use timbang_core::{Error, FixedDate, Timbang};

use crate::DemoArgs;
use crate::output::{CliError, num};

/// The demo's "today": a posyandu day in June 2025.
const TODAY: &str = "2025-06-14";

struct Kid {
    name: &'static str,
    sex: Sex,
    dob: &'static str,
    mother: &'static str,
    /// (date, weight g, height mm) for April, May and June.
    visits: [(&'static str, u32, u32); 3],
}

const KIDS: &[Kid] = &[
    Kid {
        name: "Rina Kusuma",
        sex: Sex::Female,
        dob: "2024-02-03",
        mother: "Dewi Lestari",
        visits: [
            ("2025-04-12", 8_900, 760),
            ("2025-05-10", 9_100, 768),
            ("2025-06-14", 9_350, 775),
        ],
    },
    Kid {
        name: "Agus Pratama",
        sex: Sex::Male,
        dob: "2023-03-21",
        mother: "Sri Wahyuni",
        visits: [
            ("2025-04-12", 10_400, 852),
            ("2025-05-10", 10_400, 855),
            ("2025-06-14", 10_350, 858),
        ],
    },
    Kid {
        name: "Putri Maharani",
        sex: Sex::Female,
        dob: "2024-11-30",
        mother: "Nur Aini",
        visits: [
            ("2025-04-12", 5_600, 590),
            ("2025-05-10", 6_300, 612),
            ("2025-06-14", 6_900, 630),
        ],
    },
    Kid {
        name: "Dimas Saputra",
        sex: Sex::Male,
        dob: "2022-08-09",
        mother: "Yuliani",
        visits: [
            ("2025-04-12", 9_600, 860),
            ("2025-05-10", 9_700, 862),
            ("2025-06-14", 9_650, 864),
        ],
    },
    Kid {
        name: "Intan Permata",
        sex: Sex::Female,
        dob: "2023-10-15",
        mother: "Rahmawati",
        visits: [
            ("2025-04-12", 9_800, 790),
            ("2025-05-10", 10_050, 798),
            ("2025-06-14", 10_300, 805),
        ],
    },
];

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap_or_default()
}

fn open_phone(dir: &Path, name: &str) -> Result<Timbang, CliError> {
    let key = Key::make_random().map_err(|e| {
        CliError::failed(
            "Kunci baru tidak bisa dibuat: sistem tidak memberi bilangan acak.",
            e.to_string(),
        )
    })?;
    let t = Timbang::open(
        &dir.join(format!("{name}.db")),
        &key,
        Arc::new(FixedDate(d(TODAY))),
    )?;
    Ok(t)
}

/// One sync session between two phones over real TCP on the loopback interface.
fn sync_tcp(server: &Timbang, client: &Timbang) -> Result<timbang_core::api::PeerReport, CliError> {
    let net = |e: std::io::Error| {
        CliError::failed(
            "Demo tidak bisa membuka sambungan jaringan lokal (127.0.0.1).",
            e.to_string(),
        )
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(net)?;
    let addr = listener.local_addr().map_err(net)?.to_string();
    std::thread::scope(|s| {
        let srv = s.spawn(|| crate::commands::serve_one(server, &listener));
        let report = client.peer_sync_tcp(&addr);
        let served = srv.join().map_err(|_| {
            CliError::failed(
                "Sinkronisasi demo berhenti tiba-tiba.",
                "sync thread failed",
            )
        })?;
        served?;
        Ok(report?)
    })
}

fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

/// The upload to ASIK (SATUSEHAT): a local test server on 127.0.0.1 (`tests/asik-server`) that meets
/// one FHIR request in ten with a random fault (dropped after the commit, 500, 503/429 with
/// Retry-After, slow answers, expired tokens, broken bodies), the same `asik_sync` as `asik sync`, then
/// a second sync that must send nothing, and the server's own count: one Encounter per visit.
fn asik_upload(phone: &Timbang) -> Result<(), CliError> {
    use timbang_core::asik::{AsikConfig, MapConfig, SyncReason};
    let server = asik_server::start().map_err(|e| {
        CliError::failed(
            "Server uji ASIK tidak dapat dijalankan.",
            format!("the ASIK test server did not start: {e}"),
        )
    })?;
    server.random_faults(2026, 0.1);
    let cfg = AsikConfig::new(
        &server.base_url(),
        &server.auth_url(),
        asik_server::CLIENT_ID,
        asik_server::CLIENT_SECRET,
        MapConfig::for_org(asik_server::ORG_ID),
    );
    let http = timbang_core::host::UreqHttp::new();
    let budget = std::time::Duration::from_secs(60);
    let (mut sent, mut requests, mut runs) = (0, 0, 0);
    loop {
        let r = phone.asik_sync(&http, &cfg, SyncReason::Manual, budget)?;
        sent += r.sent;
        requests += r.requests;
        runs += 1;
        if r.pending == 0 || runs == 10 {
            println!(
                "    {sent} kunjungan terkirim dalam {requests} permintaan ({runs} kali sinkron, gangguan jaringan acak); tersisa {}, ditahan {}, ditolak {}.",
                r.pending, r.held, r.rejected_total
            );
            break;
        }
    }
    server.no_random_faults();
    let again = phone.asik_sync(&http, &cfg, SyncReason::Manual, budget)?;
    println!(
        "    Server menyimpan {} Encounter (satu per kunjungan); sinkron ulang mengirim {} lagi.",
        server.resources("Encounter").len(),
        again.sent
    );
    Ok(())
}

/// A synthetic mother's NIK (Kabupaten Bandung, born in the 1990s; a woman's day of birth + 40) for
/// demo child `n`: ASIK finds or creates a baby's Patient through it.
pub(crate) fn mother_nik(n: u32) -> String {
    format!(
        "320410{:02}{:02}{:02}{:04}",
        41 + n % 28,
        1 + n % 12,
        90 + n % 10,
        1 + n
    )
}

/// Run the story.
pub fn run(args: &DemoArgs) -> Result<(), CliError> {
    let tmp;
    let dir: &Path = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| CliError::io("Folder", d, &e))?;
            d
        }
        None => {
            tmp = tempfile::tempdir()
                .map_err(|e| CliError::io("Folder sementara di", &std::env::temp_dir(), &e))?;
            tmp.path()
        }
    };
    println!("Timbang demo: Posyandu Melati, Desa Sukamaju, {TODAY} (semua data fiktif)");
    println!("Folder: {}", dir.display());

    step(
        1,
        "HP kader 1 disiapkan (basis data SQLite terenkripsi, kunci 32 byte).",
    );
    let hp1 = open_phone(dir, "hp-kader-1")?;
    let s = hp1.init("Melati", "Sukamaju", "hp-kader-1")?;
    println!(
        "    perangkat {} · tabel KBM {}",
        s.device_name, s.kbm_table
    );

    step(2, "Meja 1: lima balita didaftarkan.");
    let mut ids: Vec<ChildId> = Vec::new();
    for (n, k) in (0u32..).zip(KIDS) {
        let r = hp1.register_child(
            NewChild {
                name: k.name.into(),
                sex: k.sex,
                birth_date: d(k.dob),
                nik: None,
                kk: None,
                mother_name: Some(k.mother.into()),
                mother_nik: Some(mother_nik(n)),
                address: Some("Dusun Krajan RT 02".into()),
            },
            false,
        )?;
        println!("    {}  {}", r.child_id, k.name);
        ids.push(r.child_id);
    }

    step(
        3,
        "Meja 2-3: penimbangan April, Mei dan Juni; status dihitung saat itu juga.",
    );
    for (k, id) in KIDS.iter().zip(&ids) {
        for (date, w, h) in k.visits {
            let r = hp1.record_visit(
                id,
                VisitEntry {
                    date: Some(d(date)),
                    measured: timbang_core::domain::Measurements {
                        weight_g: Some(w),
                        height_mm: Some(h),
                        position: Some(if d(date) - d(k.dob) < chrono::Duration::days(731) {
                            Position::Lying
                        } else {
                            Position::Standing
                        }),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                true,
            )?;
            if date == k.visits[2].0 {
                let a = &r.assessment;
                println!(
                    "    {:<15} {:>2} bl  BB/U {:>5}  TB/U {:>5}  BB/TB {:>5}  KMS {}  {}",
                    k.name,
                    a.age_months,
                    num(a.z.waz, 2),
                    num(a.z.haz, 2),
                    num(a.z.whz, 2),
                    a.kms.map_or("-".into(), |k| k.to_string()),
                    a.referral
                        .iter()
                        .map(|r| r.code())
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
        }
    }

    step(
        4,
        "Input yang mustahil ditolak, dengan nama kolomnya; tidak ada yang tersimpan.",
    );
    let bad = hp1.record_visit(
        &ids[0],
        VisitEntry {
            date: Some(d(TODAY)),
            measured: timbang_core::domain::Measurements {
                weight_g: Some(93_500),
                ..Default::default()
            },
            ..Default::default()
        },
        false,
    );
    if let Err(e) = &bad {
        println!("    berat 93,5 kg → {}", e.message_id());
    }

    step(
        5,
        "Nilai janggal (tinggi menyusut 4 cm) minta konfirmasi kader dulu.",
    );
    let odd = VisitEntry {
        date: Some(d(TODAY)),
        measured: timbang_core::domain::Measurements {
            height_mm: Some(735),
            position: Some(Position::Lying),
            ..Default::default()
        },
        ..Default::default()
    };
    match hp1.record_visit(&ids[0], odd, false) {
        Err(Error::NeedsConfirmation { reasons }) => {
            for r in &reasons {
                println!("    perlu konfirmasi: {}", r.message_id);
            }
            println!(
                "    kader mengukur ulang dan tidak mengonfirmasi: nilai 73,5 cm tidak disimpan."
            );
        }
        other => println!("    (tak terduga: {other:?})"),
    }

    step(
        6,
        "HP kader 2 bergabung dengan kode pasangan, lalu kedua HP sinkron lewat TCP (tanpa server).",
    );
    let code = hp1.team_invite()?;
    println!("    kode pasangan: {}...", &code[..17.min(code.len())]);
    let hp2 = open_phone(dir, "hp-kader-2")?;
    hp2.team_join(&code, "hp-kader-2")?;
    let hp3 = open_phone(dir, "hp-kader-3")?;
    hp3.team_join(&code, "hp-kader-3")?;
    let r = sync_tcp(&hp1, &hp2)?;
    sync_tcp(&hp1, &hp3)?;
    println!(
        "    hp-kader-2 menerima {} dokumen anak ({} byte); daftar di HP 2: {} anak; HP 3 juga",
        r.docs_received,
        r.received_bytes,
        hp2.village_list()?.len()
    );
    let s2 = hp2.settings()?;
    println!(
        "    HP 2 mengenal posyandunya dari data yang diterima: Posyandu {}, Desa {}",
        s2.posyandu, s2.village
    );

    step(
        7,
        "55 balita lain di tiga HP: riwayat Juli 2024 sampai Mei 2025 dari register kertas, penimbangan Juni diketik kader.",
    );
    let (generated, visits) = crate::demo_posyandu::enter(&[&hp1, &hp2, &hp3], d(TODAY))?;
    sync_tcp(&hp1, &hp2)?;
    sync_tcp(&hp1, &hp3)?;
    sync_tcp(&hp1, &hp2)?;
    println!(
        "    {} anak, {} kunjungan; setelah sinkron: HP 1 {} anak, HP 2 {}, HP 3 {}",
        generated.len(),
        visits,
        hp1.village_list()?.len(),
        hp2.village_list()?.len(),
        hp3.village_list()?.len()
    );

    step(
        8,
        "Tanpa sinyal: HP 1 mengoreksi berat Intan hari ini ke 10,4 kg; HP 2 mencatat 10,8 kg dan lingkar kepala 45,8 cm.",
    );
    let intan = &ids[4];
    let morning = d("2025-06-14");
    hp1.record_visit(
        intan,
        VisitEntry {
            date: Some(morning),
            measured: timbang_core::domain::Measurements {
                weight_g: Some(10_400),
                ..Default::default()
            },
            ..Default::default()
        },
        true,
    )?;
    hp2.record_visit(
        intan,
        VisitEntry {
            date: Some(morning),
            measured: timbang_core::domain::Measurements {
                weight_g: Some(10_800),
                head_mm: Some(458),
                ..Default::default()
            },
            ..Default::default()
        },
        true,
    )?;
    sync_tcp(&hp2, &hp1)?;
    for c in hp1.conflicts()? {
        let values: Vec<String> = c.values.iter().map(|v| v.to_string()).collect();
        println!(
            "    konflik {} untuk bidan: {} {} = {}",
            c.conflict_id,
            c.visit_date.map(|d| d.to_string()).unwrap_or_default(),
            c.field,
            values.join(" atau ")
        );
        hp1.resolve(&c.conflict_id, "10.4")?;
        println!("    bidan menimbang ulang: 10,4 kg dipakai; keputusannya ikut tersinkron.");
    }
    sync_tcp(&hp1, &hp2)?;
    if let Some(v) = hp2
        .child(intan)?
        .visits
        .into_iter()
        .find(|v| v.date == morning)
    {
        println!(
            "    di HP 2 sekarang: berat {} kg, lingkar kepala {} cm, konflik tersisa {}",
            num(v.weight_kg, 1),
            num(v.head_circ_cm, 1),
            hp2.conflicts()?.len()
        );
    }

    step(
        9,
        "HP 2 mendaftarkan anak yang sama dengan ejaan lain; HP 1 menggabungkannya.",
    );
    let dup = NewChild {
        name: "Rina Kusumah".into(),
        sex: Sex::Female,
        birth_date: d("2024-02-05"),
        nik: None,
        kk: None,
        mother_name: Some("Dewi Lestari".into()),
        mother_nik: None,
        address: None,
    };
    for c in hp2.possible_duplicates(&dup)? {
        println!(
            "    HP 2 memperingatkan: mungkin sama dengan {} ({})",
            c.child_id, c.name
        );
    }
    let dup_id = hp2.register_child(dup, true)?.child_id;
    hp2.record_visit(
        &dup_id,
        VisitEntry {
            date: Some(d("2025-03-08")),
            measured: timbang_core::domain::Measurements {
                weight_g: Some(8_700),
                ..Default::default()
            },
            ..Default::default()
        },
        true,
    )?;
    sync_tcp(&hp2, &hp1)?;
    let kept = hp1.merge_children(&ids[0], &dup_id)?;
    sync_tcp(&hp1, &hp2)?;
    let c = hp2.child(&dup_id)?;
    println!(
        "    di HP 2, ID lama {} kini menunjuk ke {}: {} kunjungan; {} anak di daftar",
        dup_id,
        kept,
        c.visits.len(),
        hp2.village_list()?.len()
    );

    step(
        10,
        "Daftar desa untuk bidan, yang paling perlu perhatian di atas (10 teratas).",
    );
    let list = hp1.village_list()?;
    let total = list.len();
    for r in list.into_iter().take(10) {
        println!(
            "    {:<15} {:>2} bl  BB {:>5} kg  KMS {}  {}",
            r.name,
            r.age_months.unwrap_or(0),
            num(r.weight_kg, 2),
            r.kms.as_deref().unwrap_or("-"),
            if r.referral_text.is_empty() {
                "-".to_owned()
            } else {
                r.referral_text.join("; ")
            }
        );
    }
    println!("    ... {total} anak seluruhnya.");

    step(11, "SKDN bulan ini, dihitung dari catatan yang sama.");
    let month = timbang_core::reports::Month::of(d(TODAY));
    let skdn = hp1.skdn(month, None)?;
    crate::reports::print_skdn(&skdn);

    // Reports and the chart go to a folder that outlives the demo's temporary databases.
    let out_dir = match &args.dir {
        Some(d) => d.clone(),
        None => tempfile::Builder::new()
            .prefix("timbang-demo-hasil-")
            .tempdir()
            .map_err(|e| CliError::io("Folder sementara di", &std::env::temp_dir(), &e))?
            .keep(),
    };
    step(
        12,
        "Laporan tanpa mengetik ulang: e-PPGBM (xlsx), register (SIP format 2), SIP format 6.",
    );
    for (table, name) in [
        (
            hp1.eppgbm_export(month, None)?,
            format!("eppgbm-{month}.xlsx"),
        ),
        (hp1.register_export(month)?, format!("register-{month}.csv")),
        (hp1.sip6_export(month)?, format!("sip6-{month}.csv")),
    ] {
        let path = out_dir.join(name);
        hp1.write_table(&table, &path)?;
        println!("    {} ({} baris)", path.display(), table.rows.len());
    }

    step(13, "Unggah ke ASIK (SATUSEHAT).");
    asik_upload(&hp1)?;

    step(
        14,
        "Grafik pertumbuhan Rina (BB/U, PB/U, BB/PB) untuk Buku KIA.",
    );
    let chart = out_dir.join("grafik-rina.svg");
    let c = hp1.write_growth_chart(&ids[0], &chart)?;
    println!("    {} titik digambar", c.marks.len());
    println!("Grafik: {}", chart.display());

    match &args.dir {
        Some(_) => println!(
            "\nSelesai. Basis data: {}",
            dir.join("hp-kader-1.db").display()
        ),
        None => {
            println!("\nSelesai (folder sementara dihapus; pakai --dir FOLDER untuk menyimpannya).")
        }
    }
    Ok(())
}
