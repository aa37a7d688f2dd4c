//! The growth chart of one child as SVG: weight-for-age, length/height-for-age and
//! weight-for-length/height, each with the WHO lines (-3, -2, 0, +2, +3), the Permenkes 2/2020 classes
//! as coloured bands, and the child's points joined in date order. Labels in Bahasa Indonesia.
//!
//! The picture is 360 units wide (a phone screen at 1:1; the SVG scales for print) and three panels
//! high. [`GrowthChart::marks`] says where each point was drawn, so a test can render the SVG and look.

use std::fmt::Write as _;

use chrono::NaiveDate;

use crate::domain::Sex;
use crate::growth::{CURVE_Z, Curve, curve_values};

/// Width of the picture, in SVG units (pixels at 1:1).
pub const WIDTH: f64 = 360.0;
const PANEL_H: f64 = 330.0;
const HEADER_H: f64 = 44.0;
const PLOT_X0: f64 = 40.0;
const PLOT_X1: f64 = 350.0;
const PLOT_TOP: f64 = 34.0;
const PLOT_BOTTOM: f64 = 264.0;
/// Days in a month, WHO's convention.
const DAYS_PER_MONTH: f64 = 30.4375;

/// The colour of the child's points and of the line joining them.
pub const POINT_COLOUR: &str = "#1a237e";

/// A Permenkes class band: between two z-scores (`None` = open end), its colour and label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub z_low: Option<f64>,
    pub z_high: Option<f64>,
    pub colour: &'static str,
    pub label: &'static str,
}

const RED: &str = "#f3a0a0";
const ORANGE: &str = "#fbc98e";
const GREEN: &str = "#bfe8b8";
const YELLOW: &str = "#fff2a0";
const PEACH: &str = "#f8b98a";
const PINK: &str = "#e9a6d3";
const BLUE: &str = "#c4dcf5";

const fn band(
    z_low: Option<f64>,
    z_high: Option<f64>,
    colour: &'static str,
    label: &'static str,
) -> Band {
    Band {
        z_low,
        z_high,
        colour,
        label,
    }
}

/// Weight-for-age classes (Permenkes 2/2020).
pub const WFA_BANDS: [Band; 4] = [
    band(None, Some(-3.0), RED, "BB sangat kurang"),
    band(Some(-3.0), Some(-2.0), ORANGE, "BB kurang"),
    band(Some(-2.0), Some(1.0), GREEN, "BB normal"),
    band(Some(1.0), None, YELLOW, "Risiko BB lebih"),
];
/// Length/height-for-age classes.
pub const HFA_BANDS: [Band; 4] = [
    band(None, Some(-3.0), RED, "Sangat pendek"),
    band(Some(-3.0), Some(-2.0), ORANGE, "Pendek"),
    band(Some(-2.0), Some(3.0), GREEN, "Normal"),
    band(Some(3.0), None, BLUE, "Tinggi"),
];
/// Weight-for-length/height classes.
pub const WFH_BANDS: [Band; 6] = [
    band(None, Some(-3.0), RED, "Gizi buruk"),
    band(Some(-3.0), Some(-2.0), ORANGE, "Gizi kurang"),
    band(Some(-2.0), Some(1.0), GREEN, "Gizi baik"),
    band(Some(1.0), Some(2.0), YELLOW, "Berisiko gizi lebih"),
    band(Some(2.0), Some(3.0), PEACH, "Gizi lebih"),
    band(Some(3.0), None, PINK, "Obesitas"),
];

/// One measurement to plot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartPoint {
    pub date: NaiveDate,
    pub age_days: i64,
    pub weight_kg: Option<f64>,
    /// Length/height as WHO uses it (adjusted for the measuring position).
    pub height_cm: Option<f64>,
}

/// Which panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelKind {
    WeightForAge,
    HeightForAge,
    WeightForHeight,
}

