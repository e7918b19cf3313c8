//! Consignment (寄售) and custody (寄养) agreements (SPEC §4, last paragraphs).
//!
//! **Consignment**: a customer places goods with the company to sell on commission (seed
//! 寄售工作规章制度). Sales staff record the agreement with its cost and consignment ratios; the
//! warehouse records the goods received and returned, sales staff the sales. Stock per item =
//! received − sold − returned and never goes below zero. Each sale's commission = sale amount ×
//! (1 − cost ratio) × consignment ratio, rounded to the fen by policy when the sale is recorded.
//! A monthly settlement statement lists the month's sales (months in the policy's time zone)
//! with the commission and the amount due to the customer; closing a month gives the statement
//! its number and refuses further sales in that month. At the end, unsold goods go back to the
//! customer ("return all unsold"), and only an agreement without stock can end.
//!
//! **Custody**: the company stores a customer's goods for a period and a monthly fee (seed
//! 公司产品寄养管理制度). Goods are checked in and out; fees, payments and late fees follow
//! [`model::fee_schedule`]; goods not collected near and after the period's end are home-page
//! tasks for the customer's owner and the warehouse.
//!
//! Who may act (see [`model::Action`]): agreements and sales by sales staff within the customers
//! they may edit; goods in and out by the warehouse too; closing statements and recording
//! custody payments by finance too. A customer out of the actor's sight is 404, an action its
//! role may not take 403. Every write is one transaction with its audit entry, and takes the
//! agreement's row lock first, so stock checks and numbers hold under concurrency. An agreement
//! carries a `version` that changes with every change to it or its goods; an edit, an end or a
//! "return all unsold" with a stale version is refused with 409.
pub mod api;
pub mod entity;
pub mod model;
pub mod pages;
pub mod store;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, DatabaseTransaction, IntoActiveModel, NotSet, Set};
use serde::{Deserialize, Serialize};

use entity::{
    consignment_agreements as ca, consignment_items as ci, consignment_movements as cm,
    consignment_settlements as cs, custody_agreements as ka, custody_items as ki,
    custody_movements as km, custody_payments as kp,
};
use model::{Action, Event, FeeTerms, Ledger, Permit, StatementTotals, Status, YearMonth};

use super::today;
use crate::customers::{self, entity::customers::Model as Customer};
use crate::platform::audit::{self, AuditEntry};
use crate::platform::auth::Actor;
use crate::platform::db;
use crate::platform::error::{Error, FieldError, Fields, Result};
use crate::platform::http::shell::Task;
use crate::platform::i18n;
use crate::platform::list::Paging;
use crate::platform::numbering;
use crate::platform::state::AppState;
use crate::policy::Policy;

/// What consignment and custody agreements plug into the platform (listed
/// in `crate::app`).
pub struct Agreements;

impl crate::platform::capability::Capability for Agreements {
    fn api(&self) -> utoipa_axum::router::OpenApiRouter<AppState> {
        api::routes()
    }

    fn pages(&self) -> axum::Router<AppState> {
        pages::routes()
    }

    fn tasks<'a>(
        &'a self,
        state: &'a AppState,
        actor: &'a Actor,
    ) -> crate::platform::capability::Pending<'a, Vec<Task>> {
        Box::pin(tasks_for(state, actor))
    }
}

// ------------------------------------------------------------------ shared

/// Whether the actor may take `action` on a customer's agreements: 404 when the customer is out
/// of the actor's sight (checked first, so existence does not leak), 403 when its role may not
/// take the action or, for sales staff, it may only read the customer.
async fn authorize(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
    action: Action,
) -> Result<()> {
    let permit = model::permit(actor, action);
    customers::visible(state, actor, customer_id).await?;
    match permit {
        Permit::Visible => Ok(()),
        Permit::Editable => customers::editable(state, actor, customer_id)
            .await
            .map(|_| ()),
        Permit::No => Err(Error::Forbidden),
    }
}

/// Whether the actor may take `action` on this customer (for showing forms).
async fn allowed(state: &AppState, actor: &Actor, customer_id: i64, action: Action) -> bool {
    authorize(state, actor, customer_id, action).await.is_ok()
}

/// Trimmed text, `None` when blank.
fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The longest free text kept (names, specs, notes).
const MAX_NAME: usize = 200;
const MAX_NOTES: usize = 2000;

fn text_field(f: &mut Fields, field: &str, v: &Option<String>, max: usize) -> Option<String> {
    let t = clean(v)?;
    if t.chars().count() > max {
        f.push(FieldError::new(field, "error.too_long").arg("max", max));
    }
    Some(t)
}

fn required_text(f: &mut Fields, field: &str, v: &Option<String>) -> String {
    match text_field(f, field, v, MAX_NAME) {
        Some(t) => t,
        None => {
            f.push(FieldError::new(field, "error.required"));
            String::new()
        }
    }
}

fn date_field(f: &mut Fields, field: &str, v: &Option<String>) -> Option<NaiveDate> {
    let t = clean(v)?;
    match crate::platform::input::parse_date(field, &t) {
        Ok(d) => Some(d),
        Err(e) => {
            f.push(e);
            None
        }
    }
}

fn quantity_field(f: &mut Fields, field: &str, v: &Option<String>) -> i64 {
    match clean(v) {
        None => {
            f.push(FieldError::new(field, "error.required"));
            0
        }
        Some(t) => model::parse_quantity(&t).unwrap_or_else(|| {
            f.push(FieldError::new(field, "agreements.error.quantity_format"));
            0
        }),
    }
}

fn money_field(f: &mut Fields, field: &str, v: &Option<String>) -> Option<i64> {
    let t = clean(v)?;
    let fen = model::parse_yuan(&t);
    if fen.is_none() {
        f.push(FieldError::new(field, "error.money_format"));
    }
    fen
}

/// A moment in the past (default: now), in the policy's zone when typed without an offset.
fn moment_field(
    f: &mut Fields,
    field: &str,
    v: &Option<String>,
    now: DateTime<Utc>,
    policy: &Policy,
) -> DateTime<Utc> {
    let Some(t) = clean(v) else {
        return now;
    };
    match model::parse_moment(&t, policy.timezone()) {
        Some(at) if at > now => {
            f.push(FieldError::new(field, "error.date_future"));
            now
        }
        Some(at) => match crate::platform::input::date_in_range(field, local_date(at, policy)) {
            Ok(_) => at,
            Err(e) => {
                f.push(e);
                now
            }
        },
        None => {
            f.push(FieldError::new(field, "agreements.error.moment_format"));
            now
        }
    }
}

fn local_date(at: DateTime<Utc>, policy: &Policy) -> NaiveDate {
    at.with_timezone(&policy.timezone()).date_naive()
}

/// Refuses an event the agreement's status does not allow (409 with the reason).
fn check_transition(status: &str, event: Event) -> Result<Status> {
    model::transition(Status::parse(status), event)
        .map_err(|r| Error::Conflict(r.key().into(), vec![]))
}

/// The period must run forwards.
fn check_period(f: &mut Fields, start: Option<NaiveDate>, end: Option<NaiveDate>) {
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        f.push(FieldError::new(
            "end_date",
            "agreements.error.end_before_start",
        ));
    }
}

/// A customer as shown beside its agreements.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgreementCustomer {
    pub id: i64,
    pub code: String,
    pub full_name: String,
}

fn customer_ref(labels: &HashMap<i64, Customer>, id: i64) -> AgreementCustomer {
    match labels.get(&id) {
        Some(l) => AgreementCustomer {
            id,
            code: l.code.clone(),
            full_name: l.full_name.clone(),
        },
        None => AgreementCustomer {
            id,
            code: String::new(),
            full_name: String::new(),
        },
    }
}

/// Filters of the agreement lists.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct AgreementFilter {
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub customer_id: Option<i64>,
    /// Agreement number, or customer code, name or pinyin initials.
    pub q: Option<String>,
    /// `active` or `ended`.
    pub status: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub page: Option<i64>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub per_page: Option<i64>,
}

impl AgreementFilter {
    fn paging(&self) -> Paging {
        Paging::new(self.page, self.per_page)
    }
}

