//! Queries of consignment and custody agreements. Lists take the caller's visible customers as a
//! sub-query (from the customer capability), so agreements of customers a user may not see never
//! leave the database; single agreements are read by id and their customer is checked by the
//! service functions before anything is shown.
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entity::{
    consignment_agreements as ca, consignment_items as ci, consignment_movements as cm,
    consignment_settlements as cs, custody_agreements as ka, custody_items as ki,
    custody_movements as km, custody_payments as kp,
};
use crate::platform::error::Result;
use crate::platform::list::Paging;

/// Filters of an agreement list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// The caller's visible customers (`None`: all).
    pub visible: Option<SelectStatement>,
    pub customer_id: Option<i64>,
    /// Agreements whose number contains the text, or whose customer is one of `customer_ids`.
    pub text: Option<(String, Vec<i64>)>,
    pub status: Option<String>,
    pub paging: Paging,
}

fn list_condition(
    q: &ListQuery,
    customer: impl ColumnTrait,
    number: impl ColumnTrait,
    status: impl ColumnTrait,
) -> Condition {
    let mut c = Condition::all();
    if let Some(visible) = &q.visible {
        c = c.add(Expr::col(customer).in_subquery(visible.clone()));
    }
    if let Some(id) = q.customer_id {
        c = c.add(customer.eq(id));
    }
    if let Some((text, ids)) = &q.text {
        let mut any = Condition::any().add(number.contains(text));
        if !ids.is_empty() {
            any = any.add(customer.is_in(ids.iter().copied()));
        }
        c = c.add(any);
    }
    if let Some(s) = &q.status {
        c = c.add(status.eq(s.as_str()));
    }
    c
}

// ------------------------------------------------------------------ consignment

pub async fn consignment(db: &impl ConnectionTrait, id: i64) -> Result<Option<ca::Model>> {
    Ok(ca::Entity::find_by_id(id).one(db).await?)
}

