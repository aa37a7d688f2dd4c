//! A workbook of one sheet in Office Open XML (SpreadsheetML, ECMA-376), for the exports' tables.
//!
//! Why not `rust_xlsxwriter`: the exports need one sheet of text and numbers, a bold style, a text
//! number format and column widths, and that library was about 550 KB of the phone library, whose
//! stripped size has a 6 MB aim (docs/BENCHMARKS.md). What is written here is the minimal package
//! ECMA-376 Part 1 requires for a workbook (content types, the package and workbook relationships,
//! the workbook, one worksheet, the styles), zipped by the `zip` crate. Text is written as inline
//! strings (`t="inlineStr"`, §18.3.1.4), which Excel, LibreOffice, openpyxl and calamine read; the
//! export tests open every file with calamine and openpyxl.

use std::fmt::Write as _;
use std::io::Write as _;

/// The cell styles of [`STYLES`], by their index in `cellXfs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// The default.
    Normal = 0,
    /// Bold (titles and the header row).
    Bold = 1,
    /// The text number format `@` (built-in format 49), so NIK, KK and dates stay text when edited.
    Text = 2,
}

/// One cell value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Text(&'a str),
    /// A number; one that is not finite is left empty (SpreadsheetML has no NaN or infinity).
    Number(f64),
}

/// A sheet being filled row by row; [`Sheet::finish`] gives the workbook's bytes.
#[derive(Debug)]
pub struct Sheet {
    name: String,
    widths: Vec<f64>,
    rows: String,
    row: u32,
}