/// The list query for the actor: its visible customers, and the search text matched against
/// agreement numbers and (through the customer search) customers.
async fn list_query(
    state: &AppState,
    actor: &Actor,
    filter: &AgreementFilter,
) -> Result<store::ListQuery> {
    let paging = filter.paging();
    let text = match clean(&filter.q) {
        None => None,
        Some(q) => {
            let (found, _) = customers::search(
                state,
                actor,
                &customers::CustomerFilter {
                    q: Some(q.clone()),
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await?;
            Some((q, found.into_iter().map(|c| c.id).collect()))
        }
    };
    let status = clean(&filter.status).filter(|s| s == "active" || s == "ended");
    Ok(store::ListQuery {
        visible: customers::visible_ids(state, actor).await?,
        customer_id: filter.customer_id,
        text,
        status,
        paging,
    })
}

/// Input of "end" and "return all unsold": the version the caller saw.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct VersionInput {
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub version: Option<i64>,
    /// Why (kept in the audit log).
    pub reason: Option<String>,
}

fn required_version(v: Option<i64>) -> Result<i64> {
    v.ok_or_else(|| FieldError::new("version", "error.required").into())
}

// ------------------------------------------------------------------ consignment: views

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsignmentSummary {
    pub id: i64,
    pub number: String,
    pub customer: AgreementCustomer,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// Decimal text, e.g. "0.60".
    pub cost_ratio: String,
    pub consignment_ratio: String,
    pub status: Status,
    pub version: i64,
}

/// One consigned item and its stock (quantities as decimal text).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockLine {
    pub item_id: i64,
    pub name: String,
    pub spec: String,
    pub unit: String,
    /// Yuan per unit, if given at receipt.
    pub unit_price: Option<String>,
    pub received: String,
    pub sold: String,
    pub returned: String,
    pub on_hand: String,
    #[serde(skip)]
    pub on_hand_milli: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgreementMovement {
    pub id: i64,
    /// `receipt`, `sale`, `return` (consignment); `in`, `out` (custody).
    pub kind: String,
    pub item_id: i64,
    pub item: String,
    pub spec: String,
    pub unit: String,
    pub quantity: String,
    /// Sale amount in yuan (sales).
    pub amount: Option<String>,
    /// Commission in yuan (sales).
    pub commission: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// The day in the policy's time zone.
    pub occurred_on: NaiveDate,
    pub notes: Option<String>,
    pub created_by: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SettlementView {
    pub id: i64,
    /// "YYYY-MM"
    pub month: String,
    pub number: String,
    pub sales_count: i64,
    pub sales: String,
    pub commission: String,
    /// Due to the customer: sales − commission.
    pub due: String,
    pub closed_by: String,
    pub closed_at: DateTime<Utc>,
}

impl From<&cs::Model> for SettlementView {
    fn from(s: &cs::Model) -> Self {
        SettlementView {
            id: s.id,
            month: s.month.clone(),
            number: s.number.clone(),
            sales_count: s.sales_count,
            sales: model::yuan(s.sales_fen),
            commission: model::yuan(s.commission_fen),
            due: model::yuan(s.due_fen),
            closed_by: s.closed_by.clone(),
            closed_at: s.closed_at,
        }
    }
}

/// A consignment agreement with its stock, movements and closed statements.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsignmentView {
    #[serde(flatten)]
    pub summary: ConsignmentSummary,
    pub notes: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub policy_version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub stock: Vec<StockLine>,
    /// Some item is still in stock (the agreement cannot end).
    pub goods_held: bool,
    pub movements: Vec<AgreementMovement>,
    pub settlements: Vec<SettlementView>,
}

fn consignment_summary(a: &ca::Model, labels: &HashMap<i64, Customer>) -> ConsignmentSummary {
    ConsignmentSummary {
        id: a.id,
        number: a.number.clone(),
        customer: customer_ref(labels, a.customer_id),
        start_date: a.start_date,
        end_date: a.end_date,
        cost_ratio: model::ratio_text(model::stored_decimal(&a.cost_ratio)),
        consignment_ratio: model::ratio_text(model::stored_decimal(&a.consignment_ratio)),
        status: Status::parse(&a.status),
        version: a.version,
    }
}

/// Each item's ledger from the movements.
fn consignment_ledgers(moves: &[cm::Model]) -> HashMap<i64, Ledger> {
    let mut out: HashMap<i64, Ledger> = HashMap::new();
    for m in moves {
        let l = out.entry(m.item_id).or_default();
        match m.kind.as_str() {
            "receipt" => l.received += m.quantity_milli,
            "sale" => l.sold += m.quantity_milli,
            _ => l.returned += m.quantity_milli,
        }
    }
    out
}

fn stock_lines(items: &[ci::Model], ledgers: &HashMap<i64, Ledger>) -> Vec<StockLine> {
    items
        .iter()
        .map(|i| {
            let l = ledgers.get(&i.id).copied().unwrap_or_default();
            StockLine {
                item_id: i.id,
                name: i.name.clone(),
                spec: i.spec.clone(),
                unit: i.unit.clone(),
                unit_price: i.unit_price_fen.map(model::yuan),
                received: model::quantity(l.received),
                sold: model::quantity(l.sold),
                returned: model::quantity(l.returned),
                on_hand: model::quantity(l.on_hand()),
                on_hand_milli: l.on_hand(),
            }
        })
        .collect()
}

fn consignment_movement_view(
    m: &cm::Model,
    items: &HashMap<i64, &ci::Model>,
    policy: &Policy,
) -> AgreementMovement {
    let item = items.get(&m.item_id);
    AgreementMovement {
        id: m.id,
        kind: m.kind.clone(),
        item_id: m.item_id,
        item: item.map(|i| i.name.clone()).unwrap_or_default(),
        spec: item.map(|i| i.spec.clone()).unwrap_or_default(),
        unit: item.map(|i| i.unit.clone()).unwrap_or_default(),
        quantity: model::quantity(m.quantity_milli),
        amount: m.amount_fen.map(model::yuan),
        commission: m.commission_fen.map(model::yuan),
        occurred_at: m.occurred_at,
        occurred_on: local_date(m.occurred_at, policy),
        notes: m.notes.clone(),
        created_by: m.created_by.clone(),
    }
}

fn consignment_snapshot(a: &ca::Model) -> serde_json::Value {
    serde_json::json!({
        "number": a.number,
        "customer_id": a.customer_id,
        "start_date": a.start_date.to_string(),
        "end_date": a.end_date.to_string(),
        "cost_ratio": a.cost_ratio,
        "consignment_ratio": a.consignment_ratio,
        "notes": a.notes,
        "status": a.status,
    })
}

/// A consignment agreement by id, with its customer checked for the action (404 when missing or
/// out of sight).
async fn consignment_for(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: Option<Action>,
) -> Result<ca::Model> {
    let a = store::consignment(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    match action {
        Some(action) => authorize(state, actor, a.customer_id, action).await?,
        None => {
            customers::visible(state, actor, a.customer_id).await?;
        }
    }
    Ok(a)
}

/// A consignment agreement the actor may see.
pub async fn consignment(state: &AppState, actor: &Actor, id: i64) -> Result<ConsignmentView> {
    let a = consignment_for(state, actor, id, None).await?;
    consignment_view(state, a).await
}

async fn consignment_view(state: &AppState, a: ca::Model) -> Result<ConsignmentView> {
    let p = state.policy();
    let labels = customers::labels(&state.db, &[a.customer_id]).await?;
    let items = store::consignment_items(&state.db, a.id).await?;
    let moves = store::consignment_movements(&state.db, a.id).await?;
    let ledgers = consignment_ledgers(&moves);
    let stock = stock_lines(&items, &ledgers);
    let by_id: HashMap<i64, &ci::Model> = items.iter().map(|i| (i.id, i)).collect();
    let settlements = store::consignment_settlements(&state.db, a.id).await?;
    Ok(ConsignmentView {
        summary: consignment_summary(&a, &labels),
        goods_held: stock.iter().any(|s| s.on_hand_milli > 0),
        stock,
        movements: moves
            .iter()
            .rev()
            .map(|m| consignment_movement_view(m, &by_id, &p.policy))
            .collect(),
        settlements: settlements.iter().map(SettlementView::from).collect(),
        notes: a.notes,
        ended_at: a.ended_at,
        policy_version: a.policy_version,
        created_by: a.created_by,
        created_at: a.created_at,
        updated_at: a.updated_at,
    })
}

/// The consignment agreements of the customers the actor may see.
pub async fn consignments(
    state: &AppState,
    actor: &Actor,
    filter: &AgreementFilter,
) -> Result<(Vec<ConsignmentSummary>, u64)> {
    let q = list_query(state, actor, filter).await?;
    let (rows, total) = store::consignment_page(&state.db, &q).await?;
    let ids: Vec<i64> = rows.iter().map(|a| a.customer_id).collect();
    let labels = customers::labels(&state.db, &ids).await?;
    Ok((
        rows.iter()
            .map(|a| consignment_summary(a, &labels))
            .collect(),
        total,
    ))
}

// ------------------------------------------------------------------ consignment: agreement

/// Create (customer required) or edit (version required) a consignment agreement. On edit,
/// absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ConsignmentInput {
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub version: Option<i64>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub customer_id: Option<i64>,
    /// YYYY-MM-DD; default today.
    pub start_date: Option<String>,
    /// YYYY-MM-DD; default the policy's term from the start.
    pub end_date: Option<String>,
    /// 0–1, e.g. "0.60"; default from the policy.
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::text"
    )]
    pub cost_ratio: Option<String>,
    /// 0–1, e.g. "0.10"; default from the policy.
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::text"
    )]
    pub consignment_ratio: Option<String>,
    pub notes: Option<String>,
    /// Why (kept in the audit log).
    pub reason: Option<String>,
}

fn ratio_field(f: &mut Fields, field: &str, v: &Option<String>) -> Option<Decimal> {
    let t = clean(v)?;
    match model::parse_ratio(field, &t) {
        Ok(d) => Some(d),
        Err(e) => {
            f.push(e);
            None
        }
    }
}

/// Creates a consignment agreement for a customer the actor may edit.
pub async fn create_consignment(
    state: &AppState,
    actor: &Actor,
    input: ConsignmentInput,
) -> Result<ConsignmentView> {
    if !model::may(actor, Action::Manage) {
        return Err(Error::Forbidden);
    }
    let Some(customer_id) = input.customer_id else {
        return Err(FieldError::new("customer_id", "error.required").into());
    };
    authorize(state, actor, customer_id, Action::Manage).await?;
    let p = state.policy();
    let policy = &p.policy;
    let now = state.clock.now();
    let mut f = Fields::default();
    let start = date_field(&mut f, "start_date", &input.start_date).unwrap_or(today(state));
    let end = date_field(&mut f, "end_date", &input.end_date)
        .unwrap_or_else(|| model::term_end(start, policy.consignment.default_term_months));
    check_period(&mut f, Some(start), Some(end));
    let cost = ratio_field(&mut f, "cost_ratio", &input.cost_ratio)
        .unwrap_or(policy.consignment.default_cost_ratio);
    let ratio = ratio_field(&mut f, "consignment_ratio", &input.consignment_ratio)
        .unwrap_or(policy.consignment.default_consignment_ratio);
    let notes = text_field(&mut f, "notes", &input.notes, MAX_NOTES);
    f.finish()?;
    let txn = db::begin_write(&state.db).await?;
    let number = numbering::next_number(&txn, policy, "consignment_agreement", start).await?;
    let saved = ca::ActiveModel {
        id: NotSet,
        number: Set(number),
        customer_id: Set(customer_id),
        start_date: Set(start),
        end_date: Set(end),
        cost_ratio: Set(cost.normalize().to_string()),
        consignment_ratio: Set(ratio.normalize().to_string()),
        notes: Set(notes),
        status: Set(Status::Active.as_str().into()),
        ended_at: Set(None),
        policy_version: Set(i32::try_from(p.version).unwrap_or(i32::MAX)),
        created_by: Set(actor.username.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "create",
            "consignment_agreement",
            saved.id,
        )
        .diff(&serde_json::Value::Null, &consignment_snapshot(&saved))
        .reason(input.reason.clone()),
    )
    .await?;
    txn.commit().await?;
    consignment_view(state, saved).await
}

