//! Human document numbers (单据编号) from policy formats.
//!
//! A format such as `KS-{YYYYMM}-{seq:4}` is literal text plus tokens. The finest date token
//! decides when the serial restarts (the *reset period*): the complaint format above restarts every
//! month, `GCC-{YYYY}-{seq:5}` every year, a format without a date token never. This module only
//! parses and renders; handing out the serial (unique and gap-free per period) is the job of the
//! numbering store, which keys its counters by [`NumberFormat::period_key`].

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// Widest serial allowed by `{seq:N}`; 12 digits is more than any business will number.
pub const MAX_SEQ_WIDTH: usize = 12;

/// When the serial of a format restarts, implied by its finest date token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetPeriod {
    /// No date token: one serial for all time.
    Never,
    Year,
    Month,
    Day,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    /// `{YYYY}`
    Year4,
    /// `{YY}`
    Year2,
    /// `{MM}`
    Month,
    /// `{DD}`
    Day,
    /// `{YYYYMM}`
    YearMonth,
    /// `{YYYYMMDD}`
    YearMonthDay,
    /// `{seq:N}`: the serial, zero-padded to N digits.
    Seq(usize),
}

/// A parsed numbering format; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat {
    source: String,
    tokens: Vec<Token>,
    period: ResetPeriod,
}

/// Why a numbering format was rejected. Positions are 1-based character positions in the format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum NumberFormatError {
    /// A `{` with no `}` after it.
    UnclosedBrace { position: usize },
    /// A `}` with no `{` before it.
    UnopenedBrace { position: usize },
    /// `{…}` that is not one of the known tokens.
    UnknownToken { token: String, position: usize },
    /// `{seq}` or `{seq:N}` with N missing, not a number, or outside 1..=12.
    BadSeqWidth { token: String, position: usize },
    /// No `{seq:N}`: every number would be the same.
    MissingSeq,
    /// More than one `{seq:N}`.
    DuplicateSeq { position: usize },
    /// The date tokens do not show the whole reset period (e.g. `{MM}` without the year), so
    /// numbers would repeat from one year (or month) to the next.
    IncompleteDate { period: ResetPeriod },
}

impl NumberFormatError {
    /// The error in the given language ("zh-CN" or "en"; others fall back to Chinese).
    pub fn message(&self, locale: &str) -> String {
        match self {
            Self::UnclosedBrace { position } => {
                rust_i18n::t!(
                    "numbering.error.unclosed_brace",
                    locale = locale,
                    position = position
                )
            }
            Self::UnopenedBrace { position } => {
                rust_i18n::t!(
                    "numbering.error.unopened_brace",
                    locale = locale,
                    position = position
                )
            }
            Self::UnknownToken { token, position } => rust_i18n::t!(
                "numbering.error.unknown_token",
                locale = locale,
                token = token,
                position = position
            ),
            Self::BadSeqWidth { token, position } => rust_i18n::t!(
                "numbering.error.bad_seq_width",
                locale = locale,
                token = token,
                position = position,
                max = MAX_SEQ_WIDTH
            ),
            Self::MissingSeq => rust_i18n::t!("numbering.error.missing_seq", locale = locale),
            Self::DuplicateSeq { position } => {
                rust_i18n::t!(
                    "numbering.error.duplicate_seq",
                    locale = locale,
                    position = position
                )
            }
            Self::IncompleteDate {
                period: ResetPeriod::Day,
            } => {
                rust_i18n::t!("numbering.error.incomplete_day", locale = locale)
            }
            Self::IncompleteDate { .. } => {
                rust_i18n::t!("numbering.error.incomplete_month", locale = locale)
            }
        }
        .into_owned()
    }
}

impl fmt::Display for NumberFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message("en"))
    }
}

impl std::error::Error for NumberFormatError {}

