//! The audit log: one append-only, hash-chained table that every write uses.
//!
//! Each entry's hash covers its own fields and the previous entry's hash, so
//! editing or deleting a stored row breaks the chain at that row, and
//! `kehu audit verify` names it. Entries are appended inside the caller's
//! transaction, so a change and its audit entry commit or vanish together.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::db::Db;
use super::schema::audit_log;

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who made a change: a user, or the system itself (migrations, poller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditActor {
    pub id: Option<i64>,
    pub name: String,
}

impl AuditActor {
    pub fn system() -> Self {
        AuditActor {
            id: None,
            name: "system".into(),
        }
    }

    /// A command run from the shell: `cli:<user>`, the operating-system user of the process's
    /// real user id (not `$USER`, which anyone can set), or `cli:uid<N>` when it has no name.
    pub fn command_line() -> Self {
        let uid = nix::unistd::getuid();
        let who = match nix::unistd::User::from_uid(uid) {
            Ok(Some(u)) => u.name,
            _ => format!("uid{uid}"),
        };
        AuditActor {
            id: None,
            name: format!("cli:{who}"),
        }
    }
}

/// One change to append. `changes` maps a field to `[old, new]`.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: AuditActor,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub changes: Map<String, Value>,
    pub reason: Option<String>,
}

impl AuditEntry {
    pub fn new(
        at: DateTime<Utc>,
        actor: &AuditActor,
        action: &str,
        entity_type: &str,
        entity_id: impl ToString,
    ) -> Self {
        AuditEntry {
            at,
            actor: actor.clone(),
            action: action.into(),
            entity_type: entity_type.into(),
            entity_id: entity_id.to_string(),
            changes: Map::new(),
            reason: None,
        }
    }

    /// Records the field differences between two JSON snapshots of a record
    /// (`Value::Null` for "did not exist"); equal fields are left out.
    pub fn diff(mut self, old: &Value, new: &Value) -> Self {
        self.changes = diff(old, new);
        self
    }

    pub fn change(mut self, field: &str, old: impl Into<Value>, new: impl Into<Value>) -> Self {
        self.changes
            .insert(field.into(), Value::Array(vec![old.into(), new.into()]));
        self
    }

    pub fn reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason.filter(|r| !r.trim().is_empty());
        self
    }
}

/// Field-by-field difference of two JSON objects, as `{field: [old, new]}`.
pub fn diff(old: &Value, new: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for key in o.keys().chain(n.keys()) {
        if out.contains_key(key) {
            continue;
        }
        let a = o.get(key).cloned().unwrap_or(Value::Null);
        let b = n.get(key).cloned().unwrap_or(Value::Null);
        if a != b {
            out.insert(key.clone(), Value::Array(vec![a, b]));
        }
    }
    out
}

