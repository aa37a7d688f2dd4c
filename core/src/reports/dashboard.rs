//! The bidan's dashboard: one self-contained HTML page (inline CSS and inline SVG, no script, nothing
//! loaded from anywhere) in Bahasa Indonesia. Per posyandu (and all together when the device holds
//! several): the last months of D/S and N/D as a line chart with the numbers written, the share of the
//! weighed children stunted, wasted and underweight, counts by RT/RW with the worst highlighted, this
//! month's early warnings and the children to visit with why.
//!
//! Pure: [`render`] turns a [`Dashboard`] the facade gathered (`api/dashboard.rs`) into text. Every piece
//! of text from the record (names, posyandu, RT/RW, reasons) goes through [`esc`]. The page is laid out
//! for a 360-pixel screen first (tables scroll inside their own box, never the page) and prints on A4.

use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::Serialize;

use super::warnings::Warning;
use super::{Month, Skdn};
use crate::growth::StatusGizi;

/// Below this z-score a child is stunted (haz), wasted (whz) or underweight (waz): Permenkes 2/2020.
pub const Z_CUTOFF: f64 = -2.0;

/// One weighed target child in one month, as the shares read it (the month's last weighing, the
/// month's last length/height, the month's last status gizi).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChildMonth {
    pub waz: Option<f64>,
    pub haz: Option<f64>,
    pub status_gizi: Option<StatusGizi>,
}

/// Of the children weighed in a month: how many had each measure, and how many of them were below the
/// cut-off. Wasted is the status gizi (weight-for-length/height, LiLA and oedema combined) gizi kurang
/// or gizi buruk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Shares {
    pub weighed: u32,
    pub waz_known: u32,
    pub underweight: u32,
    pub haz_known: u32,
    pub stunted: u32,
    pub gizi_known: u32,
    pub wasted: u32,
}

/// Whether a status gizi counts as wasted.
pub fn is_wasted(s: StatusGizi) -> bool {
    matches!(s, StatusGizi::GiziKurang | StatusGizi::GiziBuruk)
}

/// The shares of a month's weighed children.
pub fn shares(children: &[ChildMonth]) -> Shares {
    let mut s = Shares {
        weighed: u32::try_from(children.len()).unwrap_or(u32::MAX),
        ..Shares::default()
    };
    for c in children {
        if let Some(z) = c.waz {
            s.waz_known += 1;
            s.underweight += u32::from(z < Z_CUTOFF);
        }
        if let Some(z) = c.haz {
            s.haz_known += 1;
            s.stunted += u32::from(z < Z_CUTOFF);
        }
        if let Some(g) = c.status_gizi {
            s.gizi_known += 1;
            s.wasted += u32::from(is_wasted(g));
        }
    }
    s
}

/// One month of a section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardMonth {
    pub skdn: Skdn,
    pub shares: Shares,
}

/// One kept child as the RT/RW table counts it (its latest status).
#[derive(Debug, Clone, PartialEq)]
pub struct AreaChild {
    pub rt: Option<String>,
    pub rw: Option<String>,
    /// A target child (balita) this month.
    pub balita: bool,
    pub weighed_this_month: bool,
    pub haz: Option<f64>,
    pub waz: Option<f64>,
    pub status_gizi: Option<StatusGizi>,
    /// On the list of children to visit.
    pub to_visit: bool,
}

/// Counts of one RT/RW (the children's latest status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Area {
    pub rt: Option<String>,
    pub rw: Option<String>,
    pub balita: u32,
    pub weighed: u32,
    pub stunted: u32,
    pub wasted: u32,
    pub underweight: u32,
    pub to_visit: u32,
    /// The worst area (most children to visit, then most stunted, wasted and underweight); several
    /// when tied; none when no area has a child to visit or at risk.
    pub hotspot: bool,
}

impl Area {
    fn burden(&self) -> (u32, u32) {
        (self.to_visit, self.stunted + self.wasted + self.underweight)
    }
}