/// Edits an agreement's terms (period, ratios, notes) with the version read; new ratios apply
/// to sales recorded from then on (each sale keeps the commission it was recorded with).
pub async fn update_consignment(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: ConsignmentInput,
) -> Result<ConsignmentView> {
    let existing = consignment_for(state, actor, id, Some(Action::Manage)).await?;
    let version = required_version(input.version)?;
    let p = state.policy();
    let policy = &p.policy;
    let mut f = Fields::default();
    let start = date_field(&mut f, "start_date", &input.start_date);
    let end = date_field(&mut f, "end_date", &input.end_date);
    let cost = ratio_field(&mut f, "cost_ratio", &input.cost_ratio);
    let ratio = ratio_field(&mut f, "consignment_ratio", &input.consignment_ratio);
    let notes = input
        .notes
        .as_ref()
        .map(|_| text_field(&mut f, "notes", &input.notes, MAX_NOTES));
    let new_start = start.unwrap_or(existing.start_date);
    let new_end = end.unwrap_or(existing.end_date);
    check_period(&mut f, Some(new_start), Some(new_end));
    if let Some((first, last)) = store::consignment_sale_span(&state.db, id).await?
        && (local_date(first, policy) < new_start || local_date(last, policy) > new_end)
    {
        f.push(
            FieldError::new("end_date", "agreements.error.period_excludes_sales")
                .arg("first", local_date(first, policy))
                .arg("last", local_date(last, policy)),
        );
    }
    f.finish()?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let current = store::consignment_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    if current.version != version {
        return Err(Error::StaleVersion);
    }
    check_transition(&current.status, Event::Change)?;
    let mut next = current.clone();
    next.start_date = new_start;
    next.end_date = new_end;
    if let Some(c) = cost {
        next.cost_ratio = c.normalize().to_string();
    }
    if let Some(r) = ratio {
        next.consignment_ratio = r.normalize().to_string();
    }
    if let Some(n) = notes {
        next.notes = n;
    }
    next.version = current.version + 1;
    next.updated_at = now;
    let saved = next.into_active_model().reset_all().update(&txn).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "update",
            "consignment_agreement",
            id,
        )
        .diff(
            &consignment_snapshot(&current),
            &consignment_snapshot(&saved),
        )
        .reason(input.reason.clone()),
    )
    .await?;
    txn.commit().await?;
    consignment_view(state, saved).await
}

/// Bumps an agreement's version in the caller's transaction (its goods changed).
async fn touch_consignment(
    txn: &DatabaseTransaction,
    a: ca::Model,
    now: DateTime<Utc>,
) -> Result<ca::Model> {
    let version = a.version;
    let mut am = a.into_active_model();
    am.version = Set(version + 1);
    am.updated_at = Set(now);
    Ok(am.update(txn).await?)
}

// ------------------------------------------------------------------ consignment: goods and sales

/// Goods received from the customer. An item is known by name and specification: the first
/// receipt creates it, later ones add to its stock.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ReceiptInput {
    pub item: Option<String>,
    pub spec: Option<String>,
    /// 件, 箱, kg …
    pub unit: Option<String>,
    /// Decimal text or an integer, up to three decimals.
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::text"
    )]
    pub quantity: Option<String>,
    /// Yuan per unit, optional (the customer's list price).
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::text"
    )]
    pub unit_price: Option<String>,
    /// When (RFC 3339, or local "YYYY-MM-DDTHH:MM", or a date); default now.
    pub received_at: Option<String>,
    pub notes: Option<String>,
}

/// A sale of consigned goods.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SaleInput {
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub item_id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::text"
    )]
    pub quantity: Option<String>,
    /// The sale amount in yuan (售价), e.g. "100.00".
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::text"
    )]
    pub amount: Option<String>,
    /// When (RFC 3339, or local "YYYY-MM-DDTHH:MM", or a date); default now. Decides the month
    /// of the settlement statement, in the policy's time zone.
    pub sold_at: Option<String>,
    pub notes: Option<String>,
}

/// Goods given back to the customer.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ReturnInput {
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub item_id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::text"
    )]
    pub quantity: Option<String>,
    /// When; default now.
    pub returned_at: Option<String>,
    pub notes: Option<String>,
}

/// Records goods received.
pub async fn receive(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: ReceiptInput,
) -> Result<ConsignmentView> {
    consignment_for(state, actor, id, Some(Action::Goods)).await?;
    let p = state.policy();
    let policy = &p.policy;
    let now = state.clock.now();
    let mut f = Fields::default();
    let name = required_text(&mut f, "item", &input.item);
    let spec = text_field(&mut f, "spec", &input.spec, MAX_NAME).unwrap_or_default();
    let unit = text_field(&mut f, "unit", &input.unit, MAX_NAME).unwrap_or_default();
    let qty = quantity_field(&mut f, "quantity", &input.quantity);
    let price = money_field(&mut f, "unit_price", &input.unit_price);
    let at = moment_field(&mut f, "received_at", &input.received_at, now, policy);
    let notes = text_field(&mut f, "notes", &input.notes, MAX_NOTES);
    f.finish()?;
    let txn = db::begin_write(&state.db).await?;
    let a = store::consignment_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    check_transition(&a.status, Event::Change)?;
    let item = match store::consignment_item_named(&txn, id, &name, &spec).await? {
        Some(existing) => {
            // A later receipt may fill in the unit and price the first one lacked.
            let mut am = existing.clone().into_active_model();
            let mut changed = false;
            if existing.unit.is_empty() && !unit.is_empty() {
                am.unit = Set(unit.clone());
                changed = true;
            }
            if price.is_some() && existing.unit_price_fen != price {
                am.unit_price_fen = Set(price);
                changed = true;
            }
            if changed {
                am.update(&txn).await?
            } else {
                existing
            }
        }
        None => {
            ci::ActiveModel {
                id: NotSet,
                agreement_id: Set(id),
                name: Set(name.clone()),
                spec: Set(spec.clone()),
                unit: Set(unit.clone()),
                unit_price_fen: Set(price),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?
        }
    };
    let m = insert_consignment_move(&txn, &a, &item, "receipt", qty, None, at, notes, actor, now)
        .await?;
    touch_consignment(&txn, a, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "receipt",
            "consignment_agreement",
            id,
        )
        .change("receipt", serde_json::Value::Null, move_text(&m, &item)),
    )
    .await?;
    txn.commit().await?;
    consignment(state, actor, id).await
}

fn move_text(m: &cm::Model, item: &ci::Model) -> String {
    let mut s = format!(
        "{} {} {}{} #{}",
        item.name,
        item.spec,
        model::quantity(m.quantity_milli),
        item.unit,
        m.id
    );
    if let Some(a) = m.amount_fen {
        s.push_str(&format!(" ¥{}", model::yuan(a)));
    }
    s
}

