//! Policy versions in the database: the one in force is the newest whose
//! effective date has come. A new version is stored only when it validates;
//! otherwise the old policy stays in force.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use super::{Policy, PolicyIssue};
use crate::platform::audit::{self, AuditActor, AuditEntry};
use crate::platform::db::{self, Db};
use crate::platform::error::{Error, FieldError, Result};
use crate::platform::i18n;
use crate::platform::schema::policy_versions;

/// The policy in force and the version that produced it (recorded on every
/// computed result).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyInForce {
    pub version: i64,
    pub effective_from: DateTime<Utc>,
    #[serde(skip)]
    pub body: String,
    pub policy: Policy,
}

/// Turns validation issues into field errors in the caller's language, each
/// naming its line.
pub fn issues_to_error(issues: &[PolicyIssue]) -> Error {
    let lang = i18n::current();
    Error::Invalid(
        issues
            .iter()
            .map(|i| {
                let msg = match i.line {
                    Some(line) => i18n::tr(
                        lang,
                        "policy.at_line",
                        &[
                            ("line", line.to_string()),
                            ("message", i.message(lang.as_str())),
                        ],
                    ),
                    None => i.message(lang.as_str()),
                };
                FieldError::text(i.field.clone(), msg)
            })
            .collect(),
    )
}

/// Ensures version 1 (the compiled-in default) exists, then loads the version in force.
pub async fn load_in_force(db: &Db, now: DateTime<Utc>) -> Result<PolicyInForce> {
    // The version whose effective date came last is in force, so a version
    // scheduled for later still takes effect after an urgent fix applied now.
    let current = policy_versions::Entity::find()
        .filter(policy_versions::Column::EffectiveFrom.lte(now))
        .order_by_desc(policy_versions::Column::EffectiveFrom)
        .order_by_desc(policy_versions::Column::Version)
        .one(db)
        .await?;
    let row = match current {
        Some(row) => row,
        None => {
            let any = policy_versions::Entity::find().one(db).await?;
            if any.is_some() {
                // Only future versions exist: nothing has been in force yet, so
                // the earliest one applies from now (cannot happen via `apply`).
                policy_versions::Entity::find()
                    .order_by_asc(policy_versions::Column::Version)
                    .one(db)
                    .await?
                    .ok_or(Error::NotFound)?
            } else {
                insert_version(
                    db,
                    super::DEFAULT_POLICY_TOML,
                    DateTime::<Utc>::UNIX_EPOCH,
                    "default policy",
                    &AuditActor::system(),
                    now,
                )
                .await?
            }
        }
    };
    let policy = Policy::from_toml(&row.body).map_err(|issues| {
        Error::Internal(anyhow::anyhow!(
            "stored policy version {} does not validate: {}",
            row.version,
            issues
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    Ok(PolicyInForce {
        version: row.version,
        effective_from: row.effective_from,
        body: row.body,
        policy,
    })
}

async fn insert_version(
    db: &Db,
    body: &str,
    effective_from: DateTime<Utc>,
    comment: &str,
    actor: &AuditActor,
    now: DateTime<Utc>,
) -> Result<policy_versions::Model> {
    let txn = db::begin_write(db).await?;
    let last = policy_versions::Entity::find()
        .order_by_desc(policy_versions::Column::Version)
        .limit(1)
        .one(&txn)
        .await?;
    let version = last.as_ref().map(|l| l.version + 1).unwrap_or(1);
    let row = policy_versions::ActiveModel {
        version: Set(version),
        effective_from: Set(effective_from),
        body: Set(body.to_owned()),
        comment: Set(comment.to_owned()),
        created_by: Set(actor.name.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditEntry::new(now, actor, "apply", "policy", version)
            .change("version", last.map(|l| l.version), version)
            .change(
                "effective_from",
                serde_json::Value::Null,
                effective_from.to_rfc3339(),
            )
            .reason(Some(comment.to_owned())),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Validates `body` and stores it as a new version effective from
/// `effective_from` (now when `None`). Invalid documents change nothing.
pub async fn apply(
    db: &Db,
    actor: &AuditActor,
    body: &str,
    effective_from: Option<DateTime<Utc>>,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<policy_versions::Model> {
    Policy::from_toml(body).map_err(|issues| issues_to_error(&issues))?;
    let effective_from = effective_from.unwrap_or(now);
    if effective_from < now - chrono::Duration::minutes(1) {
        return Err(FieldError::new("effective_from", "error.policy_effective_past").into());
    }
    insert_version(db, body, effective_from, comment, actor, now).await
}

pub async fn versions(db: &Db) -> Result<Vec<policy_versions::Model>> {
    Ok(policy_versions::Entity::find()
        .order_by_desc(policy_versions::Column::Version)
        .all(db)
        .await?)
}

pub async fn version(db: &Db, version: i64) -> Result<policy_versions::Model> {
    policy_versions::Entity::find()
        .filter(policy_versions::Column::Version.eq(version))
        .one(db)
        .await?
        .ok_or(Error::NotFound)
}