/// The RT/RW table: one row per RW and RT (children without them last), the worst marked.
pub fn areas(children: &[AreaChild]) -> Vec<Area> {
    use std::collections::BTreeMap;
    // (no RW/RT sorts after every recorded one)
    let mut by: BTreeMap<(bool, Option<String>, bool, Option<String>), Area> = BTreeMap::new();
    for c in children {
        let key = (c.rw.is_none(), c.rw.clone(), c.rt.is_none(), c.rt.clone());
        let a = by.entry(key).or_insert_with(|| Area {
            rt: c.rt.clone(),
            rw: c.rw.clone(),
            balita: 0,
            weighed: 0,
            stunted: 0,
            wasted: 0,
            underweight: 0,
            to_visit: 0,
            hotspot: false,
        });
        a.balita += u32::from(c.balita);
        a.weighed += u32::from(c.balita && c.weighed_this_month);
        a.stunted += u32::from(c.haz.is_some_and(|z| z < Z_CUTOFF));
        a.wasted += u32::from(c.status_gizi.is_some_and(is_wasted));
        a.underweight += u32::from(c.waz.is_some_and(|z| z < Z_CUTOFF));
        a.to_visit += u32::from(c.to_visit);
    }
    let mut out: Vec<Area> = by.into_values().collect();
    let worst = out.iter().map(Area::burden).max().unwrap_or((0, 0));
    if worst != (0, 0) {
        for a in &mut out {
            a.hotspot = a.burden() == worst;
        }
    }
    out
}

/// A child on the list to visit, with why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToVisit {
    pub child_id: String,
    pub name: String,
    pub posyandu: String,
    pub rt: Option<String>,
    pub rw: Option<String>,
    pub age_months: Option<u32>,
    /// In Bahasa Indonesia: the referral reasons, then the warnings not already said.
    pub reasons: Vec<String>,
}

/// One part of the page: all posyandu together (`posyandu` None) or one posyandu.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub posyandu: Option<String>,
    pub village: String,
    /// Oldest first, ending with this month.
    pub months: Vec<DashboardMonth>,
    pub areas: Vec<Area>,
    pub warnings: Vec<Warning>,
    pub to_visit: Vec<ToVisit>,
}

/// The whole page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    pub today: NaiveDate,
    pub sections: Vec<Section>,
}

/// Escape text for HTML and SVG, in text and in attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{:.0}%", x * 100.0))
}

fn ratio(a: u32, b: u32) -> Option<f64> {
    (b > 0).then(|| f64::from(a) / f64::from(b))
}

/// "6 dari 8 (75%)", or "-" when nothing to divide by.
fn of(a: u32, b: u32) -> String {
    if b == 0 {
        "-".to_owned()
    } else {
        format!("{a} dari {b} ({})", pct(ratio(a, b)))
    }
}

fn short_month(m: Month) -> &'static str {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des",
    ];
    NAMES[(m.number() - 1) as usize % 12]
}

/// "Nov 2025", for table rows.
fn month_cell(m: Month) -> String {
    format!("{} {}", short_month(m), m.year())
}

fn date_id(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{} {}", d.day(), Month::of(d).label_id())
}

fn rt_rw(rt: Option<&str>, rw: Option<&str>) -> String {
    match (rt, rw) {
        (None, None) => "Tanpa RT/RW".to_owned(),
        (rt, rw) => format!("RT {} / RW {}", rt.unwrap_or("-"), rw.unwrap_or("-")),
    }
}

