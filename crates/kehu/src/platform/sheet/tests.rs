use super::read::{datetime_text, decode, detect_delimiter, float_text, normalize_header};
use super::write::{display_width, needs_formula_guard, sheet_name};
use super::*;

use calamine::{ExcelDateTimeType, Reader as _, Xlsx};
use proptest::prelude::*;
use rust_xlsxwriter::{
    ExcelDateTime as XlsxDateTime, Format as XFormat, Formula, Workbook, Worksheet,
};

const COLUMNS: &[Column] = &[
    Column::new("code", "客户编码", "Customer code")
        .required()
        .hint("唯一编码，如 C0001", "Unique code, e.g. C0001"),
    Column::new("name", "客户名称", "Customer name").required(),
    Column::new("phone", "电话", "Phone").hint("手机或座机", "Mobile or landline"),
    Column::new("credit_code", "统一社会信用代码", "Credit code"),
    Column::new("founded", "成立日期", "Founded"),
    Column::new("note", "备注", "Note"),
];

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Rows as they come back from `read`: (row number, cells of every column in COLUMNS order).
fn table(rows: &[Row]) -> Vec<(usize, Vec<String>)> {
    rows.iter()
        .map(|r| {
            (
                r.number,
                COLUMNS
                    .iter()
                    .map(|c| r.raw(c.key).unwrap_or("").to_string())
                    .collect(),
            )
        })
        .collect()
}

fn sample_rows() -> Vec<Vec<String>> {
    vec![
        s(&[
            "C0001",
            "福州闽江食品有限公司",
            "13812345678",
            "91350100M000100Y43",
            "2019-03-01",
            "老客户",
        ]),
        s(&[
            "00123",
            "上海\"双引号\"贸易, 有限公司",
            "0591-87654321",
            "123456789012345678901234",
            "",
            "第一行\n第二行，带逗号, and \"quotes\"",
        ]),
        s(&["000", "  前后有空格  ", "+86 138 0000 0000", "", "", "-"]),
    ]
}

fn xlsx_with(build: impl FnOnce(&mut Worksheet)) -> Vec<u8> {
    let mut wb = Workbook::new();
    build(wb.add_worksheet());
    wb.save_to_buffer().expect("xlsx")
}

fn csv_bytes(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

// ---- round trips ----------------------------------------------------------------------------

#[test]
fn xlsx_round_trip_keeps_every_cell() {
    let rows = sample_rows();
    for lang in ["zh-CN", "en"] {
        let bytes = write(Format::Xlsx, COLUMNS, &rows, lang, "客户").expect("write");
        assert!(bytes.starts_with(b"PK"));
        let back = read(&bytes, Format::Xlsx, COLUMNS).expect("read");
        let expected: Vec<(usize, Vec<String>)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i + 2, r.clone()))
            .collect();
        assert_eq!(table(&back), expected, "{lang}");
        assert_eq!(back[0].get("name"), Some("福州闽江食品有限公司"));
        assert_eq!(back[2].get("name"), Some("前后有空格"));
        assert_eq!(back[2].raw("name"), Some("  前后有空格  "));
        assert_eq!(back[1].get("founded"), None);
    }
}

#[test]
fn csv_round_trip_keeps_every_cell() {
    let rows = sample_rows();
    for lang in ["zh-CN", "en"] {
        let bytes = write(Format::Csv, COLUMNS, &rows, lang, "ignored").expect("write");
        let back = read(&bytes, Format::Csv, COLUMNS).expect("read");
        // The multi-line field is one cell, so rows are numbered as Excel shows them.
        let expected: Vec<(usize, Vec<String>)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i + 2, r.clone()))
            .collect();
        assert_eq!(table(&back), expected, "{lang}");
    }
}

#[test]
fn csv_is_utf8_with_bom_crlf_and_quoted() {
    let bytes = write(Format::Csv, COLUMNS, &sample_rows(), "zh-CN", "x").expect("write");
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    let text = std::str::from_utf8(&bytes[3..]).expect("utf-8");
    let first_line = text.split("\r\n").next().expect("line");
    assert_eq!(
        first_line,
        "客户编码*,客户名称*,电话,统一社会信用代码,成立日期,备注"
    );
    assert!(text.contains("\"上海\"\"双引号\"\"贸易, 有限公司\""));
    assert!(text.contains("\"第一行\n第二行，带逗号, and \"\"quotes\"\"\""));
    assert!(text.ends_with("\r\n"));
    assert_eq!(text.matches("\r\n").count(), 4);

    let en = write(Format::Csv, COLUMNS, &[], "en", "x").expect("write");
    assert_eq!(
        std::str::from_utf8(&en[3..]).expect("utf-8"),
        "Customer code*,Customer name*,Phone,Credit code,Founded,Note\r\n"
    );
}

#[test]
fn csv_guards_formulas_and_reads_them_back() {
    let cells = [
        "=1+1",
        "@SUM(A1)",
        "+cmd|' /C calc'!A0",
        "-5",
        "+86 138 0000 0000",
        "-",
        "'quoted",
    ];
    let columns: Vec<Column> = ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .zip(["A", "B", "C", "D", "E", "F", "G"])
        .map(|(k, h)| Column::new(k, h, h))
        .collect();
    let rows = vec![s(&cells)];
    let bytes = write(Format::Csv, &columns, &rows, "en", "x").expect("write");
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    assert!(
        text.contains("'=1+1,'@SUM(A1),'+cmd|' /C calc'!A0,-5,+86 138 0000 0000,-,'quoted"),
        "{text}"
    );
    let back = read(&bytes, Format::Csv, &columns).expect("read");
    let got: Vec<&str> = columns
        .iter()
        .map(|c| back[0].raw(c.key).unwrap_or(""))
        .collect();
    assert_eq!(got, cells);
    // xlsx cells are text, never formulas: no guard needed.
    let bytes = write(Format::Xlsx, &columns, &rows, "en", "x").expect("write");
    let back = read(&bytes, Format::Xlsx, &columns).expect("read");
    let got: Vec<&str> = columns
        .iter()
        .map(|c| back[0].raw(c.key).unwrap_or(""))
        .collect();
    assert_eq!(got, cells);
}

