//! Chinese phone numbers: mobiles, landlines with area code and extension,
//! and 400/800 service numbers, each brought to one canonical form so that
//! duplicates and searches match however a number was typed.
//!
//! Canonical forms: mobile `13812345678`; landline `021-12345678`, with an
//! extension `021-12345678-123`; service number `400-820-8820`.

use super::nfkc;

/// Why a string is not a phone number Kehu accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the phone number is empty")]
    Empty,
    #[error("the phone number contains '{found}', which is not a digit or separator")]
    IllegalCharacter { found: char },
    /// 7–8 digits with no area code.
    #[error("a landline number needs its area code, e.g. 021-12345678")]
    MissingAreaCode,
    #[error("a mobile number has no extension")]
    MobileExtension,
    #[error("an extension has 1 to 6 digits")]
    Extension,
    /// Neither a mobile nor a landline nor a service number.
    #[error(
        "not a Chinese mobile (11 digits from 13 to 19) or landline (area code and 7-8 digits)"
    )]
    Invalid,
}

impl PhoneError {
    pub fn message_key(&self) -> &'static str {
        match self {
            Self::Empty => "customer.phone.empty",
            Self::IllegalCharacter { .. } => "customer.phone.illegal_character",
            Self::MissingAreaCode => "customer.phone.missing_area_code",
            Self::MobileExtension => "customer.phone.mobile_extension",
            Self::Extension => "customer.phone.extension",
            Self::Invalid => "customer.phone.invalid",
        }
    }

    /// The error in the given locale (`"zh-CN"` or `"en"`).
    pub fn message(&self, locale: &str) -> String {
        let key = self.message_key();
        match self {
            Self::IllegalCharacter { found } => rust_i18n::t!(key, locale = locale, found = found),
            _ => rust_i18n::t!(key, locale = locale),
        }
        .into_owned()
    }
}

/// Words and signs people put before an extension.
const EXTENSION_MARKERS: [&str; 5] = ["分机", "转", "ext", "x", "#"];

/// Characters that separate digit groups.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || is_dash(c) || matches!(c, '(' | ')' | '.' | '/')
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '–' | '—' | '‐' | '−')
}

fn is_mobile(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// Splits digits into area code and subscriber number. The area code's
/// length follows from its second digit: 010 and 02x have three digits,
/// 03xx–09xx four.
fn split_landline(d: &str) -> Option<(&str, &str)> {
    let b = d.as_bytes();
    let area_len = match b {
        [b'0', b'1', b'0', ..] | [b'0', b'2', _, ..] => 3,
        [b'0', b'3'..=b'9', _, _, ..] => 4,
        _ => return None,
    };
    let (area, number) = d.split_at(area_len);
    ((7..=8).contains(&number.len()) && !number.starts_with('0')).then_some((area, number))
}

/// 400 and 800 numbers: ten digits, written 400-xxx-xxxx.
fn service_number(d: &str) -> Option<String> {
    (d.len() == 10 && (d.starts_with("400") || d.starts_with("800")))
        .then(|| format!("{}-{}-{}", &d[..3], &d[3..6], &d[6..]))
}

fn landline(area: &str, number: &str, ext: Option<&str>) -> String {
    match ext {
        Some(ext) => format!("{area}-{number}-{ext}"),
        None => format!("{area}-{number}"),
    }
}

fn valid_extension(e: &str) -> bool {
    (1..=6).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_digit())
}

/// A digit group and whether a dash came right before it.
struct Group {
    digits: String,
    after_dash: bool,
}

