//! Stretches of the name order: where a list sorted by name finds the
//! matches of a text that gather there.
//!
//! A list sorted by name follows each customer's key, the full pinyin of
//! its full name (`pinyin`). Names start with their city, so the matches
//! of a city's name or pinyin (南通, nt, yantai) lie together far into that
//! order: a walk from its start passes hundreds of thousands of rows, and
//! sorting every match reads each by id. The index therefore holds, per
//! customer, which stretch of the order its key lies in (`p:` terms, the
//! key's first letters at each of [`NAME_ORDER_LETTERS`]); a page reads the
//! few stretches that hold most of a text's matches along the name index,
//! and the index names the matches outside them, which are few and sorted
//! by id.

/// The lengths of key start a `p:` term holds: shorter stretches hold the
/// matches of texts that spread over a region's cities (a stretch per
/// city's first letters), longer ones keep a city apart from the next one
/// with the same start (汕头 shantou after 上海 shanghai in `shan`).
pub const NAME_ORDER_LETTERS: [usize; 2] = [4, 6];

/// The key's first `letters` characters (all of a shorter key), when the
/// key is what a term holds (lowercase letters and digits; a name without
/// a reading has none).
fn label(key: &str, letters: usize) -> Option<&str> {
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return None;
    }
    Some(&key[..letters.min(key.len())])
}

/// The `p:` term of the stretch labelled `label` at `letters`: the length
/// first (one digit), so that a short key's whole label is never read as
/// the start of longer keys.
fn term(letters: usize, label: &str) -> String {
    format!("p:{letters}{label}")
}

/// The `p:` terms of a customer whose name order key is `key`, one per
/// length of [`NAME_ORDER_LETTERS`].
pub fn name_order_terms(key: &str) -> impl Iterator<Item = String> + '_ {
    NAME_ORDER_LETTERS
        .into_iter()
        .filter_map(move |letters| label(key, letters).map(|l| term(letters, l)))
}

/// A stretch of the name order: the customers whose key starts with
/// `start` (`whole` false), or whose key is `start` (`whole`, a key shorter
/// than the stretch's length); the index term says which customers they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameStretch {
    pub term: String,
    pub start: String,
    pub whole: bool,
}

impl NameStretch {
    /// The first key past every key of a stretch that starts with `start`
    /// (keys are lowercase letters and digits, which sort digits first);
    /// `None` when no key comes after (`zz…`).
    pub fn end(&self) -> Option<String> {
        let mut end = self.start.clone().into_bytes();
        while let Some(last) = end.pop() {
            let next = match last {
                b'0'..=b'8' | b'a'..=b'y' => last + 1,
                b'9' => b'a',
                _ => continue,
            };
            end.push(next);
            return String::from_utf8(end).ok();
        }
        None
    }
}

/// A stretch that holds at least this part of a sample (one in eight) is
/// walked whenever it is among the largest.
const LARGE_STRETCH: usize = 8;