#[allow(clippy::too_many_arguments)]
async fn insert_consignment_move(
    txn: &DatabaseTransaction,
    a: &ca::Model,
    item: &ci::Model,
    kind: &str,
    qty: i64,
    sale: Option<(i64, i64)>,
    at: DateTime<Utc>,
    notes: Option<String>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<cm::Model> {
    Ok(cm::ActiveModel {
        id: NotSet,
        agreement_id: Set(a.id),
        item_id: Set(item.id),
        kind: Set(kind.into()),
        quantity_milli: Set(qty),
        amount_fen: Set(sale.map(|s| s.0)),
        commission_fen: Set(sale.map(|s| s.1)),
        occurred_at: Set(at),
        notes: Set(notes),
        created_by: Set(actor.username.clone()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?)
}

/// An item of the agreement with its ledger, read in the caller's transaction.
async fn item_and_ledger(
    txn: &DatabaseTransaction,
    agreement_id: i64,
    item_id: i64,
) -> Result<Option<(ci::Model, Ledger)>> {
    let items = store::consignment_items(txn, agreement_id).await?;
    let Some(item) = items.into_iter().find(|i| i.id == item_id) else {
        return Ok(None);
    };
    let moves = store::consignment_movements(txn, agreement_id).await?;
    let ledger = consignment_ledgers(&moves)
        .get(&item_id)
        .copied()
        .unwrap_or_default();
    Ok(Some((item, ledger)))
}

/// "only 3 件 of 保温杯 in stock", on the quantity field.
fn short_stock(item: &ci::Model, ledger: &Ledger) -> FieldError {
    FieldError::new("quantity", "agreements.error.stock_short")
        .arg("item", &item.name)
        .arg("on_hand", model::quantity(ledger.on_hand()))
        .arg("unit", &item.unit)
}

/// Records a sale: the commission is computed now, with the agreement's ratios and the policy's
/// rounding. Refused when the stock is short, the date lies outside the agreement's period or
/// in a closed month.
pub async fn sell(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: SaleInput,
) -> Result<ConsignmentView> {
    consignment_for(state, actor, id, Some(Action::Manage)).await?;
    let p = state.policy();
    let policy = &p.policy;
    let now = state.clock.now();
    let mut f = Fields::default();
    if input.item_id.is_none() {
        f.push(FieldError::new("item_id", "error.required"));
    }
    let qty = quantity_field(&mut f, "quantity", &input.quantity);
    let amount = money_field(&mut f, "amount", &input.amount);
    if amount.is_none() && clean(&input.amount).is_none() {
        f.push(FieldError::new("amount", "error.required"));
    }
    let at = moment_field(&mut f, "sold_at", &input.sold_at, now, policy);
    let notes = text_field(&mut f, "notes", &input.notes, MAX_NOTES);
    f.finish()?;
    let (item_id, amount) = (
        input.item_id.unwrap_or_default(),
        amount.unwrap_or_default(),
    );
    let txn = db::begin_write(&state.db).await?;
    let a = store::consignment_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    check_transition(&a.status, Event::Change)?;
    let Some((item, ledger)) = item_and_ledger(&txn, id, item_id).await? else {
        return Err(FieldError::new("item_id", "agreements.error.item_unknown").into());
    };
    let mut f = Fields::default();
    let day = local_date(at, policy);
    if day < a.start_date || day > a.end_date {
        f.push(
            FieldError::new("sold_at", "agreements.error.outside_period")
                .arg("start", a.start_date)
                .arg("end", a.end_date),
        );
    }
    let month = YearMonth::of(day).to_string();
    if let Some(closed) = store::consignment_settlement(&txn, id, &month).await? {
        f.push(
            FieldError::new("sold_at", "agreements.error.month_closed")
                .arg("month", &month)
                .arg("number", &closed.number),
        );
    }
    if !ledger.can_take(qty) {
        f.push(short_stock(&item, &ledger));
    }
    f.finish()?;
    let commission = model::commission_fen(
        amount,
        model::stored_decimal(&a.cost_ratio),
        model::stored_decimal(&a.consignment_ratio),
        policy.consignment.commission_rounding,
    );
    let m = insert_consignment_move(
        &txn,
        &a,
        &item,
        "sale",
        qty,
        Some((amount, commission)),
        at,
        notes,
        actor,
        now,
    )
    .await?;
    touch_consignment(&txn, a, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "sale",
            "consignment_agreement",
            id,
        )
        .change("sale", serde_json::Value::Null, move_text(&m, &item))
        .change(
            "commission",
            serde_json::Value::Null,
            model::yuan(commission),
        ),
    )
    .await?;
    txn.commit().await?;
    consignment(state, actor, id).await
}

/// Records goods given back to the customer; refused when the stock is short.
pub async fn give_back(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: ReturnInput,
) -> Result<ConsignmentView> {
    consignment_for(state, actor, id, Some(Action::Goods)).await?;
    let p = state.policy();
    let policy = &p.policy;
    let now = state.clock.now();
    let mut f = Fields::default();
    if input.item_id.is_none() {
        f.push(FieldError::new("item_id", "error.required"));
    }
    let qty = quantity_field(&mut f, "quantity", &input.quantity);
    let at = moment_field(&mut f, "returned_at", &input.returned_at, now, policy);
    let notes = text_field(&mut f, "notes", &input.notes, MAX_NOTES);
    f.finish()?;
    let txn = db::begin_write(&state.db).await?;
    let a = store::consignment_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    check_transition(&a.status, Event::Change)?;
    let Some((item, ledger)) = item_and_ledger(&txn, id, input.item_id.unwrap_or_default()).await?
    else {
        return Err(FieldError::new("item_id", "agreements.error.item_unknown").into());
    };
    if !ledger.can_take(qty) {
        return Err(short_stock(&item, &ledger).into());
    }
    let m = insert_consignment_move(&txn, &a, &item, "return", qty, None, at, notes, actor, now)
        .await?;
    touch_consignment(&txn, a, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "return",
            "consignment_agreement",
            id,
        )
        .change("return", serde_json::Value::Null, move_text(&m, &item)),
    )
    .await?;
    txn.commit().await?;
    consignment(state, actor, id).await
}

/// Gives every unsold item back to the customer (the end of an agreement): one return row per
/// item with stock, in one transaction. The version is the one the caller saw, so what is
/// returned is the stock it was shown.
pub async fn return_unsold(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: VersionInput,
) -> Result<ConsignmentView> {
    consignment_for(state, actor, id, Some(Action::Goods)).await?;
    let version = required_version(input.version)?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let a = store::consignment_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    if a.version != version {
        return Err(Error::StaleVersion);
    }
    check_transition(&a.status, Event::Change)?;
    let items = store::consignment_items(&txn, id).await?;
    let ledgers = consignment_ledgers(&store::consignment_movements(&txn, id).await?);
    let mut returned = Vec::new();
    for item in &items {
        let on_hand = ledgers.get(&item.id).map(Ledger::on_hand).unwrap_or(0);
        if on_hand > 0 {
            let m = insert_consignment_move(
                &txn,
                &a,
                item,
                "return",
                on_hand,
                None,
                now,
                clean(&input.reason),
                actor,
                now,
            )
            .await?;
            returned.push(move_text(&m, item));
        }
    }
    if returned.is_empty() {
        txn.rollback().await?;
        return consignment_view(state, a).await;
    }
    touch_consignment(&txn, a, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "return_unsold",
            "consignment_agreement",
            id,
        )
        .change("returns", serde_json::Value::Null, returned)
        .reason(input.reason.clone()),
    )
    .await?;
    txn.commit().await?;
    consignment(state, actor, id).await
}

/// Ends an agreement; refused while any item is in stock.
pub async fn end_consignment(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: VersionInput,
) -> Result<ConsignmentView> {
    consignment_for(state, actor, id, Some(Action::Manage)).await?;
    let version = required_version(input.version)?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let a = store::consignment_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    if a.version != version {
        return Err(Error::StaleVersion);
    }
    let ledgers = consignment_ledgers(&store::consignment_movements(&txn, id).await?);
    let goods_held = ledgers.values().any(|l| l.on_hand() > 0);
    let status = check_transition(&a.status, Event::End { goods_held })?;
    let before = consignment_snapshot(&a);
    let mut am = a.clone().into_active_model();
    am.status = Set(status.as_str().into());
    am.ended_at = Set(Some(now));
    am.version = Set(a.version + 1);
    am.updated_at = Set(now);
    let saved = am.update(&txn).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "end",
            "consignment_agreement",
            id,
        )
        .diff(&before, &consignment_snapshot(&saved))
        .reason(input.reason.clone()),
    )
    .await?;
    txn.commit().await?;
    consignment_view(state, saved).await
}

// ------------------------------------------------------------------ consignment: statements

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatementLine {
    pub movement_id: i64,
    pub sold_at: DateTime<Utc>,
    /// Local date and time in the policy's zone, "YYYY-MM-DD HH:MM".
    pub sold_local: String,
    pub item: String,
    pub spec: String,
    pub unit: String,
    pub quantity: String,
    pub amount: String,
    pub commission: String,
    /// Amount − commission.
    pub due: String,
    #[serde(skip)]
    pub amount_fen: i64,
    #[serde(skip)]
    pub commission_fen: i64,
}

/// A monthly settlement statement (寄售月度结算单) of one agreement, hence one customer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatementView {
    pub agreement: ConsignmentSummary,
    /// "YYYY-MM"
    pub month: String,
    /// The month's bounds: local midnight of its first day and of the next month's, in UTC.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The policy's time zone the month is counted in.
    pub timezone: String,
    pub lines: Vec<StatementLine>,
    pub sales_count: i64,
    pub sales: String,
    pub commission: String,
    /// Due to the customer: sales − commission.
    pub due: String,
    /// The closed statement, with its number, once the month is closed.
    pub settlement: Option<SettlementView>,
    #[serde(skip)]
    pub totals: StatementTotals,
}

fn month_param(month: &Option<String>, today: NaiveDate) -> Result<YearMonth> {
    match clean(month) {
        None => Ok(YearMonth::of(today)),
        Some(m) => YearMonth::parse(&m)
            .ok_or_else(|| FieldError::new("month", "agreements.error.month_format").into()),
    }
}

/// The statement of a month ("YYYY-MM"; default the current month): every sale whose moment
/// falls in the month in the policy's time zone, with the totals.
pub async fn statement(
    state: &AppState,
    actor: &Actor,
    id: i64,
    month: &Option<String>,
) -> Result<StatementView> {
    let a = consignment_for(state, actor, id, None).await?;
    let p = state.policy();
    let policy = &p.policy;
    let month = month_param(month, today(state))?;
    let tz = policy.timezone();
    let (from, to) = month.utc_range(tz);
    let sales = store::consignment_sales_between(&state.db, id, from, to).await?;
    let items = store::consignment_items(&state.db, id).await?;
    let by_id: HashMap<i64, &ci::Model> = items.iter().map(|i| (i.id, i)).collect();
    let mut totals = StatementTotals::default();
    let lines = sales
        .iter()
        .map(|m| {
            let amount = m.amount_fen.unwrap_or(0);
            let commission = m.commission_fen.unwrap_or(0);
            totals.add(amount, commission);
            let item = by_id.get(&m.item_id);
            StatementLine {
                movement_id: m.id,
                sold_at: m.occurred_at,
                sold_local: m
                    .occurred_at
                    .with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                item: item.map(|i| i.name.clone()).unwrap_or_default(),
                spec: item.map(|i| i.spec.clone()).unwrap_or_default(),
                unit: item.map(|i| i.unit.clone()).unwrap_or_default(),
                quantity: model::quantity(m.quantity_milli),
                amount: model::yuan(amount),
                commission: model::yuan(commission),
                due: model::yuan(amount - commission),
                amount_fen: amount,
                commission_fen: commission,
            }
        })
        .collect();
    let settlement = store::consignment_settlement(&state.db, id, &month.to_string())
        .await?
        .as_ref()
        .map(SettlementView::from);
    let labels = customers::labels(&state.db, &[a.customer_id]).await?;
    Ok(StatementView {
        agreement: consignment_summary(&a, &labels),
        month: month.to_string(),
        from,
        to,
        timezone: policy.locale.timezone.clone(),
        lines,
        sales_count: totals.sales_count,
        sales: model::yuan(totals.sales_fen),
        commission: model::yuan(totals.commission_fen),
        due: model::yuan(totals.due_fen()),
        settlement,
        totals,
    })
}

