//! Excel (.xlsx) and CSV import/export with Chinese column headers (SPEC §1 "Import/export").
//!
//! One generic mechanism for every capability: a capability describes its columns once
//! (`&[Column]`), and this module reads uploads into [`Row`]s keyed by column key, writes
//! exports, import templates (with an instructions sheet) and row-level error reports.
//!
//! Reading is forgiving the way Chinese offices need it to be:
//! - headers match by their Chinese or English text, ignoring case, surrounding spaces,
//!   full-width/half-width forms and the `*` that templates put on required columns; column
//!   order is free and unknown columns are ignored;
//! - xlsx cells come back as the text a user sees (a phone stored as a number comes back as
//!   `13812345678`, dates as `YYYY-MM-DD`); legacy .xls content is read too;
//! - CSV may be UTF-8 (with or without BOM), UTF-16 with BOM, or GBK (what Chinese Excel saves),
//!   separated by commas, semicolons or tabs.
//!
//! Writing makes files Excel opens correctly: xlsx cells are all text (codes and phones keep
//! their leading zeros), CSV is UTF-8 with BOM and CRLF line ends.
use std::collections::BTreeMap;

use serde::Serialize;

#[path = "sheet/read.rs"]
mod read;
#[path = "sheet/write.rs"]
mod write;

#[cfg(test)]
#[path = "sheet/tests.rs"]
mod tests;

/// The most data rows [`read`] accepts (callers may lower it with [`read_with_limit`]).
pub const MAX_ROWS: usize = 1_000_000;
/// The largest upload [`read`] accepts, in bytes (50 MiB).
pub const MAX_BYTES: usize = 50 * 1024 * 1024;
/// The most data rows one xlsx worksheet can hold (Excel's 1,048,576 rows less the header).
pub const XLSX_MAX_DATA_ROWS: usize = 1_048_575;
/// The longest text one xlsx cell can hold, in characters.
pub const XLSX_MAX_CELL_CHARS: usize = 32_767;

/// A column of an import/export: its key in code, and the header text users see.
///
/// Declare a capability's columns once, as a constant:
/// ```text
/// const COLUMNS: &[Column] = &[
///     Column::new("name", "客户名称", "Customer name").required(),
///     Column::new("phone", "电话", "Phone").hint("手机或座机", "Mobile or landline"),
/// ];
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Column {
    pub key: &'static str,
    pub header_zh: &'static str,
    pub header_en: &'static str,
    /// The column must be present in an upload (its cells may still be validated per row by the
    /// caller); templates and exports mark it with a trailing `*`.
    pub required: bool,
    /// What to fill in, shown on the template's instructions sheet.
    pub hint_zh: &'static str,
    pub hint_en: &'static str,
}

impl Column {
    /// An optional column without hint.
    pub const fn new(key: &'static str, header_zh: &'static str, header_en: &'static str) -> Self {
        Column {
            key,
            header_zh,
            header_en,
            required: false,
            hint_zh: "",
            hint_en: "",
        }
    }

    /// The same column, required.
    pub const fn required(self) -> Self {
        Column {
            required: true,
            ..self
        }
    }

    /// The same column with a hint for the template's instructions sheet.
    pub const fn hint(self, hint_zh: &'static str, hint_en: &'static str) -> Self {
        Column {
            hint_zh,
            hint_en,
            ..self
        }
    }

    /// The header in a language ("en…" is English, anything else Chinese), without `*`.
    pub fn header(&self, lang: &str) -> &'static str {
        if is_en(lang) {
            self.header_en
        } else {
            self.header_zh
        }
    }

    /// The hint in a language ("en…" is English, anything else Chinese).
    pub fn hint_text(&self, lang: &str) -> &'static str {
        if is_en(lang) {
            self.hint_en
        } else {
            self.hint_zh
        }
    }

    /// The header as written in templates and exports: required columns end in `*`.
    pub fn marked_header(&self, lang: &str) -> String {
        let header = self.header(lang);
        if self.required {
            format!("{header}*")
        } else {
            header.to_string()
        }
    }
}

/// A spreadsheet file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    /// The format of an uploaded file by its name's extension (case-insensitive). `.xlsm` and
    /// legacy `.xls` uploads are Excel too ([`read`] looks at the content, not the name).
    pub fn from_filename(name: &str) -> Option<Format> {
        let (_, ext) = name.trim().rsplit_once('.')?;
        Format::from_extension(ext)
    }

    /// The format named by an extension or a `format=` parameter: `xlsx`, `xlsm`, `xls`, `csv`.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext
            .trim()
            .trim_start_matches('.')
            .to_ascii_lowercase()
            .as_str()
        {
            "xlsx" | "xlsm" | "xls" => Some(Format::Xlsx),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The HTTP `Content-Type` of a file written in this format.
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The file extension, without dot.
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }
}

