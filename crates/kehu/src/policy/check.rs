//! Loading a policy file so that every problem is reported at once, each with its line.
//!
//! Three passes, each only as far as the previous one allows:
//! 1. **Syntax.** The TOML parser recovers from errors, so one pass yields every syntax error and
//!    a best-effort document with spans (one error per line is kept: a bad line often confuses
//!    the parser twice).
//! 2. **Shape.** The document is compared with the shape of the shipped `default.toml`: keys the
//!    default does not have are unknown, values of another TOML type are wrong, keys the default
//!    has are missing unless the `Policy` types can do without them. Array elements are compared
//!    with the default's first element, and maps in [`OPEN_MAPS`] accept any key. This pass needs
//!    no per-section code: a new section is checked as soon as `default.toml` has it.
//! 3. **Meaning.** Only a file that passed 1 and 2 is deserialized into `Policy` and run through
//!    the semantic rules of `validate.rs`; each rule names a field path, which is looked up in
//!    the document to find its line.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, Deserializer};

use super::{Policy, PolicyIssue, PolicyIssueKind, ValueKind, validate};

/// Tables whose keys are chosen by the company (e.g. document kinds). Every value in them must
/// have the shape of the default's first value. Paths use `[]` for "any array element".
const OPEN_MAPS: &[&str] = &["numbering.formats"];

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// A path into the policy document, displayed as `calendar.holidays[3].date`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(Vec<Segment>);

impl FieldPath {
    pub(crate) fn root() -> FieldPath {
        FieldPath::default()
    }

    pub(crate) fn key(&self, key: &str) -> FieldPath {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.to_owned()));
        path
    }

    pub(crate) fn index(&self, index: usize) -> FieldPath {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path with every index written `[]`, to compare with [`OPEN_MAPS`].
    fn schema(&self) -> String {
        let mut out = String::new();
        for segment in &self.0 {
            match segment {
                Segment::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    push_key(&mut out, key);
                }
                Segment::Index(_) => out.push_str("[]"),
            }
        }
        out
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for segment in &self.0 {
            match segment {
                Segment::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    push_key(&mut out, key);
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        f.write_str(&out)
    }
}

/// Writes a key as TOML would: bare when it can be, quoted otherwise, so paths stay unambiguous.
fn push_key(out: &mut String, key: &str) {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        out.push_str(key);
    } else {
        out.push('"');
        for c in key.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
}

/// Byte offsets → 1-based line and column (in characters).
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = match self.text.get(start..offset) {
            Some(prefix) => prefix.chars().count() + 1,
            None => offset - start + 1,
        };
        (line, column)
    }

    /// The byte offset where the line holding `offset` starts.
    fn line_start(&self, offset: usize) -> usize {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        self.starts[line - 1]
    }

    /// The text of a 1-based line, without its line ending.
    fn line(&self, line: usize) -> &'a str {
        let start = self
            .starts
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let end = self.starts.get(line).copied().unwrap_or(self.text.len());
        self.text
            .get(start..end)
            .unwrap_or_default()
            .trim_end_matches(['\n', '\r'])
    }
}

/// The parsed shipped default: the shape every policy file is compared with.
fn default_shape() -> &'static Spanned<DeTable<'static>> {
    static SHAPE: OnceLock<Spanned<DeTable<'static>>> = OnceLock::new();
    // A unit test proves the default parses without errors.
    SHAPE.get_or_init(|| DeTable::parse_recoverable(super::DEFAULT_POLICY_TOML).0)
}