/// Timestamps are hashed and stored at microsecond precision, the finest both
/// engines keep, so a re-read entry hashes the same.
pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[allow(clippy::too_many_arguments)]
fn entry_hash(
    seq: i64,
    at: DateTime<Utc>,
    actor_id: Option<i64>,
    actor_name: &str,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    changes: &str,
    reason: Option<&str>,
    prev_hash: &str,
) -> String {
    // A JSON array is an unambiguous encoding of the fields.
    let canonical = serde_json::json!([
        seq,
        at.timestamp_micros(),
        actor_id,
        actor_name,
        action,
        entity_type,
        entity_id,
        changes,
        reason,
        prev_hash
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn model_hash(m: &audit_log::Model) -> String {
    entry_hash(
        m.seq,
        m.at,
        m.actor_id,
        &m.actor_name,
        &m.action,
        &m.entity_type,
        &m.entity_id,
        &m.changes,
        m.reason.as_deref(),
        &m.prev_hash,
    )
}

/// Appends an entry in the caller's transaction. Call it last, just before
/// commit: on PostgreSQL it locks the chain head until the commit.
pub async fn record(txn: &DatabaseTransaction, entry: AuditEntry) -> Result<(), DbErr> {
    record_many(txn, std::iter::once(entry)).await
}

/// Rows per multi-row insert: 11 columns each, well under both engines'
/// limits on statement parameters.
const INSERT_CHUNK: usize = 1000;

/// Appends entries in order, chained as if recorded one by one, reading and
/// moving the chain head once and inserting with multi-row statements (bulk
/// imports write one entry per record). Call it last, just before commit.
/// The entries are taken one chunk at a time, so a lazy iterator keeps
/// memory flat however many there are.
pub async fn record_many(
    txn: &DatabaseTransaction,
    entries: impl IntoIterator<Item = AuditEntry>,
) -> Result<(), DbErr> {
    let mut entries = entries.into_iter().peekable();
    if entries.peek().is_none() {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let head = txn
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT seq, hash FROM audit_head WHERE id = 1{lock}"),
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("audit_head".into()))?;
    let mut seq: i64 = head.try_get("", "seq")?;
    let mut prev_hash: String = head.try_get("", "hash")?;
    let mut rows = Vec::with_capacity(INSERT_CHUNK);
    for entry in entries {
        seq += 1;
        let at = truncate_micros(entry.at);
        let changes = Value::Object(entry.changes).to_string();
        let hash = entry_hash(
            seq,
            at,
            entry.actor.id,
            &entry.actor.name,
            &entry.action,
            &entry.entity_type,
            &entry.entity_id,
            &changes,
            entry.reason.as_deref(),
            &prev_hash,
        );
        rows.push(audit_log::ActiveModel {
            seq: Set(seq),
            at: Set(at),
            actor_id: Set(entry.actor.id),
            actor_name: Set(entry.actor.name),
            action: Set(entry.action),
            entity_type: Set(entry.entity_type),
            entity_id: Set(entry.entity_id),
            changes: Set(changes),
            reason: Set(entry.reason),
            prev_hash: Set(std::mem::replace(&mut prev_hash, hash.clone())),
            hash: Set(hash),
            ..Default::default()
        });
        if rows.len() == INSERT_CHUNK {
            audit_log::Entity::insert_many(std::mem::take(&mut rows))
                .exec_without_returning(txn)
                .await?;
        }
    }
    if !rows.is_empty() {
        audit_log::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    let update = Query::update()
        .table("audit_head")
        .value("seq", seq)
        .value("hash", prev_hash)
        .and_where(Expr::col("id").eq(1))
        .to_owned();
    txn.execute(&update).await?;
    Ok(())
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub entries: u64,
    /// The first entry whose stored hash or link does not match, with the reason.
    pub broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BrokenLink {
    pub id: i64,
    pub seq: i64,
    pub reason: String,
}

/// Recomputes every hash in order and checks each link and the head.
pub async fn verify(db: &Db) -> Result<VerifyReport, DbErr> {
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut expected_seq = 1_i64;
    let mut count = 0_u64;
    let mut after = 0_i64;
    loop {
        let batch = audit_log::Entity::find()
            .filter(audit_log::Column::Seq.gt(after))
            .order_by_asc(audit_log::Column::Seq)
            .limit(2000)
            .all(db)
            .await?;
        if batch.is_empty() {
            break;
        }
        for m in &batch {
            let broken = |reason: String| {
                Ok(VerifyReport {
                    entries: count,
                    broken: Some(BrokenLink {
                        id: m.id,
                        seq: m.seq,
                        reason,
                    }),
                })
            };
            if m.seq != expected_seq {
                return broken(format!(
                    "sequence gap: expected {expected_seq}, found {}",
                    m.seq
                ));
            }
            if m.prev_hash != prev_hash {
                return broken("previous-hash link does not match the entry before".into());
            }
            if model_hash(m) != m.hash {
                return broken("stored hash does not match the entry's content".into());
            }
            prev_hash = m.hash.clone();
            expected_seq += 1;
            count += 1;
            after = m.seq;
        }
    }
    let head = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT seq, hash FROM audit_head WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("audit_head".into()))?;
    let head_seq: i64 = head.try_get("", "seq")?;
    let head_hash: String = head.try_get("", "hash")?;
    if head_seq != expected_seq - 1 || head_hash != prev_hash {
        return Ok(VerifyReport {
            entries: count,
            broken: Some(BrokenLink {
                id: 0,
                seq: head_seq,
                reason: format!(
                    "chain head names entry {head_seq} but the log ends at {}: entries were removed",
                    expected_seq - 1
                ),
            }),
        });
    }
    Ok(VerifyReport {
        entries: count,
        broken: None,
    })
}

/// Filters of the audit page and API.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    pub from: Option<chrono::NaiveDate>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    pub to: Option<chrono::NaiveDate>,
}

/// A page of entries, newest first.
pub async fn list(
    db: &Db,
    filter: &AuditFilter,
    paging: super::list::Paging,
) -> Result<(Vec<audit_log::Model>, u64), DbErr> {
    let mut q = audit_log::Entity::find();
    if let Some(t) = filter.entity_type.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::Column::EntityType.eq(t));
    }
    if let Some(id) = filter.entity_id.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::Column::EntityId.eq(id));
    }
    if let Some(a) = filter.actor.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::Column::ActorName.eq(a));
    }
    if let Some(a) = filter.action.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::Column::Action.eq(a));
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_log::Column::At.gte(from.and_time(chrono::NaiveTime::MIN).and_utc()));
    }
    if let Some(to) = filter.to.and_then(|d| d.succ_opt()) {
        q = q.filter(audit_log::Column::At.lt(to.and_time(chrono::NaiveTime::MIN).and_utc()));
    }
    let total = q.clone().count(db).await?;
    let items = q
        .order_by_desc(audit_log::Column::Seq)
        .offset(paging.offset())
        .limit(paging.per_page)
        .all(db)
        .await?;
    Ok((items, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_keeps_only_changed_fields() {
        let d = diff(
            &json!({"a": 1, "b": "x", "c": true}),
            &json!({"a": 1, "b": "y", "d": 2}),
        );
        assert_eq!(d.get("a"), None);
        assert_eq!(d["b"], json!(["x", "y"]));
        assert_eq!(d["c"], json!([true, null]));
        assert_eq!(d["d"], json!([null, 2]));
    }

    #[test]
    fn hash_depends_on_every_field() {
        let at = truncate_micros(Utc::now());
        let base = entry_hash(
            1,
            at,
            Some(1),
            "a",
            "create",
            "user",
            "1",
            "{}",
            None,
            GENESIS_HASH,
        );
        assert_ne!(
            base,
            entry_hash(
                2,
                at,
                Some(1),
                "a",
                "create",
                "user",
                "1",
                "{}",
                None,
                GENESIS_HASH
            )
        );
        assert_ne!(
            base,
            entry_hash(
                1,
                at,
                None,
                "a",
                "create",
                "user",
                "1",
                "{}",
                None,
                GENESIS_HASH
            )
        );
        assert_ne!(
            base,
            entry_hash(
                1,
                at,
                Some(1),
                "a",
                "create",
                "user",
                "1",
                "{}",
                Some("r"),
                GENESIS_HASH
            )
        );
        assert_ne!(
            base,
            entry_hash(
                1,
                at,
                Some(1),
                "a",
                "create",
                "user",
                "1",
                "{\"x\":1}",
                None,
                GENESIS_HASH
            )
        );
        assert_ne!(
            base,
            entry_hash(1, at, Some(1), "a", "create", "user", "1", "{}", None, "ff")
        );
    }
}