/// Which month to close.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SettlementInput {
    /// "YYYY-MM": a month of the agreement's period that has ended.
    pub month: Option<String>,
}

/// Closes a month: the statement gets its number (policy format `consignment_statement`,
/// numbered in the month it settles) and its totals are kept; sales in the month are refused
/// from then on.
pub async fn close_month(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: SettlementInput,
) -> Result<SettlementView> {
    consignment_for(state, actor, id, Some(Action::Settle)).await?;
    let Some(text) = clean(&input.month) else {
        return Err(FieldError::new("month", "error.required").into());
    };
    let month = YearMonth::parse(&text)
        .ok_or_else(|| Error::from(FieldError::new("month", "agreements.error.month_format")))?;
    let p = state.policy();
    let policy = &p.policy;
    let now = state.clock.now();
    if month.next().first_day() > today(state) {
        return Err(FieldError::new("month", "agreements.error.month_not_over")
            .arg("month", month)
            .into());
    }
    let txn = db::begin_write(&state.db).await?;
    let a = store::consignment_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    if month < YearMonth::of(a.start_date) || month > YearMonth::of(a.end_date) {
        return Err(FieldError::new("month", "agreements.error.month_outside")
            .arg("start", a.start_date)
            .arg("end", a.end_date)
            .into());
    }
    if let Some(closed) = store::consignment_settlement(&txn, id, &month.to_string()).await? {
        return Err(Error::Conflict(
            "agreements.error.month_already_closed".into(),
            vec![("month", month.to_string()), ("number", closed.number)],
        ));
    }
    let (from, to) = month.utc_range(policy.timezone());
    let mut totals = StatementTotals::default();
    for m in store::consignment_sales_between(&txn, id, from, to).await? {
        totals.add(m.amount_fen.unwrap_or(0), m.commission_fen.unwrap_or(0));
    }
    let number =
        numbering::next_number(&txn, policy, "consignment_statement", month.first_day()).await?;
    let saved = cs::ActiveModel {
        id: NotSet,
        agreement_id: Set(id),
        month: Set(month.to_string()),
        number: Set(number),
        sales_count: Set(totals.sales_count),
        sales_fen: Set(totals.sales_fen),
        commission_fen: Set(totals.commission_fen),
        due_fen: Set(totals.due_fen()),
        policy_version: Set(i32::try_from(p.version).unwrap_or(i32::MAX)),
        closed_by: Set(actor.username.clone()),
        closed_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            Error::Conflict(
                "agreements.error.month_already_closed".into(),
                vec![("month", month.to_string()), ("number", String::new())],
            )
        } else {
            e.into()
        }
    })?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "settle",
            "consignment_agreement",
            id,
        )
        .change(
            "settlement",
            serde_json::Value::Null,
            serde_json::json!({
                "month": saved.month,
                "number": saved.number,
                "sales_count": saved.sales_count,
                "sales": model::yuan(saved.sales_fen),
                "commission": model::yuan(saved.commission_fen),
                "due": model::yuan(saved.due_fen),
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(SettlementView::from(&saved))
}

/// The statement as an .xlsx workbook: a heading, one row per sale, the totals. Amounts are
/// numeric cells (two decimals) so the customer's accountant can add them up.
pub fn statement_xlsx(s: &StatementView, lang: i18n::Lang) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, FormatBorder, Workbook};
    let t = |key: &str| i18n::tr(lang, key, &[]);
    let err = |e: rust_xlsxwriter::XlsxError| Error::Internal(anyhow::anyhow!("xlsx: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(s.month.as_str()).map_err(err)?;
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(14);
    let head = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    let money = Format::new().set_num_format("#,##0.00");
    let money_bold = Format::new().set_num_format("#,##0.00").set_bold();
    let yuan = |fen: i64| fen as f64 / 100.0;
    sheet
        .write_string_with_format(0, 0, t("consignment.statement_title"), &title)
        .map_err(err)?;
    let facts = [
        (t("consignment.field.number"), s.agreement.number.clone()),
        (
            t("agreements.field.customer"),
            format!(
                "{} {}",
                s.agreement.customer.code, s.agreement.customer.full_name
            ),
        ),
        (t("consignment.statement_month"), s.month.clone()),
        (
            t("consignment.field.cost_ratio"),
            s.agreement.cost_ratio.clone(),
        ),
        (
            t("consignment.field.consignment_ratio"),
            s.agreement.consignment_ratio.clone(),
        ),
        (
            t("consignment.statement_number"),
            s.settlement
                .as_ref()
                .map(|x| x.number.clone())
                .unwrap_or_else(|| t("consignment.statement_open")),
        ),
    ];
    let mut row: u32 = 2;
    for (k, v) in facts {
        sheet
            .write_string_with_format(row, 0, k, &bold)
            .map_err(err)?;
        sheet.write_string(row, 1, v).map_err(err)?;
        row += 1;
    }
    row += 1;
    let headers = [
        "consignment.field.sold_at",
        "agreements.field.item",
        "agreements.field.spec",
        "agreements.field.quantity",
        "agreements.field.unit",
        "consignment.field.amount",
        "consignment.field.commission",
        "consignment.field.due",
    ];
    for (c, key) in headers.iter().enumerate() {
        let col = u16::try_from(c).unwrap_or(0);
        sheet
            .write_string_with_format(row, col, t(key), &head)
            .map_err(err)?;
    }
    row += 1;
    for l in &s.lines {
        sheet.write_string(row, 0, &l.sold_local).map_err(err)?;
        sheet.write_string(row, 1, &l.item).map_err(err)?;
        sheet.write_string(row, 2, &l.spec).map_err(err)?;
        sheet.write_string(row, 3, &l.quantity).map_err(err)?;
        sheet.write_string(row, 4, &l.unit).map_err(err)?;
        sheet
            .write_number_with_format(row, 5, yuan(l.amount_fen), &money)
            .map_err(err)?;
        sheet
            .write_number_with_format(row, 6, yuan(l.commission_fen), &money)
            .map_err(err)?;
        sheet
            .write_number_with_format(row, 7, yuan(l.amount_fen - l.commission_fen), &money)
            .map_err(err)?;
        row += 1;
    }
    sheet
        .write_string_with_format(row, 0, t("consignment.statement_total"), &bold)
        .map_err(err)?;
    sheet
        .write_string_with_format(row, 3, s.sales_count.to_string(), &bold)
        .map_err(err)?;
    for (col, fen) in [
        (5, s.totals.sales_fen),
        (6, s.totals.commission_fen),
        (7, s.totals.due_fen()),
    ] {
        sheet
            .write_number_with_format(row, col, yuan(fen), &money_bold)
            .map_err(err)?;
    }
    sheet.set_column_width(0, 18).map_err(err)?;
    sheet.set_column_width(1, 24).map_err(err)?;
    sheet.set_column_width(2, 16).map_err(err)?;
    for col in 5..=7 {
        sheet.set_column_width(col, 14).map_err(err)?;
    }
    book.save_to_buffer().map_err(err)
}

// ------------------------------------------------------------------ custody: views

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustodySummary {
    pub id: i64,
    pub number: String,
    pub customer: AgreementCustomer,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// Yuan per month.
    pub monthly_fee: String,
    /// Per day, decimal text, e.g. "0.0005".
    pub late_fee_rate: String,
    /// Day of the month fees fall due.
    pub payment_due_day: i32,
    pub status: Status,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustodyStock {
    pub item_id: i64,
    pub name: String,
    pub spec: String,
    pub unit: String,
    pub checked_in: String,
    pub checked_out: String,
    pub on_hand: String,
    #[serde(skip)]
    pub on_hand_milli: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    pub id: i64,
    pub paid_on: NaiveDate,
    pub amount: String,
    pub reference: Option<String>,
    pub notes: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// One month of the fee schedule (amounts in yuan).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeeMonthView {
    /// "YYYY-MM"
    pub month: String,
    /// Goods were held at some time in the month (then the full monthly fee is due).
    pub held: bool,
    pub fee: String,
    pub due_on: Option<NaiveDate>,
    pub paid: String,
    pub unpaid: String,
    pub days_late: i64,
    pub late_fee: String,
    pub overdue: bool,
}

/// Fees, payments and late fees as of a date (amounts in yuan).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeeScheduleView {
    pub as_of: NaiveDate,
    pub months: Vec<FeeMonthView>,
    pub fees: String,
    pub paid: String,
    pub late_fees: String,
    /// Fees due by the date and unpaid.
    pub overdue: String,
    /// Fees + late fees − payments; negative when the customer is in credit.
    pub balance: String,
}

impl From<&model::FeeSchedule> for FeeScheduleView {
    fn from(s: &model::FeeSchedule) -> Self {
        FeeScheduleView {
            as_of: s.as_of,
            months: s
                .months
                .iter()
                .map(|m| FeeMonthView {
                    month: m.month.clone(),
                    held: m.held,
                    fee: model::yuan(m.fee_fen),
                    due_on: m.due_on,
                    paid: model::yuan(m.paid_fen),
                    unpaid: model::yuan(m.unpaid_fen),
                    days_late: m.days_late,
                    late_fee: model::yuan(m.late_fee_fen),
                    overdue: m.unpaid_fen > 0 && m.due_on.is_some_and(|d| d < s.as_of),
                })
                .collect(),
            fees: model::yuan(s.fees_fen),
            paid: model::yuan(s.paid_fen),
            late_fees: model::yuan(s.late_fees_fen),
            overdue: model::yuan(s.overdue_fen),
            balance: model::yuan(s.balance_fen),
        }
    }
}

/// A custody agreement with its goods, payments and fee schedule as of a date.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustodyView {
    #[serde(flatten)]
    pub summary: CustodySummary,
    pub notes: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub policy_version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub stock: Vec<CustodyStock>,
    /// Goods are still held (the agreement cannot end).
    pub goods_held: bool,
    pub movements: Vec<AgreementMovement>,
    pub payments: Vec<PaymentView>,
    pub schedule: FeeScheduleView,
}

fn custody_summary(a: &ka::Model, labels: &HashMap<i64, Customer>) -> CustodySummary {
    CustodySummary {
        id: a.id,
        number: a.number.clone(),
        customer: customer_ref(labels, a.customer_id),
        start_date: a.start_date,
        end_date: a.end_date,
        monthly_fee: model::yuan(a.monthly_fee_fen),
        late_fee_rate: model::stored_decimal(&a.late_fee_rate)
            .normalize()
            .to_string(),
        payment_due_day: a.payment_due_day,
        status: Status::parse(&a.status),
        version: a.version,
    }
}

fn custody_snapshot(a: &ka::Model) -> serde_json::Value {
    serde_json::json!({
        "number": a.number,
        "customer_id": a.customer_id,
        "start_date": a.start_date.to_string(),
        "end_date": a.end_date.to_string(),
        "monthly_fee": model::yuan(a.monthly_fee_fen),
        "late_fee_rate": a.late_fee_rate,
        "payment_due_day": a.payment_due_day,
        "notes": a.notes,
        "status": a.status,
    })
}

/// Signed quantities per item: (in, out).
fn custody_ledgers(moves: &[km::Model]) -> HashMap<i64, (i64, i64)> {
    let mut out: HashMap<i64, (i64, i64)> = HashMap::new();
    for m in moves {
        let e = out.entry(m.item_id).or_default();
        if m.kind == "in" {
            e.0 += m.quantity_milli;
        } else {
            e.1 += m.quantity_milli;
        }
    }
    out
}

fn fee_terms(a: &ka::Model, policy: &Policy) -> FeeTerms {
    FeeTerms {
        start: a.start_date,
        end: a.end_date,
        monthly_fee_fen: a.monthly_fee_fen,
        late_fee_rate: model::stored_decimal(&a.late_fee_rate),
        due_day: u32::try_from(a.payment_due_day).unwrap_or(1).clamp(1, 28),
        fee_due: policy.custody.fee_due,
        rounding: policy.custody.late_fee_rounding,
    }
}

/// The fee schedule from the stored rows. Goods held are counted over all items together: a
/// month is charged when any goods were held in it.
fn schedule_of(
    a: &ka::Model,
    moves: &[km::Model],
    payments: &[kp::Model],
    policy: &Policy,
    as_of: NaiveDate,
) -> model::FeeSchedule {
    let signed: Vec<(NaiveDate, i64)> = moves
        .iter()
        .map(|m| {
            (
                m.moved_on,
                if m.kind == "in" {
                    m.quantity_milli
                } else {
                    -m.quantity_milli
                },
            )
        })
        .collect();
    let paid: Vec<(NaiveDate, i64)> = payments.iter().map(|p| (p.paid_on, p.amount_fen)).collect();
    model::fee_schedule(&fee_terms(a, policy), &signed, &paid, as_of)
}

async fn custody_for(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: Option<Action>,
) -> Result<ka::Model> {
    let a = store::custody(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    match action {
        Some(action) => authorize(state, actor, a.customer_id, action).await?,
        None => {
            customers::visible(state, actor, a.customer_id).await?;
        }
    }
    Ok(a)
}

/// A custody agreement the actor may see, its fee schedule as of `as_of` ("YYYY-MM-DD";
/// default today).
pub async fn custody(
    state: &AppState,
    actor: &Actor,
    id: i64,
    as_of: &Option<String>,
) -> Result<CustodyView> {
    let a = custody_for(state, actor, id, None).await?;
    let as_of = match clean(as_of) {
        None => today(state),
        Some(t) => crate::platform::input::parse_date("as_of", &t)?,
    };
    custody_view(state, a, as_of).await
}

async fn custody_view(state: &AppState, a: ka::Model, as_of: NaiveDate) -> Result<CustodyView> {
    let p = state.policy();
    let policy = &p.policy;
    let labels = customers::labels(&state.db, &[a.customer_id]).await?;
    let items = store::custody_items(&state.db, a.id).await?;
    let moves = store::custody_movements(&state.db, a.id).await?;
    let payments = store::custody_payments(&state.db, a.id).await?;
    let ledgers = custody_ledgers(&moves);
    let stock: Vec<CustodyStock> = items
        .iter()
        .map(|i| {
            let (inn, out) = ledgers.get(&i.id).copied().unwrap_or_default();
            CustodyStock {
                item_id: i.id,
                name: i.name.clone(),
                spec: i.spec.clone(),
                unit: i.unit.clone(),
                checked_in: model::quantity(inn),
                checked_out: model::quantity(out),
                on_hand: model::quantity(inn - out),
                on_hand_milli: inn - out,
            }
        })
        .collect();
    let by_id: HashMap<i64, &ki::Model> = items.iter().map(|i| (i.id, i)).collect();
    let schedule = schedule_of(&a, &moves, &payments, policy, as_of);
    Ok(CustodyView {
        summary: custody_summary(&a, &labels),
        goods_held: stock.iter().any(|s| s.on_hand_milli > 0),
        stock,
        movements: moves
            .iter()
            .rev()
            .map(|m| {
                let item = by_id.get(&m.item_id);
                AgreementMovement {
                    id: m.id,
                    kind: m.kind.clone(),
                    item_id: m.item_id,
                    item: item.map(|i| i.name.clone()).unwrap_or_default(),
                    spec: item.map(|i| i.spec.clone()).unwrap_or_default(),
                    unit: item.map(|i| i.unit.clone()).unwrap_or_default(),
                    quantity: model::quantity(m.quantity_milli),
                    amount: None,
                    commission: None,
                    occurred_at: m.created_at,
                    occurred_on: m.moved_on,
                    notes: m.notes.clone(),
                    created_by: m.created_by.clone(),
                }
            })
            .collect(),
        payments: payments
            .iter()
            .rev()
            .map(|p| PaymentView {
                id: p.id,
                paid_on: p.paid_on,
                amount: model::yuan(p.amount_fen),
                reference: p.reference.clone(),
                notes: p.notes.clone(),
                created_by: p.created_by.clone(),
                created_at: p.created_at,
            })
            .collect(),
        schedule: FeeScheduleView::from(&schedule),
        notes: a.notes,
        ended_at: a.ended_at,
        policy_version: a.policy_version,
        created_by: a.created_by,
        created_at: a.created_at,
        updated_at: a.updated_at,
    })
}

/// The custody agreements of the customers the actor may see.
pub async fn custodies(
    state: &AppState,
    actor: &Actor,
    filter: &AgreementFilter,
) -> Result<(Vec<CustodySummary>, u64)> {
    let q = list_query(state, actor, filter).await?;
    let (rows, total) = store::custody_page(&state.db, &q).await?;
    let ids: Vec<i64> = rows.iter().map(|a| a.customer_id).collect();
    let labels = customers::labels(&state.db, &ids).await?;
    Ok((
        rows.iter().map(|a| custody_summary(a, &labels)).collect(),
        total,
    ))
}

// ------------------------------------------------------------------ custody: agreement

/// Create (customer and monthly fee required) or edit (version required) a custody agreement.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CustodyInput {
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub version: Option<i64>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub customer_id: Option<i64>,
    /// YYYY-MM-DD; default today.
    pub start_date: Option<String>,
    /// YYYY-MM-DD; default the policy's term from the start.
    pub end_date: Option<String>,
    /// Yuan per month.
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::text"
    )]
    pub monthly_fee: Option<String>,
    /// Per day, e.g. "0.0005" (万分之五); default from the policy.
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::text"
    )]
    pub late_fee_rate: Option<String>,
    /// 1–28; default from the policy.
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub payment_due_day: Option<i64>,
    pub notes: Option<String>,
    /// Why (kept in the audit log).
    pub reason: Option<String>,
}

