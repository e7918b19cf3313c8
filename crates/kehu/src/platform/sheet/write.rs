//! Writing exports, templates and error reports.
use std::borrow::Cow;

use rust_xlsxwriter::{Color, Format as CellFormat, Workbook, Worksheet, XlsxError};

use super::{Column, Limit, SheetError, XLSX_MAX_CELL_CHARS, XLSX_MAX_DATA_ROWS, t};

/// From this many rows on, xlsx worksheets stream rows through a temporary file instead of
/// keeping every cell in memory.
const CONSTANT_MEMORY_ROWS: usize = 5_000;
/// Column widths are measured on at most this many rows.
const WIDTH_SAMPLE_ROWS: usize = 2_000;
const MIN_WIDTH: usize = 8;
const MAX_WIDTH: usize = 60;
const MAX_XLSX_COLS: usize = 16_384;
/// Excel's built-in "Text" number format (`@`).
const TEXT_FORMAT: u8 = 49;

/// A header row and data rows, cells in header order.
pub(super) struct Table<'a> {
    pub(super) headers: &'a [String],
    pub(super) required: &'a [bool],
    pub(super) rows: &'a [Vec<String>],
    /// Required headers in red (templates).
    pub(super) highlight_required: bool,
}

impl Table<'_> {
    fn cell(row: &[String], col: usize) -> &str {
        row.get(col).map_or("", String::as_str)
    }
}

fn write_err(e: impl std::fmt::Display) -> SheetError {
    SheetError::Write {
        detail: e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Whether Excel would take a cell for a formula when opening a CSV: it starts with `=` or `@`
/// (or a tab/CR), or with `+`/`-` followed by more than a number or phone (`-5`, `+86 138…`
/// stay as they are).
pub(super) fn needs_formula_guard(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => chars.any(|c| {
            !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')' | '.' | ',' | '%'))
        }),
        _ => false,
    }
}

/// Whether a CSV cell is written with a leading `'`: when it needs the guard, and when it
/// already starts with `'`s before such text (so reading strips exactly the one we added).
pub(super) fn guarded(s: &str) -> bool {
    needs_formula_guard(s.trim_start_matches('\''))
}

fn guard(s: &str) -> Cow<'_, str> {
    if guarded(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// UTF-8 with BOM, CRLF, quoted where needed.
pub(super) fn csv(table: &Table<'_>) -> Result<Vec<u8>, SheetError> {
    let columns = table.headers.len();
    let mut out = Vec::with_capacity(64 * (table.rows.len() + 1));
    out.extend_from_slice("\u{FEFF}".as_bytes());
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    writer
        .write_record(table.headers.iter().map(|h| guard(h).into_owned()))
        .map_err(write_err)?;
    for row in table.rows {
        writer
            .write_record((0..columns).map(|c| guard(Table::cell(row, c)).into_owned()))
            .map_err(write_err)?;
    }
    writer.into_inner().map_err(write_err)
}

// ---------------------------------------------------------------------------------------------
// xlsx

/// How wide a text looks: CJK and full-width characters count double; the longest line.
pub(super) fn display_width(s: &str) -> usize {
    s.lines()
        .map(|line| {
            line.chars()
                .map(|c| if is_wide(c) { 2 } else { 1 })
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0)
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3040..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD)
}

/// A name Excel accepts for a worksheet: no `[]:*?/\`, no leading/trailing `'`, at most 31
/// characters, not empty.
pub(super) fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') && !c.is_control())
        .collect();
    let cleaned: String = cleaned.trim().trim_matches('\'').chars().take(31).collect();
    let cleaned = cleaned.trim().trim_matches('\'').to_string();
    if cleaned.is_empty() {
        "Sheet1".to_string()
    } else {
        cleaned
    }
}

fn column_widths(table: &Table<'_>) -> Vec<f64> {
    (0..table.headers.len())
        .map(|c| {
            let header = display_width(&table.headers[c]) + 2; // bold, filter button
            let data = table
                .rows
                .iter()
                .take(WIDTH_SAMPLE_ROWS)
                .map(|r| display_width(Table::cell(r, c)))
                .max()
                .unwrap_or(0);
            (header.max(data) + 2).clamp(MIN_WIDTH, MAX_WIDTH) as f64
        })
        .collect()
}