impl NumberFormat {
    /// Parses a format: literal text and the tokens `{YYYY}` `{YY}` `{MM}` `{DD}` `{YYYYMM}`
    /// `{YYYYMMDD}` `{seq:N}` (exactly one, 1 ≤ N ≤ 12). Tokens are case-sensitive.
    pub fn parse(s: &str) -> Result<NumberFormat, NumberFormatError> {
        let mut tokens = Vec::new();
        let mut literal = String::new();
        let mut seq_seen = false;
        let mut chars = s.chars().enumerate().peekable();

        while let Some((index, c)) = chars.next() {
            let position = index + 1;
            match c {
                '{' => {
                    let mut body = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        match c {
                            '}' => {
                                closed = true;
                                break;
                            }
                            // A second `{` before any `}`: the first one is the unclosed one.
                            '{' => break,
                            c => body.push(c),
                        }
                    }
                    if !closed {
                        return Err(NumberFormatError::UnclosedBrace { position });
                    }
                    let token = parse_token(&body, position)?;
                    if matches!(token, Token::Seq(_)) {
                        if seq_seen {
                            return Err(NumberFormatError::DuplicateSeq { position });
                        }
                        seq_seen = true;
                    }
                    if !literal.is_empty() {
                        tokens.push(Token::Literal(std::mem::take(&mut literal)));
                    }
                    tokens.push(token);
                }
                '}' => return Err(NumberFormatError::UnopenedBrace { position }),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        if !seq_seen {
            return Err(NumberFormatError::MissingSeq);
        }
        let period = reset_period(&tokens)?;
        Ok(NumberFormat {
            source: s.to_owned(),
            tokens,
            period,
        })
    }

    /// The format as written in the policy.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// When the serial restarts.
    pub fn reset_period(&self) -> ResetPeriod {
        self.period
    }

    /// The counter key for `date`: "20260105" (daily reset), "202601" (monthly), "2026" (yearly)
    /// or "all" (never). Two dates share a serial sequence exactly when their keys are equal.
    pub fn period_key(&self, date: NaiveDate) -> String {
        match self.period {
            ResetPeriod::Never => "all".to_owned(),
            ResetPeriod::Year => format!("{:04}", date.year()),
            ResetPeriod::Month => format!("{:04}{:02}", date.year(), date.month()),
            ResetPeriod::Day => format!("{:04}{:02}{:02}", date.year(), date.month(), date.day()),
        }
    }

    /// Renders the number for `date` and serial `seq`. A serial wider than `{seq:N}` grows
    /// rather than wraps, so numbers stay unique after a record-breaking period.
    pub fn render(&self, date: NaiveDate, seq: u64) -> String {
        let (y, m, d) = (date.year(), date.month(), date.day());
        let mut out = String::with_capacity(self.source.len() + 8);
        for token in &self.tokens {
            match token {
                Token::Literal(text) => out.push_str(text),
                Token::Year4 => out.push_str(&format!("{y:04}")),
                Token::Year2 => out.push_str(&format!("{:02}", y.rem_euclid(100))),
                Token::Month => out.push_str(&format!("{m:02}")),
                Token::Day => out.push_str(&format!("{d:02}")),
                Token::YearMonth => out.push_str(&format!("{y:04}{m:02}")),
                Token::YearMonthDay => out.push_str(&format!("{y:04}{m:02}{d:02}")),
                Token::Seq(width) => out.push_str(&format!("{seq:0width$}")),
            }
        }
        out
    }
}

impl FromStr for NumberFormat {
    type Err = NumberFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NumberFormat::parse(s)
    }
}

impl fmt::Display for NumberFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn parse_token(body: &str, position: usize) -> Result<Token, NumberFormatError> {
    Ok(match body {
        "YYYY" => Token::Year4,
        "YY" => Token::Year2,
        "MM" => Token::Month,
        "DD" => Token::Day,
        "YYYYMM" => Token::YearMonth,
        "YYYYMMDD" => Token::YearMonthDay,
        "seq" => {
            return Err(NumberFormatError::BadSeqWidth {
                token: body.to_owned(),
                position,
            });
        }
        _ => match body.strip_prefix("seq:") {
            Some(width) => match width.parse::<usize>() {
                // `parse` accepts a leading `+`; a width is plain digits only.
                Ok(n)
                    if (1..=MAX_SEQ_WIDTH).contains(&n)
                        && width.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    Token::Seq(n)
                }
                _ => {
                    return Err(NumberFormatError::BadSeqWidth {
                        token: body.to_owned(),
                        position,
                    });
                }
            },
            None => {
                return Err(NumberFormatError::UnknownToken {
                    token: body.to_owned(),
                    position,
                });
            }
        },
    })
}