fn rate_field(f: &mut Fields, v: &Option<String>) -> Option<Decimal> {
    let t = clean(v)?;
    match model::parse_rate("late_fee_rate", &t) {
        Ok(d) => Some(d),
        Err(e) => {
            f.push(e);
            None
        }
    }
}

fn due_day_field(f: &mut Fields, v: Option<i64>) -> Option<i32> {
    let d = v?;
    if (1..=28).contains(&d) {
        i32::try_from(d).ok()
    } else {
        f.push(FieldError::new(
            "payment_due_day",
            "agreements.error.due_day",
        ));
        None
    }
}

/// Creates a custody agreement for a customer the actor may edit.
pub async fn create_custody(
    state: &AppState,
    actor: &Actor,
    input: CustodyInput,
) -> Result<CustodyView> {
    if !model::may(actor, Action::Manage) {
        return Err(Error::Forbidden);
    }
    let Some(customer_id) = input.customer_id else {
        return Err(FieldError::new("customer_id", "error.required").into());
    };
    authorize(state, actor, customer_id, Action::Manage).await?;
    let p = state.policy();
    let policy = &p.policy;
    let now = state.clock.now();
    let mut f = Fields::default();
    let start = date_field(&mut f, "start_date", &input.start_date).unwrap_or(today(state));
    let end = date_field(&mut f, "end_date", &input.end_date)
        .unwrap_or_else(|| model::term_end(start, policy.custody.default_term_months));
    check_period(&mut f, Some(start), Some(end));
    let fee = money_field(&mut f, "monthly_fee", &input.monthly_fee);
    if clean(&input.monthly_fee).is_none() {
        f.push(FieldError::new("monthly_fee", "error.required"));
    }
    let rate =
        rate_field(&mut f, &input.late_fee_rate).unwrap_or(policy.custody.default_late_fee_rate);
    let due_day = due_day_field(&mut f, input.payment_due_day)
        .unwrap_or(i32::try_from(policy.custody.default_payment_due_day).unwrap_or(1));
    let notes = text_field(&mut f, "notes", &input.notes, MAX_NOTES);
    f.finish()?;
    let txn = db::begin_write(&state.db).await?;
    let number = numbering::next_number(&txn, policy, "custody_agreement", start).await?;
    let saved = ka::ActiveModel {
        id: NotSet,
        number: Set(number),
        customer_id: Set(customer_id),
        start_date: Set(start),
        end_date: Set(end),
        monthly_fee_fen: Set(fee.unwrap_or_default()),
        late_fee_rate: Set(rate.normalize().to_string()),
        payment_due_day: Set(due_day),
        notes: Set(notes),
        status: Set(Status::Active.as_str().into()),
        ended_at: Set(None),
        policy_version: Set(i32::try_from(p.version).unwrap_or(i32::MAX)),
        created_by: Set(actor.username.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "create",
            "custody_agreement",
            saved.id,
        )
        .diff(&serde_json::Value::Null, &custody_snapshot(&saved))
        .reason(input.reason.clone()),
    )
    .await?;
    txn.commit().await?;
    custody_view(state, saved, today(state)).await
}