/// `Policy::from_toml`.
pub(crate) fn load(original: &str) -> Result<Policy, Vec<PolicyIssue>> {
    // Pass 1: syntax. Broken table headers first, then everything else.
    let (text, mut issues) = neutralise_broken_headers(original);
    let text: &str = &text;
    let lines = LineIndex::new(text);
    let (doc, syntax_errors) = DeTable::parse_recoverable(text);
    let mut syntax_lines: BTreeSet<usize> = issues.iter().filter_map(|i| i.line).collect();
    for error in &syntax_errors {
        let position = error.span().map(|span| lines.locate(span.start));
        if let Some((line, _)) = position
            && !syntax_lines.insert(line)
        {
            continue;
        }
        let field = error
            .span()
            .and_then(|span| path_at(doc.get_ref(), span.start, lines.line_start(span.start)))
            .map(|path| path.to_string())
            .unwrap_or_default();
        issues.push(PolicyIssue {
            line: position.map(|(line, _)| line),
            column: position.map(|(_, column)| column),
            field,
            kind: PolicyIssueKind::Syntax {
                detail: error.message().to_owned(),
            },
        });
    }
    let had_syntax_errors = !issues.is_empty();

    // Pass 2: shape. A line with a syntax error is already reported, and after a syntax error
    // "missing" keys are most likely just unreadable ones, so neither is reported twice.
    let mut walker = ShapeWalker {
        lines: &lines,
        report_missing: !had_syntax_errors,
        issues: Vec::new(),
        optional: HashMap::new(),
    };
    let shape = default_shape();
    walker.check_table(
        doc.get_ref(),
        doc.span(),
        shape.get_ref(),
        &FieldPath::root(),
    );
    issues.extend(
        walker
            .issues
            .into_iter()
            .filter(|issue| !issue.line.is_some_and(|line| syntax_lines.contains(&line))),
    );
    if !issues.is_empty() {
        return Err(sorted(issues));
    }

    // Pass 3: meaning.
    let policy = match Policy::deserialize(Deserializer::from(doc.clone())) {
        Ok(policy) => policy,
        Err(error) => {
            let position = error.span().map(|span| lines.locate(span.start));
            let field = error
                .span()
                .and_then(|span| path_at(doc.get_ref(), span.start, lines.line_start(span.start)))
                .map(|path| path.to_string())
                .unwrap_or_default();
            return Err(vec![PolicyIssue {
                line: position.map(|(line, _)| line),
                column: position.map(|(_, column)| column),
                field,
                kind: PolicyIssueKind::InvalidValue {
                    detail: error.message().to_owned(),
                },
            }]);
        }
    };
    let semantic: Vec<PolicyIssue> = validate::validate(&policy)
        .into_iter()
        .map(|(path, kind)| {
            let position = locate(doc.get_ref(), &path).map(|span| lines.locate(span.start));
            PolicyIssue {
                line: position.map(|(line, _)| line),
                column: position.map(|(_, column)| column),
                field: path.to_string(),
                kind,
            }
        })
        .collect();
    if semantic.is_empty() {
        Ok(policy)
    } else {
        Err(sorted(semantic))
    }
}

/// Table names given to unreadable header lines; never a real policy key.
const NEUTRALISED: &str = "__kehu_unreadable_line_";

/// At most this many broken headers are neutralised (each costs a parse of the file).
const MAX_NEUTRALISED: usize = 100;

/// Reports every syntax error on a table header line (`[security`, `[[calendar.holidays]`,
/// a table defined twice…) and replaces that line by a header of its own, `[__kehu_unreadable_line_N]`.
///
/// Why: the parser's recovery drops a broken header, so the keys below it land in the previous
/// table and each is reported again as a duplicate or unknown key; one typo in a header of the
/// default policy would produce dozens of issues. Under a header of its own those keys are
/// still checked for syntax but otherwise ignored. Line numbers do not change.
fn neutralise_broken_headers(original: &str) -> (Cow<'_, str>, Vec<PolicyIssue>) {
    let mut text = Cow::Borrowed(original);
    let mut issues = Vec::new();
    // One header per round, the first: a broken header makes the headers after it look broken
    // too (duplicates of tables it failed to open), which the next round no longer sees. Every
    // round neutralises one more line, and a hostile file full of broken headers stops at a
    // bound (its remaining errors are then reported by the ordinary pass).
    for _ in 0..MAX_NEUTRALISED {
        let first_broken = {
            let lines = LineIndex::new(&text);
            let (_, errors) = DeTable::parse_recoverable(&text);
            errors
                .iter()
                .filter_map(|error| {
                    let (line, column) = lines.locate(error.span()?.start);
                    let content = lines.line(line).trim_start();
                    let is_header = content.starts_with('[')
                        && !content.starts_with(&format!("[{NEUTRALISED}"));
                    is_header.then(|| (line, column, error.message().to_owned()))
                })
                .min_by_key(|&(line, column, _)| (line, column))
        };
        let Some((broken, column, detail)) = first_broken else {
            return (text, issues);
        };
        issues.push(PolicyIssue {
            line: Some(broken),
            column: Some(column),
            field: String::new(),
            kind: PolicyIssueKind::Syntax { detail },
        });
        let mut rewritten = String::with_capacity(text.len() + 32);
        for (i, line) in text.split_inclusive('\n').enumerate() {
            if i + 1 == broken {
                let ending = &line[line.trim_end_matches(['\n', '\r']).len()..];
                rewritten.push_str(&format!("[{NEUTRALISED}{}]{ending}", i + 1));
            } else {
                rewritten.push_str(line);
            }
        }
        text = Cow::Owned(rewritten);
    }
    (text, issues)
}

/// By line (issues without a line last), keeping the discovery order otherwise.
fn sorted(mut issues: Vec<PolicyIssue>) -> Vec<PolicyIssue> {
    issues.sort_by_key(|issue| (issue.line.is_none(), issue.line, issue.column));
    issues
}