impl Sheet {
    /// A sheet named `name` (cut to Excel's 31 characters; `[]:*?/\` become spaces).
    pub fn new(name: &str) -> Self {
        let name: String = name
            .chars()
            .map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c })
            .take(31)
            .collect();
        let name = if name.trim().is_empty() {
            "Sheet1".to_owned()
        } else {
            name
        };
        Self {
            name,
            widths: Vec::new(),
            rows: String::new(),
            row: 0,
        }
    }

    /// Set the width of column `col` (0-based), in characters.
    pub fn set_width(&mut self, col: usize, width: f64) {
        if self.widths.len() <= col {
            self.widths.resize(col + 1, 0.0);
        }
        self.widths[col] = width;
    }

    /// Add a row; `None` cells are left empty.
    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = Option<(Value<'a>, Style)>>) {
        self.row += 1;
        let r = self.row;
        let _ = write!(self.rows, r#"<row r="{r}">"#);
        for (c, cell) in cells.into_iter().enumerate() {
            let Some((value, style)) = cell else { continue };
            let at = format!("{}{r}", column_name(c));
            let s = style as u8;
            match value {
                Value::Text(text) => {
                    let _ = write!(
                        self.rows,
                        r#"<c r="{at}" s="{s}" t="inlineStr"><is><t xml:space="preserve">"#
                    );
                    escape_into(&mut self.rows, text);
                    self.rows.push_str("</t></is></c>");
                }
                Value::Number(n) if n.is_finite() => {
                    let _ = write!(self.rows, r#"<c r="{at}" s="{s}"><v>{n}</v></c>"#);
                }
                Value::Number(_) => {}
            }
        }
        self.rows.push_str("</row>");
    }

    /// Leave a row empty.
    pub fn skip_row(&mut self) {
        self.row += 1;
    }

    /// The workbook as xlsx bytes.
    pub fn finish(self) -> std::io::Result<Vec<u8>> {
        let mut sheet = String::from(XML_HEAD);
        sheet.push_str(
            r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
        );
        if self.widths.iter().any(|w| *w > 0.0) {
            sheet.push_str("<cols>");
            for (i, w) in self.widths.iter().enumerate().filter(|(_, w)| **w > 0.0) {
                let n = i + 1;
                let _ = write!(
                    sheet,
                    r#"<col min="{n}" max="{n}" width="{w}" customWidth="1"/>"#
                );
            }
            sheet.push_str("</cols>");
        }
        sheet.push_str("<sheetData>");
        sheet.push_str(&self.rows);
        sheet.push_str("</sheetData></worksheet>");

        let mut workbook = String::from(XML_HEAD);
        workbook.push_str(concat!(
            r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#,
            r#" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
            r#"<sheets><sheet name=""#
        ));
        escape_into(&mut workbook, &self.name);
        workbook.push_str(r#"" sheetId="1" r:id="rId1"/></sheets></workbook>"#);

        let parts: [(&str, &[u8]); 6] = [
            ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
            ("_rels/.rels", PACKAGE_RELS.as_bytes()),
            ("xl/workbook.xml", workbook.as_bytes()),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
            ("xl/styles.xml", STYLES.as_bytes()),
            ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
        ];
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        for (name, bytes) in parts {
            zip.start_file(name, options)
                .map_err(std::io::Error::other)?;
            zip.write_all(bytes)?;
        }
        Ok(zip.finish().map_err(std::io::Error::other)?.into_inner())
    }
}

/// `A`, `B`, ..., `Z`, `AA`, ... for a 0-based column.
fn column_name(mut c: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `text` escaped for XML, without the characters XML 1.0 cannot hold (control characters other than
/// tab, line feed and carriage return).
fn escape_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

const CONTENT_TYPES: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#,
    r#"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#,
    r#"<Default Extension="xml" ContentType="application/xml"/>"#,
    r#"<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    r#"<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#,
    r#"<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#,
    "</Types>"
);

const PACKAGE_RELS: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>"#,
    "</Relationships>"
);

const WORKBOOK_RELS: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>"#,
    r#"<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#,
    "</Relationships>"
);

/// Two fonts (regular, bold), the two fills and one border every styles part needs, and the cell
/// formats of [`Style`] in its order.
const STYLES: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    r#"<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>"#,
    r#"<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>"#,
    r#"<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>"#,
    r#"<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"#,
    r#"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#,
    r#"<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>"#,
    r#"<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#,
    r#"<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>"#,
    r#"<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#,
    "</styleSheet>"
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use calamine::{Data, Reader, Xlsx};

    #[test]
    fn column_names_run_past_z() {
        let names: Vec<String> = [0, 25, 26, 27, 51, 52, 701, 702]
            .into_iter()
            .map(column_name)
            .collect();
        assert_eq!(names, ["A", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
    }

    #[test]
    fn a_sheet_reads_back_with_its_text_numbers_and_name() {
        let mut s = Sheet::new("Data: 2025/11");
        s.row([Some((Value::Text("Judul & <catatan>"), Style::Bold))]);
        s.skip_row();
        s.row([
            Some((Value::Text("NIK"), Style::Bold)),
            None,
            Some((Value::Text("Berat"), Style::Bold)),
        ]);
        s.row([
            Some((Value::Text("0012345678901234"), Style::Text)),
            Some((Value::Number(f64::NAN), Style::Normal)),
            Some((Value::Number(9.15), Style::Normal)),
        ]);
        s.set_width(0, 18.0);
        let bytes = s.finish().unwrap();
        let mut wb = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet_names(), ["Data  2025 11"]);
        let range = wb.worksheet_range("Data  2025 11").unwrap();
        assert_eq!(
            range.get_value((0, 0)),
            Some(&Data::String("Judul & <catatan>".into()))
        );
        assert_eq!(range.get_value((2, 0)), Some(&Data::String("NIK".into())));
        assert_eq!(
            range.get_value((3, 0)),
            Some(&Data::String("0012345678901234".into())),
            "leading zeros stay: text, not a number"
        );
        assert_eq!(range.get_value((3, 1)), Some(&Data::Empty));
        assert_eq!(range.get_value((3, 2)), Some(&Data::Float(9.15)));
    }

    #[test]
    fn control_characters_are_dropped_not_written() {
        let mut s = String::new();
        escape_into(&mut s, "a\u{1}b\tc\"");
        assert_eq!(s, "ab\tc&quot;");
    }
}
