//! Company names for search and duplicate detection.

use super::nfkc;

/// Chinese legal-form words removed wherever they stand: they only ever
/// name the form, and a branch is often written "X有限公司Y分公司".
/// Longest first, so that 股份有限公司 goes whole.
const LEGAL_FORMS_ANYWHERE: [&str; 4] = ["股份有限公司", "有限责任公司", "有限公司", "有限合伙"];

/// Suffixes removed from the end, repeatedly ("X集团公司" → "X"). 分公司 and
/// 分厂 are branches, distinct from their parent, so they are never cut.
const SUFFIXES: [&str; 7] = ["集团", "总公司", "股份公司", "公司", "总厂", "工厂", "厂"];

/// Latin legal-form words, removed when they end the name as separate words
/// ("ABC Co., Ltd."), never from inside a word ("Zinc").
const LATIN_SUFFIXES: [&str; 11] = [
    "co",
    "company",
    "corp",
    "corporation",
    "inc",
    "incorporated",
    "limited",
    "ltd",
    "llc",
    "gmbh",
    "plc",
];

/// The name as search matches it: NFKC-folded (full-width → half-width),
/// lowercase, with only letters (Han and Latin) and digits kept.
pub fn search_text(s: &str) -> String {
    nfkc(s)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The name as duplicate detection compares it: [`search_text`] without
/// legal-form words, so that "北京石油有限公司", "北京石油公司" and
/// "北京石油（集团）" compare equal while "北京石油上海分公司" stays distinct.
pub fn normalize_name(s: &str) -> String {
    let folded = nfkc(s).to_lowercase();
    let mut words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    while words.len() > 1 && words.last().is_some_and(|w| LATIN_SUFFIXES.contains(w)) {
        words.pop();
    }
    let mut name = words.concat();

    for form in LEGAL_FORMS_ANYWHERE {
        let without = name.replace(form, "");
        if !without.is_empty() {
            name = without;
        }
    }
    'strip: loop {
        for suffix in SUFFIXES {
            if let Some(rest) = name.strip_suffix(suffix) {
                let branch = rest.ends_with('分');
                if !branch && !rest.is_empty() {
                    name.truncate(rest.len());
                    continue 'strip;
                }
            }
        }
        break;
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_folds_and_keeps_letters() {
        assert_eq!(
            search_text("北京石油（集团）有限公司"),
            "北京石油集团有限公司"
        );
        assert_eq!(search_text("ＴＣＬ 科技·集团"), "tcl科技集团");
        assert_eq!(search_text("  3M 中国 "), "3m中国");
        assert_eq!(search_text("—、，。！"), "");
    }

    #[test]
    fn legal_forms_compare_equal() {
        let base = normalize_name("北京石油");
        assert_eq!(base, "北京石油");
        for s in [
            "北京石油有限公司",
            "北京石油公司",
            "北京石油股份有限公司",
            "北京石油有限责任公司",
            "北京石油集团有限公司",
            "北京石油集团股份有限公司",
            "北京石油集团",
            "北京石油集团公司",
            "北京石油总公司",
            "北京石油（集团）有限公司",
            "北京石油厂",
            "北京 石油 有限公司",
            "北京石油有限公司。",
        ] {
            assert_eq!(normalize_name(s), base, "{s}");
        }
    }

    #[test]
    fn branches_stay_distinct() {
        let branch = normalize_name("北京石油上海分公司");
        assert_eq!(branch, "北京石油上海分公司");
        assert_ne!(branch, normalize_name("北京石油"));
        assert_eq!(normalize_name("北京石油有限公司上海分公司"), branch);
        assert_ne!(
            normalize_name("红星机械第一分厂"),
            normalize_name("红星机械")
        );
        assert_eq!(normalize_name("红星机械厂"), normalize_name("红星机械"));
    }

    #[test]
    fn punctuation_width_and_case() {
        assert_eq!(
            normalize_name("西门子（中国）有限公司"),
            normalize_name("西门子(中国)有限公司")
        );
        assert_eq!(normalize_name("ＡＢＣ贸易"), "abc贸易");
        assert_eq!(normalize_name("A-B_C·D、E，F.G—H"), "abcdefgh");
        assert_eq!(normalize_name("北京\u{3000}石油\t公司"), "北京石油");
    }

    #[test]
    fn latin_legal_words() {
        assert_eq!(normalize_name("ABC Trading Co., Ltd."), "abctrading");
        assert_eq!(normalize_name("ABC TRADING LIMITED"), "abctrading");
        assert_eq!(normalize_name("Acme Inc"), "acme");
        assert_eq!(normalize_name("Zinc"), "zinc");
        assert_eq!(normalize_name("Ltd"), "ltd");
    }

    #[test]
    fn a_name_never_vanishes() {
        // Nonsense names shrink but keep something to compare.
        assert_eq!(normalize_name("有限公司"), "有限");
        assert_eq!(normalize_name("公司"), "公司");
        assert_eq!(normalize_name("集团公司"), "集团");
        assert_eq!(normalize_name(""), "");
        assert_eq!(normalize_name("（）"), "");
    }
}