/// Where a panel maps data to picture units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PanelGeometry {
    pub kind: PanelKind,
    pub curve: Curve,
    /// Top of the panel in the picture.
    pub top: f64,
    /// Data ranges: x in days (age panels) or cm; y in kg or cm.
    pub x_min: f64,
    pub x_max: f64,
    pub y_min: f64,
    pub y_max: f64,
}

impl PanelGeometry {
    /// Picture coordinates of a data point.
    pub fn to_px(&self, x: f64, y: f64) -> (f64, f64) {
        let px = PLOT_X0 + (x - self.x_min) / (self.x_max - self.x_min) * (PLOT_X1 - PLOT_X0);
        let py = self.top + PLOT_BOTTOM
            - (y - self.y_min) / (self.y_max - self.y_min) * (PLOT_BOTTOM - PLOT_TOP);
        (px, py)
    }

    /// The bands of this panel.
    pub fn bands(&self) -> &'static [Band] {
        match self.kind {
            PanelKind::WeightForAge => &WFA_BANDS,
            PanelKind::HeightForAge => &HFA_BANDS,
            PanelKind::WeightForHeight => &WFH_BANDS,
        }
    }
}

/// A point as drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub panel: PanelKind,
    pub date: NaiveDate,
    pub x: f64,
    pub y: f64,
}

/// The chart: the SVG text, the panels' geometry and where each point was drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct GrowthChart {
    pub svg: String,
    pub width: f64,
    pub height: f64,
    pub panels: Vec<PanelGeometry>,
    pub marks: Vec<Mark>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn nice_step(span: f64, max_ticks: f64) -> f64 {
    for s in [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0] {
        if span / s <= max_ticks {
            return s;
        }
    }
    100.0
}

/// The x samples of a panel's curves.
fn samples(x_min: f64, x_max: f64, step: f64) -> Vec<f64> {
    let n = ((x_max - x_min) / step).ceil() as usize;
    (0..=n)
        .map(|i| (x_min + step * i as f64).min(x_max))
        .collect()
}

struct PanelSpec {
    kind: PanelKind,
    curve: Curve,
    title: &'static str,
    x_label: &'static str,
    y_label: &'static str,
    /// (x, y) data of the child's points.
    points: Vec<(NaiveDate, f64, f64)>,
    x_min: f64,
    x_max: f64,
    step: f64,
    /// Tick every this many x units and the label of a tick.
    x_tick: f64,
    age_axis: bool,
}