#[test]
fn xlsx_export_has_text_cells_bold_frozen_header_and_widths() {
    let bytes = write(Format::Xlsx, COLUMNS, &sample_rows(), "zh-CN", "客户[2024]").expect("write");
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(&bytes)).expect("open");
    assert_eq!(wb.sheet_names(), vec!["客户2024".to_string()]);
    let range = wb.worksheet_range("客户2024").expect("sheet");
    // Phones and codes were written as strings, not numbers.
    assert_eq!(
        range.get((1, 2)),
        Some(&calamine::Data::String("13812345678".into()))
    );
    assert_eq!(
        range.get((2, 0)),
        Some(&calamine::Data::String("00123".into()))
    );
    let sheet_xml = unzip(&bytes, "xl/worksheets/sheet1.xml");
    assert!(
        sheet_xml.contains(
            r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
        ),
        "{sheet_xml}"
    );
    assert!(sheet_xml.contains("<autoFilter ref=\"A1:F4\"/>"));
    assert!(sheet_xml.contains("<cols>"));
    let styles = unzip(&bytes, "xl/styles.xml");
    assert!(styles.contains("<b/>"));
}

/// A part of an xlsx file, found by scanning the zip's local headers (parts are stored with
/// deflate, so this inflates via calamine's own reader instead: read the raw XML through a
/// second, tiny zip reader is overkill; the parts we check are small).
fn unzip(bytes: &[u8], part: &str) -> String {
    use std::io::Read as _;
    let mut archive = zip_reader(bytes);
    let mut out = String::new();
    archive
        .by_name(part)
        .expect("part")
        .read_to_string(&mut out)
        .expect("read part");
    out
}

fn zip_reader(bytes: &[u8]) -> zip::ZipArchive<std::io::Cursor<&[u8]>> {
    zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip")
}

#[test]
fn column_widths_count_chinese_double() {
    assert_eq!(display_width("abc"), 3);
    assert_eq!(display_width("客户"), 4);
    assert_eq!(display_width("ＡＢ"), 4);
    assert_eq!(display_width("短\n长一点的"), 8);
    let rows = vec![s(&["C1", "一个非常非常长的客户名称有限公司"])];
    let bytes = write(Format::Xlsx, &COLUMNS[..2], &rows, "zh-CN", "x").expect("write");
    let xml = unzip(&bytes, "xl/worksheets/sheet1.xml");
    // Column B: 16 Chinese characters = 32, plus 2 of padding.
    assert!(
        xml.contains(r#"<col min="2" max="2" width="34.7109375""#),
        "{xml}"
    );
}

// ---- header matching ------------------------------------------------------------------------

#[test]
fn headers_match_zh_en_star_fullwidth_and_case() {
    assert_eq!(normalize_header("  客户名称 * "), "客户名称");
    assert_eq!(normalize_header("*客户名称"), "客户名称");
    assert_eq!(normalize_header("客户名称＊"), "客户名称");
    assert_eq!(
        normalize_header("ＣＵＳＴＯＭＥＲ　ＮＡＭＥ"),
        "customer name"
    );
    assert_eq!(normalize_header("Customer   Name*"), "customer name");
    let text = "　客户编码＊　,CUSTOMER NAME *,ｐｈｏｎｅ,统一社会信用代码*\r\nC1,甲公司,13800000000,91350100M000100Y43\r\n";
    let rows = read(&csv_bytes(text), Format::Csv, COLUMNS).expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].number, 2);
    assert_eq!(rows[0].get("code"), Some("C1"));
    assert_eq!(rows[0].get("name"), Some("甲公司"));
    assert_eq!(rows[0].get("phone"), Some("13800000000"));
    assert_eq!(rows[0].get("credit_code"), Some("91350100M000100Y43"));
    // Columns the file lacks are absent, not empty.
    assert_eq!(rows[0].raw("note"), None);
    assert_eq!(rows[0].get("note"), None);
}

#[test]
fn column_order_is_free_and_unknown_columns_are_ignored() {
    let bytes = xlsx_with(|ws| {
        for (c, h) in ["备注", "无关列", "Customer Name", "客户编码*"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).expect("write");
        }
        for (c, v) in ["备注一", "忽略", "乙公司", "C2"].iter().enumerate() {
            ws.write_string(1, c as u16, *v).expect("write");
        }
    });
    let rows = read(&bytes, Format::Xlsx, COLUMNS).expect("read");
    assert_eq!(rows.len(), 1);
    let keys: Vec<&str> = rows[0].cells.keys().copied().collect();
    assert_eq!(keys, vec!["code", "name", "note"]);
    assert_eq!(rows[0].get("code"), Some("C2"));
    assert_eq!(rows[0].get("name"), Some("乙公司"));
    assert_eq!(rows[0].get("note"), Some("备注一"));
}

#[test]
fn missing_required_column_is_an_error() {
    let err = read(&csv_bytes("客户编码,电话\nC1,1\n"), Format::Csv, COLUMNS).expect_err("missing");
    assert_eq!(
        err,
        SheetError::MissingColumn {
            key: "name",
            header: "客户名称",
            header_en: "Customer name"
        }
    );
    assert!(
        err.message("zh-CN").contains("客户名称"),
        "{}",
        err.message("zh-CN")
    );
    assert!(
        err.message("en").contains("Customer name"),
        "{}",
        err.message("en")
    );
}

