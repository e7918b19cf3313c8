//! Rules every input obeys, whatever carries it (a JSON body, a form, a query string, a
//! multipart field, an import cell): no control characters but tab and line ends, a length cap,
//! dates between 1900 and 2199, quantities and amounts within range. The extractors apply the
//! text rules to every string before any capability sees it; capabilities call the date and
//! number rules where they parse those.
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

use super::error::FieldError;

/// The earliest year a date may have (older ones are typing mistakes).
pub const MIN_YEAR: i32 = 1900;
/// The latest year a date may have.
pub const MAX_YEAR: i32 = 2199;
/// The largest quantity in whole units (a billion): far above any real stock, far below where
/// sums of a ledger could overflow.
pub const MAX_QUANTITY: i64 = 1_000_000_000;
/// The largest amount in fen (one hundred billion yuan).
pub const MAX_FEN: i64 = 10_000_000_000_000;

/// Whether `c` may not appear in text: every control character but tab, line feed and carriage
/// return (browsers send a textarea's line ends as CR LF). PostgreSQL refuses NUL outright.
pub fn forbidden_char(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Checks one text value: no forbidden character, at most `max_chars` characters.
pub fn check_text(field: &str, text: &str, max_chars: usize) -> Result<(), FieldError> {
    if text.chars().any(forbidden_char) {
        return Err(FieldError::new(field, "error.control_chars"));
    }
    if text.len() > max_chars && text.chars().count() > max_chars {
        return Err(FieldError::new(field, "error.too_long").arg("max", max_chars));
    }
    Ok(())
}

/// Checks every string (and object key) of a JSON document with [`check_text`], naming each
/// by its path as serde names fields (`contacts[2].phone`).
pub fn check_json(value: &Value, max_chars: usize) -> Vec<FieldError> {
    let mut errors = Vec::new();
    walk(value, &mut String::new(), max_chars, &mut errors);
    errors
}

fn walk(value: &Value, path: &mut String, max: usize, errors: &mut Vec<FieldError>) {
    match value {
        Value::String(s) => {
            if let Err(e) = check_text(path_or_body(path), s, max) {
                errors.push(e);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path, max, errors);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                if key.chars().any(forbidden_char) {
                    errors.push(FieldError::new(path_or_body(path), "error.control_chars"));
                } else {
                    walk(item, path, max, errors);
                }
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn path_or_body(path: &str) -> &str {
    if path.is_empty() { "body" } else { path }
}

/// Text as typed: trimmed, `None` when blank.
pub fn clean(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// A date as `YYYY-MM-DD` between [`MIN_YEAR`] and [`MAX_YEAR`].
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate, FieldError> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "error.date_format"))?;
    date_in_range(field, date)
}

/// `date`, if its year lies between [`MIN_YEAR`] and [`MAX_YEAR`].
pub fn date_in_range(field: &str, date: NaiveDate) -> Result<NaiveDate, FieldError> {
    if (MIN_YEAR..=MAX_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(FieldError::new(field, "error.date_range")
            .arg("min", MIN_YEAR)
            .arg("max", MAX_YEAR))
    }
}

/// A number as typed: thousands separators, spaces and the yuan sign dropped; no exponent.
pub fn decimal(text: &str) -> Option<Decimal> {
    let cleaned = text.trim().replace([',', '，', ' ', '¥', '￥'], "");
    if cleaned.is_empty() || cleaned.contains(['e', 'E']) {
        return None;
    }
    cleaned.parse().ok()
}

/// Yuan as typed ("1,280.50", "¥100") to fen; `None` unless it is a non-negative amount with at
/// most two decimals and at most [`MAX_FEN`].
pub fn parse_yuan(text: &str) -> Option<i64> {
    let d = decimal(text)?;
    if d.is_sign_negative() || d.normalize().scale() > 2 {
        return None;
    }
    let fen = (d * Decimal::ONE_HUNDRED).to_i64()?;
    (fen <= MAX_FEN).then_some(fen)
}

/// A whole quantity between 1 and [`MAX_QUANTITY`].
pub fn positive_quantity(field: &str, value: i64) -> Result<i64, FieldError> {
    if (1..=MAX_QUANTITY).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(field, "error.number_range")
            .arg("min", 1)
            .arg("max", MAX_QUANTITY))
    }
}

/// A count that may be zero (a counted balance, a usage reading) up to [`MAX_QUANTITY`].
pub fn count(field: &str, value: i64) -> Result<i64, FieldError> {
    if (0..=MAX_QUANTITY).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(field, "error.number_range")
            .arg("min", 0)
            .arg("max", MAX_QUANTITY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn control_characters_but_tab_and_line_ends_are_refused() {
        assert!(check_text("f", "第一行\r\n第二行\t列", 100).is_ok());
        for bad in ["a\0b", "\u{7}", "x\u{1b}[31m", "\u{7f}", "\u{85}"] {
            let e = check_text("notes", bad, 100).expect_err(bad);
            assert_eq!(
                (e.field.as_str(), e.key.as_str()),
                ("notes", "error.control_chars")
            );
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(check_text("f", &"精".repeat(10), 10).is_ok());
        let e = check_text("f", &"精".repeat(11), 10).expect_err("too long");
        assert_eq!(e.key, "error.too_long");
    }

    #[test]
    fn json_strings_are_named_by_their_path() {
        let v = json!({"name": "ok", "contacts": [{"phone": "1"}, {"phone": "a\u{0}"}],
                       "notes": "x".repeat(11), "n": 5, "k\u{0}": 1});
        let mut found: Vec<(String, String)> = check_json(&v, 10)
            .into_iter()
            .map(|e| (e.field, e.key))
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                ("contacts[1].phone".into(), "error.control_chars".into()),
                ("k\u{0}".into(), "error.control_chars".into()),
                ("notes".into(), "error.too_long".into()),
            ]
        );
        assert!(check_json(&json!("a\u{0}"), 10)[0].field == "body");
    }

    #[test]
    fn dates_lie_between_1900_and_2199() {
        assert!(parse_date("d", "1900-01-01").is_ok());
        assert!(parse_date("d", "2199-12-31").is_ok());
        assert_eq!(
            parse_date("d", "1899-12-31").expect_err("old").key,
            "error.date_range"
        );
        assert_eq!(
            parse_date("d", "2200-01-01").expect_err("far").key,
            "error.date_range"
        );
        assert_eq!(
            parse_date("d", "20-01-01x").expect_err("bad").key,
            "error.date_format"
        );
    }

    #[test]
    fn quantities_have_a_range() {
        assert!(positive_quantity("q", 1).is_ok());
        assert!(positive_quantity("q", MAX_QUANTITY).is_ok());
        assert!(positive_quantity("q", 0).is_err());
        assert!(positive_quantity("q", MAX_QUANTITY + 1).is_err());
        assert!(positive_quantity("q", i64::MAX).is_err());
        assert!(count("q", 0).is_ok());
        assert!(count("q", -1).is_err());
    }
}
