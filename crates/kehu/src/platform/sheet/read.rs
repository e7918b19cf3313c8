//! Reading uploads: header matching, xlsx/xls cell text, CSV decoding.
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

use calamine::{Data, DataRef, ExcelDateTime, Reader, Sheet, SheetType, SheetVisible, Xls, Xlsx};

use super::{Column, Limit, Row, SheetError};

/// Excel's column count; cells beyond it are ignored.
const MAX_COLS: usize = 16_384;
/// How many non-blank rows (titles, notes) may stand above the header row.
const MAX_ROWS_ABOVE_HEADER: usize = 10;

/// What the bytes are, whatever the file was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Content {
    /// A zip container: xlsx/xlsm.
    Zip,
    /// An OLE compound file: legacy xls.
    Ole,
    /// Anything else: read as CSV text.
    Text,
}

pub(super) fn sniff(bytes: &[u8], format: super::Format) -> Content {
    const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if bytes.starts_with(b"PK\x03\x04") {
        Content::Zip
    } else if bytes.starts_with(OLE) {
        Content::Ole
    } else if format == super::Format::Xlsx {
        // Let the xlsx reader say why it is not a workbook.
        Content::Zip
    } else {
        Content::Text
    }
}

/// Turns the rows of a sheet, in order, into data rows: finds and checks the header row, maps
/// cells to column keys, skips blank rows and enforces the row limit.
pub(super) struct Collector<'c> {
    columns: &'c [Column],
    max_rows: usize,
    /// Normalised header text → index into `columns`.
    lookup: HashMap<String, usize>,
    /// Once the header row is read: file column → index into `columns`.
    map: Option<Vec<Option<usize>>>,
    /// Non-blank rows seen above the header row, none naming a known column.
    above_header: usize,
    /// Strip the `'` that [`super::write`] puts before formula-like CSV cells.
    unguard: bool,
    /// The longest cell read, in characters.
    max_cell_chars: usize,
    /// The header row's texts, by file column, to name a column in an error.
    headers: Vec<String>,
    rows: Vec<Row>,
}