struct ShapeWalker<'a> {
    lines: &'a LineIndex<'a>,
    report_missing: bool,
    issues: Vec<PolicyIssue>,
    /// `is_optional` by schema path: a file with many incomplete array elements asks often.
    optional: HashMap<String, bool>,
}

impl ShapeWalker<'_> {
    fn push(&mut self, span: Option<Range<usize>>, path: &FieldPath, kind: PolicyIssueKind) {
        let position = span.map(|span| self.lines.locate(span.start));
        self.issues.push(PolicyIssue {
            line: position.map(|(line, _)| line),
            column: position.map(|(_, column)| column),
            field: path.to_string(),
            kind,
        });
    }

    fn is_optional(&mut self, path: &FieldPath) -> bool {
        *self
            .optional
            .entry(path.schema())
            .or_insert_with(|| is_optional(path))
    }

    fn check_value(&mut self, value: &Spanned<DeValue<'_>>, shape: &DeValue<'_>, path: &FieldPath) {
        let (expected, found) = (kind_of(shape), kind_of(value.get_ref()));
        // serde reads an integer where a float is expected, so TOML `1` is a fine weight.
        let compatible =
            expected == found || (expected == ValueKind::Float && found == ValueKind::Integer);
        if !compatible {
            self.push(
                Some(value.span()),
                path,
                PolicyIssueKind::WrongType { expected, found },
            );
            return;
        }
        match (shape, value.get_ref()) {
            (DeValue::Table(shape), DeValue::Table(table)) => {
                self.check_table(table, value.span(), shape, path);
            }
            (DeValue::Array(shape), DeValue::Array(items)) => {
                // An empty default array says nothing about its elements; serde checks them.
                if let Some(element) = shape.first() {
                    for (i, item) in items.iter().enumerate() {
                        self.check_value(item, element.get_ref(), &path.index(i));
                    }
                }
            }
            _ => {}
        }
    }

    fn check_table(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
        shape: &DeTable<'_>,
        path: &FieldPath,
    ) {
        if OPEN_MAPS.contains(&path.schema().as_str()) {
            if let Some(element) = shape.values().next() {
                for (key, value) in table.iter() {
                    self.check_value(value, element.get_ref(), &path.key(key.get_ref()));
                }
            }
            return;
        }
        for (key, value) in table.iter() {
            if path.is_root() && key.get_ref().starts_with(NEUTRALISED) {
                continue;
            }
            let key_path = path.key(key.get_ref());
            match shape.get(key.get_ref().as_ref()) {
                Some(element) => self.check_value(value, element.get_ref(), &key_path),
                None => {
                    let mut expected: Vec<String> =
                        shape.keys().map(|k| k.get_ref().to_string()).collect();
                    // Sorted whatever the map's order (toml's `preserve_order` feature).
                    expected.sort();
                    self.push(
                        Some(key.span()),
                        &key_path,
                        PolicyIssueKind::UnknownField { expected },
                    );
                }
            }
        }
        if self.report_missing {
            let mut keys: Vec<&str> = shape.keys().map(|k| k.get_ref().as_ref()).collect();
            keys.sort_unstable();
            for name in keys {
                let key_path = path.key(name);
                if !table.contains_key(name) && !self.is_optional(&key_path) {
                    // Point at the table's header; the document root has no line of its own.
                    let at = (!path.is_root()).then(|| span.clone());
                    self.push(at, &key_path, PolicyIssueKind::MissingField);
                }
            }
        }
    }
}

fn kind_of(value: &DeValue<'_>) -> ValueKind {
    match value {
        DeValue::String(_) => ValueKind::String,
        DeValue::Integer(_) => ValueKind::Integer,
        DeValue::Float(_) => ValueKind::Float,
        DeValue::Boolean(_) => ValueKind::Boolean,
        DeValue::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(_), None, None) => ValueKind::Date,
            (None, Some(_), None) => ValueKind::Time,
            (Some(_), Some(_), None) => ValueKind::Datetime,
            _ => ValueKind::OffsetDatetime,
        },
        DeValue::Array(_) => ValueKind::Array,
        DeValue::Table(_) => ValueKind::Table,
    }
}

/// Whether `Policy` can be read without the key at `path`: found by removing it from the default
/// (from every element, for keys inside arrays) and trying. The types stay the one source of
/// truth (`Option` and `#[serde(default)]` fields are optional), with nothing to keep in sync.
fn is_optional(path: &FieldPath) -> bool {
    let mut doc = default_shape().clone();
    remove_at(doc.get_mut(), &path.0) && Policy::deserialize(Deserializer::from(doc)).is_ok()
}