/// Draw the growth chart of a child.
pub fn growth_chart(
    name: &str,
    sex: Sex,
    birth_date: NaiveDate,
    points: &[ChartPoint],
) -> GrowthChart {
    let mut pts: Vec<ChartPoint> = points.to_vec();
    pts.sort_by_key(|p| p.date);
    let max_age = pts.iter().map(|p| p.age_days).max().unwrap_or(0);
    let months = (((max_age as f64 / DAYS_PER_MONTH) + 1.0) / 12.0).ceil() * 12.0;
    let age_max_days = (months.clamp(24.0, 60.0) * DAYS_PER_MONTH).min(1856.0);
    let age_points = |f: fn(&ChartPoint) -> Option<f64>| -> Vec<(NaiveDate, f64, f64)> {
        pts.iter()
            .filter(|p| p.age_days >= 0 && (p.age_days as f64) <= age_max_days)
            .filter_map(|p| f(p).map(|v| (p.date, p.age_days as f64, v)))
            .collect()
    };
    let standing = pts.last().is_some_and(|p| p.age_days >= 731);
    let wfh_curve = if standing {
        Curve::WeightForHeight
    } else {
        Curve::WeightForLength
    };
    let (lo, hi) = wfh_curve.x_range();
    let wfh_points: Vec<(NaiveDate, f64, f64)> = pts
        .iter()
        .filter_map(|p| match (p.height_cm, p.weight_kg) {
            (Some(h), Some(w)) if (lo..=hi).contains(&h) => Some((p.date, h, w)),
            _ => None,
        })
        .collect();
    let (h_min, h_max) = if wfh_points.is_empty() {
        (lo, hi)
    } else {
        let mn = wfh_points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let mx = wfh_points
            .iter()
            .map(|p| p.1)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut a = (((mn - 10.0) / 5.0).floor() * 5.0).max(lo);
        let mut b = (((mx + 10.0) / 5.0).ceil() * 5.0).min(hi);
        if b - a < 30.0 {
            a = (a - (30.0 - (b - a)) / 2.0).max(lo);
            b = (a + 30.0).min(hi);
        }
        (a, b)
    };
    let specs = [
        PanelSpec {
            kind: PanelKind::WeightForAge,
            curve: Curve::WeightForAge,
            title: "Berat badan menurut umur (BB/U)",
            x_label: "Umur (bulan)",
            y_label: "Berat (kg)",
            points: age_points(|p| p.weight_kg),
            x_min: 0.0,
            x_max: age_max_days,
            step: DAYS_PER_MONTH / 2.0,
            x_tick: if age_max_days > 40.0 * DAYS_PER_MONTH {
                6.0
            } else {
                3.0
            } * DAYS_PER_MONTH,
            age_axis: true,
        },
        PanelSpec {
            kind: PanelKind::HeightForAge,
            curve: Curve::LengthHeightForAge,
            title: "Panjang/tinggi badan menurut umur (PB/U, TB/U)",
            x_label: "Umur (bulan)",
            y_label: "Panjang/tinggi (cm)",
            points: age_points(|p| p.height_cm),
            x_min: 0.0,
            x_max: age_max_days,
            step: DAYS_PER_MONTH / 2.0,
            x_tick: if age_max_days > 40.0 * DAYS_PER_MONTH {
                6.0
            } else {
                3.0
            } * DAYS_PER_MONTH,
            age_axis: true,
        },
        PanelSpec {
            kind: PanelKind::WeightForHeight,
            curve: wfh_curve,
            title: if standing {
                "Berat badan menurut tinggi badan (BB/TB)"
            } else {
                "Berat badan menurut panjang badan (BB/PB)"
            },
            x_label: if standing {
                "Tinggi badan (cm)"
            } else {
                "Panjang badan (cm)"
            },
            y_label: "Berat (kg)",
            points: wfh_points,
            x_min: h_min,
            x_max: h_max,
            step: 0.5,
            x_tick: if h_max - h_min > 40.0 { 10.0 } else { 5.0 },
            age_axis: false,
        },
    ];
    let height = HEADER_H + PANEL_H * specs.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, sans-serif">"##
    );
    let _ = write!(
        svg,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let sex_text = match sex {
        Sex::Male => "laki-laki",
        Sex::Female => "perempuan",
    };
    let _ = write!(
        svg,
        r##"<text x="8" y="18" font-size="14" font-weight="bold" fill="#000000">Grafik pertumbuhan: {}</text><text x="8" y="35" font-size="10" fill="#333333">{}, lahir {} · WHO 2006, Permenkes 2/2020</text>"##,
        esc(name),
        sex_text,
        birth_date.format("%d-%m-%Y")
    );
    let mut panels = Vec::new();
    let mut marks = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let top = HEADER_H + PANEL_H * i as f64;
        let xs = samples(spec.x_min, spec.x_max, spec.step);
        let curves: Vec<(f64, [f64; 7])> = xs
            .iter()
            .filter_map(|x| curve_values(spec.curve, sex, *x).map(|v| (*x, v)))
            .collect();
        let mut y_lo = curves.iter().map(|c| c.1[0]).fold(f64::INFINITY, f64::min);
        let mut y_hi = curves
            .iter()
            .map(|c| c.1[6])
            .fold(f64::NEG_INFINITY, f64::max);
        for p in &spec.points {
            y_lo = y_lo.min(p.2);
            y_hi = y_hi.max(p.2);
        }
        if !y_lo.is_finite() || !y_hi.is_finite() {
            (y_lo, y_hi) = (0.0, 1.0);
        }
        let y_step = nice_step(y_hi - y_lo, 8.0);
        let y_min = ((y_lo - y_step * 0.25) / y_step).floor() * y_step;
        let y_max = ((y_hi + y_step * 0.25) / y_step).ceil() * y_step;
        let g = PanelGeometry {
            kind: spec.kind,
            curve: spec.curve,
            top,
            x_min: spec.x_min,
            x_max: spec.x_max,
            y_min: y_min.max(0.0),
            y_max,
        };
        let clip = format!("clip{i}");
        let _ = write!(
            svg,
            r##"<g><text x="8" y="{:.1}" font-size="12" font-weight="bold" fill="#000000">{}</text><clipPath id="{clip}"><rect x="{PLOT_X0}" y="{:.1}" width="{:.1}" height="{:.1}"/></clipPath><g clip-path="url(#{clip})">"##,
            top + 20.0,
            esc(spec.title),
            top + PLOT_TOP,
            PLOT_X1 - PLOT_X0,
            PLOT_BOTTOM - PLOT_TOP
        );
        // Bands: from the lower z line (or the bottom) up to the upper z line (or the top).
        let z_index = |z: f64| CURVE_Z.iter().position(|c| (*c - z).abs() < 1e-9);
        for b in g.bands() {
            let upper: Vec<(f64, f64)> = curves
                .iter()
                .map(|(x, v)| {
                    let y = b
                        .z_high
                        .and_then(z_index)
                        .map_or(g.y_max + y_step, |k| v[k]);
                    g.to_px(*x, y)
                })
                .collect();
            let lower: Vec<(f64, f64)> = curves
                .iter()
                .rev()
                .map(|(x, v)| {
                    let y = b.z_low.and_then(z_index).map_or(g.y_min - y_step, |k| v[k]);
                    g.to_px(*x, y)
                })
                .collect();
            let pts: Vec<String> = upper
                .iter()
                .chain(lower.iter())
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = write!(
                svg,
                r##"<polygon points="{}" fill="{}" stroke="none"/>"##,
                pts.join(" "),
                b.colour
            );
        }
        // Grid.
        let mut y = g.y_min;
        while y <= g.y_max + 1e-9 {
            let (_, py) = g.to_px(g.x_min, y);
            let _ = write!(
                svg,
                r##"<line x1="{PLOT_X0}" y1="{py:.1}" x2="{PLOT_X1}" y2="{py:.1}" stroke="#ffffff" stroke-width="0.6" stroke-opacity="0.7"/>"##
            );
            y += y_step;
        }
        // WHO lines.
        for (k, (label, colour, width, dash)) in [
            (0usize, ("-3", "#000000", 1.2, "")),
            (1, ("-2", "#c62828", 1.2, "")),
            (3, ("0", "#1b5e20", 1.6, "")),
            (5, ("+2", "#c62828", 1.2, "")),
            (6, ("+3", "#000000", 1.2, "")),
        ] {
            let pts: Vec<String> = curves
                .iter()
                .map(|(x, v)| {
                    let (px, py) = g.to_px(*x, v[k]);
                    format!("{px:.1},{py:.1}")
                })
                .collect();
            let dash_attr = if dash.is_empty() {
                String::new()
            } else {
                format!(r#" stroke-dasharray="{dash}""#)
            };
            let _ = write!(
                svg,
                r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="{width}"{dash_attr}><title>{label} SD</title></polyline>"##,
                pts.join(" ")
            );
        }
        // The child's points, joined.
        let drawn: Vec<(NaiveDate, f64, f64)> = spec
            .points
            .iter()
            .map(|(d, x, y)| {
                let (px, py) = g.to_px(*x, *y);
                (*d, px, py)
            })
            .collect();
        if drawn.len() > 1 {
            let line: Vec<String> = drawn
                .iter()
                .map(|(_, x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = write!(
                svg,
                r##"<polyline points="{}" fill="none" stroke="{POINT_COLOUR}" stroke-width="2"/>"##,
                line.join(" ")
            );
        }
        for (d, x, y) in &drawn {
            let _ = write!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="4.5" fill="{POINT_COLOUR}" stroke="#ffffff" stroke-width="1"><title>{}</title></circle>"##,
                d.format("%d-%m-%Y")
            );
            marks.push(Mark {
                panel: spec.kind,
                date: *d,
                x: *x,
                y: *y,
            });
        }
        let _ = write!(svg, "</g>");
        // Line labels at the right end.
        if let Some((x, v)) = curves.last() {
            for (k, label) in [(0usize, "-3"), (1, "-2"), (3, "0"), (5, "+2"), (6, "+3")] {
                let (px, py) = g.to_px(*x, v[k]);
                if py > top + PLOT_TOP && py < top + PLOT_BOTTOM {
                    let _ = write!(
                        svg,
                        r##"<text x="{:.1}" y="{:.1}" font-size="8" text-anchor="end" fill="#000000">{label}</text>"##,
                        px - 2.0,
                        py - 2.0
                    );
                }
            }
        }
        // Frame and axes.
        let _ = write!(
            svg,
            r##"<rect x="{PLOT_X0}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#444444" stroke-width="0.8"/>"##,
            top + PLOT_TOP,
            PLOT_X1 - PLOT_X0,
            PLOT_BOTTOM - PLOT_TOP
        );
        let mut y = g.y_min;
        while y <= g.y_max + 1e-9 {
            let (_, py) = g.to_px(g.x_min, y);
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="end" fill="#000000">{}</text>"##,
                PLOT_X0 - 3.0,
                py + 3.0,
                if y_step < 1.0 {
                    format!("{y:.1}")
                } else {
                    format!("{y:.0}")
                }
            );
            y += y_step;
        }
        let mut x = spec.x_min;
        while x <= spec.x_max + 1e-6 {
            let (px, _) = g.to_px(x, g.y_min);
            let label = if spec.age_axis {
                format!("{:.0}", x / DAYS_PER_MONTH)
            } else {
                format!("{x:.0}")
            };
            let _ = write!(
                svg,
                r##"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="#444444" stroke-width="0.8"/><text x="{px:.1}" y="{:.1}" font-size="9" text-anchor="middle" fill="#000000">{label}</text>"##,
                top + PLOT_BOTTOM,
                top + PLOT_BOTTOM + 3.0,
                top + PLOT_BOTTOM + 13.0
            );
            x += spec.x_tick;
        }
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#000000">{}</text><text x="10" y="{:.1}" font-size="10" text-anchor="middle" fill="#000000" transform="rotate(-90 10 {:.1})">{}</text>"##,
            (PLOT_X0 + PLOT_X1) / 2.0,
            top + PLOT_BOTTOM + 25.0,
            spec.x_label,
            top + (PLOT_TOP + PLOT_BOTTOM) / 2.0,
            top + (PLOT_TOP + PLOT_BOTTOM) / 2.0,
            spec.y_label
        );
        // Legend: the bands, in two rows at most.
        let per_row = 3usize;
        for (j, b) in g.bands().iter().enumerate() {
            let lx = 8.0 + (j % per_row) as f64 * 116.0;
            let ly = top + PLOT_BOTTOM + 34.0 + (j / per_row) as f64 * 13.0;
            let _ = write!(
                svg,
                r##"<rect x="{lx:.1}" y="{:.1}" width="10" height="9" fill="{}" stroke="#666666" stroke-width="0.5"/><text x="{:.1}" y="{:.1}" font-size="9" fill="#000000">{}</text>"##,
                ly - 8.0,
                b.colour,
                lx + 13.0,
                ly,
                b.label
            );
        }
        if spec.points.is_empty() {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#444444">Belum ada hasil pengukuran.</text>"##,
                (PLOT_X0 + PLOT_X1) / 2.0,
                top + PLOT_TOP + 14.0
            );
        }
        let _ = write!(svg, "</g>");
        panels.push(g);
    }
    svg.push_str("</svg>\n");
    GrowthChart {
        svg,
        width: WIDTH,
        height,
        panels,
        marks,
    }
}
