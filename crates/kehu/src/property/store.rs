//! Queries of customer property. Lists take the caller's visible-customer
//! subquery, so property of customers a user may not see never leaves the
//! database.
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::SelectStatement;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entity::{
    abnormalities, care, counts, documents, items, movements, notice_lines, notices,
};
use super::model::{Balances, ItemState};
use crate::platform::error::Result;
use crate::platform::list::Paging;

/// Keeps rows whose customer is in `visible` (`None`: all customers).
pub fn in_scope(column: impl ColumnTrait, visible: Option<SelectStatement>) -> Condition {
    match visible {
        None => Condition::all(),
        Some(q) => Condition::all().add(column.in_subquery(q)),
    }
}

pub async fn item(db: &impl ConnectionTrait, id: i64) -> Result<Option<items::Model>> {
    Ok(items::Entity::find_by_id(id).one(db).await?)
}

/// Re-reads an item in a write transaction and locks it until commit.
pub async fn item_for_update(db: &impl ConnectionTrait, id: i64) -> Result<Option<items::Model>> {
    Ok(items::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?)
}

/// An item by register, lot or serial number (what a scanner reads).
pub async fn find_by_number(
    db: &impl ConnectionTrait,
    number: &str,
    visible: Option<SelectStatement>,
) -> Result<Vec<items::Model>> {
    Ok(items::Entity::find()
        .filter(
            Condition::any()
                .add(items::Column::RegisterNo.eq(number))
                .add(items::Column::LotNo.eq(number))
                .add(items::Column::SerialNo.eq(number)),
        )
        .filter(in_scope(items::Column::CustomerId, visible))
        .order_by_asc(items::Column::Id)
        .limit(50)
        .all(db)
        .await?)
}

/// Filters of the item lists and the register.
#[derive(Debug, Clone, Default)]
pub struct ItemQuery {
    pub customer_id: Option<i64>,
    pub state: Option<String>,
    pub kind: Option<String>,
    pub q: Option<String>,
    /// Only registered, not ended (the register, 顾客财产清单).
    pub register: bool,
}