fn col_num(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

fn row_num(r: usize) -> u32 {
    u32::try_from(r).unwrap_or(u32::MAX)
}

/// One worksheet: bold frozen header with a filter, widths by content, every cell text.
fn fill_sheet(ws: &mut Worksheet, table: &Table<'_>) -> Result<(), SheetError> {
    let text = CellFormat::new().set_num_format_index(TEXT_FORMAT);
    let header = CellFormat::new()
        .set_bold()
        .set_num_format_index(TEXT_FORMAT)
        .set_background_color(Color::RGB(0xF2F2F2));
    let header_required = header.clone().set_font_color(Color::RGB(0xC00000));
    let columns = table.headers.len();
    for (c, width) in column_widths(table).into_iter().enumerate() {
        ws.set_column_width(col_num(c), width).map_err(write_err)?;
        ws.set_column_format(col_num(c), &text).map_err(write_err)?;
    }
    ws.set_freeze_panes(1, 0).map_err(write_err)?;
    for (c, h) in table.headers.iter().enumerate() {
        let required = table.required.get(c).copied().unwrap_or(false);
        let format = if required && table.highlight_required {
            &header_required
        } else {
            &header
        };
        ws.write_string_with_format(0, col_num(c), h, format)
            .map_err(write_err)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        for c in 0..columns {
            let value = Table::cell(row, c);
            if value.is_empty() {
                continue;
            }
            if value.len() > XLSX_MAX_CELL_CHARS && value.chars().count() > XLSX_MAX_CELL_CHARS {
                return Err(SheetError::CellTooLong {
                    row: r + 2,
                    column: table.headers[c].trim_end_matches('*').to_string(),
                    max: XLSX_MAX_CELL_CHARS,
                });
            }
            ws.write_string_with_format(row_num(r + 1), col_num(c), value, &text)
                .map_err(write_err)?;
        }
    }
    if columns > 0 {
        ws.autofilter(0, 0, row_num(table.rows.len()), col_num(columns - 1))
            .map_err(write_err)?;
    }
    Ok(())
}

/// An xlsx workbook with the table on its first sheet and, for templates, an instructions
/// sheet describing `instructions`.
pub(super) fn xlsx(
    table: &Table<'_>,
    name: &str,
    instructions: Option<&[Column]>,
    lang: &str,
) -> Result<Vec<u8>, SheetError> {
    if table.rows.len() > XLSX_MAX_DATA_ROWS {
        return Err(SheetError::TooLarge(Limit::Rows(XLSX_MAX_DATA_ROWS)));
    }
    if table.headers.len() > MAX_XLSX_COLS {
        return Err(write_err(XlsxError::RowColumnLimitError));
    }
    let mut workbook = Workbook::new();
    // Large exports stream rows to a temporary file; without a writable temp dir, fall back
    // to the in-memory worksheet.
    let streamed = table.rows.len() >= CONSTANT_MEMORY_ROWS
        && workbook.add_worksheet_with_constant_memory().is_ok();
    if !streamed {
        workbook.add_worksheet();
    }
    let ws = workbook.worksheet_from_index(0).map_err(write_err)?;
    // An invalid or reserved name keeps the default "Sheet1".
    let _ = ws.set_name(sheet_name(name));
    fill_sheet(ws, table)?;
    if let Some(columns) = instructions {
        instructions_sheet(workbook.add_worksheet(), columns, lang)?;
    }
    workbook.save_to_buffer().map_err(write_err)
}

/// The template's "说明"/"Instructions" sheet: each column, whether it is required, its hint;
/// then general notes.
fn instructions_sheet(
    ws: &mut Worksheet,
    columns: &[Column],
    lang: &str,
) -> Result<(), SheetError> {
    let _ = ws.set_name(sheet_name(&t(lang, "sheet.template.instructions")));
    let headers = vec![
        t(lang, "sheet.template.column"),
        t(lang, "sheet.template.required"),
        t(lang, "sheet.template.hint"),
    ];
    let (yes, no) = (t(lang, "sheet.yes"), t(lang, "sheet.no"));
    let rows: Vec<Vec<String>> = columns
        .iter()
        .map(|c| {
            vec![
                c.marked_header(lang),
                if c.required { yes.clone() } else { no.clone() },
                c.hint_text(lang).to_string(),
            ]
        })
        .collect();
    let table = Table {
        headers: &headers,
        required: &[false, false, false],
        rows: &rows,
        highlight_required: false,
    };
    let bold = CellFormat::new().set_bold();
    let widths = column_widths(&table);
    for (c, w) in widths.into_iter().enumerate() {
        ws.set_column_width(col_num(c), w).map_err(write_err)?;
    }
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, col_num(c), h, &bold)
            .map_err(write_err)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(row_num(r + 1), col_num(c), v)
                    .map_err(write_err)?;
            }
        }
    }
    let notes_at = rows.len() + 2;
    ws.write_string_with_format(row_num(notes_at), 0, t(lang, "sheet.template.notes"), &bold)
        .map_err(write_err)?;
    for (i, key) in ["note_header", "note_required", "note_example", "note_text"]
        .iter()
        .enumerate()
    {
        ws.write_string(
            row_num(notes_at + 1 + i),
            0,
            t(lang, &format!("sheet.template.{key}")),
        )
        .map_err(write_err)?;
    }
    Ok(())
}