/// One data row: 1-based row number as the user sees it in Excel (header = row 1, first data
/// row = row 2) and the cell texts by column key.
///
/// `cells` holds every known column that the file has (an empty string for an empty cell);
/// columns the file lacks are absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub number: usize,
    pub cells: BTreeMap<&'static str, String>,
}

impl Row {
    /// The cell of a column, trimmed; `None` when the column is absent or the cell is blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.cells
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// The cell of a column, untrimmed; `None` when the file lacks the column.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.cells.get(key).map(String::as_str)
    }
}

/// A problem with one cell (or a whole row when `column` is `None`), reported to the user as
/// row/column/reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: usize,
    /// The header text as the user sees it.
    pub column: Option<String>,
    pub key: Option<&'static str>,
    /// The reason, already in the user's language.
    pub message: String,
}

impl RowError {
    /// A problem with one cell; the column is named by its header in `lang`.
    pub fn cell(row: usize, column: &Column, lang: &str, message: impl Into<String>) -> Self {
        RowError {
            row,
            column: Some(column.header(lang).to_string()),
            key: Some(column.key),
            message: message.into(),
        }
    }

    /// A problem with a whole row.
    pub fn row(row: usize, message: impl Into<String>) -> Self {
        RowError {
            row,
            column: None,
            key: None,
            message: message.into(),
        }
    }
}

/// Which limit a file went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The file is bigger than this many bytes.
    Bytes(usize),
    /// The file has (or an export would have) more than this many data rows.
    Rows(usize),
    /// The workbook inflates to more than this many bytes.
    Inflated(u64),
}

/// How much an upload may hold; every limit is checked before the data it bounds is read, so a
/// small file that inflates hugely is refused without being inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The file's own size.
    pub max_bytes: usize,
    /// What a workbook's parts may inflate to, in all.
    pub max_inflated: u64,
    pub max_rows: usize,
    /// The longest cell, in characters.
    pub max_cell_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: MAX_BYTES,
            max_inflated: 200 * 1024 * 1024,
            max_rows: MAX_ROWS,
            max_cell_chars: XLSX_MAX_CELL_CHARS,
        }
    }
}

/// Why a file could not be read or written. [`SheetError::message`] gives the user's text;
/// `Display` is English, for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    /// Not an Excel or CSV file name (for callers checking an upload's name).
    #[error("unsupported file type: {name}")]
    UnsupportedFormat { name: String },
    /// The file has no non-blank row.
    #[error("the file is empty or has no header row")]
    Empty,
    /// The file has its header row but no data row under it.
    #[error("the file has no data rows")]
    NoDataRows,
    /// A required column is not in the header row; `header` is its Chinese header.
    #[error("required column missing: {header} ({header_en})")]
    MissingColumn {
        key: &'static str,
        header: &'static str,
        header_en: &'static str,
    },
    /// The header row names none of the expected columns (lists them, in both languages).
    #[error("no known column in the header row; expected: {expected_en}")]
    NoKnownColumn {
        expected_zh: String,
        expected_en: String,
    },
    /// Two header cells name the same column.
    #[error("column appears twice: {header}")]
    DuplicateColumn { key: &'static str, header: String },
    /// Over the size or row limit.
    #[error("file too large: {0:?}")]
    TooLarge(Limit),
    /// The bytes are not a readable Excel workbook.
    #[error("not a readable Excel file: {detail}")]
    BadXlsx { detail: String },
    /// The workbook has no worksheet.
    #[error("the workbook has no worksheet")]
    NoWorksheet,
    /// The CSV text is malformed.
    #[error("malformed CSV: {detail}")]
    BadCsv { detail: String },
    /// The CSV bytes are neither UTF-8, UTF-16 nor GBK.
    #[error("unrecognised text encoding")]
    Encoding,
    /// A cell is longer than `max` characters: one an xlsx cell cannot hold when writing, or
    /// one over the import limit when reading (row as the sheet shows it).
    #[error("cell too long at row {row}, column {column}")]
    CellTooLong {
        row: usize,
        column: String,
        max: usize,
    },
    /// Some text in a workbook is longer than `max` characters (found before its row is known).
    #[error("a cell is longer than {max} characters")]
    TextTooLong { max: usize },
    /// A cell holds a control character (row as the sheet shows it).
    #[error("control character at row {row}, column {column}")]
    ControlCharacter { row: usize, column: String },
    /// Writing the file failed.
    #[error("could not write the file: {detail}")]
    Write { detail: String },
}

