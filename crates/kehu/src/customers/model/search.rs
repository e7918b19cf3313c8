//! Index terms for customer search and the classification of what a user
//! typed into the search box. Term formats are documented on the parent
//! module.

use std::collections::BTreeSet;

use super::{nfkc, phone_digits, pinyin_keys, search_text, validate_credit_code};

/// What a search box input asks for; see the parent module for how the
/// store matches each kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchQuery {
    /// A unified social credit code, upper case.
    CreditCode(String),
    /// Seven or more digits of a phone number, as [`super::phone_digits`].
    Phone(String),
    /// A customer (or document) code such as `C2026000123`, upper case.
    Code(String),
    /// Lowercase ASCII letters: a reading of a name starts with them.
    Pinyin(String),
    /// Name search, a substring of the full or short name: `terms` are
    /// what every such name holds (the one term of a text of up to
    /// [`NAME_TERM_CHARS`] characters, [`run_term`], or each run of four
    /// of a longer one, `q:`); `text` the
    /// [`super::search_text`] typed.
    Name { terms: Vec<String>, text: String },
}

/// The fewest digits read as a phone number (or the start of one, or of a
/// credit code); fewer are searched as part of a name.
pub const MIN_PHONE_DIGITS: usize = 7;

/// The longest start of a credit code kept as a `k:` term: the registration
/// authority, the kind and the region (characters 1–8). A longer query
/// looks its first eight up and checks the rest on the row.
pub const CREDIT_TERM_CHARS: usize = 8;

/// Letters of a reading's start kept as `y:` terms. A longer pinyin query
/// looks its first letters up and checks the rest on the row.
pub const PINYIN_TERM_LETTERS: usize = 8;

/// The longest run of a name's characters that is one term (`q:`): a
/// name query up to this long is answered by the index alone, count
/// included; a longer one holds all its runs and is checked on the row.
/// Four, because people type four-character words (有限公司, 化工有限) and a
/// common one's exact count would otherwise test thousands of rows.
pub const NAME_TERM_CHARS: usize = 4;

/// The term of a run of one to [`NAME_TERM_CHARS`] consecutive characters:
/// `c:` one, `n:` two, `g:` three, `q:` four.
fn run_term(run: &[char]) -> String {
    let kind = match run.len() {
        1 => "c",
        2 => "n",
        3 => "g",
        _ => "q",
    };
    format!("{kind}:{}", run.iter().collect::<String>())
}

/// The terms of every run of a name's characters up to [`NAME_TERM_CHARS`]
/// ([`run_term`]), and `a:` terms (its first one to [`NAME_TERM_CHARS`]
/// characters).
fn name_terms(text: &str, out: &mut BTreeSet<String>) {
    let chars: Vec<char> = text.chars().collect();
    for n in 1..=NAME_TERM_CHARS.min(chars.len()) {
        out.insert(format!("a:{}", chars[..n].iter().collect::<String>()));
        out.extend(chars.windows(n).map(run_term));
    }
}

/// The `a:` term of the names that start with a name query's `text`
/// ([`super::search_text`] form), and whether it is the whole rule (a
/// longer text also needs its other terms and the row's `name_text`).
pub fn name_start_term(text: &str) -> (String, bool) {
    start_term("a", text, NAME_TERM_CHARS)
}

/// `<kind>:` and the first `chars` characters of `text`, and whether that
/// is all of it: the term a query looks up when terms keep only starts.
fn start_term(kind: &str, text: &str, chars: usize) -> (String, bool) {
    let end = text
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i);
    (format!("{kind}:{}", &text[..end]), end == text.len())
}

/// `y:` terms of a reading: its first one to [`PINYIN_TERM_LETTERS`]
/// letters, so that a pinyin query is one exact term.
fn reading_terms(reading: &str, out: &mut BTreeSet<String>) {
    for (n, _) in reading.char_indices().skip(1) {
        if n > PINYIN_TERM_LETTERS {
            return;
        }
        out.insert(format!("y:{}", &reading[..n]));
    }
    if !reading.is_empty() && reading.len() <= PINYIN_TERM_LETTERS {
        out.insert(format!("y:{reading}"));
    }
}