/// Brings a phone number to its canonical form (see the module doc).
///
/// Accepts +86/0086/86 prefixes, spaces, dashes, dots, parentheses and
/// full-width digits; an extension after `-`, `转`, `分机`, `ext`, `x` or `#`.
pub fn normalize_phone(s: &str) -> Result<String, PhoneError> {
    let s = nfkc(s).trim().to_lowercase();
    if s.is_empty() {
        return Err(PhoneError::Empty);
    }
    // An explicit extension marker: split there.
    let (main, ext) = match EXTENSION_MARKERS
        .iter()
        .filter_map(|m| s.find(m).map(|i| (i, m.len())))
        .min()
    {
        Some((i, len)) => {
            let ext: String = s[i + len..]
                .trim_start_matches(|c: char| c == '.' || c == ':' || is_separator(c))
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if !valid_extension(&ext) {
                return Err(PhoneError::Extension);
            }
            (s[..i].trim(), Some(ext))
        }
        None => (s.as_str(), None),
    };

    // Digit groups; a leading '+' announces a country code.
    let mut groups: Vec<Group> = Vec::new();
    let mut plus = false;
    let mut after_dash = false;
    let mut in_group = false;
    for c in main.chars() {
        if c.is_ascii_digit() {
            if !in_group {
                groups.push(Group {
                    digits: String::new(),
                    after_dash,
                });
                in_group = true;
                after_dash = false;
            }
            if let Some(g) = groups.last_mut() {
                g.digits.push(c);
            }
        } else if c == '+' && groups.is_empty() && !plus {
            plus = true;
        } else if is_separator(c) {
            in_group = false;
            // A dash marks a possible extension, even with spaces around it.
            if is_dash(c) {
                after_dash = true;
            } else if !c.is_whitespace() {
                after_dash = false;
            }
        } else {
            return Err(PhoneError::IllegalCharacter { found: c });
        }
    }
    if groups.is_empty() {
        return Err(PhoneError::Invalid);
    }

    // Country code 86: after '+', as 0086, as a group of its own, or glued
    // to a mobile number. No area code starts 008 or 86, so this is safe.
    let total: usize = groups.iter().map(|g| g.digits.len()).sum();
    let first = &groups[0].digits;
    let strip = if plus {
        if !first.starts_with("86") {
            return Err(PhoneError::Invalid);
        }
        2
    } else if first.starts_with("0086") {
        4
    } else if (first == "86" && groups.len() > 1)
        || (total == 13 && first.starts_with("86") && first.len() > 2 && {
            let all: String = groups.iter().map(|g| g.digits.as_str()).collect();
            is_mobile(&all[2..])
        })
    {
        2
    } else {
        0
    };
    let international = strip > 0;
    groups[0].digits.drain(..strip);
    if groups[0].digits.is_empty() {
        groups.remove(0);
    }
    if groups.is_empty() {
        return Err(PhoneError::Invalid);
    }
    let mut all: String = groups.iter().map(|g| g.digits.as_str()).collect();

    // Dialled from abroad, a landline drops the trunk 0: +86 21 1234 5678.
    if international && !is_mobile(&all) && !all.starts_with('0') {
        groups[0].digits.insert(0, '0');
        all.insert(0, '0');
    }

    if is_mobile(&all) {
        return match ext {
            Some(_) => Err(PhoneError::MobileExtension),
            None => Ok(all),
        };
    }

    // A trailing dash group of 1–6 digits after area code and number is an
    // extension; tried first so that 010-1234567-8 keeps its shape.
    if ext.is_none() && groups.len() >= 3 {
        let last = &groups[groups.len() - 1];
        let area = &groups[0].digits;
        let number: String = groups[1..groups.len() - 1]
            .iter()
            .map(|g| g.digits.as_str())
            .collect();
        let joined = format!("{area}{number}");
        if last.after_dash
            && valid_extension(&last.digits)
            && let Some((a, n)) = split_landline(&joined)
            && a == area
        {
            return Ok(landline(a, n, Some(&last.digits)));
        }
    }
    if let Some((area, number)) = split_landline(&all) {
        return Ok(landline(area, number, ext.as_deref()));
    }
    if ext.is_none() && groups.len() >= 2 {
        let last = &groups[groups.len() - 1];
        if last.after_dash && valid_extension(&last.digits) {
            let head = &all[..all.len() - last.digits.len()];
            if let Some((area, number)) = split_landline(head) {
                return Ok(landline(area, number, Some(&last.digits)));
            }
        }
    }
    if let Some(service) = service_number(&all) {
        return match ext {
            Some(ext) => Ok(format!("{service}-{ext}")),
            None => Ok(service),
        };
    }
    if (7..=8).contains(&all.len()) && !all.starts_with('0') && !all.starts_with('1') {
        return Err(PhoneError::MissingAreaCode);
    }
    Err(PhoneError::Invalid)
}

