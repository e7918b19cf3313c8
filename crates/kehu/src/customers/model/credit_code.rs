//! 统一社会信用代码 (unified social credit code), GB 32100-2015.
//!
//! 18 characters: registration authority (1), organisation category (1),
//! region code of the registering office (6 digits, GB/T 2260), organisation
//! code (9, GB 11714) and a check character over the first 17.

use super::nfkc;

/// The 31 characters a credit code may use; a character's index is its value
/// in the check-character sum. I, O, Z, S and V are left out because they are
/// easily misread as 1, 0, 2, 5 and U.
pub const CREDIT_CODE_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weight of position i is 3^i mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Regions used by [`generate_credit_code`]: real district codes (GB/T 2260)
/// of cities where manufacturers cluster, so demo data looks plausible.
const DEMO_REGIONS: [&str; 8] = [
    "110105", // 北京市朝阳区
    "310115", // 上海市浦东新区
    "440300", // 深圳市
    "330106", // 杭州市西湖区
    "320505", // 苏州市虎丘区
    "510107", // 成都市武侯区
    "420106", // 武汉市武昌区
    "370202", // 青岛市市南区
];

/// Why a string is not a valid credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("a unified social credit code has 18 characters, found {found}")]
    Length { found: usize },
    /// `position` is 1-based.
    #[error("character {position} of the unified social credit code ('{found}') is not allowed")]
    IllegalCharacter { position: usize, found: char },
    #[error("'{found}' is not a registration authority code (character 1)")]
    RegistrationAuthority { found: char },
    #[error("'{found}' is not an organisation category of registration authority '{authority}'")]
    OrganizationCategory { authority: char, found: char },
    /// Characters 3–8 must be the six digits of a region code.
    #[error("characters 3-8 of the unified social credit code must be digits, found '{found}'")]
    RegionCode { found: String },
    #[error("wrong check character (character 18): expected '{expected}', found '{found}'")]
    CheckCharacter { expected: char, found: char },
}

impl CreditCodeError {
    pub fn message_key(&self) -> &'static str {
        match self {
            Self::Length { .. } => "customer.credit_code.length",
            Self::IllegalCharacter { .. } => "customer.credit_code.illegal_character",
            Self::RegistrationAuthority { .. } => "customer.credit_code.registration_authority",
            Self::OrganizationCategory { .. } => "customer.credit_code.organization_category",
            Self::RegionCode { .. } => "customer.credit_code.region_code",
            Self::CheckCharacter { .. } => "customer.credit_code.check_character",
        }
    }

    /// The error in the given locale (`"zh-CN"` or `"en"`).
    pub fn message(&self, locale: &str) -> String {
        let key = self.message_key();
        let text = match self {
            Self::Length { found } => rust_i18n::t!(key, locale = locale, found = found),
            Self::IllegalCharacter { position, found } => {
                rust_i18n::t!(key, locale = locale, position = position, found = found)
            }
            Self::RegistrationAuthority { found } => {
                rust_i18n::t!(key, locale = locale, found = found)
            }
            Self::OrganizationCategory { authority, found } => {
                let allowed = categories_of(*authority)
                    .map(|c| c.chars().map(String::from).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                rust_i18n::t!(
                    key,
                    locale = locale,
                    authority = authority,
                    found = found,
                    allowed = allowed
                )
            }
            Self::RegionCode { found } => rust_i18n::t!(key, locale = locale, found = found),
            Self::CheckCharacter { expected, found } => {
                rust_i18n::t!(key, locale = locale, expected = expected, found = found)
            }
        };
        text.into_owned()
    }
}