/// The `y:` term a pinyin query looks up, and whether it is the whole
/// query (a longer one also checks the row's `pinyin_text`).
pub fn pinyin_term(pinyin: &str) -> (String, bool) {
    start_term("y", pinyin, PINYIN_TERM_LETTERS)
}

/// `k:` terms of a credit code: its starts of [`MIN_PHONE_DIGITS`] to
/// [`CREDIT_TERM_CHARS`] characters, the lengths a digits query looks up.
fn credit_terms(code: &str) -> impl Iterator<Item = String> + '_ {
    (MIN_PHONE_DIGITS..=CREDIT_TERM_CHARS)
        .filter_map(move |n| code.get(..n).filter(|_| code.len() >= n))
        .map(|start| format!("k:{start}"))
}

/// The `k:` term a digits query looks up as the start of a credit code,
/// and whether it is the whole query (a longer one also checks the row's
/// credit code).
pub fn credit_term(digits: &str) -> (String, bool) {
    start_term("k", digits, CREDIT_TERM_CHARS)
}

/// The term of the customer's owner.
pub fn owner_term(user_id: i64) -> String {
    user_term("o", user_id)
}

/// The term of a user the customer is shared with.
pub fn shared_term(user_id: i64) -> String {
    user_term("s", user_id)
}

/// `<kind>:<user id>`; an id no user has (a filter typed as -5) keeps to
/// letters and digits as `n5`, so that it is one token that matches nothing.
fn user_term(kind: &str, user_id: i64) -> String {
    if user_id < 0 {
        format!("{kind}:n{}", user_id.unsigned_abs())
    } else {
        format!("{kind}:{user_id}")
    }
}

/// The search term (and duplicate key) of a phone number.
pub fn phone_term(phone: &str) -> String {
    format!("t:{}", phone_digits(phone))
}

/// The term of a list filter's value, `f:<field>:<value in hex>` (`field`
/// in letters): hex so that any value (a code with `_`, a region in
/// Chinese) stays one token.
pub fn filter_term(field: &str, value: &str) -> String {
    let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
    format!("f:{field}:{hex}")
}

/// The list filters a customer is indexed under, so that a filtered search
/// is counted on the index too.
#[derive(Debug, Clone, Copy)]
pub struct Filters<'a> {
    pub customer_type: &'a str,
    pub stage: &'a str,
    pub region: Option<&'a str>,
    pub industry: Option<&'a str>,
    pub grade: Option<&'a str>,
    /// As stored: `,tag1,tag2,`.
    pub tags: &'a str,
}

impl Filters<'_> {
    fn terms(&self) -> impl Iterator<Item = String> + '_ {
        [
            ("type", Some(self.customer_type)),
            ("stage", Some(self.stage)),
            ("region", self.region),
            ("industry", self.industry),
            ("grade", self.grade),
        ]
        .into_iter()
        .filter_map(|(field, v)| v.filter(|v| !v.is_empty()).map(|v| filter_term(field, v)))
        .chain(
            self.tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| filter_term("tag", t)),
        )
    }
}

/// Every index term of a customer: [`search_terms`] of its names, `p:`
/// terms of where `name_key` (its stored `pinyin`, which a list sorted by
/// name follows) lies in that order, a `t:` term per phone, `k:` terms of
/// its credit code's start, its owner's `o:` term, an `s:` term per user it
/// is shared with and an `f:` term per filter value; deduplicated and sorted.
#[allow(clippy::too_many_arguments)]
pub fn customer_terms<'a>(
    full_name: &str,
    short_name: Option<&str>,
    name_key: &str,
    credit_code: Option<&str>,
    phones: impl Iterator<Item = &'a str>,
    owner_id: i64,
    shared_with: &[i64],
    filters: Filters<'_>,
) -> Vec<String> {
    let mut terms = search_terms(full_name, short_name);
    terms.extend(super::name_order_terms(name_key));
    terms.extend(credit_code.into_iter().flat_map(credit_terms));
    terms.extend(phones.map(phone_term));
    terms.push(owner_term(owner_id));
    terms.extend(shared_with.iter().map(|u| shared_term(*u)));
    terms.extend(filters.terms());
    terms.sort();
    terms.dedup();
    terms
}