/// Re-reads an agreement inside a write transaction and locks its row until commit
/// (PostgreSQL; SQLite's write transaction already excludes other writers), so every write to
/// one agreement — and the stock it checks — happens one after the other.
pub async fn consignment_for_update(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<ca::Model>> {
    Ok(ca::Entity::find_by_id(id).lock_exclusive().one(db).await?)
}

pub async fn consignment_page(
    db: &impl ConnectionTrait,
    q: &ListQuery,
) -> Result<(Vec<ca::Model>, u64)> {
    let cond = list_condition(
        q,
        ca::Column::CustomerId,
        ca::Column::Number,
        ca::Column::Status,
    );
    let select = ca::Entity::find()
        .filter(cond)
        .order_by_desc(ca::Column::StartDate)
        .order_by_desc(ca::Column::Id);
    let total = select.clone().count(db).await?;
    let rows = select
        .offset(q.paging.offset())
        .limit(q.paging.per_page)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Active agreements ending on or before `until` (reminders).
pub async fn consignments_ending(
    db: &impl ConnectionTrait,
    until: NaiveDate,
) -> Result<Vec<ca::Model>> {
    Ok(ca::Entity::find()
        .filter(ca::Column::Status.eq("active"))
        .filter(ca::Column::EndDate.lte(until))
        .order_by_asc(ca::Column::EndDate)
        .all(db)
        .await?)
}

pub async fn consignment_items(
    db: &impl ConnectionTrait,
    agreement_id: i64,
) -> Result<Vec<ci::Model>> {
    Ok(ci::Entity::find()
        .filter(ci::Column::AgreementId.eq(agreement_id))
        .order_by_asc(ci::Column::Id)
        .all(db)
        .await?)
}

pub async fn consignment_item_named(
    db: &impl ConnectionTrait,
    agreement_id: i64,
    name: &str,
    spec: &str,
) -> Result<Option<ci::Model>> {
    Ok(ci::Entity::find()
        .filter(ci::Column::AgreementId.eq(agreement_id))
        .filter(ci::Column::Name.eq(name))
        .filter(ci::Column::Spec.eq(spec))
        .one(db)
        .await?)
}

/// Every receipt, sale and return of an agreement, in the order they happened.
pub async fn consignment_movements(
    db: &impl ConnectionTrait,
    agreement_id: i64,
) -> Result<Vec<cm::Model>> {
    Ok(cm::Entity::find()
        .filter(cm::Column::AgreementId.eq(agreement_id))
        .order_by_asc(cm::Column::OccurredAt)
        .order_by_asc(cm::Column::Id)
        .all(db)
        .await?)
}

/// The sales of an agreement in [from, to).
pub async fn consignment_sales_between(
    db: &impl ConnectionTrait,
    agreement_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<cm::Model>> {
    Ok(cm::Entity::find()
        .filter(cm::Column::AgreementId.eq(agreement_id))
        .filter(cm::Column::Kind.eq("sale"))
        .filter(cm::Column::OccurredAt.gte(from))
        .filter(cm::Column::OccurredAt.lt(to))
        .order_by_asc(cm::Column::OccurredAt)
        .order_by_asc(cm::Column::Id)
        .all(db)
        .await?)
}

/// The earliest and latest sale of an agreement (to keep an edited period around them).
pub async fn consignment_sale_span(
    db: &impl ConnectionTrait,
    agreement_id: i64,
) -> Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    let base = cm::Entity::find()
        .filter(cm::Column::AgreementId.eq(agreement_id))
        .filter(cm::Column::Kind.eq("sale"));
    let first = base
        .clone()
        .order_by_asc(cm::Column::OccurredAt)
        .one(db)
        .await?;
    let last = base.order_by_desc(cm::Column::OccurredAt).one(db).await?;
    Ok(first.zip(last).map(|(f, l)| (f.occurred_at, l.occurred_at)))
}

pub async fn consignment_settlements(
    db: &impl ConnectionTrait,
    agreement_id: i64,
) -> Result<Vec<cs::Model>> {
    Ok(cs::Entity::find()
        .filter(cs::Column::AgreementId.eq(agreement_id))
        .order_by_desc(cs::Column::Month)
        .all(db)
        .await?)
}

pub async fn consignment_settlement(
    db: &impl ConnectionTrait,
    agreement_id: i64,
    month: &str,
) -> Result<Option<cs::Model>> {
    Ok(cs::Entity::find()
        .filter(cs::Column::AgreementId.eq(agreement_id))
        .filter(cs::Column::Month.eq(month))
        .one(db)
        .await?)
}

// ------------------------------------------------------------------ custody

pub async fn custody(db: &impl ConnectionTrait, id: i64) -> Result<Option<ka::Model>> {
    Ok(ka::Entity::find_by_id(id).one(db).await?)
}

/// As [`consignment_for_update`].
pub async fn custody_for_update(db: &impl ConnectionTrait, id: i64) -> Result<Option<ka::Model>> {
    Ok(ka::Entity::find_by_id(id).lock_exclusive().one(db).await?)
}

pub async fn custody_page(
    db: &impl ConnectionTrait,
    q: &ListQuery,
) -> Result<(Vec<ka::Model>, u64)> {
    let cond = list_condition(
        q,
        ka::Column::CustomerId,
        ka::Column::Number,
        ka::Column::Status,
    );
    let select = ka::Entity::find()
        .filter(cond)
        .order_by_desc(ka::Column::StartDate)
        .order_by_desc(ka::Column::Id);
    let total = select.clone().count(db).await?;
    let rows = select
        .offset(q.paging.offset())
        .limit(q.paging.per_page)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Active agreements whose period ends on or before `until` (reminders).
pub async fn custody_ending(db: &impl ConnectionTrait, until: NaiveDate) -> Result<Vec<ka::Model>> {
    Ok(ka::Entity::find()
        .filter(ka::Column::Status.eq("active"))
        .filter(ka::Column::EndDate.lte(until))
        .order_by_asc(ka::Column::EndDate)
        .all(db)
        .await?)
}

pub async fn custody_items(db: &impl ConnectionTrait, agreement_id: i64) -> Result<Vec<ki::Model>> {
    Ok(ki::Entity::find()
        .filter(ki::Column::AgreementId.eq(agreement_id))
        .order_by_asc(ki::Column::Id)
        .all(db)
        .await?)
}

pub async fn custody_item_named(
    db: &impl ConnectionTrait,
    agreement_id: i64,
    name: &str,
    spec: &str,
) -> Result<Option<ki::Model>> {
    Ok(ki::Entity::find()
        .filter(ki::Column::AgreementId.eq(agreement_id))
        .filter(ki::Column::Name.eq(name))
        .filter(ki::Column::Spec.eq(spec))
        .one(db)
        .await?)
}

pub async fn custody_movements(
    db: &impl ConnectionTrait,
    agreement_id: i64,
) -> Result<Vec<km::Model>> {
    Ok(km::Entity::find()
        .filter(km::Column::AgreementId.eq(agreement_id))
        .order_by_asc(km::Column::MovedOn)
        .order_by_asc(km::Column::Id)
        .all(db)
        .await?)
}

pub async fn custody_payments(
    db: &impl ConnectionTrait,
    agreement_id: i64,
) -> Result<Vec<kp::Model>> {
    Ok(kp::Entity::find()
        .filter(kp::Column::AgreementId.eq(agreement_id))
        .order_by_asc(kp::Column::PaidOn)
        .order_by_asc(kp::Column::Id)
        .all(db)
        .await?)
}