pub async fn items(
    db: &impl ConnectionTrait,
    q: &ItemQuery,
    visible: Option<SelectStatement>,
    paging: Paging,
) -> Result<(Vec<items::Model>, u64)> {
    let mut sel = items::Entity::find().filter(in_scope(items::Column::CustomerId, visible));
    if let Some(c) = q.customer_id {
        sel = sel.filter(items::Column::CustomerId.eq(c));
    }
    if let Some(s) = q.state.as_deref().filter(|s| !s.is_empty()) {
        sel = sel.filter(items::Column::State.eq(s));
    }
    if let Some(k) = q.kind.as_deref().filter(|s| !s.is_empty()) {
        sel = sel.filter(items::Column::Kind.eq(k));
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let like = format!("%{text}%");
        sel = sel.filter(
            Condition::any()
                .add(items::Column::RegisterNo.like(&like))
                .add(items::Column::LotNo.like(&like))
                .add(items::Column::SerialNo.like(&like))
                .add(items::Column::ItemName.like(&like)),
        );
    }
    if q.register {
        sel = sel
            .filter(items::Column::RegisterNo.is_not_null())
            .filter(items::Column::State.ne(ItemState::Ended.as_str()));
    }
    let total = sel.clone().count(db).await?;
    let rows = sel
        .order_by_asc(items::Column::CustomerId)
        .order_by_asc(items::Column::RegisterNo)
        .order_by_asc(items::Column::Id)
        .offset(paging.offset())
        .limit(paging.per_page)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Items in hand (not ended) with care dates, counters or idle time worth a
/// look: the source of the due lists.
pub async fn items_in_hand(
    db: &impl ConnectionTrait,
    visible: Option<SelectStatement>,
    extra: Condition,
) -> Result<Vec<items::Model>> {
    Ok(items::Entity::find()
        .filter(in_scope(items::Column::CustomerId, visible))
        .filter(
            items::Column::State
                .is_in([ItemState::Registered.as_str(), ItemState::Abnormal.as_str()]),
        )
        .filter(extra)
        .order_by_asc(items::Column::Id)
        .limit(1000)
        .all(db)
        .await?)
}

/// Other lots that FIFO compares with `item`.
pub async fn same_item_lots(
    db: &impl ConnectionTrait,
    item: &items::Model,
) -> Result<Vec<items::Model>> {
    Ok(items::Entity::find()
        .filter(items::Column::CustomerId.eq(item.customer_id))
        .filter(items::Column::Kind.eq(item.kind.clone()))
        .filter(items::Column::ItemName.eq(item.item_name.clone()))
        .filter(items::Column::Balance.gt(0))
        .filter(items::Column::Id.ne(item.id))
        .all(db)
        .await?)
}

pub async fn movements_of(
    db: &impl ConnectionTrait,
    item_id: i64,
) -> Result<Vec<movements::Model>> {
    Ok(movements::Entity::find()
        .filter(movements::Column::ItemId.eq(item_id))
        .order_by_asc(movements::Column::Id)
        .all(db)
        .await?)
}

/// Balance per location, replayed from the ledger.
pub async fn balances(db: &impl ConnectionTrait, item_id: i64) -> Result<Balances> {
    Ok(balances_of(db, &[item_id])
        .await?
        .remove(&item_id)
        .unwrap_or_default())
}

/// [`balances`] of several items, replayed from their ledgers in one query.
pub async fn balances_of(
    db: &impl ConnectionTrait,
    item_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Balances>> {
    let mut out: std::collections::HashMap<i64, Balances> = std::collections::HashMap::new();
    if item_ids.is_empty() {
        return Ok(out);
    }
    let rows = movements::Entity::find()
        .filter(movements::Column::ItemId.is_in(item_ids.iter().copied()))
        .order_by_asc(movements::Column::Id)
        .all(db)
        .await?;
    for m in rows {
        let b = out.entry(m.item_id).or_default();
        if let Some(f) = &m.from_location {
            *b.entry(f.clone()).or_insert(0) -= m.quantity;
        }
        if let Some(t) = &m.to_location {
            *b.entry(t.clone()).or_insert(0) += m.quantity;
        }
    }
    for b in out.values_mut() {
        b.retain(|_, q| *q != 0);
    }
    Ok(out)
}

/// The total of a balance map (the register's quantity).
pub fn total(b: &Balances) -> i64 {
    b.values().sum()
}

pub async fn notice(db: &impl ConnectionTrait, id: i64) -> Result<Option<notices::Model>> {
    Ok(notices::Entity::find_by_id(id).one(db).await?)
}

pub async fn notice_for_update(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<notices::Model>> {
    Ok(notices::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?)
}

pub async fn lines_of(
    db: &impl ConnectionTrait,
    notice_id: i64,
) -> Result<Vec<notice_lines::Model>> {
    Ok(notice_lines::Entity::find()
        .filter(notice_lines::Column::NoticeId.eq(notice_id))
        .order_by_asc(notice_lines::Column::LineNo)
        .all(db)
        .await?)
}

pub async fn line(db: &impl ConnectionTrait, id: i64) -> Result<Option<notice_lines::Model>> {
    Ok(notice_lines::Entity::find_by_id(id).one(db).await?)
}

pub async fn notices(
    db: &impl ConnectionTrait,
    visible: Option<SelectStatement>,
    customer_id: Option<i64>,
    status: Option<&str>,
    due_before: Option<NaiveDate>,
) -> Result<Vec<notices::Model>> {
    let mut sel = notices::Entity::find().filter(in_scope(notices::Column::CustomerId, visible));
    if let Some(c) = customer_id {
        sel = sel.filter(notices::Column::CustomerId.eq(c));
    }
    if let Some(s) = status {
        sel = sel.filter(notices::Column::Status.eq(s));
    }
    if let Some(d) = due_before {
        sel = sel.filter(notices::Column::ExpectedOn.lt(d));
    }
    Ok(sel
        .order_by_desc(notices::Column::Id)
        .limit(500)
        .all(db)
        .await?)
}

pub async fn documents_of(
    db: &impl ConnectionTrait,
    item_id: i64,
) -> Result<Vec<documents::Model>> {
    Ok(documents::Entity::find()
        .filter(documents::Column::ItemId.eq(item_id))
        .order_by_asc(documents::Column::Id)
        .all(db)
        .await?)
}

pub async fn document(db: &impl ConnectionTrait, id: i64) -> Result<Option<documents::Model>> {
    Ok(documents::Entity::find_by_id(id).one(db).await?)
}

pub async fn abnormalities_of(
    db: &impl ConnectionTrait,
    item_id: i64,
) -> Result<Vec<abnormalities::Model>> {
    Ok(abnormalities::Entity::find()
        .filter(abnormalities::Column::ItemId.eq(item_id))
        .order_by_asc(abnormalities::Column::Id)
        .all(db)
        .await?)
}

pub async fn abnormality(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<abnormalities::Model>> {
    Ok(abnormalities::Entity::find_by_id(id).one(db).await?)
}

pub async fn abnormality_for_update(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<abnormalities::Model>> {
    Ok(abnormalities::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?)
}

/// Abnormalities still waiting for the customer's instruction.
pub async fn open_abnormalities(
    db: &impl ConnectionTrait,
    visible: Option<SelectStatement>,
) -> Result<Vec<abnormalities::Model>> {
    let items_in_scope = sea_orm::sea_query::Query::select()
        .column(items::Column::Id)
        .from(items::Entity)
        .cond_where(in_scope(items::Column::CustomerId, visible))
        .to_owned();
    Ok(abnormalities::Entity::find()
        .filter(abnormalities::Column::Status.is_in(["open", "notified"]))
        .filter(abnormalities::Column::ItemId.in_subquery(items_in_scope))
        .order_by_asc(abnormalities::Column::Id)
        .limit(500)
        .all(db)
        .await?)
}

pub async fn care_of(db: &impl ConnectionTrait, item_id: i64) -> Result<Vec<care::Model>> {
    Ok(care::Entity::find()
        .filter(care::Column::ItemId.eq(item_id))
        .order_by_desc(care::Column::Id)
        .all(db)
        .await?)
}

pub async fn counts_of(db: &impl ConnectionTrait, item_id: i64) -> Result<Vec<counts::Model>> {
    Ok(counts::Entity::find()
        .filter(counts::Column::ItemId.eq(item_id))
        .order_by_desc(counts::Column::Id)
        .all(db)
        .await?)
}

pub async fn count(db: &impl ConnectionTrait, id: i64) -> Result<Option<counts::Model>> {
    Ok(counts::Entity::find_by_id(id).one(db).await?)
}

pub async fn count_for_update(db: &impl ConnectionTrait, id: i64) -> Result<Option<counts::Model>> {
    Ok(counts::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?)
}

pub async fn pending_counts(
    db: &impl ConnectionTrait,
    visible: Option<SelectStatement>,
) -> Result<Vec<counts::Model>> {
    let items_in_scope = sea_orm::sea_query::Query::select()
        .column(items::Column::Id)
        .from(items::Entity)
        .cond_where(in_scope(items::Column::CustomerId, visible))
        .to_owned();
    Ok(counts::Entity::find()
        .filter(counts::Column::Status.eq("pending"))
        .filter(counts::Column::ItemId.in_subquery(items_in_scope))
        .order_by_asc(counts::Column::Id)
        .limit(500)
        .all(db)
        .await?)
}

/// Items idle by the policy that have not been reported yet (the poller's scan).
pub async fn idle_unreported(
    db: &impl ConnectionTrait,
    used_before: DateTime<Utc>,
) -> Result<Vec<items::Model>> {
    Ok(items::Entity::find()
        .filter(
            items::Column::State
                .is_in([ItemState::Registered.as_str(), ItemState::Abnormal.as_str()]),
        )
        .filter(items::Column::Balance.gt(0))
        .filter(items::Column::LastUsedAt.lt(used_before))
        .filter(items::Column::IdleReportedAt.is_null())
        .limit(1000)
        .all(db)
        .await?)
}