/// Organisation categories (character 2) each registration authority
/// (character 1) assigns, per GB 32100-2015 and the authority codes added
/// since (外交, 司法行政, 文化, 旅游, 宗教, 工会, 中央军委, 农业): real codes such as
/// law firms' `31…` or village collectives' `N2…` must validate.
fn categories_of(authority: char) -> Option<&'static str> {
    Some(match authority {
        '1' => "1239",   // 机构编制: 机关, 事业单位, 群众团体, 其他
        '2' => "19",     // 外交: 外国常驻新闻机构, 其他
        '3' => "123459", // 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
        '4' => "19",     // 文化: 外国在华文化中心, 其他
        '5' => "1239",   // 民政: 社会团体, 民办非企业单位, 基金会, 其他
        '6' => "129",    // 旅游: 外国/港澳台旅游部门常驻代表机构, 其他
        '7' => "129",    // 宗教: 宗教活动场所, 宗教院校, 其他
        '8' => "19",     // 工会: 基层工会, 其他
        '9' => "123",    // 工商/市场监管: 企业, 个体工商户, 农民专业合作社
        'A' => "19",     // 中央军委改革和编制办公室: 军队事业单位, 其他
        'N' => "1239",   // 农业: 组级, 村级, 乡镇级集体经济组织, 其他
        'Y' => "1",      // 其他: not subdivided
        _ => return None,
    })
}

fn value_of(c: char) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .map(|p| p as u32)
}

/// The check character for the values of the first 17 characters.
fn check_char_of(values: impl Iterator<Item = u32>) -> char {
    let sum: u32 = values.zip(WEIGHTS).map(|(v, w)| v * w).sum();
    let c18 = (31 - sum % 31) % 31;
    char::from(ALPHABET[c18 as usize])
}

/// The check character (character 18) for the first 17 characters of a code,
/// or `None` unless `first17` is exactly 17 characters of
/// [`CREDIT_CODE_ALPHABET`] (upper case).
pub fn credit_code_check_char(first17: &str) -> Option<char> {
    let values: Vec<u32> = first17.chars().map(value_of).collect::<Option<_>>()?;
    (values.len() == 17).then(|| check_char_of(values.into_iter()))
}

/// Validates a unified social credit code and returns it normalised: trimmed,
/// whitespace removed, full-width characters folded to ASCII, upper case.
pub fn validate_credit_code(s: &str) -> Result<String, CreditCodeError> {
    let code: String = nfkc(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return Err(CreditCodeError::Length { found: chars.len() });
    }
    let mut values = Vec::with_capacity(18);
    for (i, &c) in chars.iter().enumerate() {
        match value_of(c) {
            Some(v) => values.push(v),
            None => {
                return Err(CreditCodeError::IllegalCharacter {
                    position: i + 1,
                    found: c,
                });
            }
        }
    }
    let (authority, category) = (chars[0], chars[1]);
    let allowed = categories_of(authority)
        .ok_or(CreditCodeError::RegistrationAuthority { found: authority })?;
    if !allowed.contains(category) {
        return Err(CreditCodeError::OrganizationCategory {
            authority,
            found: category,
        });
    }
    if !chars[2..8].iter().all(char::is_ascii_digit) {
        return Err(CreditCodeError::RegionCode {
            found: chars[2..8].iter().collect(),
        });
    }
    let expected = check_char_of(values[..17].iter().copied());
    if expected != chars[17] {
        return Err(CreditCodeError::CheckCharacter {
            expected,
            found: chars[17],
        });
    }
    Ok(code)
}

/// GB 11714 check character of an organisation code's first 8 characters
/// (letters count A=10 … Z=35): real codes carry it at position 17, so demo
/// codes do too.
fn organization_code_check_char(first8: &[u8]) -> char {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first8
        .iter()
        .zip(W)
        .map(|(&b, w)| {
            let v = if b.is_ascii_digit() {
                u32::from(b - b'0')
            } else {
                u32::from(b - b'A') + 10
            };
            v * w
        })
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from(b'0' + d as u8),
    }
}