#[test]
fn duplicate_header_is_an_error() {
    let err = read(
        &csv_bytes("客户编码,客户名称,Customer name\nC1,a,b\n"),
        Format::Csv,
        COLUMNS,
    )
    .expect_err("duplicate");
    assert_eq!(
        err,
        SheetError::DuplicateColumn {
            key: "name",
            header: "Customer name".into()
        }
    );
    // Duplicate unknown columns do not matter.
    let rows = read(
        &csv_bytes("客户编码,客户名称,x,x\nC1,a,1,2\n"),
        Format::Csv,
        COLUMNS,
    )
    .expect("read");
    assert_eq!(rows.len(), 1);
}

#[test]
fn header_naming_no_known_column_is_an_error() {
    let optional = [Column::new("a", "甲", "A"), Column::new("b", "乙", "B")];
    let err = read(&csv_bytes("x,y\n1,2\n"), Format::Csv, &optional).expect_err("unknown");
    assert!(matches!(err, SheetError::NoKnownColumn { .. }));
    assert!(
        err.message("zh-CN").contains("甲、乙"),
        "{}",
        err.message("zh-CN")
    );
    assert!(err.message("en").contains("A, B"), "{}", err.message("en"));
}

#[test]
fn empty_files_are_errors() {
    for bytes in [&b""[..], b"\r\n\r\n", b",,,\n,,\n", b"\xEF\xBB\xBF"] {
        assert_eq!(
            read(bytes, Format::Csv, COLUMNS),
            Err(SheetError::Empty),
            "{bytes:?}"
        );
    }
    let empty = xlsx_with(|_| {});
    assert_eq!(read(&empty, Format::Xlsx, COLUMNS), Err(SheetError::Empty));
    // A header alone has no data rows, which is said rather than read as nothing to do.
    let header_only = write(Format::Xlsx, COLUMNS, &[], "zh-CN", "x").expect("write");
    assert_eq!(
        read(&header_only, Format::Xlsx, COLUMNS),
        Err(SheetError::NoDataRows)
    );
    assert_eq!(
        read(
            "客户编码,客户名称\r\n,\r\n".as_bytes(),
            Format::Csv,
            COLUMNS
        ),
        Err(SheetError::NoDataRows)
    );
}

#[test]
fn header_below_title_rows_keeps_sheet_numbers() {
    let bytes = xlsx_with(|ws| {
        ws.write_string(0, 0, "福州闽江食品有限公司客户名单")
            .expect("w");
        ws.write_string(2, 0, "客户编码").expect("w");
        ws.write_string(2, 1, "客户名称").expect("w");
        ws.write_string(3, 0, "C1").expect("w");
        ws.write_string(3, 1, "甲").expect("w");
    });
    let rows = read(&bytes, Format::Xlsx, COLUMNS).expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].number, 4);
    assert_eq!(rows[0].get("name"), Some("甲"));
    // Ten rows that name no column: that is no header at all.
    let text = "标题\n".repeat(12) + "客户编码,客户名称\nC1,甲\n";
    let err = read(text.as_bytes(), Format::Csv, COLUMNS).expect_err("no header");
    assert!(matches!(err, SheetError::NoKnownColumn { .. }), "{err:?}");
    let text = "标题\n".repeat(9) + "客户编码,客户名称\nC1,甲\n";
    let rows = read(text.as_bytes(), Format::Csv, COLUMNS).expect("read");
    assert_eq!(rows[0].number, 11);
}

// ---- encodings and separators ---------------------------------------------------------------

#[test]
fn gbk_csv_is_decoded() {
    let text = "客户编码,客户名称,备注\r\nC1,福州闽江食品有限公司,“引号”与全角，逗号\r\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gbk).is_err());
    let rows = read(&gbk, Format::Csv, COLUMNS).expect("read");
    assert_eq!(rows[0].get("name"), Some("福州闽江食品有限公司"));
    assert_eq!(rows[0].get("note"), Some("“引号”与全角，逗号"));
}

#[test]
fn utf8_bom_csv_is_decoded() {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice("客户编码,客户名称\nC1,甲公司\n".as_bytes());
    let rows = read(&bytes, Format::Csv, COLUMNS).expect("read");
    assert_eq!(rows[0].get("code"), Some("C1"));
    assert_eq!(rows[0].get("name"), Some("甲公司"));
}

#[test]
fn utf16_unicode_text_is_decoded() {
    // Excel's "Unicode text": UTF-16LE with BOM, tab-separated.
    let text = "客户编码\t客户名称\r\nC1\t甲公司\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let rows = read(&bytes, Format::Csv, COLUMNS).expect("read");
    assert_eq!(rows[0].get("name"), Some("甲公司"));
}

#[test]
fn undecodable_bytes_are_an_encoding_error() {
    assert_eq!(decode(&[0x81, 0x20, 0xFF]), Err(SheetError::Encoding));
    assert_eq!(
        read(&[0xEF, 0xBB, 0xBF, 0xC3, 0x28], Format::Csv, COLUMNS),
        Err(SheetError::Encoding)
    );
}

#[test]
fn semicolon_and_tab_separators_are_detected() {
    assert_eq!(detect_delimiter("a,b;c\n"), b',');
    assert_eq!(detect_delimiter("\n\na;b\n"), b';');
    assert_eq!(detect_delimiter("a\tb\n"), b'\t');
    assert_eq!(detect_delimiter("a\n"), b',');
    for sep in [";", "\t"] {
        let text = format!("客户编码{sep}客户名称{sep}备注\nC1{sep}甲{sep}\"含,逗号\"\n");
        let rows = read(text.as_bytes(), Format::Csv, COLUMNS).expect("read");
        assert_eq!(rows[0].get("note"), Some("含,逗号"), "{sep:?}");
    }
}

// ---- cell values ----------------------------------------------------------------------------

