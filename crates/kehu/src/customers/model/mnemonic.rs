//! Pinyin keys of a name: the mnemonic code (助记码) users type to find a
//! customer, and the full pinyin, with the readings a heteronym may take.

use std::collections::{HashSet, VecDeque};

use pinyin::ToPinyinMulti;
use serde::Serialize;

use super::nfkc;

/// At most this many reading combinations per name: enough for the usual one
/// or two heteronyms, bounded for long names full of them.
const MAX_VARIANTS: usize = 16;

/// Pinyin keys of a name; everything is lowercase ASCII, `ü` written `v`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinyinKeys {
    /// The mnemonic code (助记码): first letters, 北京石油 → `bjsy`.
    pub initials: String,
    /// Full pinyin without separators, 北京石油 → `beijingshiyou`.
    pub full: String,
    /// Every distinct `(initials, full)` for the readings of heteronyms, the
    /// primary one first, fewest deviations from it next; at most 16.
    pub variants: Vec<(String, String)>,
}

/// Words whose reading differs from their characters' most common ones:
/// place names first (they are in most company names), then common
/// business words. A phrase's reading becomes the primary one.
const PHRASES: &[(&str, &[&str])] = &[
    ("重庆", &["chong", "qing"]),
    ("长沙", &["chang", "sha"]),
    ("长春", &["chang", "chun"]),
    ("长治", &["chang", "zhi"]),
    ("长兴", &["chang", "xing"]),
    ("长安", &["chang", "an"]),
    ("长江", &["chang", "jiang"]),
    ("长城", &["chang", "cheng"]),
    ("长虹", &["chang", "hong"]),
    ("长征", &["chang", "zheng"]),
    ("厦门", &["xia", "men"]),
    ("蚌埠", &["beng", "bu"]),
    ("六安", &["lu", "an"]),
    ("六合", &["lu", "he"]),
    ("乐山", &["le", "shan"]),
    ("乐清", &["yue", "qing"]),
    ("东莞", &["dong", "guan"]),
    ("朝阳", &["chao", "yang"]),
    ("成都", &["cheng", "du"]),
    ("佛山", &["fo", "shan"]),
    ("首都", &["shou", "du"]),
    ("都市", &["du", "shi"]),
    ("番禺", &["pan", "yu"]),
    ("西藏", &["xi", "zang"]),
    ("单县", &["shan", "xian"]),
    ("银行", &["yin", "hang"]),
    ("商行", &["shang", "hang"]),
    ("车行", &["che", "hang"]),
    ("琴行", &["qin", "hang"]),
    ("行业", &["hang", "ye"]),
    ("音乐", &["yin", "yue"]),
    ("会计", &["kuai", "ji"]),
];

/// Compound surnames and their readings.
const COMPOUND_SURNAMES: &[(&str, &[&str])] =
    &[("长孙", &["zhang", "sun"]), ("尉迟", &["yu", "chi"])];

/// Surnames read differently from the character's most common reading (or
/// whose common reading should win over rarer ones).
const SURNAMES: &[(char, &str)] = &[
    ('曾', "zeng"),
    ('单', "shan"),
    ('解', "xie"),
    ('查', "zha"),
    ('朴', "piao"),
    ('区', "ou"),
    ('仇', "qiu"),
    ('秘', "bi"),
    ('冼', "xian"),
    ('尉', "wei"),
    ('乐', "yue"),
    ('盖', "ge"),
    ('繁', "po"),
    ('覃', "qin"),
    ('种', "chong"),
    ('翟', "zhai"),
    ('缪', "miao"),
    ('华', "hua"),
    ('任', "ren"),
    ('沈', "shen"),
];

/// One pinyin-bearing piece of a name.
enum Unit {
    /// A Latin letter or digit, kept as it is (lowercased).
    Literal(char),
    /// A Han character's readings, the primary first.
    Han(Vec<String>),
}