impl SheetError {
    /// The error in the given language ("zh-CN" or "en"; others fall back to Chinese).
    pub fn message(&self, locale: &str) -> String {
        let locale = locale_of(locale);
        match self {
            Self::UnsupportedFormat { name } => {
                rust_i18n::t!(
                    "sheet.error.unsupported_format",
                    locale = locale,
                    name = name
                )
            }
            Self::Empty => rust_i18n::t!("sheet.error.empty", locale = locale),
            Self::NoDataRows => rust_i18n::t!("sheet.error.no_data_rows", locale = locale),
            Self::MissingColumn {
                header, header_en, ..
            } => {
                let header = if is_en(locale) { header_en } else { header };
                rust_i18n::t!(
                    "sheet.error.missing_column",
                    locale = locale,
                    header = header
                )
            }
            Self::NoKnownColumn {
                expected_zh,
                expected_en,
            } => {
                let expected = if is_en(locale) {
                    expected_en
                } else {
                    expected_zh
                };
                rust_i18n::t!(
                    "sheet.error.no_known_column",
                    locale = locale,
                    expected = expected
                )
            }
            Self::DuplicateColumn { header, .. } => {
                rust_i18n::t!(
                    "sheet.error.duplicate_column",
                    locale = locale,
                    header = header
                )
            }
            Self::TooLarge(Limit::Bytes(max)) => rust_i18n::t!(
                "sheet.error.too_large_bytes",
                locale = locale,
                max_mib = max / (1024 * 1024)
            ),
            Self::TooLarge(Limit::Rows(max)) => {
                rust_i18n::t!("sheet.error.too_many_rows", locale = locale, max = max)
            }
            Self::TooLarge(Limit::Inflated(max)) => rust_i18n::t!(
                "sheet.error.too_large_inflated",
                locale = locale,
                max_mib = max / (1024 * 1024)
            ),
            Self::TextTooLong { max } => {
                rust_i18n::t!("sheet.error.text_too_long", locale = locale, max = max)
            }
            Self::ControlCharacter { row, column } => rust_i18n::t!(
                "sheet.error.control_character",
                locale = locale,
                row = row,
                column = column
            ),
            Self::BadXlsx { detail } => {
                rust_i18n::t!("sheet.error.bad_xlsx", locale = locale, detail = detail)
            }
            Self::NoWorksheet => rust_i18n::t!("sheet.error.no_worksheet", locale = locale),
            Self::BadCsv { detail } => {
                rust_i18n::t!("sheet.error.bad_csv", locale = locale, detail = detail)
            }
            Self::Encoding => rust_i18n::t!("sheet.error.encoding", locale = locale),
            Self::CellTooLong { row, column, max } => rust_i18n::t!(
                "sheet.error.cell_too_long",
                locale = locale,
                row = row,
                column = column,
                max = max
            ),
            Self::Write { detail } => {
                rust_i18n::t!("sheet.error.write", locale = locale, detail = detail)
            }
        }
        .into_owned()
    }
}

/// Reads an upload: the first worksheet of a workbook, or a CSV file, into data rows keyed by
/// column key, within the default [`Limits`].
///
/// The header row is the first row naming a known column (up to 9 title or note rows above it
/// are skipped). Rows whose known columns are all blank are skipped; the others keep their row
/// numbers as the sheet shows them.
pub fn read(bytes: &[u8], format: Format, columns: &[Column]) -> Result<Vec<Row>, SheetError> {
    read_with_limits(bytes, format, columns, &Limits::default())
}

/// [`read`] with a lower row limit (`max_rows` above [`MAX_ROWS`] is lowered to it).
pub fn read_with_limit(
    bytes: &[u8],
    format: Format,
    columns: &[Column],
    max_rows: usize,
) -> Result<Vec<Row>, SheetError> {
    let limits = Limits {
        max_rows,
        ..Limits::default()
    };
    read_with_limits(bytes, format, columns, &limits)
}

