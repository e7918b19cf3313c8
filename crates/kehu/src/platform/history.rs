//! A record's history as people read it: every audit entry with the actor's name, the action,
//! each changed field and its old and new value in the user's words. The audit log keeps codes
//! and ids (it is the evidence and is never rewritten); each capability says through
//! [`Labels`] how its actions, fields and codes read, and this module does the rest the same
//! way for every record page.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::audit_api::AuditView;
use super::error::Result;
use super::i18n::{self, Lang};
use super::state::AppState;

/// How one kind of record's history reads.
pub trait Labels: Sync {
    /// The name of an action ("update" → 修改).
    fn action(&self, action: &str) -> String;
    /// The name of a field ("customer_type" → 客户类型).
    fn field(&self, field: &str) -> String;
    /// The reading of a stored value of `field`, when it is a code or needs hiding (a policy
    /// code → its label, a phone → masked); `None` shows the value as stored.
    fn value(&self, field: &str, value: &str) -> Option<String>;
    /// Whether `field` holds a user id, shown as that user's name.
    fn is_user(&self, field: &str) -> bool {
        field == "owner_id"
    }
}

/// One changed field, as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: String,
    pub old: String,
    pub new: String,
}

/// One entry, as shown.
#[derive(Debug, Clone)]
pub struct Line {
    pub at: DateTime<Utc>,
    /// The actor's display name (or the CLI or system actor as recorded).
    pub actor: String,
    pub action: String,
    pub changes: Vec<Change>,
    pub reason: Option<String>,
}

/// The history of one record, newest first, in the request's language. The caller has
/// checked that the actor may see the record.
pub async fn lines(
    state: &AppState,
    entity_type: &str,
    id: i64,
    limit: u64,
    labels: &dyn Labels,
) -> Result<Vec<Line>> {
    let entries = super::audit_api::history_of(&state.db, entity_type, id, limit).await?;
    let names: HashMap<i64, String> = super::auth::store::all_users(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(render(&entries, &names, labels, i18n::current()))
}

/// [`lines`] of entries already read, with users' names by id. No IO.
pub fn render(
    entries: &[AuditView],
    names: &HashMap<i64, String>,
    labels: &dyn Labels,
    lang: Lang,
) -> Vec<Line> {
    entries
        .iter()
        .map(|e| Line {
            at: e.at,
            actor: e
                .actor_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| e.actor_name.clone()),
            action: labels.action(&e.action),
            changes: e
                .changes
                .as_object()
                .into_iter()
                .flatten()
                .map(|(field, pair)| {
                    let shown = |v: Option<&Value>| {
                        let text = plain(v.unwrap_or(&Value::Null), lang);
                        if text == "—" {
                            return text;
                        }
                        if labels.is_user(field)
                            && let Some(name) = text.parse().ok().and_then(|id: i64| names.get(&id))
                        {
                            return name.clone();
                        }
                        labels.value(field, &text).unwrap_or(text)
                    };
                    Change {
                        field: labels.field(field),
                        old: shown(pair.get(0)),
                        new: shown(pair.get(1)),
                    }
                })
                .collect(),
            reason: e.reason.clone(),
        })
        .collect()
}

/// A JSON value as text: nothing as "—", yes/no in the language, a moment in the policy's
/// time zone, lists joined.
fn plain(v: &Value, lang: Lang) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::Bool(b) => i18n::tr(lang, if *b { "common.yes" } else { "common.no" }, &[]),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => "—".to_owned(),
        Value::String(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t
                .with_timezone(&i18n::tz())
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            Err(_) => s.clone(),
        },
        Value::Array(items) => items
            .iter()
            .map(|i| plain(i, lang))
            .collect::<Vec<_>>()
            .join("、"),
        Value::Object(_) => v.to_string(),
    }
}

/// The label of a catalogue key, or `fallback` when the catalogue has none (a field added
/// after the entry was written reads as its name rather than as a key).
pub fn label_or(lang: Lang, key: &str, fallback: &str) -> String {
    let t = i18n::tr(lang, key, &[]);
    if t == key { fallback.to_owned() } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Test;
    impl Labels for Test {
        fn action(&self, a: &str) -> String {
            format!("A:{a}")
        }
        fn field(&self, f: &str) -> String {
            format!("F:{f}")
        }
        fn value(&self, field: &str, v: &str) -> Option<String> {
            (field == "stage" && v == "potential").then(|| "潜在".to_owned())
        }
    }

    fn entry(changes: Value, actor_id: Option<i64>) -> AuditView {
        AuditView {
            seq: 1,
            at: DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default(),
            actor_id,
            actor_name: "rep".into(),
            action: "update".into(),
            entity_type: "customer".into(),
            entity_id: "1".into(),
            changes,
            reason: None,
            hash: String::new(),
        }
    }

    #[test]
    fn codes_users_and_empty_values_read_as_words() {
        let names = HashMap::from([(3, "张伟".to_owned()), (7, "李娜".to_owned())]);
        let e = entry(
            json!({"stage": ["potential", "new"], "owner_id": [null, 3], "notes": ["", "x"], "ok": [false, true]}),
            Some(7),
        );
        let lines = render(&[e], &names, &Test, Lang::Zh);
        let l = &lines[0];
        assert_eq!((l.actor.as_str(), l.action.as_str()), ("李娜", "A:update"));
        let find = |f: &str| {
            l.changes
                .iter()
                .find(|c| c.field == format!("F:{f}"))
                .map(|c| (c.old.clone(), c.new.clone()))
        };
        assert_eq!(find("stage"), Some(("潜在".into(), "new".into())));
        assert_eq!(find("owner_id"), Some(("—".into(), "张伟".into())));
        assert_eq!(find("notes"), Some(("—".into(), "x".into())));
        assert_eq!(find("ok"), Some(("否".into(), "是".into())));
        // An actor that is no user (the CLI) keeps its recorded name.
        let cli = render(&[entry(json!({}), None)], &names, &Test, Lang::Zh);
        assert_eq!(cli[0].actor, "rep");
    }
}