/// Characters frequent in company and place names whose other readings in
/// the pinyin data are archaic or never used there (有 wei, 明 meng, 司 ci,
/// 大 dai…): they would only crowd real alternatives (重 chong, 长 chang,
/// 行 hang, 都 du) out of the 16 variants and bloat the index.
const COMMON_READING_ONLY: &str = "有限司份团技术机造投控化食服汽车件零部精模信络广圳杭南宁波\
    青肥昆明庄太齐呼和浩台温无烟汕湛市厂个体研售包印能居陶胶承泵感达万育告餐超百房券\
    租款激半冰洗摩冷方省家任石合大地色属沈数哈路担";

/// Tone-less readings of a character, `ü` as `v`, without repeats
/// (lè and yuè stay two, zǐ and zi become one).
fn readings(c: char) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(multi) = c.to_pinyin_multi() {
        let only_first = COMMON_READING_ONLY.contains(c);
        for p in multi
            .into_iter()
            .take(if only_first { 1 } else { usize::MAX })
        {
            let r = p.plain().replace('ü', "v");
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// Puts `reading` first (primary) or, if `primary` is false, makes sure it
/// is among the alternatives.
fn prefer(list: &mut Vec<String>, reading: &str, primary: bool) {
    match list.iter().position(|r| r == reading) {
        Some(i) if primary => {
            let r = list.remove(i);
            list.insert(0, r);
        }
        Some(_) => {}
        None if primary => list.insert(0, reading.to_string()),
        None => list.push(reading.to_string()),
    }
}

/// A name looks like a person's when it is only Han characters: two or
/// three, or up to four with a compound surname.
fn looks_like_person(hans: &[char]) -> bool {
    let compound = COMPOUND_SURNAMES
        .iter()
        .any(|(s, _)| hans.iter().take(2).copied().eq(s.chars()));
    let max = if compound { 4 } else { 3 };
    (2..=max).contains(&hans.len())
}

/// Pinyin keys of a name: Han characters by reading, Latin letters and
/// digits kept (lowercase), everything else skipped.
pub fn pinyin_keys(name: &str) -> PinyinKeys {
    let text: Vec<char> = nfkc(name).chars().collect();
    // Index into `units` of each Han character of `text`, for phrases.
    let mut han_unit: Vec<Option<usize>> = vec![None; text.len()];
    let mut units: Vec<Unit> = Vec::new();
    for (i, &c) in text.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            units.push(Unit::Literal(c.to_ascii_lowercase()));
        } else {
            let r = readings(c);
            if !r.is_empty() {
                han_unit[i] = Some(units.len());
                units.push(Unit::Han(r));
            }
        }
    }

    let set = |units: &mut Vec<Unit>, at: usize, reading: &str, primary: bool| {
        if let Some(Some(u)) = han_unit.get(at)
            && let Some(Unit::Han(list)) = units.get_mut(*u)
        {
            prefer(list, reading, primary);
        }
    };

    // Surname first, so that a place name read as a phrase (乐山) wins below.
    let only_hans = text
        .iter()
        .zip(&han_unit)
        .all(|(c, u)| u.is_some() || c.is_whitespace() || matches!(c, '·' | '•'));
    let hans: Vec<char> = text
        .iter()
        .zip(&han_unit)
        .filter(|(_, u)| u.is_some())
        .map(|(c, _)| *c)
        .collect();
    let person = only_hans && looks_like_person(&hans);
    // The surname is the first Han character of the name.
    if let Some(first) = han_unit.iter().position(Option::is_some) {
        let compound = COMPOUND_SURNAMES
            .iter()
            .find(|(s, _)| text[first..].iter().take(2).copied().eq(s.chars()));
        if let Some((_, rs)) = compound {
            for (k, r) in rs.iter().enumerate() {
                set(&mut units, first + k, r, person);
            }
        } else if let Some((_, r)) = SURNAMES.iter().find(|(c, _)| *c == text[first]) {
            set(&mut units, first, r, person);
        }
    }

    let mut i = 0;
    while i < text.len() {
        let phrase = PHRASES.iter().find(|(p, _)| {
            let n = p.chars().count();
            text.get(i..i + n)
                .is_some_and(|w| w.iter().copied().eq(p.chars()))
        });
        match phrase {
            Some((p, rs)) => {
                for (k, r) in rs.iter().enumerate() {
                    set(&mut units, i + k, r, true);
                }
                i += p.chars().count();
            }
            None => i += 1,
        }
    }

    let variants = combinations(&units);
    let (initials, full) = variants.first().cloned().unwrap_or_default();
    PinyinKeys {
        initials,
        full,
        variants,
    }
}