/// The finest date part shown decides the reset period; the coarser parts must be shown too,
/// otherwise `{MM}-{seq:4}` would hand out "01-0001" every January.
fn reset_period(tokens: &[Token]) -> Result<ResetPeriod, NumberFormatError> {
    let (mut year, mut month, mut day) = (false, false, false);
    for token in tokens {
        match token {
            Token::Year4 | Token::Year2 => year = true,
            Token::Month => month = true,
            Token::Day => day = true,
            Token::YearMonth => (year, month) = (true, true),
            Token::YearMonthDay => (year, month, day) = (true, true, true),
            Token::Literal(_) | Token::Seq(_) => {}
        }
    }
    if day {
        if year && month {
            Ok(ResetPeriod::Day)
        } else {
            Err(NumberFormatError::IncompleteDate {
                period: ResetPeriod::Day,
            })
        }
    } else if month {
        if year {
            Ok(ResetPeriod::Month)
        } else {
            Err(NumberFormatError::IncompleteDate {
                period: ResetPeriod::Month,
            })
        }
    } else if year {
        Ok(ResetPeriod::Year)
    } else {
        Ok(ResetPeriod::Never)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn complaint_format_renders_the_seed_example() {
        let f = NumberFormat::parse("KS-{YYYYMM}-{seq:4}").unwrap();
        assert_eq!(f.render(date(2026, 1, 5), 7), "KS-202601-0007");
        assert_eq!(f.period_key(date(2026, 1, 5)), "202601");
        assert_eq!(f.reset_period(), ResetPeriod::Month);
    }

    #[test]
    fn every_shipped_style_renders() {
        let d = date(2026, 3, 9);
        let cases = [
            ("C{YYYY}{seq:6}", "C2026000042", "2026"),
            ("GCC-{YYYY}-{seq:5}", "GCC-2026-00042", "2026"),
            ("BJ-{YYYYMMDD}-{seq:3}", "BJ-20260309-042", "20260309"),
            ("{YY}{MM}{DD}/{seq:2}", "260309/42", "20260309"),
            ("N{seq:1}", "N42", "all"),
        ];
        for (format, rendered, key) in cases {
            let f = NumberFormat::parse(format).unwrap();
            assert_eq!(f.render(d, 42), rendered, "{format}");
            assert_eq!(f.period_key(d), key, "{format}");
        }
    }

    #[test]
    fn serial_grows_past_its_width_instead_of_wrapping() {
        let f = NumberFormat::parse("KS-{YYYYMM}-{seq:4}").unwrap();
        assert_eq!(f.render(date(2026, 1, 5), 12345), "KS-202601-12345");
        assert_eq!(f.render(date(2026, 1, 5), 0), "KS-202601-0000");
        let wide = NumberFormat::parse("{seq:12}").unwrap();
        assert_eq!(
            wide.render(date(2026, 1, 5), u64::MAX),
            u64::MAX.to_string()
        );
    }

    #[test]
    fn period_keys_split_exactly_at_the_period_boundary() {
        let monthly = NumberFormat::parse("KS-{YYYYMM}-{seq:4}").unwrap();
        assert_eq!(monthly.period_key(date(2026, 1, 31)), "202601");
        assert_eq!(monthly.period_key(date(2026, 2, 1)), "202602");
        let yearly = NumberFormat::parse("C{YYYY}{seq:6}").unwrap();
        assert_eq!(
            yearly.period_key(date(2026, 12, 31)),
            yearly.period_key(date(2026, 1, 1))
        );
        let never = NumberFormat::parse("X-{seq:3}").unwrap();
        assert_eq!(never.reset_period(), ResetPeriod::Never);
        assert_eq!(never.period_key(date(1999, 1, 1)), "all");
    }

    #[test]
    fn literal_text_may_be_any_unicode() {
        let f = NumberFormat::parse("客诉第{YYYY}号-{seq:3}").unwrap();
        assert_eq!(f.render(date(2026, 5, 1), 3), "客诉第2026号-003");
        assert_eq!(f.to_string(), "客诉第{YYYY}号-{seq:3}");
        assert_eq!("客诉第{YYYY}号-{seq:3}".parse::<NumberFormat>(), Ok(f));
    }

    #[test]
    fn malformed_formats_are_rejected_with_a_position() {
        use NumberFormatError as E;
        let cases: [(&str, NumberFormatError); 12] = [
            ("KS-{YYYYMM-{seq:4}", E::UnclosedBrace { position: 4 }),
            ("KS-{seq:4", E::UnclosedBrace { position: 4 }),
            ("KS-}{seq:4}", E::UnopenedBrace { position: 4 }),
            (
                "KS-{YYYYMMM}-{seq:4}",
                E::UnknownToken {
                    token: "YYYYMMM".into(),
                    position: 4,
                },
            ),
            (
                "{yyyy}{seq:4}",
                E::UnknownToken {
                    token: "yyyy".into(),
                    position: 1,
                },
            ),
            (
                "{YYYY}{seq:0}",
                E::BadSeqWidth {
                    token: "seq:0".into(),
                    position: 7,
                },
            ),
            (
                "{YYYY}{seq:13}",
                E::BadSeqWidth {
                    token: "seq:13".into(),
                    position: 7,
                },
            ),
            (
                "{YYYY}{seq:+4}",
                E::BadSeqWidth {
                    token: "seq:+4".into(),
                    position: 7,
                },
            ),
            (
                "{YYYY}{seq}",
                E::BadSeqWidth {
                    token: "seq".into(),
                    position: 7,
                },
            ),
            ("KS-{YYYYMM}", E::MissingSeq),
            ("{seq:2}-{seq:3}", E::DuplicateSeq { position: 9 }),
            (
                "{MM}-{seq:4}",
                E::IncompleteDate {
                    period: ResetPeriod::Month,
                },
            ),
        ];
        for (format, expected) in cases {
            assert_eq!(NumberFormat::parse(format), Err(expected), "{format}");
        }
        assert_eq!(NumberFormat::parse(""), Err(E::MissingSeq));
        assert_eq!(
            NumberFormat::parse("{YYYY}{DD}{seq:3}"),
            Err(E::IncompleteDate {
                period: ResetPeriod::Day
            })
        );
    }

    #[test]
    fn errors_are_translated() {
        let err = NumberFormat::parse("KS-{YYYYMM}").unwrap_err();
        assert!(
            err.message("en").contains("{seq:N}"),
            "{}",
            err.message("en")
        );
        assert!(
            err.message("zh-CN").contains("流水号"),
            "{}",
            err.message("zh-CN")
        );
        assert_eq!(err.to_string(), err.message("en"));
        let err = NumberFormat::parse("KS-{XX}-{seq:4}").unwrap_err();
        assert!(err.message("en").contains("{XX}"), "{}", err.message("en"));
        assert!(
            err.message("zh-CN").contains("{XX}"),
            "{}",
            err.message("zh-CN")
        );
        // Every variant has a message in both languages (no raw keys leak out).
        let all = [
            NumberFormatError::UnclosedBrace { position: 1 },
            NumberFormatError::UnopenedBrace { position: 1 },
            NumberFormatError::UnknownToken {
                token: "X".into(),
                position: 1,
            },
            NumberFormatError::BadSeqWidth {
                token: "seq:0".into(),
                position: 1,
            },
            NumberFormatError::MissingSeq,
            NumberFormatError::DuplicateSeq { position: 1 },
            NumberFormatError::IncompleteDate {
                period: ResetPeriod::Day,
            },
            NumberFormatError::IncompleteDate {
                period: ResetPeriod::Month,
            },
        ];
        for e in all {
            for locale in ["en", "zh-CN"] {
                let m = e.message(locale);
                assert!(!m.starts_with("numbering."), "{locale}: {m}");
                assert!(!m.contains("%{"), "{locale}: {m}");
            }
        }
    }
}