/// The digits of a phone number for search: the canonical form without
/// dashes when the number is valid, otherwise whatever digits it holds.
pub fn phone_digits(s: &str) -> String {
    match normalize_phone(s) {
        Ok(canonical) => canonical.chars().filter(char::is_ascii_digit).collect(),
        Err(_) => nfkc(s).chars().filter(char::is_ascii_digit).collect(),
    }
}

/// Masks a canonical number for roles that may not see it: `138****5678`,
/// `021-****5678`, `021-****5678-123`, `400-***-8820`. Anything else keeps
/// at most its first three and last four characters.
pub fn mask_phone(canonical: &str) -> String {
    fn stars(n: usize) -> String {
        "*".repeat(n)
    }
    fn keep_last4(s: &str) -> String {
        let n = s.chars().count();
        let tail: String = s.chars().skip(n.saturating_sub(4)).collect();
        format!("{}{tail}", stars(n.saturating_sub(4)))
    }
    let parts: Vec<&str> = canonical.split('-').collect();
    match parts.as_slice() {
        [area, number, rest @ ..] if area.starts_with('0') => {
            let mut out = format!("{area}-{}", keep_last4(number));
            for r in rest {
                out.push('-');
                out.push_str(r);
            }
            out
        }
        [prefix, middle, last, rest @ ..] if *prefix == "400" || *prefix == "800" => {
            let mut out = format!("{prefix}-{}-{last}", stars(middle.len()));
            for r in rest {
                out.push('-');
                out.push_str(r);
            }
            out
        }
        _ => {
            let chars: Vec<char> = canonical.chars().collect();
            let n = chars.len();
            if n >= 8 {
                let head: String = chars[..3].iter().collect();
                let tail: String = chars[n - 4..].iter().collect();
                format!("{head}{}{tail}", stars(n - 7))
            } else {
                keep_last4(canonical)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        normalize_phone(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn mobiles() {
        for s in [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+86 138 1234 5678",
            "+8613812345678",
            "0086 13812345678",
            "008613812345678",
            "86 13812345678",
            "8613812345678",
            "(+86) 138-1234-5678",
            "１３８１２３４５６７８",
            "+８６　１３８　１２３４　５６７８",
            " 138.1234.5678 ",
        ] {
            assert_eq!(ok(s), "13812345678", "{s}");
        }
        assert_eq!(ok("19912345678"), "19912345678");
    }

    #[test]
    fn not_mobiles() {
        assert_eq!(normalize_phone("12812345678"), Err(PhoneError::Invalid));
        assert_eq!(normalize_phone("1381234567"), Err(PhoneError::Invalid));
        assert_eq!(normalize_phone("138123456789"), Err(PhoneError::Invalid));
        assert_eq!(
            normalize_phone("+1 138 1234 5678"),
            Err(PhoneError::Invalid)
        );
        assert_eq!(
            normalize_phone("13812345678转123"),
            Err(PhoneError::MobileExtension)
        );
    }

    #[test]
    fn landlines() {
        for s in [
            "021-12345678",
            "02112345678",
            "021 1234 5678",
            "(021)12345678",
            "（０２１）１２３４５６７８",
            "021-1234-5678",
            "+86 21 1234 5678",
            "+86-21-12345678",
            "0086 21 12345678",
            "86-21-12345678",
        ] {
            assert_eq!(ok(s), "021-12345678", "{s}");
        }
        assert_eq!(ok("010-87654321"), "010-87654321");
        assert_eq!(ok("0755-2345678"), "0755-2345678");
        assert_eq!(ok("0755 23456789"), "0755-23456789");
        assert_eq!(ok("+86 10 87654321"), "010-87654321");
    }

    #[test]
    fn extensions() {
        for s in [
            "021-12345678-123",
            "021-12345678转123",
            "021-12345678 转 123",
            "021-12345678ext123",
            "021-12345678 ext. 123",
            "021-12345678 EXT 123",
            "021-12345678x123",
            "021-12345678#123",
            "021-12345678分机123",
            "(021)12345678-123",
            "02112345678-123",
        ] {
            assert_eq!(ok(s), "021-12345678-123", "{s}");
        }
        // The dash structure wins over a digit count that happens to fit.
        assert_eq!(ok("010-1234567-8"), "010-1234567-8");
        assert_eq!(
            normalize_phone("021-12345678转"),
            Err(PhoneError::Extension)
        );
        assert_eq!(
            normalize_phone("021-12345678转1234567"),
            Err(PhoneError::Extension)
        );
        assert_eq!(
            normalize_phone("021-12345678转abc"),
            Err(PhoneError::Extension)
        );
    }

    #[test]
    fn service_numbers() {
        assert_eq!(ok("400-820-8820"), "400-820-8820");
        assert_eq!(ok("4008208820"), "400-820-8820");
        assert_eq!(ok("800 820 8820"), "800-820-8820");
        assert_eq!(ok("400-820-8820转2"), "400-820-8820-2");
    }

    #[test]
    fn bad_landlines() {
        assert_eq!(normalize_phone("12345678"), Err(PhoneError::Invalid));
        assert_eq!(
            normalize_phone("87654321"),
            Err(PhoneError::MissingAreaCode)
        );
        assert_eq!(normalize_phone("8765432"), Err(PhoneError::MissingAreaCode));
        assert_eq!(normalize_phone("021-123456"), Err(PhoneError::Invalid));
        assert_eq!(normalize_phone("021-123456789"), Err(PhoneError::Invalid));
        assert_eq!(normalize_phone("021-01234567"), Err(PhoneError::Invalid));
        assert_eq!(normalize_phone("011-12345678"), Err(PhoneError::Invalid));
        assert_eq!(normalize_phone("0112345678"), Err(PhoneError::Invalid));
    }

    #[test]
    fn junk() {
        assert_eq!(normalize_phone(""), Err(PhoneError::Empty));
        assert_eq!(normalize_phone("   "), Err(PhoneError::Empty));
        assert_eq!(normalize_phone("---"), Err(PhoneError::Invalid));
        assert_eq!(
            normalize_phone("138a12345678"),
            Err(PhoneError::IllegalCharacter { found: 'a' })
        );
        assert_eq!(
            normalize_phone("电话13812345678"),
            Err(PhoneError::IllegalCharacter { found: '电' })
        );
    }

    #[test]
    fn digits_for_search() {
        assert_eq!(phone_digits("+86 138-1234-5678"), "13812345678");
        assert_eq!(phone_digits("(021)1234-5678 转 9"), "021123456789");
        assert_eq!(phone_digits("5678-12"), "567812");
        assert_eq!(phone_digits("１２３"), "123");
    }

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("021-12345678"), "021-****5678");
        assert_eq!(mask_phone("0755-2345678"), "0755-***5678");
        assert_eq!(mask_phone("021-12345678-123"), "021-****5678-123");
        assert_eq!(mask_phone("400-820-8820"), "400-***-8820");
        assert_eq!(mask_phone("12345"), "*2345");
        assert_eq!(mask_phone("123"), "123");
        assert_eq!(mask_phone("123456789"), "123**6789");
    }

    #[test]
    fn masked_number_hides_the_middle() {
        let m = mask_phone(&ok("+86 139 8765 4321"));
        assert_eq!(m, "139****4321");
        assert!(!m.contains("8765"));
    }

    #[test]
    fn messages() {
        let errors = [
            PhoneError::Empty,
            PhoneError::IllegalCharacter { found: 'a' },
            PhoneError::MissingAreaCode,
            PhoneError::MobileExtension,
            PhoneError::Extension,
            PhoneError::Invalid,
        ];
        for e in &errors {
            for locale in ["zh-CN", "en"] {
                let m = e.message(locale);
                assert!(!m.contains("%{") && !m.starts_with("customer."), "{m}");
            }
            assert_ne!(e.message("en"), e.message("zh-CN"));
        }
        assert!(errors[1].message("zh-CN").contains('a'));
        assert!(errors[2].message("zh-CN").contains("区号"));
    }
}