/// Distinct `(initials, full)` over reading choices, breadth first from the
/// all-primary choice, so that the few most likely readings come first and
/// the work stays bounded however many heteronyms a name has.
fn combinations(units: &[Unit]) -> Vec<(String, String)> {
    let choices: Vec<usize> = units
        .iter()
        .map(|u| match u {
            Unit::Literal(_) => 1,
            Unit::Han(r) => r.len(),
        })
        .collect();
    let render = |pick: &[usize]| {
        let mut initials = String::new();
        let mut full = String::new();
        for (u, &k) in units.iter().zip(pick) {
            match u {
                Unit::Literal(c) => {
                    initials.push(*c);
                    full.push(*c);
                }
                Unit::Han(r) => {
                    let reading = &r[k];
                    initials.extend(reading.chars().next());
                    full.push_str(reading);
                }
            }
        }
        (initials, full)
    };

    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen: HashSet<Vec<usize>> = HashSet::new();
    let mut queue: VecDeque<Vec<usize>> = VecDeque::new();
    let start = vec![0; units.len()];
    seen.insert(start.clone());
    queue.push_back(start);
    while let Some(pick) = queue.pop_front() {
        let keys = render(&pick);
        if !out.contains(&keys) {
            out.push(keys);
            if out.len() == MAX_VARIANTS {
                break;
            }
        }
        for (pos, &n) in choices.iter().enumerate() {
            if pick[pos] + 1 < n {
                let mut next = pick.clone();
                next[pos] += 1;
                if seen.insert(next.clone()) {
                    queue.push_back(next);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(k: &PinyinKeys, initials: &str) -> bool {
        k.variants.iter().any(|(i, _)| i == initials)
    }

    fn has_full(k: &PinyinKeys, full: &str) -> bool {
        k.variants.iter().any(|(_, f)| f == full)
    }

    #[test]
    fn plain_company_name() {
        let k = pinyin_keys("北京石油");
        assert_eq!(k.initials, "bjsy");
        assert_eq!(k.full, "beijingshiyou");
        assert_eq!(k.variants[0], ("bjsy".into(), "beijingshiyou".into()));
        // 石 can be read dan, but never in a name.
        assert_eq!(k.variants.len(), 1, "{:?}", k.variants);
        let k = pinyin_keys("成都");
        assert_eq!(k.full, "chengdu");
        assert!(has_full(&k, "chengdou"), "{:?}", k.variants);
    }

    #[test]
    fn surname_reading_is_primary_for_people() {
        let k = pinyin_keys("曾小明");
        assert_eq!(k.initials, "zxm");
        assert_eq!(k.full, "zengxiaoming");
        assert!(has(&k, "cxm"), "{:?}", k.variants);

        let k = pinyin_keys("单田芳");
        assert_eq!(k.initials, "stf");
        assert_eq!(k.full, "shantianfang");

        assert_eq!(pinyin_keys("解 放").full, "xiefang");
        assert_eq!(pinyin_keys("查良镛").full, "zhaliangyong");
        assert_eq!(pinyin_keys("朴树").full, "piaoshu");
        assert_eq!(pinyin_keys("区小梅").full, "ouxiaomei");
        assert_eq!(pinyin_keys("仇英").full, "qiuying");
        assert_eq!(pinyin_keys("乐嘉").full, "yuejia");
        assert_eq!(pinyin_keys("翟志刚").full, "zhaizhigang");
        assert_eq!(pinyin_keys("缪斯").full, "miaosi");
        assert_eq!(pinyin_keys("覃小红").full, "qinxiaohong");
        assert_eq!(pinyin_keys("尉小明").full, "weixiaoming");
        assert_eq!(pinyin_keys("尉迟恭").full, "yuchigong");
        assert_eq!(pinyin_keys("长孙无忌").full, "zhangsunwuji");
        assert_eq!(pinyin_keys("欧阳·修").full, "ouyangxiu");
    }

    #[test]
    fn surname_reading_is_a_variant_for_companies() {
        let k = pinyin_keys("单氏机械制造有限公司");
        assert_eq!(k.initials.chars().next(), Some('d'));
        assert!(
            k.variants.iter().any(|(i, _)| i.starts_with('s')),
            "{:?}",
            k.variants
        );

        let k = pinyin_keys("曾记食品");
        assert!(has_full(&k, "zengjishipin"), "{:?}", k.variants);
        assert!(has_full(&k, "cengjishipin"), "{:?}", k.variants);
    }

    #[test]
    fn place_names_read_as_phrases() {
        let k = pinyin_keys("重庆钢铁");
        assert_eq!(k.initials, "cqgt");
        assert_eq!(k.full, "chongqinggangtie");
        assert!(has(&k, "zqgt"), "{:?}", k.variants);
        assert_eq!(pinyin_keys("长沙").full, "changsha");
        assert_eq!(pinyin_keys("厦门航空").initials, "xmhk");
        assert_eq!(pinyin_keys("蚌埠").full, "bengbu");
        assert_eq!(pinyin_keys("六安").full, "luan");
        assert_eq!(pinyin_keys("乐山").full, "leshan");
        assert_eq!(pinyin_keys("东莞").full, "dongguan");
        assert_eq!(pinyin_keys("长春一汽").initials, "ccyq");
        assert_eq!(pinyin_keys("朝阳").full, "chaoyang");
        assert_eq!(pinyin_keys("中国工商银行").initials, "zggsyh");
        assert_eq!(pinyin_keys("成都").full, "chengdu");
        assert_eq!(pinyin_keys("佛山照明").initials, "fszm");
    }

    #[test]
    fn latin_and_digits_are_kept() {
        let k = pinyin_keys("TCL集团");
        assert_eq!(k.initials, "tcljt");
        assert_eq!(k.full, "tcljituan");
        let k = pinyin_keys("３Ｍ中国（上海）");
        assert_eq!(k.initials, "3mzgsh");
        assert_eq!(k.full, "3mzhongguoshanghai");
    }

    #[test]
    fn u_umlaut_is_v() {
        assert_eq!(pinyin_keys("绿地").full, "lvdi");
        assert_eq!(pinyin_keys("女装").initials, "nz");
    }

    #[test]
    fn empty_and_unreadable() {
        let k = pinyin_keys("");
        assert_eq!((k.initials.as_str(), k.full.as_str()), ("", ""));
        assert_eq!(k.variants, vec![(String::new(), String::new())]);
        assert_eq!(pinyin_keys("（）—").full, "");
    }

    #[test]
    fn variants_are_capped_and_distinct() {
        // Every character here has several readings.
        let k = pinyin_keys("重长行乐调朝单曾解");
        assert_eq!(k.variants.len(), 16);
        let distinct: HashSet<_> = k.variants.iter().collect();
        assert_eq!(distinct.len(), 16);
        assert_eq!(k.variants[0], (k.initials.clone(), k.full.clone()));
    }

    #[test]
    fn no_heteronym_no_variants() {
        let k = pinyin_keys("北京");
        assert_eq!(k.variants, vec![("bj".into(), "beijing".into())]);
    }
}