fn remove_at(table: &mut DeTable<'_>, path: &[Segment]) -> bool {
    match path {
        [Segment::Key(key)] => table.remove(key.as_str()).is_some(),
        [Segment::Key(key), rest @ ..] => match table.get_mut(key.as_str()) {
            Some(value) => remove_in(value.get_mut(), rest),
            None => false,
        },
        _ => false,
    }
}

fn remove_in(value: &mut DeValue<'_>, path: &[Segment]) -> bool {
    match (value, path.first()) {
        (DeValue::Table(table), Some(Segment::Key(_))) => remove_at(table, path),
        (DeValue::Array(items), Some(Segment::Index(_))) => {
            let mut removed = false;
            for item in items.iter_mut() {
                removed |= remove_in(item.get_mut(), &path[1..]);
            }
            removed
        }
        _ => false,
    }
}

/// The span of the deepest node on `path` that exists in the document (the value itself when
/// present, else its nearest ancestor); `None` at the root.
fn locate(table: &DeTable<'_>, path: &FieldPath) -> Option<Range<usize>> {
    let mut found = None;
    let mut current: Option<&DeValue<'_>> = None;
    for segment in &path.0 {
        let next = match (segment, current) {
            (Segment::Key(key), None) => table.get(key.as_str()),
            (Segment::Key(key), Some(DeValue::Table(t))) => t.get(key.as_str()),
            (Segment::Index(i), Some(DeValue::Array(items))) => items.get(*i),
            _ => None,
        };
        match next {
            Some(node) => {
                found = Some(node.span());
                current = Some(node.get_ref());
            }
            None => break,
        }
    }
    found
}

/// The field an error at `offset` is about, to name the field of a syntax or serde error: the
/// smallest key or value whose span contains `offset`, else the last key on the same line before
/// it (`name = "x" junk` is about `name`). Table headers do not contain their bodies, so the whole
/// tree is searched.
fn path_at(table: &DeTable<'_>, offset: usize, line_start: usize) -> Option<FieldPath> {
    let mut search = Search {
        offset,
        line_start,
        containing: None,
        same_line: None,
    };
    search.table(table, &FieldPath::root());
    search.containing.or(search.same_line).map(|(_, path)| path)
}

struct Search {
    offset: usize,
    line_start: usize,
    /// (span length, path) of the smallest node containing the offset.
    containing: Option<(usize, FieldPath)>,
    /// (span start, path) of the last key starting on the offset's line before it.
    same_line: Option<(usize, FieldPath)>,
}

impl Search {
    fn consider(&mut self, span: Range<usize>, path: &FieldPath, is_key: bool) {
        // Inclusive end: an empty span (a value missing after `=`) still names its key.
        if span.start <= self.offset && self.offset <= span.end {
            let len = span.end - span.start;
            if self
                .containing
                .as_ref()
                .is_none_or(|(best, _)| len <= *best)
            {
                self.containing = Some((len, path.clone()));
            }
        }
        if is_key
            && (self.line_start..=self.offset).contains(&span.start)
            && self
                .same_line
                .as_ref()
                .is_none_or(|(best, _)| span.start >= *best)
        {
            self.same_line = Some((span.start, path.clone()));
        }
    }

    fn table(&mut self, table: &DeTable<'_>, path: &FieldPath) {
        for (key, value) in table.iter() {
            // A neutralised header's keys have no meaningful path.
            if path.is_root() && key.get_ref().starts_with(NEUTRALISED) {
                continue;
            }
            let key_path = path.key(key.get_ref());
            self.consider(key.span(), &key_path, true);
            self.value(value, &key_path);
        }
    }

    fn value(&mut self, value: &Spanned<DeValue<'_>>, path: &FieldPath) {
        self.consider(value.span(), path, false);
        match value.get_ref() {
            DeValue::Table(table) => self.table(table, path),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(item, &path.index(i));
                }
            }
            _ => {}
        }
    }
}

/// `Policy::to_toml`: serialize, then turn back into TOML dates the strings that stand where the
/// default has a date (dates serialize as strings so that JSON gets plain strings too).
pub(crate) fn render(policy: &Policy) -> String {
    // Plain data with string keys always serializes; the fallback is for the impossible case.
    let text = match toml::to_string(policy) {
        Ok(text) => text,
        Err(error) => return format!("# the policy could not be written: {error}\n"),
    };
    let mut doc: toml_edit::DocumentMut = match text.parse() {
        Ok(doc) => doc,
        Err(_) => return text,
    };
    restore_dates_in_table(
        doc.as_table_mut(),
        default_shape().get_ref(),
        &FieldPath::root(),
    );
    doc.to_string()
}