/// A valid credit code of an enterprise (authority 9, category 1) made
/// deterministically from 16 random bytes, for demo data.
pub fn generate_credit_code(rng_bytes: &[u8; 16]) -> String {
    let region = DEMO_REGIONS[usize::from(rng_bytes[0]) % DEMO_REGIONS.len()];
    let org: Vec<u8> = rng_bytes[1..9]
        .iter()
        .map(|&b| ALPHABET[usize::from(b) % ALPHABET.len()])
        .collect();
    let mut code = String::with_capacity(18);
    code.push_str("91");
    code.push_str(region);
    code.extend(org.iter().map(|&b| char::from(b)));
    code.push(organization_code_check_char(&org));
    // All characters come from the alphabet, so the value lookups succeed.
    let check = check_char_of(code.chars().filter_map(value_of));
    code.push(check);
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Codes of real organisations from public registries and licences.
    const REAL: &[&str] = &[
        "91350100M000100Y43",
        "91230184MA1BUFLT44",
        "92371000MA3MXH0E3W",
        "91350200776049653A",
        "913502115628130384",
        "9135021359498494XQ",
        "91440101MA5CJQ4N59",
        "123502001549897397",
        "914403001922038216",
        "91440300708461136T",
        "91110108551385082Q",
        "91330100799655058B",
    ];

    #[test]
    fn real_codes_validate() {
        for code in REAL {
            assert_eq!(validate_credit_code(code).as_deref(), Ok(*code), "{code}");
        }
    }

    #[test]
    fn check_char_of_real_codes() {
        for code in REAL {
            let expected = code.chars().last();
            assert_eq!(credit_code_check_char(&code[..17]), expected, "{code}");
        }
    }

    #[test]
    fn check_char_rejects_bad_input() {
        assert_eq!(credit_code_check_char("91350100M000100Y"), None);
        assert_eq!(credit_code_check_char("91350100M000100Y4X"), None);
        assert_eq!(credit_code_check_char("91350100M000100I4"), None);
        assert_eq!(credit_code_check_char("91350100m000100Y4"), None);
    }

    #[test]
    fn wrong_check_character() {
        assert_eq!(
            validate_credit_code("91350100M000100Y44"),
            Err(CreditCodeError::CheckCharacter {
                expected: '3',
                found: '4'
            })
        );
    }

    #[test]
    fn check_value_31_maps_to_zero() {
        // A sum divisible by 31 gives C18 = 31, written '0'.
        assert_eq!(credit_code_check_char("00000000000000000"), Some('0'));
    }

    #[test]
    fn normalises_case_space_and_full_width() {
        assert_eq!(
            validate_credit_code("  91350100m000100y43\n").as_deref(),
            Ok("91350100M000100Y43")
        );
        assert_eq!(
            validate_credit_code("９１３５０１００Ｍ０００１００Ｙ４３").as_deref(),
            Ok("91350100M000100Y43")
        );
        assert_eq!(
            validate_credit_code("9135 0100 M000 100Y 43").as_deref(),
            Ok("91350100M000100Y43")
        );
    }

    #[test]
    fn length_errors() {
        assert_eq!(
            validate_credit_code(""),
            Err(CreditCodeError::Length { found: 0 })
        );
        assert_eq!(
            validate_credit_code("91350100M000100Y4"),
            Err(CreditCodeError::Length { found: 17 })
        );
        assert_eq!(
            validate_credit_code("统一社会信用代码"),
            Err(CreditCodeError::Length { found: 8 })
        );
    }

    #[test]
    fn illegal_characters_are_located() {
        // The letter O typed for zero.
        assert_eq!(
            validate_credit_code("91350100MO00100Y43"),
            Err(CreditCodeError::IllegalCharacter {
                position: 10,
                found: 'O'
            })
        );
        assert_eq!(
            validate_credit_code("91350100M000100Y4-"),
            Err(CreditCodeError::IllegalCharacter {
                position: 18,
                found: '-'
            })
        );
    }

    #[test]
    fn authority_and_category() {
        assert_eq!(
            validate_credit_code("B1350100M000100Y43"),
            Err(CreditCodeError::RegistrationAuthority { found: 'B' })
        );
        assert_eq!(
            validate_credit_code("94350100M000100Y43"),
            Err(CreditCodeError::OrganizationCategory {
                authority: '9',
                found: '4'
            })
        );
        assert_eq!(
            validate_credit_code("Y2350100M000100Y43"),
            Err(CreditCodeError::OrganizationCategory {
                authority: 'Y',
                found: '2'
            })
        );
        // Every authority/category pair of the table is accepted.
        for a in "123456789ANY".chars() {
            for c in categories_of(a).unwrap_or_default().chars() {
                let first17 = format!("{a}{c}350100M000100Y4");
                let check = credit_code_check_char(&first17).expect("alphabet");
                let code = format!("{first17}{check}");
                assert_eq!(validate_credit_code(&code).as_deref(), Ok(code.as_str()));
            }
        }
    }

    #[test]
    fn region_must_be_digits() {
        let first17 = "91A50100M000100Y4";
        let check = credit_code_check_char(first17).expect("alphabet");
        assert_eq!(
            validate_credit_code(&format!("{first17}{check}")),
            Err(CreditCodeError::RegionCode {
                found: "A50100".into()
            })
        );
    }

    #[test]
    fn messages_name_the_reason() {
        let e = CreditCodeError::CheckCharacter {
            expected: '3',
            found: '4',
        };
        assert_eq!(
            e.message("zh-CN"),
            "统一社会信用代码第18位校验码错误：应为 3，实为 4"
        );
        assert!(
            e.message("en").contains("check character"),
            "{}",
            e.message("en")
        );
        assert!(e.message("en").contains("'3'"));
        let errors = [
            CreditCodeError::Length { found: 17 },
            CreditCodeError::IllegalCharacter {
                position: 10,
                found: 'O',
            },
            CreditCodeError::RegistrationAuthority { found: 'B' },
            CreditCodeError::OrganizationCategory {
                authority: '9',
                found: '4',
            },
            CreditCodeError::RegionCode {
                found: "A50100".into(),
            },
            e,
        ];
        for e in &errors {
            for locale in ["zh-CN", "en"] {
                let m = e.message(locale);
                assert!(!m.contains("%{"), "{m}");
                assert!(!m.starts_with("customer."), "missing translation {m}");
            }
        }
        assert!(errors[0].message("zh-CN").contains("17"));
        assert!(errors[1].message("zh-CN").contains("第10位"));
        assert!(errors[3].message("zh-CN").contains("1, 2, 3"));
        // An unknown locale falls back to Chinese.
        assert_eq!(errors[0].message("fr"), errors[0].message("zh-CN"));
    }

    #[test]
    fn generated_codes_use_demo_regions() {
        let code = generate_credit_code(&[0; 16]);
        assert!(code.starts_with("91110105"), "{code}");
        assert_eq!(validate_credit_code(&code).as_deref(), Ok(code.as_str()));
        let code = generate_credit_code(&[7; 16]);
        assert!(code.starts_with("91370202"), "{code}");
    }

    #[test]
    fn generated_codes_carry_an_organisation_check() {
        // 91350100M000100Y43: organisation code M000100Y4.
        assert_eq!(organization_code_check_char(b"M000100Y"), '4');
        assert_eq!(organization_code_check_char(b"MA3MXH0E"), '3');
    }

    proptest! {
        #[test]
        fn generated_codes_validate(bytes in any::<[u8; 16]>()) {
            let code = generate_credit_code(&bytes);
            prop_assert_eq!(code.len(), 18);
            prop_assert_eq!(validate_credit_code(&code), Ok(code.clone()));
            prop_assert_eq!(generate_credit_code(&bytes), code);
        }

        #[test]
        fn any_single_substitution_fails(
            bytes in any::<[u8; 16]>(),
            pos in 0usize..18,
            shift in 1usize..31,
        ) {
            let code = generate_credit_code(&bytes);
            let mut chars: Vec<char> = code.chars().collect();
            let old = value_of(chars[pos]).map_or(0, |v| v as usize);
            chars[pos] = char::from(ALPHABET[(old + shift) % 31]);
            let changed: String = chars.into_iter().collect();
            prop_assert_ne!(&changed, &code);
            prop_assert!(validate_credit_code(&changed).is_err(), "{} accepted", changed);
        }
    }
}