#[test]
fn xlsx_numbers_dates_booleans_and_formulas_read_as_users_see_them() {
    let columns = [
        Column::new("phone", "电话", "Phone"),
        Column::new("date", "日期", "Date"),
        Column::new("datetime", "时间", "Time"),
        Column::new("amount", "金额", "Amount"),
        Column::new("flag", "标志", "Flag"),
        Column::new("formula", "公式", "Formula"),
        Column::new("credit", "信用代码", "Credit"),
        Column::new("big", "大数", "Big"),
    ];
    let bytes = xlsx_with(|ws| {
        for (c, col) in columns.iter().enumerate() {
            ws.write_string(0, c as u16, col.header_zh).expect("w");
        }
        let date = XFormat::new().set_num_format("yyyy-mm-dd");
        let datetime = XFormat::new().set_num_format("yyyy/m/d h:mm");
        ws.write_number(1, 0, 13812345678.0).expect("w");
        ws.write_datetime_with_format(1, 1, XlsxDateTime::from_ymd(2024, 2, 29).expect("d"), &date)
            .expect("w");
        ws.write_datetime_with_format(
            1,
            2,
            XlsxDateTime::from_ymd(2024, 12, 31)
                .expect("d")
                .and_hms(8, 5, 0)
                .expect("t"),
            &datetime,
        )
        .expect("w");
        ws.write_number(1, 3, 1234.5).expect("w");
        ws.write_boolean(1, 4, true).expect("w");
        ws.write_formula(
            1,
            5,
            Formula::new("=0.1+0.2").set_result("0.30000000000000004"),
        )
        .expect("w");
        ws.write_string(1, 6, "91350100M000100Y43").expect("w");
        ws.write_number(1, 7, 123456789012.0).expect("w");
        ws.write_number(2, 3, -7.0).expect("w");
        ws.write_boolean(2, 4, false).expect("w");
    });
    let rows = read(&bytes, Format::Xlsx, &columns).expect("read");
    assert_eq!(rows[0].get("phone"), Some("13812345678"));
    assert_eq!(rows[0].get("date"), Some("2024-02-29"));
    assert_eq!(rows[0].get("datetime"), Some("2024-12-31 08:05"));
    assert_eq!(rows[0].get("amount"), Some("1234.5"));
    assert_eq!(rows[0].get("flag"), Some("true"));
    assert_eq!(rows[0].get("formula"), Some("0.3"));
    assert_eq!(rows[0].get("credit"), Some("91350100M000100Y43"));
    assert_eq!(rows[0].get("big"), Some("123456789012"));
    assert_eq!(rows[1].get("amount"), Some("-7"));
    assert_eq!(rows[1].get("flag"), Some("false"));
}

#[test]
fn float_text_is_what_excel_shows() {
    assert_eq!(float_text(13812345678.0), "13812345678");
    assert_eq!(float_text(0.1 + 0.2), "0.3");
    assert_eq!(float_text(1.5), "1.5");
    assert_eq!(float_text(-0.0), "0");
    assert_eq!(float_text(-12.25), "-12.25");
    assert_eq!(float_text(1e20), "100000000000000000000");
    assert_eq!(float_text(0.000123), "0.000123");
    assert_eq!(float_text(2.9999999999999996), "3");
}

#[test]
fn datetime_text_forms() {
    let dt = |v: f64| calamine::ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false);
    assert_eq!(datetime_text(&dt(45351.0)), "2024-02-29");
    assert_eq!(datetime_text(&dt(45351.5)), "2024-02-29 12:00");
    assert_eq!(
        datetime_text(&dt(45351.5 + 5.0 / 86400.0)),
        "2024-02-29 12:00:05"
    );
    assert_eq!(datetime_text(&dt(0.75)), "18:00");
    let duration = calamine::ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
    assert_eq!(datetime_text(&duration), "36:00:00");
    let d1904 = calamine::ExcelDateTime::new(0.0 + 43889.0, ExcelDateTimeType::DateTime, true);
    assert_eq!(datetime_text(&d1904), "2024-02-29");
}

// ---- row numbers and sizes ------------------------------------------------------------------

#[test]
fn xlsx_empty_rows_are_skipped_but_numbers_stay() {
    let bytes = xlsx_with(|ws| {
        ws.write_string(0, 0, "客户编码").expect("w");
        ws.write_string(0, 1, "客户名称").expect("w");
        ws.write_string(0, 2, "其他").expect("w");
        ws.write_string(1, 0, "C1").expect("w");
        // Row 3: blank strings only; row 4: only an unknown column; row 5 absent.
        ws.write_string(2, 0, "  ").expect("w");
        ws.write_string(3, 2, "x").expect("w");
        ws.write_string(5, 1, "乙").expect("w");
    });
    let rows = read(&bytes, Format::Xlsx, COLUMNS).expect("read");
    let numbers: Vec<usize> = rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, vec![2, 6]);
    assert_eq!(rows[1].get("code"), None);
    assert_eq!(rows[1].raw("code"), Some(""));
    assert_eq!(rows[1].get("name"), Some("乙"));
}

#[test]
fn csv_empty_lines_and_multiline_fields_keep_excel_numbers() {
    let text = "\r\n客户编码,客户名称\r\nC1,甲\r\n\r\n,\r\nC2,\"多\r\n行\"\r\n\r\n\r\nC3,丙";
    let rows = read(text.as_bytes(), Format::Csv, COLUMNS).expect("read");
    let numbers: Vec<(usize, &str)> = rows
        .iter()
        .map(|r| (r.number, r.get("code").unwrap_or("")))
        .collect();
    assert_eq!(numbers, vec![(3, "C1"), (6, "C2"), (9, "C3")]);
    assert_eq!(rows[1].get("name"), Some("多\r\n行"));
}

