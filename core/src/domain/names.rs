//! Name similarity for the duplicate check at registration.

/// Normalise a name for similarity: lower case, letters only, old and new Indonesian spellings folded
/// (dj→j, tj→c, oe→u, j→y before 1972 spelling, sj→sy, ch→kh), doubled letters collapsed.
pub fn name_key(name: &str) -> String {
    let lower: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphabetic() || c.is_whitespace())
        .collect();
    let mut s = lower
        .replace("dj", "j")
        .replace("tj", "c")
        .replace("oe", "u")
        .replace("sj", "sy")
        .replace("ch", "kh")
        .replace("nj", "ny");
    // Common titles and parent words that do not identify a child.
    for w in ["binti ", "bin ", "an. ", "by. ", "bayi ", "ny. "] {
        s = s.replace(w, "");
    }
    let mut out = String::with_capacity(s.len());
    let mut last = None;
    for ch in s.split_whitespace().collect::<Vec<_>>().join(" ").chars() {
        if Some(ch) != last {
            out.push(ch);
        }
        last = Some(ch);
    }
    out
}

/// Similarity of two names in 0..=1 (Jaro-Winkler on normalised names, also trying word-order swaps).
pub fn name_similarity(a: &str, b: &str) -> f64 {
    let (ka, kb) = (name_key(a), name_key(b));
    if ka.is_empty() || kb.is_empty() {
        return 0.0;
    }
    let direct = strsim::jaro_winkler(&ka, &kb);
    let mut wa: Vec<&str> = ka.split(' ').collect();
    let mut wb: Vec<&str> = kb.split(' ').collect();
    wa.sort_unstable();
    wb.sort_unstable();
    let sorted = strsim::jaro_winkler(&wa.join(" "), &wb.join(" "));
    direct.max(sorted)
}

/// Names at least this similar are possible duplicates.
pub const SIMILAR_NAME: f64 = 0.88;