/// The name and pinyin terms to store for a customer, deduplicated and sorted.
pub fn search_terms(full_name: &str, short_name: Option<&str>) -> Vec<String> {
    let mut terms = BTreeSet::new();
    for name in std::iter::once(full_name).chain(short_name) {
        name_terms(&search_text(name), &mut terms);
        for (initials, full) in pinyin_keys(name).variants {
            reading_terms(&initials, &mut terms);
            reading_terms(&full, &mut terms);
        }
    }
    terms.into_iter().collect()
}

/// A customer's names and pinyin as two row columns, so that a search can
/// check a row it walks without the term index:
/// - `name_text`: [`search_text`] of the full name and of the short name,
///   space-separated (a name query never holds a space, so a substring
///   never spans the two);
/// - `pinyin_text`: every `(initials, full)` reading variant of both names,
///   each behind a space, so that a pinyin query `q` matches a row exactly
///   when `pinyin_text` contains `" " + q` — the `y:` terms' rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchColumns {
    pub name_text: String,
    pub pinyin_text: String,
}

pub fn search_columns(full_name: &str, short_name: Option<&str>) -> SearchColumns {
    let mut names: Vec<String> = Vec::new();
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for name in std::iter::once(full_name).chain(short_name) {
        let text = search_text(name);
        if !text.is_empty() && !names.contains(&text) {
            names.push(text);
        }
        for (initials, full) in pinyin_keys(name).variants {
            keys.extend([initials, full].into_iter().filter(|k| !k.is_empty()));
        }
    }
    SearchColumns {
        name_text: names.join(" "),
        pinyin_text: keys.iter().map(|k| format!(" {k}")).collect(),
    }
}

fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3134F}')
}

/// Letters then digits, as customer and document codes are: `C2026000123`,
/// `KH-2026-0001`.
fn looks_like_code(s: &str) -> bool {
    let letters = s.chars().take_while(char::is_ascii_alphabetic).count();
    let rest = &s[letters..];
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    (1..=6).contains(&letters)
        && rest.starts_with(|c: char| c.is_ascii_digit())
        && rest.chars().all(|c| c.is_ascii_digit() || c == '-')
}