#[test]
fn thousand_rows_read_correctly() {
    let rows: Vec<Vec<String>> = (0..1000)
        .map(|i| {
            s(&[
                &format!("{i:06}"),
                &format!("客户{i}"),
                &format!("138{i:08}"),
                "",
                "",
                if i % 7 == 0 { "含,逗号\n换行" } else { "" },
            ])
        })
        .collect();
    for format in [Format::Xlsx, Format::Csv] {
        let bytes = write(format, COLUMNS, &rows, "zh-CN", "客户").expect("write");
        let back = read(&bytes, format, COLUMNS).expect("read");
        assert_eq!(back.len(), 1000);
        for (i, row) in back.iter().enumerate() {
            assert_eq!(row.number, i + 2);
            assert_eq!(row.get("code"), Some(format!("{i:06}").as_str()));
            assert_eq!(row.get("phone"), Some(format!("138{i:08}").as_str()));
        }
        assert_eq!(back[7].get("note"), Some("含,逗号\n换行"));
    }
}

#[test]
fn streamed_xlsx_export_reads_back() {
    // Above the constant-memory threshold: inline strings, rows flushed as written.
    let rows: Vec<Vec<String>> = (0..6_000)
        .map(|i| s(&[&format!("{i:05}"), &format!("名称{i}")]))
        .collect();
    let bytes = write(Format::Xlsx, &COLUMNS[..2], &rows, "en", "Customers").expect("write");
    let xml = unzip(&bytes, "xl/worksheets/sheet1.xml");
    assert!(xml.contains("inlineStr"));
    assert!(xml.contains("state=\"frozen\""));
    let back = read(&bytes, Format::Xlsx, COLUMNS).expect("read");
    assert_eq!(back.len(), 6_000);
    assert_eq!(back[5_999].number, 6_001);
    assert_eq!(back[5_999].get("code"), Some("05999"));
    assert_eq!(back[5_999].get("name"), Some("名称5999"));
}

#[test]
fn row_and_size_limits() {
    let rows: Vec<Vec<String>> = (0..11).map(|i| s(&[&format!("C{i}"), "x"])).collect();
    for format in [Format::Xlsx, Format::Csv] {
        let bytes = write(format, &COLUMNS[..2], &rows, "zh-CN", "x").expect("write");
        assert_eq!(
            read_with_limit(&bytes, format, COLUMNS, 10),
            Err(SheetError::TooLarge(Limit::Rows(10)))
        );
        assert_eq!(
            read_with_limit(&bytes, format, COLUMNS, 11).map(|r| r.len()),
            Ok(11)
        );
    }
    let big = vec![b'a'; MAX_BYTES + 1];
    let err = read(&big, Format::Csv, COLUMNS).expect_err("too large");
    assert_eq!(err, SheetError::TooLarge(Limit::Bytes(MAX_BYTES)));
    assert_eq!(err.message("zh-CN"), "文件过大：不能超过 50 MiB");
    assert_eq!(err.message("en"), "The file is too large: at most 50 MiB");
}

#[test]
fn content_decides_how_bytes_are_read() {
    let xlsx = write(Format::Xlsx, COLUMNS, &sample_rows(), "zh-CN", "x").expect("write");
    // A workbook renamed .csv is still a workbook.
    assert_eq!(read(&xlsx, Format::Csv, COLUMNS).map(|r| r.len()), Ok(3));
    // Text named .xlsx is not.
    let err = read(b"a,b\n1,2\n", Format::Xlsx, COLUMNS).expect_err("not xlsx");
    assert!(matches!(err, SheetError::BadXlsx { .. }), "{err:?}");
    assert!(err.message("zh-CN").starts_with("无法读取该 Excel 文件"));
    // A broken zip.
    let err = read(&xlsx[..xlsx.len() / 2], Format::Xlsx, COLUMNS).expect_err("broken");
    assert!(matches!(err, SheetError::BadXlsx { .. }), "{err:?}");
}

// ---- templates and reports ------------------------------------------------------------------

#[test]
fn xlsx_template_has_example_and_instructions() {
    let example = s(&["C0001", "示例公司", "0591-88888888"]);
    let bytes = template(Format::Xlsx, COLUMNS, &example, "zh-CN").expect("template");
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(&bytes)).expect("open");
    assert_eq!(
        wb.sheet_names(),
        vec!["数据".to_string(), "说明".to_string()]
    );
    let help = wb.worksheet_range("说明").expect("sheet");
    let cell = |r: u32, c: u32| {
        help.get_value((r, c))
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        (cell(0, 0), cell(0, 1), cell(0, 2)),
        ("列名".into(), "必填".into(), "填写说明".into())
    );
    assert_eq!(
        (cell(1, 0), cell(1, 1), cell(1, 2)),
        ("客户编码*".into(), "是".into(), "唯一编码，如 C0001".into())
    );
    assert_eq!(
        (cell(3, 0), cell(3, 1), cell(3, 2)),
        ("电话".into(), "否".into(), "手机或座机".into())
    );
    assert!(cell(8, 0).contains("注意事项"));
    // The template itself imports: the example row is row 2.
    let rows = read(&bytes, Format::Xlsx, COLUMNS).expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].number, 2);
    assert_eq!(rows[0].get("phone"), Some("0591-88888888"));
    assert_eq!(rows[0].get("note"), None);
    // Required headers stand out in red, and the data columns are text.
    let styles = unzip(&bytes, "xl/styles.xml");
    assert!(styles.contains("FFC00000"));
    assert!(styles.contains("numFmtId=\"49\""), "{styles}");

    let en = template(Format::Xlsx, COLUMNS, &example, "en").expect("template");
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(&en)).expect("open");
    assert_eq!(
        wb.sheet_names(),
        vec!["Data".to_string(), "Instructions".to_string()]
    );
    let help = wb.worksheet_range("Instructions").expect("sheet");
    assert_eq!(
        help.get_value((1, 1)).map(|v| v.to_string()),
        Some("Yes".into())
    );
    assert_eq!(
        help.get_value((1, 2)).map(|v| v.to_string()),
        Some("Unique code, e.g. C0001".into())
    );
    assert_eq!(read(&en, Format::Xlsx, COLUMNS).map(|r| r.len()), Ok(1));
}