const CSS: &str = r#"
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0 auto;max-width:960px;padding:8px;font-family:system-ui,"DejaVu Sans",Arial,sans-serif;font-size:15px;line-height:1.4;color:#1b1b1b;background:#fff}
h1,h2,h3,p,li,.card{overflow-wrap:break-word}
h1{font-size:1.3em;margin:.3em 0}
h2{font-size:1.15em;margin:1.2em 0 .3em;padding:.2em .4em;background:#e8eaf6;border-left:4px solid #1a237e}
h3{font-size:1em;margin:1em 0 .3em}
p{margin:.3em 0}
.muted{color:#555;font-size:.9em}
.cards{display:flex;flex-wrap:wrap;gap:6px}
.card{flex:1 1 150px;border:1px solid #c5cae9;border-radius:6px;padding:6px 8px}
.card b{display:block;font-size:1.25em}
.scroll{overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;font-size:.9em;min-width:100%}
th,td{border:1px solid #ccc;padding:3px 5px;text-align:left;vertical-align:top}
th{background:#f2f2f2;white-space:nowrap}
td.m{white-space:nowrap}
td.n{text-align:right;white-space:nowrap}
tr.hotspot td{background:#ffe0e0;font-weight:bold}
svg{display:block;width:100%;max-width:640px;height:auto}
ul{padding-left:1.2em;margin:.3em 0}
li{margin:.15em 0}
nav a{margin-right:.8em}
@page{size:A4;margin:12mm}
@media print{
body{max-width:none;padding:0;font-size:10pt}
.scroll{overflow:visible}
nav{display:none}
section.posyandu{break-before:page}
section.posyandu:first-of-type{break-before:auto}
h2,h3{break-after:avoid}
tr,li,svg{break-inside:avoid}
}
"#;

/// The line chart of one section: `series` are (label, colour, one value per month in 0..=1).
fn line_chart(
    title: &str,
    months: &[Month],
    series: &[(&str, &str, Vec<Option<f64>>)],
    y_max: f64,
) -> String {
    const W: f64 = 340.0;
    const H: f64 = 210.0;
    const X0: f64 = 34.0;
    const X1: f64 = 330.0;
    const TOP: f64 = 34.0;
    const BOTTOM: f64 = 180.0;
    let n = months.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            (X0 + X1) / 2.0
        } else {
            X0 + (X1 - X0) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| BOTTOM - (v.min(y_max) / y_max) * (BOTTOM - TOP);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg viewBox="0 0 {W} {H}" role="img" font-family="DejaVu Sans, sans-serif"><title>{}</title>"#,
        esc(title)
    );
    // Legend.
    let mut lx = X0;
    for (label, colour, _) in series {
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="6" width="12" height="4" fill="{colour}"/><text x="{}" y="12" font-size="10">{}</text>"#,
            lx + 15.0,
            esc(label)
        );
        lx += 20.0 + 6.2 * label.chars().count() as f64;
    }
    // Grid and y labels.
    for k in 0..=4 {
        let v = y_max * f64::from(k) / 4.0;
        let yy = y(v);
        let _ = write!(
            s,
            r##"<line x1="{X0}" y1="{yy:.1}" x2="{X1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="9" text-anchor="end">{:.0}%</text>"##,
            X0 - 3.0,
            yy + 3.0,
            v * 100.0
        );
    }
    // x labels: every month when few, else every other.
    let step = if n > 12 { 2 } else { 1 };
    for (i, m) in months.iter().enumerate() {
        if i % step != 0 && i != n - 1 {
            continue;
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" font-size="9" text-anchor="middle">{}</text>"#,
            x(i),
            BOTTOM + 13.0,
            short_month(*m)
        );
        if i == 0 || m.number() == 1 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{}" font-size="8" text-anchor="middle">{}</text>"#,
                x(i),
                BOTTOM + 24.0,
                m.year()
            );
        }
    }
    for (k, (_, colour, values)) in series.iter().enumerate() {
        let mut path = String::new();
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let cmd = if path.is_empty() || values[i - 1].is_none() {
                    'M'
                } else {
                    'L'
                };
                let _ = write!(path, "{cmd}{:.1},{:.1} ", x(i), y(*v));
            }
        }
        if !path.is_empty() {
            let _ = write!(
                s,
                r#"<path d="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                path.trim_end()
            );
        }
        for (i, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            let (px, py) = (x(i), y(*v));
            // Labels alternate above and below so two series do not write over each other.
            let ly = if k % 2 == 0 { py - 5.0 } else { py + 12.0 };
            let _ = write!(
                s,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="2.5" fill="{colour}"/><text x="{px:.1}" y="{ly:.1}" font-size="8" text-anchor="middle" fill="{colour}">{:.0}</text>"#,
                v * 100.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn section_id(i: usize) -> String {
    format!("bagian-{i}")
}

fn section_title(sec: &Section) -> String {
    match &sec.posyandu {
        None => "Semua posyandu".to_owned(),
        Some(p) if sec.village.is_empty() => format!("Posyandu {p}"),
        Some(p) => format!("Posyandu {p} (desa {})", sec.village),
    }
}

fn render_section(out: &mut String, i: usize, sec: &Section) {
    let class = if sec.posyandu.is_some() {
        "posyandu"
    } else {
        "semua"
    };
    let _ = write!(
        out,
        r#"<section class="{class}" id="{}"><h2>{}</h2>"#,
        section_id(i),
        esc(&section_title(sec))
    );
    let months: Vec<Month> = sec.months.iter().map(|m| m.skdn.month).collect();
    if let Some(now) = sec.months.last() {
        let k = &now.skdn;
        let _ = write!(
            out,
            r#"<div class="cards"><div class="card">Partisipasi D/S {m}<b class="ds-now">{}</b></div><div class="card">Keberhasilan N/D {m}<b class="nd-now">{}</b></div><div class="card">Peringatan<b>{}</b></div><div class="card">Perlu dikunjungi<b>{} anak</b></div></div>"#,
            of(k.d, k.s),
            of(k.n, k.d),
            sec.warnings.len(),
            sec.to_visit.len(),
            m = esc(&k.month.label_id()),
        );
    }

    // D/S and N/D.
    let first = months.first().map(|m| m.label_id()).unwrap_or_default();
    let last = months.last().map(|m| m.label_id()).unwrap_or_default();
    let _ = write!(
        out,
        "<h3>D/S dan N/D, {} sampai {}</h3>",
        esc(&first),
        esc(&last)
    );
    out.push_str(&line_chart(
        "Partisipasi D/S dan keberhasilan N/D per bulan (persen)",
        &months,
        &[
            (
                "D/S",
                "#1a237e",
                sec.months.iter().map(|m| m.skdn.d_s).collect(),
            ),
            (
                "N/D",
                "#2e7d32",
                sec.months.iter().map(|m| m.skdn.n_d).collect(),
            ),
        ],
        1.0,
    ));
    out.push_str(
        r#"<div class="scroll"><table class="skdn"><thead><tr><th>Bulan</th><th>S</th><th>K</th><th>D</th><th>N</th><th>D/S</th><th>N/D</th><th>BGM</th><th>2T</th></tr></thead><tbody>"#,
    );
    for m in sec.months.iter().rev() {
        let k = &m.skdn;
        let _ = write!(
            out,
            r#"<tr><td class="m">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}/{} ({})</td><td class="n">{}/{} ({})</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            month_cell(k.month),
            k.s,
            k.k,
            k.d,
            k.n,
            k.d,
            k.s,
            pct(k.d_s),
            k.n,
            k.d,
            pct(k.n_d),
            k.bgm,
            k.two_t
        );
    }
    out.push_str("</tbody></table></div>");

    // Stunted, wasted, underweight.
    out.push_str("<h3>Status gizi anak yang ditimbang</h3>");
    let share = |f: fn(&Shares) -> (u32, u32)| -> Vec<Option<f64>> {
        sec.months
            .iter()
            .map(|m| {
                let (a, b) = f(&m.shares);
                ratio(a, b)
            })
            .collect()
    };
    let series = [
        ("Pendek", "#c62828", share(|s| (s.stunted, s.haz_known))),
        (
            "Gizi kurang/buruk",
            "#ef6c00",
            share(|s| (s.wasted, s.gizi_known)),
        ),
        (
            "BB kurang",
            "#6a1b9a",
            share(|s| (s.underweight, s.waz_known)),
        ),
    ];
    let top = series
        .iter()
        .flat_map(|(_, _, v)| v.iter().flatten().copied())
        .fold(0.0_f64, f64::max);
    let y_max = ((top * 10.0).ceil() / 10.0).clamp(0.2, 1.0);
    out.push_str(&line_chart(
        "Persentase anak ditimbang yang pendek, gizi kurang/buruk dan BB kurang per bulan",
        &months,
        &series,
        y_max,
    ));
    out.push_str(
        r#"<p class="muted">Pendek: TB/U atau PB/U di bawah -2 SD; gizi kurang/buruk: status gizi (BB/TB atau BB/PB, LiLA, edema); BB kurang: BB/U di bawah -2 SD. Dari anak yang ditimbang bulan itu dan punya ukuran tersebut.</p><div class="scroll"><table class="gizi"><thead><tr><th>Bulan</th><th>Ditimbang</th><th>Pendek</th><th>Gizi kurang/buruk</th><th>BB kurang</th></tr></thead><tbody>"#,
    );
    for m in sec.months.iter().rev() {
        let s = &m.shares;
        let _ = write!(
            out,
            r#"<tr><td class="m">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            month_cell(m.skdn.month),
            s.weighed,
            of(s.stunted, s.haz_known),
            of(s.wasted, s.gizi_known),
            of(s.underweight, s.waz_known),
        );
    }
    out.push_str("</tbody></table></div>");

    // RT/RW.
    out.push_str(
        r#"<h3>Per RT/RW</h3><p class="muted">Keadaan terakhir tiap anak; baris yang ditandai adalah wilayah dengan anak perlu dikunjungi terbanyak.</p><div class="scroll"><table class="rtrw"><thead><tr><th>Wilayah</th><th>Balita</th><th>Ditimbang bulan ini</th><th>Pendek</th><th>Gizi kurang/buruk</th><th>BB kurang</th><th>Perlu dikunjungi</th></tr></thead><tbody>"#,
    );
    for a in &sec.areas {
        let _ = write!(
            out,
            r#"<tr{}><td>{}{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            if a.hotspot { r#" class="hotspot""# } else { "" },
            esc(&rt_rw(a.rt.as_deref(), a.rw.as_deref())),
            if a.hotspot { " ▲ terbanyak" } else { "" },
            a.balita,
            a.weighed,
            a.stunted,
            a.wasted,
            a.underweight,
            a.to_visit
        );
    }
    if sec.areas.is_empty() {
        out.push_str(r#"<tr><td colspan="7">Belum ada anak.</td></tr>"#);
    }
    out.push_str("</tbody></table></div>");

    // Warnings.
    out.push_str(r#"<h3>Peringatan bulan ini</h3>"#);
    if sec.warnings.is_empty() {
        out.push_str(r#"<p>Tidak ada peringatan.</p>"#);
    } else {
        out.push_str(r#"<ul class="warnings">"#);
        for w in &sec.warnings {
            let _ = write!(out, "<li>{}</li>", esc(&w.text));
        }
        out.push_str("</ul>");
    }

    // Children to visit.
    out.push_str(r#"<h3>Anak yang perlu dikunjungi</h3>"#);
    if sec.to_visit.is_empty() {
        out.push_str(r#"<p>Tidak ada anak yang perlu dikunjungi.</p>"#);
    } else {
        out.push_str(
            r#"<div class="scroll"><table class="visit"><thead><tr><th>Nama</th><th>Umur</th><th>Wilayah</th><th>Alasan</th></tr></thead><tbody>"#,
        );
        for v in &sec.to_visit {
            let mut place = rt_rw(v.rt.as_deref(), v.rw.as_deref());
            if sec.posyandu.is_none() {
                place = format!("{place}, Posyandu {}", v.posyandu);
            }
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td class="n">{}</td><td>{}</td><td><ul>"#,
                esc(&v.name),
                v.age_months
                    .map_or_else(|| "-".to_owned(), |m| format!("{m} bln")),
                esc(&place)
            );
            for r in &v.reasons {
                let _ = write!(out, "<li>{}</li>", esc(r));
            }
            out.push_str("</ul></td></tr>");
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
}

/// The page. Nothing in it refers outside the file: no URL, no font, no script.
pub fn render(d: &Dashboard) -> String {
    let now = Month::of(d.today);
    let title = match d.sections.as_slice() {
        [one] => format!("Dasbor {}, {}", section_title(one), now.label_id()),
        _ => format!("Dasbor posyandu, {}", now.label_id()),
    };
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="id"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{t}</title><style>{CSS}</style></head><body><header><h1>{t}</h1><p class="muted">Dibuat {} dari catatan di perangkat ini. Berkas ini berdiri sendiri: tidak memuat apa pun dari internet.</p>"#,
        esc(&date_id(d.today)),
        t = esc(&title),
    );
    if d.sections.len() > 1 {
        out.push_str("<nav>");
        for (i, s) in d.sections.iter().enumerate() {
            let _ = write!(
                out,
                "<a href=\"#{}\">{}</a>",
                section_id(i),
                esc(&section_title(s))
            );
        }
        out.push_str("</nav>");
    }
    out.push_str("</header><main>");
    for (i, s) in d.sections.iter().enumerate() {
        render_section(&mut out, i, s);
    }
    out.push_str("</main></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn escape_covers_text_and_attributes() {
        assert_eq!(
            esc(r#"<b a="1">Siti & 'Ani'</b>"#),
            "&lt;b a=&quot;1&quot;&gt;Siti &amp; &#39;Ani&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn shares_count_below_minus_two_of_those_measured() {
        let c = |waz, haz, g| ChildMonth {
            waz,
            haz,
            status_gizi: g,
        };
        let s = shares(&[
            c(Some(-2.5), Some(-2.1), Some(StatusGizi::GiziKurang)),
            c(Some(-1.0), None, Some(StatusGizi::GiziBaik)),
            c(Some(-2.0), Some(-1.9), Some(StatusGizi::GiziBuruk)),
            c(None, None, None),
        ]);
        assert_eq!(
            s,
            Shares {
                weighed: 4,
                waz_known: 3,
                underweight: 1,
                haz_known: 2,
                stunted: 1,
                gizi_known: 3,
                wasted: 2,
            }
        );
    }

    fn kid(rt: &str, rw: &str, haz: f64, to_visit: bool) -> AreaChild {
        AreaChild {
            rt: Some(rt.to_owned()),
            rw: Some(rw.to_owned()),
            balita: true,
            weighed_this_month: true,
            haz: Some(haz),
            waz: None,
            status_gizi: None,
            to_visit,
        }
    }

    #[test]
    fn the_area_with_most_children_to_visit_is_the_hotspot() {
        let mut kids = vec![
            kid("001", "002", -2.5, true),
            kid("001", "002", -2.5, true),
            kid("003", "002", -2.5, true),
            kid("003", "001", 0.0, false),
        ];
        kids.push(AreaChild {
            rt: None,
            rw: None,
            ..kid("x", "x", 0.0, false)
        });
        let a = areas(&kids);
        let labels: Vec<(String, u32, bool)> = a
            .iter()
            .map(|a| {
                (
                    rt_rw(a.rt.as_deref(), a.rw.as_deref()),
                    a.to_visit,
                    a.hotspot,
                )
            })
            .collect();
        assert_eq!(
            labels,
            vec![
                ("RT 003 / RW 001".to_owned(), 0, false),
                ("RT 001 / RW 002".to_owned(), 2, true),
                ("RT 003 / RW 002".to_owned(), 1, false),
                ("Tanpa RT/RW".to_owned(), 0, false),
            ]
        );
        // Nobody at risk: no hotspot.
        let a = areas(&[kid("001", "001", 0.0, false)]);
        assert!(!a[0].hotspot);
    }

    #[test]
    fn the_page_escapes_names_and_refers_to_nothing_outside() {
        let month = Month::parse("2025-11").unwrap();
        let skdn = super::super::skdn(month, "Mawar <b>", "Sukamaju", &[]);
        let d = Dashboard {
            today: "2025-11-20".parse().unwrap(),
            sections: vec![Section {
                posyandu: Some("Mawar <b>".to_owned()),
                village: "Sukamaju".to_owned(),
                months: vec![DashboardMonth {
                    skdn,
                    shares: Shares::default(),
                }],
                areas: vec![],
                warnings: vec![],
                to_visit: vec![ToVisit {
                    child_id: "c1".to_owned(),
                    name: "<script>alert(1)</script>".to_owned(),
                    posyandu: "Mawar <b>".to_owned(),
                    rt: None,
                    rw: None,
                    age_months: Some(14),
                    reasons: vec!["Gizi buruk & rujuk".to_owned()],
                }],
            }],
        };
        let html = render(&d);
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Posyandu Mawar &lt;b&gt;"));
        assert!(html.contains("Gizi buruk &amp; rujuk"));
        // Inline SVG in HTML needs no namespace: the page holds no URL at all.
        for bad in ["http:", "https:", "//", "@import", "url(", " src="] {
            assert!(!html.contains(bad), "{bad}");
        }
    }
}