/// Edits a custody agreement's terms with the version read (e.g. extends the period). The fee
/// schedule is recomputed with the new terms for every month.
pub async fn update_custody(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: CustodyInput,
) -> Result<CustodyView> {
    let existing = custody_for(state, actor, id, Some(Action::Manage)).await?;
    let version = required_version(input.version)?;
    let mut f = Fields::default();
    let start = date_field(&mut f, "start_date", &input.start_date);
    let end = date_field(&mut f, "end_date", &input.end_date);
    let fee = money_field(&mut f, "monthly_fee", &input.monthly_fee);
    let rate = rate_field(&mut f, &input.late_fee_rate);
    let due_day = due_day_field(&mut f, input.payment_due_day);
    let notes = input
        .notes
        .as_ref()
        .map(|_| text_field(&mut f, "notes", &input.notes, MAX_NOTES));
    let new_start = start.unwrap_or(existing.start_date);
    let new_end = end.unwrap_or(existing.end_date);
    check_period(&mut f, Some(new_start), Some(new_end));
    let moves = store::custody_movements(&state.db, id).await?;
    if moves.iter().any(|m| m.moved_on < new_start)
        || moves.iter().any(|m| m.kind == "in" && m.moved_on > new_end)
    {
        f.push(FieldError::new(
            "start_date",
            "agreements.error.period_excludes_goods",
        ));
    }
    f.finish()?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let current = store::custody_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    if current.version != version {
        return Err(Error::StaleVersion);
    }
    check_transition(&current.status, Event::Change)?;
    let mut next = current.clone();
    next.start_date = new_start;
    next.end_date = new_end;
    if let Some(fee) = fee {
        next.monthly_fee_fen = fee;
    }
    if let Some(rate) = rate {
        next.late_fee_rate = rate.normalize().to_string();
    }
    if let Some(d) = due_day {
        next.payment_due_day = d;
    }
    if let Some(n) = notes {
        next.notes = n;
    }
    next.version = current.version + 1;
    next.updated_at = now;
    let saved = next.into_active_model().reset_all().update(&txn).await?;
    audit::record(
        &txn,
        AuditEntry::new(now, &actor.audit_actor(), "update", "custody_agreement", id)
            .diff(&custody_snapshot(&current), &custody_snapshot(&saved))
            .reason(input.reason.clone()),
    )
    .await?;
    txn.commit().await?;
    custody_view(state, saved, today(state)).await
}

// ------------------------------------------------------------------ custody: goods and payments

/// Goods checked in (by name and specification, like consignment receipts) or out (by item).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CustodyGoodsInput {
    /// Check-in: the item's name (a new name and spec makes a new item).
    pub item: Option<String>,
    pub spec: Option<String>,
    pub unit: Option<String>,
    /// Check-out: the item.
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub item_id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::text"
    )]
    pub quantity: Option<String>,
    /// YYYY-MM-DD; default today, never in the future.
    pub moved_on: Option<String>,
    pub notes: Option<String>,
}

fn past_date(f: &mut Fields, field: &str, v: &Option<String>, today: NaiveDate) -> NaiveDate {
    match date_field(f, field, v) {
        Some(d) if d > today => {
            f.push(FieldError::new(field, "error.date_future"));
            today
        }
        Some(d) => d,
        None => today,
    }
}

async fn touch_custody(
    txn: &DatabaseTransaction,
    a: ka::Model,
    now: DateTime<Utc>,
) -> Result<ka::Model> {
    let version = a.version;
    let mut am = a.into_active_model();
    am.version = Set(version + 1);
    am.updated_at = Set(now);
    Ok(am.update(txn).await?)
}

/// Checks goods in: within the period (not before its start, not after its end).
pub async fn check_in(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: CustodyGoodsInput,
) -> Result<CustodyView> {
    custody_for(state, actor, id, Some(Action::Goods)).await?;
    let now = state.clock.now();
    let today = today(state);
    let mut f = Fields::default();
    let name = required_text(&mut f, "item", &input.item);
    let spec = text_field(&mut f, "spec", &input.spec, MAX_NAME).unwrap_or_default();
    let unit = text_field(&mut f, "unit", &input.unit, MAX_NAME).unwrap_or_default();
    let qty = quantity_field(&mut f, "quantity", &input.quantity);
    let on = past_date(&mut f, "moved_on", &input.moved_on, today);
    let notes = text_field(&mut f, "notes", &input.notes, MAX_NOTES);
    f.finish()?;
    let txn = db::begin_write(&state.db).await?;
    let a = store::custody_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    check_transition(&a.status, Event::Change)?;
    if on < a.start_date || on > a.end_date {
        return Err(
            FieldError::new("moved_on", "agreements.error.outside_period")
                .arg("start", a.start_date)
                .arg("end", a.end_date)
                .into(),
        );
    }
    let item = match store::custody_item_named(&txn, id, &name, &spec).await? {
        Some(i) => i,
        None => {
            ki::ActiveModel {
                id: NotSet,
                agreement_id: Set(id),
                name: Set(name.clone()),
                spec: Set(spec.clone()),
                unit: Set(unit.clone()),
                unit_price_fen: Set(None),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?
        }
    };
    let m = insert_custody_move(&txn, id, &item, "in", qty, on, notes, actor, now).await?;
    touch_custody(&txn, a, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "check_in",
            "custody_agreement",
            id,
        )
        .change(
            "check_in",
            serde_json::Value::Null,
            custody_move_text(&m, &item),
        ),
    )
    .await?;
    txn.commit().await?;
    custody(state, actor, id, &None).await
}

#[allow(clippy::too_many_arguments)]
async fn insert_custody_move(
    txn: &DatabaseTransaction,
    agreement_id: i64,
    item: &ki::Model,
    kind: &str,
    qty: i64,
    on: NaiveDate,
    notes: Option<String>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<km::Model> {
    Ok(km::ActiveModel {
        id: NotSet,
        agreement_id: Set(agreement_id),
        item_id: Set(item.id),
        kind: Set(kind.into()),
        quantity_milli: Set(qty),
        moved_on: Set(on),
        notes: Set(notes),
        created_by: Set(actor.username.clone()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?)
}

fn custody_move_text(m: &km::Model, item: &ki::Model) -> String {
    format!(
        "{} {} {}{} {} #{}",
        item.name,
        item.spec,
        model::quantity(m.quantity_milli),
        item.unit,
        m.moved_on,
        m.id
    )
}

/// Checks goods out (the customer collects them); refused when more than held, or dated before
/// the goods' last movement (so the ledger never goes below zero on any day).
pub async fn check_out(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: CustodyGoodsInput,
) -> Result<CustodyView> {
    custody_for(state, actor, id, Some(Action::Goods)).await?;
    let now = state.clock.now();
    let today = today(state);
    let mut f = Fields::default();
    if input.item_id.is_none() {
        f.push(FieldError::new("item_id", "error.required"));
    }
    let qty = quantity_field(&mut f, "quantity", &input.quantity);
    let on = past_date(&mut f, "moved_on", &input.moved_on, today);
    let notes = text_field(&mut f, "notes", &input.notes, MAX_NOTES);
    f.finish()?;
    let item_id = input.item_id.unwrap_or_default();
    let txn = db::begin_write(&state.db).await?;
    let a = store::custody_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    check_transition(&a.status, Event::Change)?;
    let Some(item) = store::custody_items(&txn, id)
        .await?
        .into_iter()
        .find(|i| i.id == item_id)
    else {
        return Err(FieldError::new("item_id", "agreements.error.item_unknown").into());
    };
    let moves = store::custody_movements(&txn, id).await?;
    let (inn, out) = custody_ledgers(&moves)
        .get(&item_id)
        .copied()
        .unwrap_or_default();
    if qty > inn - out {
        return Err(FieldError::new("quantity", "agreements.error.stock_short")
            .arg("item", &item.name)
            .arg("on_hand", model::quantity(inn - out))
            .arg("unit", &item.unit)
            .into());
    }
    if let Some(last) = moves
        .iter()
        .filter(|m| m.item_id == item_id)
        .map(|m| m.moved_on)
        .max()
        && on < last
    {
        return Err(
            FieldError::new("moved_on", "agreements.error.before_last_move")
                .arg("date", last)
                .into(),
        );
    }
    let m = insert_custody_move(&txn, id, &item, "out", qty, on, notes, actor, now).await?;
    touch_custody(&txn, a, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "check_out",
            "custody_agreement",
            id,
        )
        .change(
            "check_out",
            serde_json::Value::Null,
            custody_move_text(&m, &item),
        ),
    )
    .await?;
    txn.commit().await?;
    custody(state, actor, id, &None).await
}

/// A payment of custody fees.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PaymentInput {
    /// Yuan.
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::text"
    )]
    pub amount: Option<String>,
    /// YYYY-MM-DD; default today, never in the future.
    pub paid_on: Option<String>,
    /// Bank slip or receipt number.
    pub reference: Option<String>,
    pub notes: Option<String>,
}