#[test]
fn csv_template_is_header_and_example() {
    let bytes =
        template(Format::Csv, COLUMNS, &s(&["C0001", "示例公司"]), "zh-CN").expect("template");
    assert_eq!(
        std::str::from_utf8(&bytes[3..]).expect("utf-8"),
        "客户编码*,客户名称*,电话,统一社会信用代码,成立日期,备注\r\nC0001,示例公司,,,,\r\n"
    );
}

#[test]
fn error_report_lists_row_column_reason() {
    let errors = vec![
        RowError::cell(5, &COLUMNS[1], "zh-CN", "不能为空"),
        RowError::row(3, "与第 2 行重复"),
        RowError {
            row: 4,
            column: Some("电话".into()),
            key: Some("phone"),
            message: "格式不对, \"13x\"".into(),
        },
    ];
    let report_columns = [
        Column::new("row", "行号", "Row"),
        Column::new("column", "列", "Column"),
        Column::new("reason", "原因", "Reason"),
    ];
    for format in [Format::Xlsx, Format::Csv] {
        let bytes = error_report(format, &errors, "zh-CN").expect("report");
        let rows = read(&bytes, format, &report_columns).expect("read");
        let got: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r.get("row").unwrap_or(""),
                    r.get("column").unwrap_or(""),
                    r.get("reason").unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("3", "", "与第 2 行重复"),
                ("4", "电话", "格式不对, \"13x\""),
                ("5", "客户名称", "不能为空"),
            ]
        );
    }
    let en = error_report(Format::Csv, &errors, "en").expect("report");
    assert!(
        std::str::from_utf8(&en[3..])
            .expect("utf-8")
            .starts_with("Row,Column,Reason\r\n")
    );
    let xlsx = error_report(Format::Xlsx, &errors, "en").expect("report");
    let wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(&xlsx)).expect("open");
    assert_eq!(wb.sheet_names(), vec!["Errors".to_string()]);
}

// ---- small pieces ---------------------------------------------------------------------------

#[test]
fn formats_by_name() {
    assert_eq!(Format::from_filename("客户.XLSX"), Some(Format::Xlsx));
    assert_eq!(Format::from_filename("a.b.csv"), Some(Format::Csv));
    assert_eq!(Format::from_filename("old.xls"), Some(Format::Xlsx));
    assert_eq!(Format::from_filename("x.txt"), None);
    assert_eq!(Format::from_filename("csv"), None);
    assert_eq!(Format::from_extension(".csv"), Some(Format::Csv));
    assert_eq!(Format::Xlsx.extension(), "xlsx");
    assert_eq!(Format::Csv.extension(), "csv");
    assert_eq!(
        Format::Xlsx.content_type(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(Format::Csv.content_type(), "text/csv; charset=utf-8");
}

#[test]
fn sheet_names_are_made_valid() {
    assert_eq!(sheet_name("客户/供应商:2024?"), "客户供应商2024");
    assert_eq!(sheet_name("'引号'"), "引号");
    assert_eq!(sheet_name("   "), "Sheet1");
    assert_eq!(sheet_name(&"长".repeat(40)).chars().count(), 31);
    // A reserved name keeps the default rather than failing.
    let bytes = write(Format::Xlsx, COLUMNS, &[], "en", "History").expect("write");
    let wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(&bytes)).expect("open");
    assert_eq!(wb.sheet_names().len(), 1);
}

#[test]
fn overlong_xlsx_cell_is_reported() {
    let rows = vec![s(&["C1", &"长".repeat(XLSX_MAX_CELL_CHARS + 1)])];
    let err = write(Format::Xlsx, COLUMNS, &rows, "zh-CN", "x").expect_err("too long");
    assert_eq!(
        err,
        SheetError::CellTooLong {
            row: 2,
            column: "客户名称".into(),
            max: XLSX_MAX_CELL_CHARS,
        }
    );
    assert_eq!(
        err.message("zh-CN"),
        "第 2 行“客户名称”列：内容超过 32767 个字符"
    );
}

#[test]
fn every_error_has_both_translations() {
    let errors = [
        SheetError::UnsupportedFormat {
            name: "a.pdf".into(),
        },
        SheetError::Empty,
        SheetError::MissingColumn {
            key: "k",
            header: "客户",
            header_en: "Customer",
        },
        SheetError::NoKnownColumn {
            expected_zh: "甲".into(),
            expected_en: "A".into(),
        },
        SheetError::DuplicateColumn {
            key: "k",
            header: "客户".into(),
        },
        SheetError::TooLarge(Limit::Bytes(MAX_BYTES)),
        SheetError::TooLarge(Limit::Rows(10)),
        SheetError::BadXlsx { detail: "d".into() },
        SheetError::NoWorksheet,
        SheetError::BadCsv { detail: "d".into() },
        SheetError::Encoding,
        SheetError::CellTooLong {
            row: 2,
            column: "c".into(),
            max: 5,
        },
        SheetError::TextTooLong { max: 5 },
        SheetError::NoDataRows,
        SheetError::ControlCharacter {
            row: 2,
            column: "c".into(),
        },
        SheetError::TooLarge(Limit::Inflated(1024 * 1024)),
        SheetError::Write { detail: "d".into() },
    ];
    for e in &errors {
        let (zh, en) = (e.message("zh-CN"), e.message("en"));
        assert!(
            !zh.contains("sheet.") && !en.contains("sheet."),
            "{zh} / {en}"
        );
        assert!(!zh.contains("%{") && !en.contains("%{"), "{zh} / {en}");
        assert_ne!(zh, en);
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{zh}"
        );
        // Unknown languages fall back to Chinese.
        assert_eq!(e.message("fr"), zh);
        assert_eq!(e.message("en-US"), en);
    }
}