fn restore_dates_in_table(
    table: &mut dyn toml_edit::TableLike,
    shape: &DeTable<'_>,
    path: &FieldPath,
) {
    let open = OPEN_MAPS.contains(&path.schema().as_str());
    for (key, item) in table.iter_mut() {
        let element = if open {
            shape.values().next()
        } else {
            shape.get(key.get())
        };
        if let Some(element) = element {
            restore_dates_in_item(item, element.get_ref(), &path.key(key.get()));
        }
    }
}

fn restore_dates_in_item(item: &mut toml_edit::Item, shape: &DeValue<'_>, path: &FieldPath) {
    match item {
        toml_edit::Item::Table(table) => {
            if let DeValue::Table(shape) = shape {
                restore_dates_in_table(table, shape, path);
            }
        }
        toml_edit::Item::ArrayOfTables(tables) => {
            if let DeValue::Array(shape) = shape
                && let Some(DeValue::Table(element)) = shape.first().map(Spanned::get_ref)
            {
                for (i, table) in tables.iter_mut().enumerate() {
                    restore_dates_in_table(table, element, &path.index(i));
                }
            }
        }
        toml_edit::Item::Value(value) => restore_dates_in_value(value, shape, path),
        toml_edit::Item::None => {}
    }
}

fn restore_dates_in_value(value: &mut toml_edit::Value, shape: &DeValue<'_>, path: &FieldPath) {
    match (value, shape) {
        (toml_edit::Value::InlineTable(table), DeValue::Table(shape)) => {
            restore_dates_in_table(table, shape, path);
        }
        (toml_edit::Value::Array(items), DeValue::Array(shape)) => {
            if let Some(element) = shape.first() {
                for (i, item) in items.iter_mut().enumerate() {
                    restore_dates_in_value(item, element.get_ref(), &path.index(i));
                }
            }
        }
        (value @ toml_edit::Value::String(_), DeValue::Datetime(_)) => {
            let parsed = value
                .as_str()
                .and_then(|s| s.parse::<toml_edit::Datetime>().ok());
            if let Some(datetime) = parsed {
                let decor = value.decor().clone();
                *value = toml_edit::Value::from(datetime);
                *value.decor_mut() = decor;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn issues(text: &str) -> Vec<PolicyIssue> {
        Policy::from_toml(text).unwrap_err()
    }

    /// The default policy with one line replaced (`old` must occur exactly once).
    fn edited(old: &str, new: &str) -> String {
        assert_eq!(
            super::super::DEFAULT_POLICY_TOML.matches(old).count(),
            1,
            "{old}"
        );
        super::super::DEFAULT_POLICY_TOML.replace(old, new)
    }

    /// The 1-based line of the first line containing `needle`.
    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn the_default_policy_parses_without_any_issue() {
        let (_, errors) = DeTable::parse_recoverable(super::super::DEFAULT_POLICY_TOML);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(Policy::from_toml(super::super::DEFAULT_POLICY_TOML).is_ok());
    }

    #[test]
    fn acceptance_unknown_field_and_syntax_error_are_both_reported() {
        let text = edited("login_max_failures = 5", "login_max_failures = 5x")
            .replace("session_hours = 12", "session_hourz = 12");
        let found = issues(&text);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(
            found[0].line,
            Some(line_of(&text, "login_max_failures = 5x"))
        );
        assert_eq!(found[0].field, "security.login_max_failures");
        assert!(matches!(found[0].kind, PolicyIssueKind::Syntax { .. }));
        assert_eq!(found[1].line, Some(line_of(&text, "session_hourz")));
        assert_eq!(found[1].field, "security.session_hourz");
        assert!(matches!(
            found[1].kind,
            PolicyIssueKind::UnknownField { .. }
        ));
        assert!(
            found[1].to_string().starts_with(&format!(
                "line {}, security.session_hourz: unknown field",
                found[1].line.unwrap()
            )),
            "{}",
            found[1]
        );
    }

    #[test]
    fn acceptance_unknown_field_and_type_error_are_both_reported() {
        let text = edited(
            "login_window_minutes = 15",
            "login_window_minutes = \"fifteen\"",
        )
        .replace("login_max_failures = 5", "login_max_failurez = 5");
        let found = issues(&text);
        let fields: Vec<_> = found.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                // The real key is now missing: reported too, at the [security] header.
                "security.login_max_failures",
                "security.login_max_failurez",
                "security.login_window_minutes",
            ],
            "{found:#?}"
        );
        let unknown = found
            .iter()
            .find(|i| i.field == "security.login_max_failurez")
            .unwrap();
        assert_eq!(unknown.line, Some(line_of(&text, "login_max_failurez")));
        assert_eq!(unknown.column, Some(1));
        let wrong = found
            .iter()
            .find(|i| i.field == "security.login_window_minutes")
            .unwrap();
        assert_eq!(wrong.line, Some(line_of(&text, "\"fifteen\"")));
        assert_eq!(
            wrong.kind,
            PolicyIssueKind::WrongType {
                expected: ValueKind::Integer,
                found: ValueKind::String
            }
        );
        assert_eq!(wrong.message("en"), "expected integer, found string");
        assert_eq!(wrong.message("zh-CN"), "类型错误：应为整数，实际为字符串");
        let missing = found
            .iter()
            .find(|i| i.field == "security.login_max_failures")
            .unwrap();
        assert_eq!(missing.kind, PolicyIssueKind::MissingField);
        assert_eq!(missing.line, Some(line_of(&text, "[security]")));
    }

    #[test]
    fn every_syntax_error_is_reported_once_with_its_line() {
        let text = edited("session_hours = 12", "session_hours = ")
            .replace("work_start = \"08:30\"", "work_start = \"08:30")
            .replace("timezone = \"+08:00\"", "timezone = +08:00");
        let found = issues(&text);
        let lines: Vec<_> = found.iter().map(|i| i.line.unwrap()).collect();
        assert_eq!(
            lines,
            vec![
                line_of(&text, "timezone = +08:00"),
                line_of(&text, "session_hours ="),
                line_of(&text, "work_start = \"08:30"),
            ],
            "{found:#?}"
        );
        assert!(
            found
                .iter()
                .all(|i| matches!(i.kind, PolicyIssueKind::Syntax { .. }))
        );
        assert_eq!(found[0].field, "locale.timezone");
        assert_eq!(found[1].field, "security.session_hours");
        assert_eq!(found[2].field, "calendar.work_start");
        assert!(found[1].message("zh-CN").starts_with("TOML 语法错误"));
    }

    #[test]
    fn a_broken_header_is_one_issue_not_a_cascade() {
        let text = super::super::DEFAULT_POLICY_TOML.replacen(
            "[[calendar.holidays]]",
            "[[calendar.holidays]",
            1,
        );
        let found = issues(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        let header = text.lines().position(|l| l == "[[calendar.holidays]");
        assert_eq!(found[0].line, header.map(|i| i + 1));
        assert_eq!(found[0].field, "");

        let text = edited("[calendar]\n", "[calendar\n");
        let found = issues(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].line, Some(line_of(&text, "[calendar")));

        // A section defined twice: one issue at the second header.
        let text = format!(
            "{}\n[security]\nlogin_max_failures = 3\n",
            super::super::DEFAULT_POLICY_TOML
        );
        let found = issues(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].line, Some(text.lines().count() - 1));

        // Lines under a broken header are still checked for syntax, with their own line.
        let text = edited("[security]\n", "[security\n")
            .replace("login_max_failures = 5", "login_max_failures = 5x");
        let found = issues(&text);
        let lines: Vec<_> = found.iter().map(|i| i.line.unwrap()).collect();
        assert_eq!(
            lines,
            [line_of(&text, "[security"), line_of(&text, "= 5x")],
            "{found:#?}"
        );
        assert!(found.iter().all(|i| i.field.is_empty()));
    }

    #[test]
    fn trailing_junk_is_blamed_on_the_key_of_its_line() {
        let text = edited(
            "complaint = \"KS-{YYYYMM}-{seq:4}\"",
            "complaint = \"KS-{YYYYMM}-{seq:4}\" x",
        );
        let found = issues(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].field, "numbering.formats.complaint");
        assert_eq!(found[0].line, Some(line_of(&text, "\" x")));
    }

    proptest::proptest! {
        /// Whatever an editor does to one spot of the file, loading never panics and every
        /// issue points inside the file.
        #[test]
        fn any_single_edit_is_reported_sanely(
            at in 0usize..super::super::DEFAULT_POLICY_TOML.len(),
            cut in 0usize..40,
            insert in proptest::sample::select(vec![
                "", "[", "]", "=", "\"", "{", "}", "x", "0", "-", "\n", "#", "[[a]]\n", "a = 1\n",
            ]),
        ) {
            let text = super::super::DEFAULT_POLICY_TOML;
            let start = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let end = (start + cut..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(text.len());
            let edited = format!("{}{}{}", &text[..start], insert, &text[end..]);
            let line_count = edited.lines().count().max(1);
            if let Err(found) = Policy::from_toml(&edited) {
                proptest::prop_assert!(!found.is_empty());
                for issue in &found {
                    if let Some(line) = issue.line {
                        proptest::prop_assert!((1..=line_count + 1).contains(&line), "{issue}");
                    }
                    proptest::prop_assert!(!issue.message("en").is_empty());
                }
            }
        }
    }

    #[test]
    fn hostile_files_end_quickly() {
        let headers = "[\n".repeat(5_000);
        let found = issues(&headers);
        assert!(!found.is_empty());
        let elements = format!(
            "{}{}",
            super::super::DEFAULT_POLICY_TOML,
            "[[calendar.holidays]]\n".repeat(5_000)
        );
        let found = issues(&elements);
        assert_eq!(found.len(), 10_000);
        assert!(
            found
                .iter()
                .all(|i| i.kind == PolicyIssueKind::MissingField)
        );
    }

    #[test]
    fn crlf_files_keep_their_lines() {
        let text = edited("session_hours = 12", "session_hours = 12x").replace('\n', "\r\n");
        let found = issues(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].line, Some(line_of(&text, "12x")));
        let text = edited("[security]\n", "[security\n").replace('\n', "\r\n");
        assert_eq!(issues(&text).len(), 1);
        let clean = super::super::DEFAULT_POLICY_TOML.replace('\n', "\r\n");
        assert_eq!(Policy::from_toml(&clean), Ok(Policy::default_policy()));
    }

    #[test]
    fn unknown_sections_and_keys_list_what_is_allowed() {
        let text = format!("{}\n[securty]\nx = 1\n", super::super::DEFAULT_POLICY_TOML);
        let found = issues(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].field, "securty");
        assert_eq!(found[0].line, Some(line_of(&text, "[securty]")));
        assert_eq!(
            found[0].kind,
            PolicyIssueKind::UnknownField {
                expected: [
                    "backup",
                    "calendar",
                    "consignment",
                    "custody",
                    "customers",
                    "limits",
                    "locale",
                    "meta",
                    "numbering",
                    "property",
                    "security"
                ]
                .map(String::from)
                .to_vec()
            }
        );
        assert!(found[0].message("en").contains(
            "expected one of: backup, calendar, consignment, custody, customers, limits"
        ));
        assert!(found[0].message("zh-CN").starts_with("未知字段"));
    }

    #[test]
    fn array_elements_are_checked_against_the_default_element() {
        let text = edited(
            "date = 2026-01-02\nname = \"元旦\"",
            "date = \"2026-01-02\"\nname = \"元旦\"\nnote = \"x\"",
        );
        let found = issues(&text);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(found[0].field, "calendar.holidays[1].date");
        assert_eq!(
            found[0].kind,
            PolicyIssueKind::WrongType {
                expected: ValueKind::Date,
                found: ValueKind::String
            }
        );
        assert_eq!(found[1].field, "calendar.holidays[1].note");
        assert_eq!(found[1].line, Some(found[0].line.unwrap() + 2));

        let text = edited("weekend = [\"sat\", \"sun\"]", "weekend = [\"sat\", 7]");
        let found = issues(&text);
        assert_eq!(found[0].field, "calendar.weekend[1]");
        assert_eq!(found[0].line, Some(line_of(&text, "weekend = ")));
        assert_eq!(found[0].column, Some(19));
    }

    #[test]
    fn datetimes_with_times_are_not_dates() {
        let text = edited("date = 2026-10-07", "date = 2026-10-07T08:00:00");
        let found = issues(&text);
        assert_eq!(
            found[0].kind,
            PolicyIssueKind::WrongType {
                expected: ValueKind::Date,
                found: ValueKind::Datetime
            }
        );
        assert_eq!(found[0].message("en"), "expected date, found date and time");
    }

    #[test]
    fn open_maps_take_any_key_but_check_the_values() {
        let text = edited(
            "quotation = \"BJ-{YYYYMMDD}-{seq:3}\"",
            "quotation = \"BJ-{YYYYMMDD}-{seq:3}\"\nsales_order = \"XS-{YYYYMM}-{seq:4}\"\nreturn_note = 5",
        );
        let found = issues(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].field, "numbering.formats.return_note");
        assert!(matches!(found[0].kind, PolicyIssueKind::WrongType { .. }));

        let text = edited(
            "quotation = \"BJ-{YYYYMMDD}-{seq:3}\"",
            "quotation = \"BJ-{YYYYMMDD}-{seq:3}\"\nsales_order = \"XS-{YYYYMM}-{seq:4}\"",
        );
        let policy = Policy::from_toml(&text).unwrap();
        assert_eq!(
            policy.number_format("sales_order").unwrap().as_str(),
            "XS-{YYYYMM}-{seq:4}"
        );
    }

    #[test]
    fn missing_keys_and_sections_are_reported_unless_optional() {
        // An optional key may go.
        let text = edited(
            "description = \"出厂默认制度：数值取自客户管理制度范本与国务院节假日安排。Factory default: numbers from the sample regulations and the State Council holiday notice.\"\n",
            "",
        );
        assert_eq!(Policy::from_toml(&text).unwrap().meta.description, None);

        // A required key may not, nor a whole section.
        let text = edited("password_min_length = 10\n", "");
        let found = issues(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].field, "security.password_min_length");
        assert_eq!(found[0].line, Some(line_of(&text, "[security]")));
        assert_eq!(found[0].message("en"), "missing field");
        assert_eq!(found[0].message("zh-CN"), "缺少字段");

        let text = edited(
            "[locale]\ndefault_language = \"zh-CN\"\ntimezone = \"+08:00\"\n",
            "",
        );
        let found = issues(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].field, "locale");
        assert_eq!(found[0].line, None);
        assert_eq!(found[0].to_string(), "locale: missing field");
    }

    #[test]
    fn serde_errors_after_the_shape_check_keep_their_line() {
        let text = edited("session_idle_minutes = 120", "session_idle_minutes = -120");
        let found = issues(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].field, "security.session_idle_minutes");
        assert_eq!(found[0].line, Some(line_of(&text, "-120")));
        assert!(matches!(
            found[0].kind,
            PolicyIssueKind::InvalidValue { .. }
        ));

        let text = edited(
            "weekend = [\"sat\", \"sun\"]",
            "weekend = [\"sat\", \"sunday\"]",
        );
        let found = issues(&text);
        assert_eq!(found[0].field, "calendar.weekend[1]");
        assert_eq!(found[0].line, Some(line_of(&text, "sunday")));
        assert!(found[0].message("en").contains("sunday"));
    }

    #[test]
    fn semantic_issues_point_at_their_value() {
        let text = edited("login_lockout_minutes = 15", "login_lockout_minutes = 0")
            .replace("default_language = \"zh-CN\"", "default_language = \"fr\"")
            .replace(
                "complaint = \"KS-{YYYYMM}-{seq:4}\"",
                "complaint = \"KS-{YYYYMM}\"",
            );
        let found = issues(&text);
        let got: Vec<_> = found
            .iter()
            .map(|i| (i.line.unwrap(), i.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (line_of(&text, "\"fr\""), "locale.default_language"),
                (
                    line_of(&text, "login_lockout_minutes"),
                    "security.login_lockout_minutes"
                ),
                (
                    line_of(&text, "complaint = "),
                    "numbering.formats.complaint"
                ),
            ]
        );
        assert_eq!(found[1].column, Some(25));
        assert!(found[2].message("en").contains("{seq:N}"));
    }

    #[test]
    fn an_empty_file_names_every_section() {
        let found = issues("");
        let fields: Vec<_> = found.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "calendar",
                "customers",
                "locale",
                "meta",
                "numbering",
                "security"
            ]
        );
        assert!(
            found
                .iter()
                .all(|i| i.kind == PolicyIssueKind::MissingField)
        );
    }

    #[test]
    fn inline_tables_are_as_good_as_headers() {
        let text = edited(
            "[[calendar.workdays]]\ndate = 2026-10-10\nname = \"国庆节调休上班\"\n",
            "",
        )
        .replace(
            "weekend = [\"sat\", \"sun\"]",
            "weekend = [\"sat\", \"sun\"]\nextra_workdays_note = { a = 1 }",
        );
        let found = issues(&text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "calendar.extra_workdays_note");
    }

    #[test]
    fn field_paths_quote_keys_that_are_not_bare() {
        let path = FieldPath::root()
            .key("numbering")
            .key("formats")
            .key("a.b")
            .key("客户")
            .index(2);
        assert_eq!(path.to_string(), r#"numbering.formats."a.b"."客户"[2]"#);
        assert_eq!(path.schema(), r#"numbering.formats."a.b"."客户"[]"#);
    }

    #[test]
    fn line_index_counts_characters_not_bytes() {
        let index = LineIndex::new("a = 1\nname = \"元旦\" x\n");
        assert_eq!(index.locate(0), (1, 1));
        assert_eq!(index.locate(6), (2, 1));
        let x = "a = 1\nname = \"元旦\" ".len();
        assert_eq!(index.locate(x), (2, 13));
        assert_eq!(index.locate(10_000).0, 3);
    }

    #[test]
    fn rendering_writes_dates_as_toml_dates() {
        let text = Policy::default_policy().to_toml();
        assert!(text.contains("date = 2026-01-01\n"), "{text}");
        assert!(!text.contains("date = \""), "{text}");
        assert!(text.contains("[[calendar.holidays]]"));
        assert!(text.contains("[numbering.formats]"));
    }
}