/// [`read`] within `limits` (rows above [`MAX_ROWS`] and bytes above [`MAX_BYTES`] are lowered
/// to them). A workbook's parts are inflated once, counting, before the workbook is opened: one
/// that inflates past `max_inflated`, or holds a text longer than a cell may be, is refused
/// without being read. Cells are checked as they are read: a control character or a text over
/// `max_cell_chars` names its row and column.
///
/// The content decides how the bytes are read, not `format`: a workbook renamed `.csv`, or a
/// legacy `.xls` workbook, is still read as Excel.
pub fn read_with_limits(
    bytes: &[u8],
    format: Format,
    columns: &[Column],
    limits: &Limits,
) -> Result<Vec<Row>, SheetError> {
    let max_bytes = limits.max_bytes.min(MAX_BYTES);
    if bytes.len() > max_bytes {
        return Err(SheetError::TooLarge(Limit::Bytes(max_bytes)));
    }
    let max_rows = limits.max_rows.min(MAX_ROWS);
    let mut collector = read::Collector::new(columns, max_rows, limits.max_cell_chars);
    match read::sniff(bytes, format) {
        read::Content::Zip => {
            read::check_inflated(bytes, limits.max_inflated, limits.max_cell_chars)?;
            read::xlsx(bytes, &mut collector)?
        }
        read::Content::Ole => read::xls(bytes, &mut collector)?,
        read::Content::Text => read::csv(bytes, &mut collector)?,
    }
    collector.finish()
}

/// Writes an export: a header row in `lang` (required columns marked `*`) and `rows`, each
/// row's cells in the order of `columns` (missing cells are blank, extra cells ignored).
///
/// xlsx: one worksheet named `sheet_name` (made valid for Excel), bold frozen header with a
/// filter, column widths by content, every cell text; large exports stream through a
/// temporary file so memory stays flat. CSV: UTF-8 with BOM, CRLF, quoted where needed; a cell
/// that Excel would run as a formula (`=…`, `@…`, `+cmd…`) is prefixed with `'`, which [`read`]
/// removes again.
pub fn write(
    format: Format,
    columns: &[Column],
    rows: &[Vec<String>],
    lang: &str,
    sheet_name: &str,
) -> Result<Vec<u8>, SheetError> {
    let headers: Vec<String> = columns.iter().map(|c| c.marked_header(lang)).collect();
    let table = write::Table {
        headers: &headers,
        required: &columns.iter().map(|c| c.required).collect::<Vec<_>>(),
        rows,
        highlight_required: false,
    };
    match format {
        Format::Xlsx => write::xlsx(&table, sheet_name, None, lang),
        Format::Csv => write::csv(&table),
    }
}

/// Writes an import template: the header row in `lang` (required columns marked `*`) and one
/// example row. The xlsx template has a second sheet "说明"/"Instructions" listing each column,
/// whether it is required and its hint; its columns are formatted as text, so codes and phones
/// typed in keep their leading zeros.
pub fn template(
    format: Format,
    columns: &[Column],
    example: &[String],
    lang: &str,
) -> Result<Vec<u8>, SheetError> {
    let headers: Vec<String> = columns.iter().map(|c| c.marked_header(lang)).collect();
    let rows = [example.to_vec()];
    let table = write::Table {
        headers: &headers,
        required: &columns.iter().map(|c| c.required).collect::<Vec<_>>(),
        rows: &rows,
        highlight_required: true,
    };
    match format {
        Format::Xlsx => {
            let name = t(lang, "sheet.template.data_sheet");
            write::xlsx(&table, &name, Some(columns), lang)
        }
        Format::Csv => write::csv(&table),
    }
}

/// Writes a downloadable error report with the columns 行号/列/原因 (Row/Column/Reason), in
/// row order (whole-row problems have an empty column).
pub fn error_report(
    format: Format,
    errors: &[RowError],
    lang: &str,
) -> Result<Vec<u8>, SheetError> {
    let headers = vec![
        t(lang, "sheet.report.row"),
        t(lang, "sheet.report.column"),
        t(lang, "sheet.report.reason"),
    ];
    let mut sorted: Vec<&RowError> = errors.iter().collect();
    sorted.sort_by_key(|e| e.row);
    let rows: Vec<Vec<String>> = sorted
        .into_iter()
        .map(|e| {
            vec![
                e.row.to_string(),
                e.column.clone().unwrap_or_default(),
                e.message.clone(),
            ]
        })
        .collect();
    let table = write::Table {
        headers: &headers,
        required: &[false, false, false],
        rows: &rows,
        highlight_required: false,
    };
    match format {
        Format::Xlsx => write::xlsx(&table, &t(lang, "sheet.report.sheet"), None, lang),
        Format::Csv => write::csv(&table),
    }
}

/// True for an English language tag ("en", "en-US", …).
fn is_en(lang: &str) -> bool {
    lang.trim().to_ascii_lowercase().starts_with("en")
}

/// The locale this module's texts exist in: "en" or "zh-CN".
fn locale_of(lang: &str) -> &'static str {
    if is_en(lang) { "en" } else { "zh-CN" }
}

/// A text of this module in a language.
fn t(lang: &str, key: &str) -> String {
    rust_i18n::t!(key, locale = locale_of(lang)).into_owned()
}