/// Records a payment (also after the agreement has ended: arrears are still collected).
pub async fn pay(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: PaymentInput,
) -> Result<CustodyView> {
    custody_for(state, actor, id, Some(Action::Settle)).await?;
    let now = state.clock.now();
    let today = today(state);
    let mut f = Fields::default();
    let amount = money_field(&mut f, "amount", &input.amount);
    match (clean(&input.amount), amount) {
        (None, _) => f.push(FieldError::new("amount", "error.required")),
        (Some(_), Some(0)) => f.push(FieldError::new("amount", "agreements.error.amount_zero")),
        _ => {}
    }
    let on = past_date(&mut f, "paid_on", &input.paid_on, today);
    let reference = text_field(&mut f, "reference", &input.reference, MAX_NAME);
    let notes = text_field(&mut f, "notes", &input.notes, MAX_NOTES);
    f.finish()?;
    let txn = db::begin_write(&state.db).await?;
    let a = store::custody_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    let saved = kp::ActiveModel {
        id: NotSet,
        agreement_id: Set(id),
        paid_on: Set(on),
        amount_fen: Set(amount.unwrap_or_default()),
        reference: Set(reference),
        notes: Set(notes),
        created_by: Set(actor.username.clone()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    touch_custody(&txn, a, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "payment",
            "custody_agreement",
            id,
        )
        .change(
            "payment",
            serde_json::Value::Null,
            format!(
                "{} ¥{} #{}",
                saved.paid_on,
                model::yuan(saved.amount_fen),
                saved.id
            ),
        ),
    )
    .await?;
    txn.commit().await?;
    custody(state, actor, id, &None).await
}

/// Ends a custody agreement once every item has been collected.
pub async fn end_custody(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: VersionInput,
) -> Result<CustodyView> {
    custody_for(state, actor, id, Some(Action::Manage)).await?;
    let version = required_version(input.version)?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let a = store::custody_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    if a.version != version {
        return Err(Error::StaleVersion);
    }
    let moves = store::custody_movements(&txn, id).await?;
    let goods_held = custody_ledgers(&moves).values().any(|(i, o)| i > o);
    let status = check_transition(&a.status, Event::End { goods_held })?;
    let before = custody_snapshot(&a);
    let mut am = a.clone().into_active_model();
    am.status = Set(status.as_str().into());
    am.ended_at = Set(Some(now));
    am.version = Set(a.version + 1);
    am.updated_at = Set(now);
    let saved = am.update(&txn).await?;
    audit::record(
        &txn,
        AuditEntry::new(now, &actor.audit_actor(), "end", "custody_agreement", id)
            .diff(&before, &custody_snapshot(&saved))
            .reason(input.reason.clone()),
    )
    .await?;
    txn.commit().await?;
    custody_view(state, saved, today(state)).await
}

// ------------------------------------------------------------------ reminders

/// Home-page tasks: consignment agreements near or past their end with unsold goods, and custody
/// agreements near or past the end of their period with goods not collected — for the
/// customer's owner and for the warehouse (the customers it can see). The windows are policy
/// (`consignment.remind_days_before_end`, `custody.remind_days_before_end`); nothing is stored,
/// the tasks are computed from the agreements and their ledgers.
pub async fn tasks_for(state: &AppState, actor: &Actor) -> Result<Vec<Task>> {
    use crate::platform::auth::Role;
    /// At most this many tasks of each kind on the home page.
    const LIMIT: usize = 20;
    let warehouse = actor.has_role(Role::Warehouse);
    let sales = model::SALES_ROLES.iter().any(|r| actor.has_role(*r));
    if !warehouse && !sales {
        return Ok(Vec::new());
    }
    let p = state.policy();
    let policy = &p.policy;
    let lang = i18n::current();
    let today = today(state);
    let mut tasks = Vec::new();

    // Candidates: active agreements whose reminder window has begun.
    let horizon = |days: u32| {
        today
            .checked_add_days(chrono::Days::new(u64::from(days)))
            .unwrap_or(today)
    };
    let consignments = store::consignments_ending(
        &state.db,
        horizon(policy.consignment.remind_days_before_end),
    )
    .await?;
    let custodies =
        store::custody_ending(&state.db, horizon(policy.custody.remind_days_before_end)).await?;
    let ids: Vec<i64> = consignments
        .iter()
        .map(|a| a.customer_id)
        .chain(custodies.iter().map(|a| a.customer_id))
        .collect();
    let labels = customers::labels(&state.db, &ids).await?;
    let mut mine: BTreeMap<i64, bool> = BTreeMap::new();
    for id in ids {
        if mine.contains_key(&id) {
            continue;
        }
        let owner = labels.get(&id).is_some_and(|l| l.owner_id == actor.user_id);
        let ok = owner || (warehouse && customers::visible(state, actor, id).await.is_ok());
        mine.insert(id, ok);
    }
    let name = |id: i64| {
        labels
            .get(&id)
            .map(|l| l.full_name.clone())
            .unwrap_or_default()
    };

    let mut count = 0;
    for a in &consignments {
        if count >= LIMIT || !mine.get(&a.customer_id).copied().unwrap_or(false) {
            continue;
        }
        let Some(r) = model::reminder(a.end_date, today, policy.consignment.remind_days_before_end)
        else {
            continue;
        };
        let moves = store::consignment_movements(&state.db, a.id).await?;
        if !consignment_ledgers(&moves)
            .values()
            .any(|l| l.on_hand() > 0)
        {
            continue;
        }
        count += 1;
        let args = [
            ("number", a.number.clone()),
            ("name", name(a.customer_id)),
            ("date", a.end_date.to_string()),
        ];
        tasks.push(Task {
            title: i18n::tr(
                lang,
                if r.overdue {
                    "consignment.task_ended"
                } else {
                    "consignment.task_ending"
                },
                &args,
            ),
            detail: i18n::tr(lang, "consignment.task_detail", &[]),
            href: format!("/property/consignment/{}", a.id),
            overdue: r.overdue,
        });
    }
    let mut count = 0;
    for a in &custodies {
        if count >= LIMIT || !mine.get(&a.customer_id).copied().unwrap_or(false) {
            continue;
        }
        let Some(r) = model::reminder(a.end_date, today, policy.custody.remind_days_before_end)
        else {
            continue;
        };
        let moves = store::custody_movements(&state.db, a.id).await?;
        if !custody_ledgers(&moves).values().any(|(i, o)| i > o) {
            continue;
        }
        count += 1;
        let args = [
            ("number", a.number.clone()),
            ("name", name(a.customer_id)),
            ("date", a.end_date.to_string()),
            ("days", r.days_left.abs().to_string()),
        ];
        tasks.push(Task {
            title: i18n::tr(
                lang,
                if r.overdue {
                    "custody.task_uncollected"
                } else {
                    "custody.task_ending"
                },
                &args,
            ),
            detail: i18n::tr(
                lang,
                if r.overdue {
                    "custody.task_detail_after"
                } else {
                    "custody.task_detail_before"
                },
                &args,
            ),
            href: format!("/property/custody/{}", a.id),
            overdue: r.overdue,
        });
    }
    Ok(tasks)
}

// ------------------------------------------------------------------ for pages

/// What the actor may do on an agreement's page.
#[derive(Debug, Clone, Copy, Default)]
pub struct Abilities {
    pub manage: bool,
    pub goods: bool,
    pub settle: bool,
}

pub async fn abilities(state: &AppState, actor: &Actor, customer_id: i64) -> Abilities {
    Abilities {
        manage: allowed(state, actor, customer_id, Action::Manage).await,
        goods: allowed(state, actor, customer_id, Action::Goods).await,
        settle: allowed(state, actor, customer_id, Action::Settle).await,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::platform::i18n::{Lang, tr};

    /// Catalogue keys quoted in the module's sources and templates, and the ones built at run
    /// time, must exist in both languages.
    #[test]
    fn every_catalogue_key_has_both_languages() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut keys: Vec<String> = Vec::new();
        for dir in ["src/property/agreements", "templates/property/agreements"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                for prefix in ["\"agreements.", "\"consignment.", "\"custody."] {
                    for (at, _) in text.match_indices(prefix) {
                        let rest = &text[at + 1..];
                        let key: String = rest
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                            .collect();
                        // Prefixes completed at run time are listed below.
                        if !key.ends_with('.') && rest[key.len()..].starts_with('"') {
                            keys.push(key);
                        }
                    }
                }
            }
        }
        assert!(keys.len() > 100, "{}", keys.len());
        for kind in ["receipt", "sale", "return"] {
            keys.push(format!("consignment.kind.{kind}"));
        }
        for kind in ["in", "out"] {
            keys.push(format!("custody.kind.{kind}"));
        }
        for field in [
            "customer_id",
            "version",
            "start_date",
            "end_date",
            "cost_ratio",
            "consignment_ratio",
            "notes",
            "item",
            "item_id",
            "spec",
            "unit",
            "quantity",
            "unit_price",
            "received_at",
            "returned_at",
            "sold_at",
            "amount",
            "month",
            "monthly_fee",
            "late_fee_rate",
            "payment_due_day",
            "moved_on",
            "paid_on",
            "reference",
            "as_of",
            "format",
            "form",
        ] {
            keys.push(format!("agreements.field.{field}"));
        }
        for key in [
            "policy.issue.out_of_range",
            "policy.issue.too_many_decimals",
        ] {
            keys.push(key.into());
        }
        keys.sort();
        keys.dedup();
        for key in &keys {
            let (en, zh) = (tr(Lang::En, key, &[]), tr(Lang::Zh, key, &[]));
            assert_ne!(&en, key, "{key} has no English");
            assert_ne!(&zh, key, "{key} has no Chinese");
            assert_ne!(en, zh, "{key}: English falls back to Chinese");
        }
    }
}