/// Classifies a search box input (see [`SearchQuery`]).
pub fn query_terms(q: &str) -> SearchQuery {
    let folded = nfkc(q);
    let compact: String = folded.chars().filter(|c| !c.is_whitespace()).collect();

    if !compact.chars().any(is_han) {
        // A credit code, valid or mistyped: 18 letters and digits whose
        // characters 3–8 are the region digits.
        let upper = compact.to_ascii_uppercase();
        if let Ok(code) = validate_credit_code(&upper) {
            return SearchQuery::CreditCode(code);
        }
        if upper.len() == 18
            && upper.chars().all(|c| c.is_ascii_alphanumeric())
            && upper[2..8].chars().all(|c| c.is_ascii_digit())
        {
            return SearchQuery::CreditCode(upper);
        }

        let phone_like = compact
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')' | '.'));
        if phone_like && compact.chars().filter(char::is_ascii_digit).count() >= MIN_PHONE_DIGITS {
            return SearchQuery::Phone(phone_digits(&folded));
        }
        if looks_like_code(&compact) {
            return SearchQuery::Code(upper);
        }
        let letters: String = compact.chars().filter(|&c| c != '\'').collect();
        if !letters.is_empty() && letters.chars().all(|c| c.is_ascii_alphabetic()) {
            return SearchQuery::Pinyin(letters.to_ascii_lowercase());
        }
    }

    let text = search_text(&folded);
    let chars: Vec<char> = text.chars().collect();
    let mut terms: Vec<String> = Vec::new();
    match chars.len() {
        0 => {}
        n if n <= NAME_TERM_CHARS => terms.push(run_term(&chars)),
        // Longer: every run of four, each rarer than a shorter one.
        _ => {
            for w in chars.windows(NAME_TERM_CHARS) {
                let term = run_term(w);
                if !terms.contains(&term) {
                    terms.push(term);
                }
            }
        }
    }
    SearchQuery::Name { terms, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(terms: &[&str], text: &str) -> SearchQuery {
        SearchQuery::Name {
            terms: terms.iter().map(|s| s.to_string()).collect(),
            text: text.into(),
        }
    }

    #[test]
    fn search_columns_agree_with_the_terms() {
        let cols = search_columns("北京石油有限公司", Some("北京石油"));
        assert_eq!(cols.name_text, "北京石油有限公司 北京石油");
        assert!(cols.pinyin_text.contains(" bjsy"), "{cols:?}");
        assert!(cols.pinyin_text.contains(" beijingshiyouyouxiangongsi"));
        // Every y: term starts a reading, every n:, g:, q: and c: term is in a
        // name, every a: term starts one.
        for term in search_terms("曾记食品厂", Some("ＴＣＬ")) {
            let cols = search_columns("曾记食品厂", Some("ＴＣＬ"));
            match term.split_once(':') {
                Some(("n" | "c" | "g" | "q", v)) => assert!(cols.name_text.contains(v), "{term}"),
                Some(("y", v)) => assert!(cols.pinyin_text.contains(&format!(" {v}")), "{term}"),
                Some(("a", v)) => assert!(
                    format!(" {}", cols.name_text).contains(&format!(" {v}")),
                    "{term}"
                ),
                _ => unreachable!("{term}"),
            }
        }
        assert_eq!(search_columns("", None), SearchColumns::default());
    }

    #[test]
    fn user_terms_are_one_token_for_any_id() {
        assert_eq!(owner_term(42), "o:42");
        assert_eq!(shared_term(7), "s:7");
        for id in [i64::MIN, -1, 0, i64::MAX] {
            for term in [owner_term(id), shared_term(id)] {
                let (_, value) = term.split_once(':').unwrap_or_default();
                assert!(value.chars().all(|c| c.is_ascii_alphanumeric()), "{term}");
            }
        }
        assert_ne!(owner_term(-5), owner_term(5));
    }

    #[test]
    fn terms_of_a_customer() {
        let terms = search_terms("北京石油有限公司", Some("北京石油"));
        for t in [
            "n:北京",
            "n:京石",
            "n:石油",
            "n:油有",
            "n:公司",
            "g:北京石",
            "g:限公司",
            "q:北京石油",
            "q:有限公司",
            "c:司",
            "c:油",
            "y:b",
            "y:bjsy",
            "y:bjsyyxgs",
            "y:be",
            "y:beijings",
        ] {
            assert!(terms.contains(&t.to_string()), "{t} missing from {terms:?}");
        }
        let mut sorted = terms.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(terms, sorted);
    }

    #[test]
    fn the_start_of_each_name_is_a_term_up_to_four_characters() {
        let terms = search_terms("北京石油有限公司", Some("京油"));
        for t in ["a:北", "a:北京", "a:北京石", "a:北京石油", "a:京", "a:京油"] {
            assert!(terms.contains(&t.to_string()), "{t} missing from {terms:?}");
        }
        assert!(!terms.iter().any(|t| t == "a:北京石油有" || t == "a:石"));
        // What a query looks up: its start, and whether that is all of it.
        assert_eq!(name_start_term("北京"), ("a:北京".to_string(), true));
        assert_eq!(name_start_term("北京石"), ("a:北京石".to_string(), true));
        assert_eq!(
            name_start_term("北京石油"),
            ("a:北京石油".to_string(), true)
        );
        assert_eq!(
            name_start_term("北京石油有"),
            ("a:北京石油".to_string(), false)
        );
        assert_eq!(name_start_term("tcl"), ("a:tcl".to_string(), true));
    }

    #[test]
    fn terms_cover_heteronym_readings() {
        let terms = search_terms("重庆钢铁集团", None);
        assert!(terms.contains(&"y:cqgtjt".to_string()));
        assert!(terms.contains(&"y:zqgtjt".to_string()));
        assert!(terms.contains(&"y:chongqin".to_string()));
        // Prefixes stop at eight letters: the row checks the rest.
        assert!(
            !terms
                .iter()
                .any(|t| t.len() > 2 + PINYIN_TERM_LETTERS && t.starts_with("y:"))
        );
    }

    #[test]
    fn terms_of_latin_and_short_names() {
        let terms = search_terms("ＴＣＬ科技", Some("华星"));
        for t in [
            "n:tc",
            "n:cl",
            "n:l科",
            "n:科技",
            "n:华星",
            "c:l",
            "y:tclkj",
            "y:hx",
            "y:huaxing",
        ] {
            assert!(terms.contains(&t.to_string()), "{t} missing from {terms:?}");
        }
    }

    /// The stores rely on it: the SQLite index splits a document at spaces,
    /// and PostgreSQL's insert passes the terms as one space-separated list.
    #[test]
    fn a_term_is_letters_and_digits_after_its_prefix() {
        let names = [
            ("ABC Trading Co., Ltd.", Some("A-B\tC")),
            ("深圳　华强\u{a0}电子 (集团)", Some("华强 · 电子")),
            ("重庆\n钢铁 集团", None),
        ];
        for (full, short) in names {
            for t in search_terms(full, short) {
                let (prefix, value) = t.split_once(':').unwrap_or(("", ""));
                assert!(["n", "g", "q", "c", "y", "a"].contains(&prefix), "{t}");
                assert!(!value.is_empty(), "{t}");
                assert!(
                    value.chars().all(char::is_alphanumeric),
                    "{t:?} of {full:?}"
                );
            }
        }
    }

    #[test]
    fn filter_values_are_one_token_each() {
        let filters = Filters {
            customer_type: "direct_manufacturer",
            stage: "active",
            region: Some("华东"),
            industry: None,
            grade: Some(""),
            tags: ",重点, 出口 ,",
        };
        let terms = customer_terms(
            "甲",
            None,
            "jia",
            Some("91330200MA2AL5RX3K"),
            std::iter::empty(),
            7,
            &[3],
            filters,
        );
        for t in [
            "f:type:6469726563745f6d616e756661637475726572",
            "f:stage:616374697665",
            "f:region:e58d8ee4b89c",
            "f:tag:e9878de782b9",
            "f:tag:e587bae58fa3",
            "o:7",
            "s:3",
            "p:4jia",
            "p:6jia",
            "k:9133020",
            "k:91330200",
        ] {
            assert!(terms.contains(&t.to_string()), "{t} missing from {terms:?}");
        }
        assert!(
            !terms
                .iter()
                .any(|t| t.starts_with("f:industry") || t.starts_with("f:grade"))
        );
        assert_eq!(terms.iter().filter(|t| t.starts_with("k:")).count(), 2);
        assert!(
            terms
                .iter()
                .all(|t| t.chars().all(|c| c.is_alphanumeric() || c == ':'))
        );
    }

    #[test]
    fn one_character_name() {
        let terms = search_terms("鑫", None);
        assert!(terms.contains(&"c:鑫".to_string()));
        assert!(terms.contains(&"y:x".to_string()));
        assert!(terms.contains(&"y:xin".to_string()));
        assert!(search_terms("", None).is_empty());
    }

    #[test]
    fn credit_codes() {
        assert_eq!(
            query_terms(" 91350100m000100y43 "),
            SearchQuery::CreditCode("91350100M000100Y43".into())
        );
        // A wrong check character still reads as a credit code.
        assert_eq!(
            query_terms("91350100M000100Y44"),
            SearchQuery::CreditCode("91350100M000100Y44".into())
        );
    }

    #[test]
    fn digits_look_up_a_credit_code_start_of_at_most_eight() {
        assert_eq!(credit_term("9133020"), ("k:9133020".into(), true));
        assert_eq!(credit_term("91330200"), ("k:91330200".into(), true));
        assert_eq!(credit_term("913302001"), ("k:91330200".into(), false));
        let stored: Vec<String> = credit_terms("91330200MA2AL5RX3K").collect();
        assert_eq!(stored, ["k:9133020", "k:91330200"]);
        // Every digits query up to eight long is one stored term.
        for n in MIN_PHONE_DIGITS..=CREDIT_TERM_CHARS {
            assert!(stored.contains(&credit_term(&"91330200"[..n]).0));
        }
        assert_eq!(credit_terms("913").count(), 0);
    }

    #[test]
    fn phones() {
        assert_eq!(
            query_terms("+86 138-1234-5678"),
            SearchQuery::Phone("13812345678".into())
        );
        assert_eq!(query_terms("1381234"), SearchQuery::Phone("1381234".into()));
        assert_eq!(
            query_terms("(021)1234-5678"),
            SearchQuery::Phone("02112345678".into())
        );
        assert_eq!(
            query_terms("１３８１２３４５６７８"),
            SearchQuery::Phone("13812345678".into())
        );
    }

    #[test]
    fn codes() {
        assert_eq!(
            query_terms("C2026000123"),
            SearchQuery::Code("C2026000123".into())
        );
        assert_eq!(
            query_terms("c2026000123"),
            SearchQuery::Code("C2026000123".into())
        );
        assert_eq!(
            query_terms("KS-202601-0001"),
            SearchQuery::Code("KS-202601-0001".into())
        );
    }

    #[test]
    fn pinyin() {
        assert_eq!(query_terms("bjsy"), SearchQuery::Pinyin("bjsy".into()));
        assert_eq!(query_terms("BJSY"), SearchQuery::Pinyin("bjsy".into()));
        assert_eq!(
            query_terms("bei jing"),
            SearchQuery::Pinyin("beijing".into())
        );
        assert_eq!(query_terms("xi'an"), SearchQuery::Pinyin("xian".into()));
    }

    #[test]
    fn names() {
        assert_eq!(query_terms("北京石油"), name(&["q:北京石油"], "北京石油"));
        assert_eq!(
            query_terms(" 北京 石油（ "),
            name(&["q:北京石油"], "北京石油")
        );
        assert_eq!(
            query_terms("北京石油化工"),
            name(&["q:北京石油", "q:京石油化", "q:石油化工"], "北京石油化工")
        );
        assert_eq!(query_terms("油"), name(&["c:油"], "油"));
        assert_eq!(query_terms("哈哈哈"), name(&["g:哈哈哈"], "哈哈哈"));
        assert_eq!(
            query_terms("TCL科技"),
            name(&["q:tcl科", "q:cl科技"], "tcl科技")
        );
        // Han characters make it a name even when digits follow.
        assert_eq!(
            query_terms("北京13812345678"),
            SearchQuery::Name {
                terms: query_terms_runs("北京13812345678"),
                text: "北京13812345678".into()
            }
        );
    }

    fn query_terms_runs(s: &str) -> Vec<String> {
        let chars: Vec<char> = s.chars().collect();
        chars
            .windows(4)
            .map(|w| format!("q:{}", w.iter().collect::<String>()))
            .collect()
    }

    #[test]
    fn other_inputs_search_names() {
        assert_eq!(query_terms(""), name(&[], ""));
        assert_eq!(query_terms("   "), name(&[], ""));
        assert_eq!(query_terms("3M"), name(&["n:3m"], "3m"));
        assert_eq!(query_terms("123"), name(&["g:123"], "123"));
        assert_eq!(query_terms("有限"), name(&["n:有限"], "有限"));
        assert_eq!(query_terms("限"), name(&["c:限"], "限"));
        assert_eq!(query_terms("哈哈哈哈"), name(&["q:哈哈哈哈"], "哈哈哈哈"));
        // A run that repeats is looked up once.
        assert_eq!(
            query_terms("哈哈哈哈哈"),
            name(&["q:哈哈哈哈"], "哈哈哈哈哈")
        );
    }

    #[test]
    fn every_query_term_is_an_index_term() {
        let name = "深圳市腾讯计算机系统有限公司";
        let terms = search_terms(name, None);
        for q in [
            "腾",
            "腾讯",
            "腾讯计",
            "深圳市腾讯",
            "计算机系统",
            "有限",
            "限公司",
        ] {
            let SearchQuery::Name {
                terms: wanted,
                text,
            } = query_terms(q)
            else {
                panic!("{q} is a name query");
            };
            assert!(search_text(name).contains(&text));
            for t in wanted {
                assert!(terms.contains(&t), "{t}");
            }
        }
        for (q, whole) in [
            ("szstx", true),
            ("shenzhen", true),
            ("SZSTXJSJ", true),
            ("shenzhenshi", false),
        ] {
            let SearchQuery::Pinyin(p) = query_terms(q) else {
                panic!("{q} is a pinyin query");
            };
            let (term, exact) = pinyin_term(&p);
            assert_eq!(exact, whole, "{q}");
            assert!(terms.contains(&term), "{q}: {term}");
        }
    }
}