#[test]
fn formula_guard_cases() {
    for yes in ["=A1", "@x", "+cmd", "-2+A1", "\tx", "-x"] {
        assert!(needs_formula_guard(yes), "{yes:?}");
    }
    for no in [
        "",
        "-",
        "-5",
        "+86 138 0000 0000",
        "0591-123",
        "a=b",
        "(0591) 123",
        "-1.5%",
    ] {
        assert!(!needs_formula_guard(no), "{no:?}");
    }
}

// ---- properties -----------------------------------------------------------------------------

fn cell_text() -> impl Strategy<Value = String> {
    // Printable text users type: Latin, digits, punctuation incl. quotes and separators,
    // Chinese, full-width forms, spaces and newlines.
    proptest::string::string_regex(
        "[a-zA-Z0-9 _,;\"'=+@\\-.\t\r\n\u{4e00}-\u{4e50}\u{ff01}-\u{ff5e}\u{3000}]{0,12}",
    )
    .expect("regex")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_text_round_trips(rows in proptest::collection::vec(proptest::collection::vec(cell_text(), 6), 1..8)) {
        // Rows whose cells are all blank are skipped on reading; keep one non-blank cell.
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .map(|mut r| { r[0] = format!("K{}", r[0]); r })
            .collect();
        for format in [Format::Xlsx, Format::Csv] {
            let bytes = write(format, COLUMNS, &rows, "zh-CN", "x").expect("write");
            let back = read(&bytes, format, COLUMNS).expect("read");
            let expected: Vec<(usize, Vec<String>)> =
                rows.iter().enumerate().map(|(i, r)| (i + 2, r.clone())).collect();
            prop_assert_eq!(table(&back), expected);
        }
    }
}

#[test]
fn unusual_characters_round_trip() {
    let cells = [
        "a\r\nb",
        "_x0041_",
        "tab\there",
        "emoji 😀",
        "  ",
        "\u{3000}全角空格",
    ];
    let mut columns = vec![Column::new("k", "K", "K")];
    columns.extend(
        ["a", "b", "c", "d", "e", "f"]
            .iter()
            .zip(["A", "B", "C", "D", "E", "F"])
            .map(|(k, h)| Column::new(k, h, h)),
    );
    let mut row = s(&cells);
    row.insert(0, "K".into());
    for format in [Format::Xlsx, Format::Csv] {
        let bytes = write(format, &columns, &[row.clone()], "en", "x").expect("write");
        let back = read(&bytes, format, &columns).expect("read");
        let got: Vec<&str> = columns
            .iter()
            .map(|c| back[0].raw(c.key).unwrap_or(""))
            .collect();
        assert_eq!(got, row, "{format:?}");
    }
}

#[test]
fn control_characters_and_overlong_cells_are_refused_with_row_and_column() {
    let columns = [
        Column::new("k", "客户", "Customer"),
        Column::new("n", "备注", "Notes"),
    ];
    for format in [Format::Xlsx, Format::Csv] {
        let rows = vec![s(&["甲", "ok"]), s(&["乙", "x\u{1}y"])];
        let bytes = write(format, &columns, &rows, "zh-CN", "x").expect("write");
        assert_eq!(
            read(&bytes, format, &columns),
            Err(SheetError::ControlCharacter {
                row: 3,
                column: "备注".into()
            }),
            "{format:?}"
        );
        let rows = vec![s(&["甲", &"长".repeat(11)])];
        let bytes = write(format, &columns, &rows, "zh-CN", "x").expect("write");
        let limits = Limits {
            max_cell_chars: 10,
            ..Limits::default()
        };
        assert_eq!(
            read_with_limits(&bytes, format, &columns, &limits),
            Err(SheetError::CellTooLong {
                row: 2,
                column: "备注".into(),
                max: 10
            }),
            "{format:?}"
        );
    }
}

/// An .xlsx whose one shared string is `len` bytes of `x`, written in a stream so the test
/// itself never holds it.
fn xlsx_with_huge_string(len: usize) -> Vec<u8> {
    use std::io::Write;
    let template = write(Format::Xlsx, COLUMNS, &[s(&["C1", "名"])], "zh-CN", "x").expect("write");
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(template)).expect("zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for i in 0..source.len() {
        let part = source.by_index_raw(i).expect("part");
        if part
            .name()
            .map(|n| n != "xl/sharedStrings.xml")
            .unwrap_or(true)
        {
            out.raw_copy_file(part).expect("copy");
        }
    }
    out.start_file("xl/sharedStrings.xml", options)
        .expect("start");
    out.write_all(b"<sst><si><t>").expect("write");
    let chunk = vec![b'x'; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    out.write_all(b"</t></si></sst>").expect("write");
    out.finish().expect("finish").into_inner()
}

#[test]
fn a_workbook_that_inflates_past_the_limits_is_refused_unread() {
    // 20 MB in one cell: over the text a cell may hold.
    let bytes = xlsx_with_huge_string(20 * 1024 * 1024);
    assert!(bytes.len() < 400 * 1024, "{}", bytes.len());
    let limits = Limits {
        max_cell_chars: 5_000,
        ..Limits::default()
    };
    assert_eq!(
        read_with_limits(&bytes, Format::Xlsx, COLUMNS, &limits),
        Err(SheetError::TextTooLong { max: 5_000 })
    );
    // Past what the parts may inflate to in all.
    let limits = Limits {
        max_inflated: 10 * 1024 * 1024,
        max_cell_chars: usize::MAX / 16,
        ..Limits::default()
    };
    assert_eq!(
        read_with_limits(&bytes, Format::Xlsx, COLUMNS, &limits),
        Err(SheetError::TooLarge(Limit::Inflated(10 * 1024 * 1024)))
    );
}