/// The fewest stretches (at most `most`, in key order) that hold all but
/// at most `outside` of `sample`, the keys of an even sample of a text's
/// matches, and every large one among them ([`LARGE_STRETCH`]): at the
/// longest length that needs no more than `most`, the largest stretches
/// first (each one more is walked, and a stretch that holds few matches is
/// a walk past its other customers). `None` when no length does (the
/// matches spread over the order).
pub fn name_stretches(sample: &[String], most: usize, outside: usize) -> Option<Vec<NameStretch>> {
    for letters in NAME_ORDER_LETTERS.into_iter().rev() {
        let mut held: std::collections::BTreeMap<&str, usize> = Default::default();
        for key in sample {
            if let Some(l) = label(key, letters) {
                *held.entry(l).or_default() += 1;
            }
        }
        let mut largest: Vec<(&str, usize)> = held.into_iter().collect();
        largest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut left = sample.len();
        let mut chosen = Vec::new();
        for (l, n) in largest.into_iter().take(most) {
            // A large stretch is walked even when the rest could be
            // sorted: the sample may have come from the first matches only.
            if left <= outside && n * LARGE_STRETCH < sample.len() {
                break;
            }
            left -= n;
            chosen.push(NameStretch {
                term: term(letters, l),
                start: l.to_owned(),
                whole: l.len() < letters,
            });
        }
        if left <= outside && !chosen.is_empty() {
            chosen.sort_by(|a, b| a.start.cmp(&b.start));
            return Some(chosen);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> Vec<String> {
        list.iter().map(|k| (*k).to_owned()).collect()
    }

    #[test]
    fn a_key_has_a_term_per_length_and_a_short_key_its_whole() {
        let terms: Vec<String> = name_order_terms("nantongshiyou").collect();
        assert_eq!(terms, ["p:4nant", "p:6nanton"]);
        let terms: Vec<String> = name_order_terms("wuxi").collect();
        assert_eq!(terms, ["p:4wuxi", "p:6wuxi"]);
        let terms: Vec<String> = name_order_terms("3mzhongguo").collect();
        assert_eq!(terms, ["p:43mzh", "p:63mzhon"]);
        assert_eq!(name_order_terms("").count(), 0);
        assert_eq!(name_order_terms("ABC").count(), 0);
    }

    #[test]
    fn a_stretch_ends_at_the_next_start_of_its_length() {
        let end = |start: &str| {
            NameStretch {
                term: String::new(),
                start: start.to_owned(),
                whole: false,
            }
            .end()
        };
        assert_eq!(end("nant").as_deref(), Some("nanu"));
        assert_eq!(end("nanz").as_deref(), Some("nao"));
        assert_eq!(end("ab19").as_deref(), Some("ab1a"));
        assert_eq!(end("ab18").as_deref(), Some("ab19"));
        assert_eq!(end("zzzz"), None);
    }

    #[test]
    fn the_longest_stretches_that_hold_the_sample_are_chosen() {
        // A city: one stretch of six letters.
        let city = keys(&["nantongshi", "nantongxin", "nantonghua", "nantongda"]);
        let s = name_stretches(&city, 4, 0).expect("one stretch");
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].term.as_str(), s[0].start.as_str()),
            ("p:6nanton", "nanton")
        );
        // Two cities, in key order.
        let two = keys(&["suzhoushi", "shenzhenshi", "suzhouda", "shenzhenhua"]);
        let s = name_stretches(&two, 4, 0).expect("two stretches");
        let starts: Vec<&str> = s.iter().map(|s| s.start.as_str()).collect();
        assert_eq!(starts, ["shenzh", "suzhou"]);
        // Six letters spread, four hold them: nant, ning.
        let nt = keys(&["nantai", "nantuo", "nanting", "ningtai", "ningtian"]);
        let s = name_stretches(&nt, 2, 0).expect("four letters");
        let starts: Vec<&str> = s.iter().map(|s| s.start.as_str()).collect();
        assert_eq!(starts, ["nant", "ning"]);
        // Matches allowed outside: no more stretches than needed, the largest.
        let mut mixed = vec!["nantongshi"; 9];
        mixed.push("ningtai");
        let mixed = keys(&mixed);
        let s = name_stretches(&mixed, 4, 1).expect("the largest alone");
        let starts: Vec<&str> = s.iter().map(|s| s.start.as_str()).collect();
        assert_eq!(starts, ["nanton"]);
        let s = name_stretches(&mixed, 4, 0).expect("both");
        let starts: Vec<&str> = s.iter().map(|s| s.start.as_str()).collect();
        assert_eq!(starts, ["nanton", "ningta"]);
        // Both large ones, even where one would do.
        let s = name_stretches(&two, 4, 2).expect("both");
        assert_eq!(s.len(), 2);
        let mut many = vec!["yichang"; 6];
        many.extend(["yinchuan"; 3]);
        many.push("anhui");
        let s = name_stretches(&keys(&many), 4, 4).expect("yichan, yinchu");
        let starts: Vec<&str> = s.iter().map(|s| s.start.as_str()).collect();
        assert_eq!(starts, ["yichan", "yinchu"]);
        // A short key is a stretch of its own key.
        let s = name_stretches(&keys(&["wuxi", "wuxi"]), 1, 0).expect("wuxi");
        assert_eq!(s[0].term, "p:6wuxi");
        assert!(s[0].whole);
    }

    #[test]
    fn spread_matches_have_no_stretch() {
        let spread = keys(&["anhui", "beijing", "chengdu", "dalian", "ezhou"]);
        assert_eq!(name_stretches(&spread, 4, 0), None);
        assert_eq!(name_stretches(&spread, 3, 1), None);
        // Keys without a term count as outside.
        assert_eq!(name_stretches(&keys(&["", "", "nantong"]), 4, 1), None);
        assert!(name_stretches(&keys(&["", "nantong", "nantong"]), 4, 1).is_some());
    }
}
