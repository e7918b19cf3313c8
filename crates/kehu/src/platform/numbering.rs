//! Human document numbers (`KS-202601-0007`) from policy formats. The counter
//! row per (kind, period) is incremented inside the caller's transaction, so a
//! number is used exactly when the document commits: unique and gap-free per
//! period on both engines, whatever the concurrency.
use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::error::{Error, FieldError, Result};
use crate::policy::Policy;

/// Takes the next number of `kind` for the period `date` falls in.
pub async fn next_number(
    txn: &DatabaseTransaction,
    policy: &Policy,
    kind: &str,
    date: NaiveDate,
) -> Result<String> {
    next_numbers(txn, policy, kind, date, 1)
        .await?
        .pop()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("numbering returned no number")))
}

/// Takes the next `count` numbers of `kind` for the period `date` falls in,
/// in order, with one statement (bulk imports): the counter moves by `count`
/// in the caller's transaction, so the numbers stay gap-free.
pub async fn next_numbers(
    txn: &DatabaseTransaction,
    policy: &Policy,
    kind: &str,
    date: NaiveDate,
    count: usize,
) -> Result<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let format = policy.number_format(kind).ok_or_else(|| {
        Error::from(FieldError::new("kind", "error.numbering_kind_unknown").arg("kind", kind))
    })?;
    let period = format.period_key(date);
    let step = i64::try_from(count).map_err(|e| Error::Internal(e.into()))?;
    let stmt = Query::insert()
        .into_table("number_sequences")
        .columns(["kind", "period", "last_value"])
        .values_panic([kind.into(), period.clone().into(), step.into()])
        .on_conflict(
            OnConflict::columns(["kind", "period"])
                .value(
                    "last_value",
                    Expr::col(("number_sequences", "last_value")).add(step),
                )
                .to_owned(),
        )
        .returning_col("last_value")
        .to_owned();
    let row = txn
        .query_one(&stmt)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("numbering upsert returned no row")))?;
    let last: i64 = row.try_get("", "last_value")?;
    let first = last - step + 1;
    Ok((first..=last)
        .map(|seq| format.render(date, std::cmp::Ord::max(seq, 0).unsigned_abs()))
        .collect())
}

/// Reserves `n` consecutive numbers of `kind` for the period `date` falls in,
/// in one statement inside the caller's transaction, and returns the first
/// sequence value; render number `i` (0-based) of the block with
/// `format.render(date, first + i)`. Like [`next_number`], the block is used
/// exactly when the transaction commits, so numbers stay unique and gap-free
/// as long as the caller uses all `n` of them. `n` must be at least 1.
pub async fn reserve_block(
    txn: &DatabaseTransaction,
    policy: &Policy,
    kind: &str,
    date: NaiveDate,
    n: u64,
) -> Result<u64> {
    let format = policy.number_format(kind).ok_or_else(|| {
        Error::from(FieldError::new("kind", "error.numbering_kind_unknown").arg("kind", kind))
    })?;
    let count = i64::try_from(std::cmp::Ord::max(n, 1))
        .map_err(|_| Error::Internal(anyhow::anyhow!("numbering block too large: {n}")))?;
    let stmt = Query::insert()
        .into_table("number_sequences")
        .columns(["kind", "period", "last_value"])
        .values_panic([kind.into(), format.period_key(date).into(), count.into()])
        .on_conflict(
            OnConflict::columns(["kind", "period"])
                .value(
                    "last_value",
                    Expr::col(("number_sequences", "last_value")).add(count),
                )
                .to_owned(),
        )
        .returning_col("last_value")
        .to_owned();
    let row = txn
        .query_one(&stmt)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("numbering upsert returned no row")))?;
    let last: i64 = row.try_get("", "last_value")?;
    Ok(std::cmp::Ord::max(last - count + 1, 1).unsigned_abs())
}

/// The number the next document of `kind` would get (nothing is reserved).
pub async fn preview(
    db: &impl ConnectionTrait,
    policy: &Policy,
    kind: &str,
    date: NaiveDate,
) -> Result<String> {
    let format = policy.number_format(kind).ok_or_else(|| {
        Error::from(FieldError::new("kind", "error.numbering_kind_unknown").arg("kind", kind))
    })?;
    let period = format.period_key(date);
    let stmt = Query::select()
        .column("last_value")
        .from("number_sequences")
        .and_where(Expr::col("kind").eq(kind))
        .and_where(Expr::col("period").eq(period))
        .to_owned();
    let last: i64 = match db.query_one(&stmt).await? {
        Some(row) => row.try_get("", "last_value")?,
        None => 0,
    };
    Ok(format.render(date, (last + 1).unsigned_abs()))
}