/// 100,000 rows × 20 columns, as DESIGN's import target; run with
/// `cargo test --release -- --ignored large` to check time and memory.
#[test]
#[ignore = "slow in debug builds"]
fn large_export_and_import() {
    let columns: Vec<Column> = (0..20)
        .map(|i| {
            let key: &'static str = Box::leak(format!("c{i}").into_boxed_str());
            let header: &'static str = Box::leak(format!("列{i}").into_boxed_str());
            Column::new(key, header, header)
        })
        .collect();
    let rows: Vec<Vec<String>> = (0..100_000)
        .map(|r| (0..20).map(|c| format!("{r:06}-{c}-客户数据")).collect())
        .collect();
    for format in [Format::Xlsx, Format::Csv] {
        let started = std::time::Instant::now();
        let bytes = write(format, &columns, &rows, "zh-CN", "大表").expect("write");
        let written = started.elapsed();
        let back = read(&bytes, format, &columns).expect("read");
        eprintln!(
            "{format:?}: {} bytes, write {written:?}, read {:?}",
            bytes.len(),
            started.elapsed() - written
        );
        assert_eq!(back.len(), 100_000);
        assert_eq!(back[99_999].get("c19"), Some("099999-19-客户数据"));
    }
}

/// A legacy .xls workbook (written by Python's xlwt), zipped and hex-encoded to keep it small:
/// sheet "客户" with a title row, the header on row 2, data on rows 3 and 5.
const LEGACY_XLS_ZIP_HEX: &[&str] = &[
    "504b0304140000000800019a765dd92de21305030000001600000d000000637573746f6d6572732e786c73ed584d4815",
    "5114feee9d99f7233e7d9a061abd1e4256a6e00f511b7da594ab44b32835285fef11e5cf93972e745196b98a20685544",
    "60d8a28dd5a6ff45410ba1c0a84510085a04419b820217ea74ee99195333f04509c67cc33df79e73cf39f7de39f76fe6",
    "d558d6c4d0ddfc492c421534cc9a7e78e6c90425bfc30441f5a6a98a4eeea364ba5855f0fb28901e038f032fbd2a862a",
    "de9390b8a33f230abca774185da84b74c6c32b886aee43ab507da8242a708d2419c8e35e65333dc6740dd3dbacf984e9",
    "4e965c645a49ba13a2196391baa21df62c3e240bb82e03caef7db679c79232e46254cde2339784a56b6057f2446bfb2a",
    "ab08e9e9180605b436de194f2a3e13379106f4124a3a3a4a62b109e450b087f1dd0c03df9c55fd34ecca57562e40f2a9",
    "8572ef6fe43e0ae262f965a903fd308ff22219443a1a745523c58d96edd1699c5461e7a4834581fd071a3d4ef14b6f18",
    "696600a8e939d59de88827c33589589c3c6deb19bf4006c1e88bbe8ff10dc749e26dfad4ae4194f7b4374c351a406969",
    "597905099aea9480564f4db96ac5da50820b3694002fb474a2316472398b975b9046347debebebbdd1fac81196f4f321",
    "621d351bd5c860e2acb220e30cae31e668115b6c657a8ebdaee3723ed31cd2a1bcb03ed72eec19609df35c5b48ed5430",
    "de4436cd2b6fa6f2e0e78607a1c10f912d541ea99deccb19791b1942011d7d31b257cf008a45b1b87a45e161c4c985bd",
    "2d8d33cdfb658bf2c9a03d36d33e4f3331c39101bd0fd81a8247b75043b086a216e7bc3f8b93c469739c469c3ec7e9c4",
    "19b667b98467c99e3db6be151915364daacd5172bfba9a2b1ff9ab4f4b55afd118af3f9730a48f389d7ba57ceb4bf8d6",
    "d9b7cff6adb36f757d509e74f6dd22d5fc584f9c6e8f415d202c275e840442d46295ccc63dd54fdad77f220d2e5cb870",
    "e1c2850b172efe04ea52a92e571a7f2058176b0f5fbfacff3a339466dddf24ff2df621414f377d54ee4627e549f4a634",
    "7fd6c2108e2fb14c1be77fa1c2416a3d893644b91f6d29cf5ffae412f3c7b36cc3e0df5b42a9b63f9b4a3fff71fb3f00",
    "504b01021403140000000800019a765dd92de21305030000001600000d00000000000000000000008001000000006375",
    "73746f6d6572732e786c73504b050600000000010001003b000000300300000000",
];

fn legacy_xls() -> Vec<u8> {
    use std::io::Read as _;
    let hex: String = LEGACY_XLS_ZIP_HEX.concat();
    let zipped: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let mut archive = zip_reader(&zipped);
    let mut xls = Vec::new();
    archive
        .by_name("customers.xls")
        .expect("entry")
        .read_to_end(&mut xls)
        .expect("unzip");
    xls
}

#[test]
fn legacy_xls_is_read_like_xlsx() {
    let bytes = legacy_xls();
    assert!(bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]));
    for format in [Format::Xlsx, Format::Csv] {
        let rows = read(&bytes, format, COLUMNS).expect("read");
        assert_eq!(
            table(&rows)[..],
            [
                (
                    3,
                    s(&["00123", "甲公司", "13812345678", "", "2024-02-29", "true"])
                ),
                // Row 5's 备注 is a formula that xlwt saved without a result.
                (5, s(&["C2", "乙公司", "1.5", "", "", ""])),
            ]
        );
    }
}