impl<'c> Collector<'c> {
    pub(super) fn new(columns: &'c [Column], max_rows: usize, max_cell_chars: usize) -> Self {
        let mut lookup = HashMap::new();
        for (i, c) in columns.iter().enumerate() {
            for h in [c.header_zh, c.header_en] {
                let n = normalize_header(h);
                if !n.is_empty() {
                    lookup.entry(n).or_insert(i);
                }
            }
        }
        Collector {
            columns,
            max_rows,
            lookup,
            map: None,
            above_header: 0,
            unguard: false,
            max_cell_chars,
            headers: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Whether the cell of a file column matters (so it need not be converted to text).
    pub(super) fn wants(&self, col: usize) -> bool {
        match &self.map {
            None => col < MAX_COLS,
            Some(map) => map.get(col).is_some_and(Option::is_some),
        }
    }

    /// One sheet row: its 1-based number and its non-empty cells as (0-based column, text).
    pub(super) fn push(
        &mut self,
        number: usize,
        cells: Vec<(usize, String)>,
    ) -> Result<(), SheetError> {
        let Some(map) = &self.map else {
            if cells.iter().all(|(_, s)| s.trim().is_empty()) {
                return Ok(());
            }
            // The header row is the first one naming a known column; a title row or two
            // above it is skipped.
            let names_a_column = self.columns.is_empty()
                || cells
                    .iter()
                    .any(|(_, s)| self.lookup.contains_key(&normalize_header(s)));
            if names_a_column {
                return self.header(cells);
            }
            self.above_header += 1;
            if self.above_header >= MAX_ROWS_ABOVE_HEADER {
                return Err(self.no_known_column());
            }
            return Ok(());
        };
        let mut out: BTreeMap<&'static str, String> = map
            .iter()
            .flatten()
            .map(|&i| (self.columns[i].key, String::new()))
            .collect();
        let mut blank = true;
        for (col, text) in cells {
            let Some(&Some(i)) = map.get(col) else {
                continue;
            };
            if !text.trim().is_empty() {
                blank = false;
            }
            let column = || self.headers.get(col).cloned().unwrap_or_default();
            if text.chars().any(crate::platform::input::forbidden_char) {
                return Err(SheetError::ControlCharacter {
                    row: number,
                    column: column(),
                });
            }
            if text.len() > self.max_cell_chars && text.chars().count() > self.max_cell_chars {
                return Err(SheetError::CellTooLong {
                    row: number,
                    column: column(),
                    max: self.max_cell_chars,
                });
            }
            let text = if self.unguard { unguard(text) } else { text };
            out.insert(self.columns[i].key, text);
        }
        if blank {
            return Ok(());
        }
        if self.rows.len() >= self.max_rows {
            return Err(SheetError::TooLarge(Limit::Rows(self.max_rows)));
        }
        self.rows.push(Row { number, cells: out });
        Ok(())
    }

    fn header(&mut self, cells: Vec<(usize, String)>) -> Result<(), SheetError> {
        let width = cells.iter().map(|(c, _)| c + 1).max().unwrap_or(0);
        let mut map = vec![None; width];
        self.headers = vec![String::new(); width];
        for (col, text) in &cells {
            self.headers[*col] = text.trim().trim_end_matches('*').to_string();
        }
        let mut seen = vec![false; self.columns.len()];
        for (col, text) in &cells {
            let Some(&i) = self.lookup.get(&normalize_header(text)) else {
                continue;
            };
            if seen[i] {
                return Err(SheetError::DuplicateColumn {
                    key: self.columns[i].key,
                    header: text.trim().to_string(),
                });
            }
            seen[i] = true;
            map[*col] = Some(i);
        }
        if let Some(c) = self
            .columns
            .iter()
            .zip(&seen)
            .find(|(c, s)| c.required && !**s)
        {
            return Err(SheetError::MissingColumn {
                key: c.0.key,
                header: c.0.header_zh,
                header_en: c.0.header_en,
            });
        }
        self.map = Some(map);
        Ok(())
    }

    fn no_known_column(&self) -> SheetError {
        SheetError::NoKnownColumn {
            expected_zh: join_headers(self.columns, |c| c.header_zh, "、"),
            expected_en: join_headers(self.columns, |c| c.header_en, ", "),
        }
    }

    pub(super) fn finish(self) -> Result<Vec<Row>, SheetError> {
        match self.map {
            Some(_) if self.rows.is_empty() => Err(SheetError::NoDataRows),
            Some(_) => Ok(self.rows),
            None if self.above_header > 0 => Err(self.no_known_column()),
            None => Err(SheetError::Empty),
        }
    }
}

fn join_headers(columns: &[Column], f: impl Fn(&Column) -> &'static str, sep: &str) -> String {
    columns.iter().map(f).collect::<Vec<_>>().join(sep)
}

/// A header as compared: full-width forms made half-width, `*` marks and surrounding spaces
/// removed, inner runs of spaces made one, Latin letters lower-cased.
pub(super) fn normalize_header(s: &str) -> String {
    let half: String = s
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect();
    let stripped = half
        .trim()
        .trim_matches(|c: char| c == '*' || c.is_whitespace());
    stripped
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The `'` that guarded a formula-like CSV cell, removed.
fn unguard(text: String) -> String {
    match text.strip_prefix('\'') {
        Some(rest) if super::write::guarded(rest) => rest.to_string(),
        _ => text,
    }
}

// ---------------------------------------------------------------------------------------------
// xlsx / xls

fn bad_xlsx(e: impl std::fmt::Display) -> SheetError {
    SheetError::BadXlsx {
        detail: e.to_string(),
    }
}

/// The most parts a workbook may have (a real one has a few dozen).
const MAX_ZIP_ENTRIES: usize = 10_000;

/// Inflates every part of a workbook once, counting and keeping nothing: refuses it when the
/// parts inflate past `max_inflated` bytes in all, or when an XML part holds a run of more bytes
/// between two tags than a cell of `max_cell_chars` characters can take (so calamine, which
/// holds the shared strings in memory, never meets a huge text).
pub(super) fn check_inflated(
    bytes: &[u8],
    max_inflated: u64,
    max_cell_chars: usize,
) -> Result<(), SheetError> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad_xlsx)?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(bad_xlsx(format!("more than {MAX_ZIP_ENTRIES} parts")));
    }
    // Up to ten bytes a character (`&#x10FFFF;`) and the cell's own tags.
    let max_run = max_cell_chars.saturating_mul(10).saturating_add(4096);
    let too_large = SheetError::TooLarge(Limit::Inflated(max_inflated));
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).map_err(bad_xlsx)?;
        if total.saturating_add(part.size()) > max_inflated {
            return Err(too_large);
        }
        let name = part.name().map_err(bad_xlsx)?.to_ascii_lowercase();
        let xml = name.ends_with(".xml") || name.ends_with(".rels");
        let mut run = 0usize;
        loop {
            let n = part.read(&mut buf).map_err(bad_xlsx)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > max_inflated {
                return Err(too_large);
            }
            if xml {
                for &b in &buf[..n] {
                    run = if b == b'<' { 0 } else { run + 1 };
                    if run > max_run {
                        return Err(SheetError::TextTooLong {
                            max: max_cell_chars,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// The first visible worksheet (else the first worksheet).
fn first_sheet(sheets: &[Sheet]) -> Result<String, SheetError> {
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    worksheets()
        .find(|s| s.visible == SheetVisible::Visible)
        .or_else(|| worksheets().next())
        .map(|s| s.name.clone())
        .ok_or(SheetError::NoWorksheet)
}

/// Streams the first worksheet's cells, so a large sheet is never held whole in memory.
pub(super) fn xlsx(bytes: &[u8], collector: &mut Collector<'_>) -> Result<(), SheetError> {
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(bad_xlsx)?;
    let name = first_sheet(workbook.sheets_metadata())?;
    let mut reader = workbook.worksheet_cells_reader(&name).map_err(bad_xlsx)?;
    let mut current: Option<u32> = None;
    let mut cells: Vec<(usize, String)> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(bad_xlsx)? {
        let (row, col) = cell.get_position();
        if current != Some(row) {
            if let Some(r) = current {
                collector.push(r as usize + 1, std::mem::take(&mut cells))?;
            }
            current = Some(row);
        }
        let col = col as usize;
        if collector.wants(col) {
            let text = text_of_ref(cell.get_value());
            if !text.is_empty() {
                cells.push((col, text));
            }
        }
    }
    if let Some(r) = current {
        collector.push(r as usize + 1, cells)?;
    }
    Ok(())
}

/// Legacy .xls (at most 65,536 rows, so reading the whole range is fine).
pub(super) fn xls(bytes: &[u8], collector: &mut Collector<'_>) -> Result<(), SheetError> {
    let mut workbook: Xls<_> = Xls::new(Cursor::new(bytes)).map_err(bad_xlsx)?;
    let name = first_sheet(workbook.sheets_metadata())?;
    let range = workbook.worksheet_range(&name).map_err(bad_xlsx)?;
    let Some((row0, col0)) = range.start() else {
        return Ok(());
    };
    for (i, row) in range.rows().enumerate() {
        let cells: Vec<(usize, String)> = row
            .iter()
            .enumerate()
            .map(|(j, v)| (col0 as usize + j, v))
            .filter(|(col, _)| collector.wants(*col))
            .map(|(col, v)| (col, text_of(v)))
            .filter(|(_, s)| !s.is_empty())
            .collect();
        collector.push(row0 as usize + i + 1, cells)?;
    }
    Ok(())
}

/// A cell's value as the text a user expects to see.
fn text_of_ref(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => float_text(*f),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => datetime_text(d),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

fn text_of(v: &Data) -> String {
    match v {
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => datetime_text(d),
        Data::Error(e) => e.to_string(),
        Data::Empty => String::new(),
    }
}

/// A number as Excel shows it in a General cell, without exponent: whole numbers without
/// ".0" (a phone stored as a number stays `13812345678`), others to Excel's 15 significant
/// digits (so `0.1 + 0.2` is `0.3`).
pub(super) fn float_text(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    if f.fract() == 0.0 && f.abs() < 1e18 {
        return format!("{}", f as i64);
    }
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    if rounded.fract() == 0.0 && rounded.abs() < 1e18 {
        return format!("{}", rounded as i64);
    }
    format!("{rounded}")
}

/// A date cell as `YYYY-MM-DD`, a date and time as `YYYY-MM-DD HH:MM` (`:SS` when the seconds
/// are not zero), a time of day alone as `HH:MM`, a duration as `[h]:MM:SS`.
pub(super) fn datetime_text(d: &ExcelDateTime) -> String {
    if d.is_duration() {
        let total = (d.as_f64() * 86_400.0).round() as i64;
        let sign = if total < 0 { "-" } else { "" };
        let total = total.abs();
        return format!(
            "{sign}{}:{:02}:{:02}",
            total / 3600,
            total / 60 % 60,
            total % 60
        );
    }
    let (y, mo, day, h, mi, s, _ms) = d.to_ymd_hms_milli();
    let time = if s == 0 {
        format!("{h:02}:{mi:02}")
    } else {
        format!("{h:02}:{mi:02}:{s:02}")
    };
    let value = d.as_f64();
    if (0.0..1.0).contains(&value) {
        time
    } else if h == 0 && mi == 0 && s == 0 {
        format!("{y:04}-{mo:02}-{day:02}")
    } else {
        format!("{y:04}-{mo:02}-{day:02} {time}")
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

/// The text of a CSV file: by BOM (UTF-8, UTF-16), else UTF-8 when valid, else GBK.
pub(super) fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, SheetError> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return if had_errors {
            Err(SheetError::Encoding)
        } else {
            Ok(text)
        };
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
    if had_errors {
        Err(SheetError::Encoding)
    } else {
        Ok(text)
    }
}

/// Comma, unless the header line has none but has semicolons or tabs.
pub(super) fn detect_delimiter(text: &str) -> u8 {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if header.contains(',') {
        return b',';
    }
    let semicolons = header.matches(';').count();
    let tabs = header.matches('\t').count();
    if tabs > 0 && tabs >= semicolons {
        b'\t'
    } else if semicolons > 0 {
        b';'
    } else {
        b','
    }
}

/// How many line breaks (CRLF, LF or CR) the bytes from `start` begin with (the csv crate may
/// start a record at the LF of the previous record's CRLF, which is no blank line).
fn leading_blank_lines(bytes: &[u8], start: usize) -> usize {
    let mut count = 0;
    let mut i = start;
    if i > 0 && bytes.get(i - 1) == Some(&b'\r') && bytes.get(i) == Some(&b'\n') {
        i += 1;
    }
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'\r' | b'\n' => i += 1,
            _ => break,
        }
        count += 1;
    }
    count
}

pub(super) fn csv(bytes: &[u8], collector: &mut Collector<'_>) -> Result<(), SheetError> {
    collector.unguard = true;
    let text = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(detect_delimiter(&text))
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    // Excel shows one row per record, and one per blank line (which the csv crate skips: they
    // lead the bytes of the record that follows them).
    let mut number = 0usize;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(SheetError::BadCsv {
                    detail: e.to_string(),
                });
            }
        }
        let start = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(0);
        number += 1 + leading_blank_lines(text.as_bytes(), start);
        let cells: Vec<(usize, String)> = record
            .iter()
            .enumerate()
            .filter(|(col, s)| !s.is_empty() && collector.wants(*col))
            .map(|(col, s)| (col, s.to_string()))
            .collect();
        collector.push(number, cells)?;
    }
    Ok(())
}
