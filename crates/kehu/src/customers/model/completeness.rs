//! Archive completeness (档案完整度): how many of the fields policy requires
//! a customer record has, and which are missing.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Completeness {
    /// Percentage of required fields filled, 0..=100, rounded down so that
    /// 100 means really complete.
    pub score: u8,
    /// Required fields not filled, in policy order.
    pub missing: Vec<String>,
}

/// Scores a record against the field names policy requires; `filled` says
/// whether the record has a value for a field. A field listed twice counts
/// once; no required fields means complete.
pub fn completeness(filled: &dyn Fn(&str) -> bool, required: &[String]) -> Completeness {
    let mut fields: Vec<&str> = Vec::with_capacity(required.len());
    for f in required {
        if !fields.contains(&f.as_str()) {
            fields.push(f);
        }
    }
    if fields.is_empty() {
        return Completeness {
            score: 100,
            missing: Vec::new(),
        };
    }
    let missing: Vec<String> = fields
        .iter()
        .filter(|f| !filled(f))
        .map(|f| f.to_string())
        .collect();
    let done = fields.len() - missing.len();
    let score = u8::try_from(done * 100 / fields.len()).unwrap_or(100);
    Completeness { score, missing }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scores_and_lists_missing_in_order() {
        let have = ["full_name", "region"];
        let filled = |f: &str| have.contains(&f);
        let c = completeness(
            &filled,
            &fields(&["full_name", "address", "region", "contacts"]),
        );
        assert_eq!(c.score, 50);
        assert_eq!(c.missing, fields(&["address", "contacts"]));
    }

    #[test]
    fn rounds_down() {
        let filled = |f: &str| f != "c";
        let c = completeness(&filled, &fields(&["a", "b", "c"]));
        assert_eq!(c.score, 66);
        let filled = |f: &str| f == "a";
        assert_eq!(completeness(&filled, &fields(&["a", "b", "c"])).score, 33);
    }

    #[test]
    fn bounds() {
        let all = |_: &str| true;
        let none = |_: &str| false;
        let req = fields(&["a", "b"]);
        assert_eq!(
            completeness(&all, &req),
            Completeness {
                score: 100,
                missing: vec![]
            }
        );
        assert_eq!(completeness(&none, &req).score, 0);
        assert_eq!(completeness(&none, &req).missing, req);
        assert_eq!(completeness(&none, &[]).score, 100);
    }

    #[test]
    fn duplicates_count_once() {
        let filled = |f: &str| f == "a";
        let c = completeness(&filled, &fields(&["a", "b", "b"]));
        assert_eq!(c.score, 50);
        assert_eq!(c.missing, fields(&["b"]));
    }
}
