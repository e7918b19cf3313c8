//! Customer property (客供品 / 顾客财产, SPEC §4, IATF 16949 8.5.3): the
//! lifecycle from advance notice to end, every step a state transition or a
//! ledger row, each in one transaction with its audit entry.
pub mod agreements;
pub mod api;
pub mod entity;
pub mod model;
pub mod pages;
pub mod store;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::SelectStatement;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, IntoActiveModel, Set};
use serde::{Deserialize, Serialize};

use entity::{abnormalities, care, counts, documents, items, movements, notice_lines, notices};
use model::{Balances, Instruction, ItemState, MovementKind, Step, Verdict};

use crate::customers;
use crate::platform::audit::{self, AuditEntry};
use crate::platform::auth::{Actor, Role};
use crate::platform::capability::{Capability, Panel, Pending};
use crate::platform::db;
use crate::platform::error::{Error, FieldError, Fields, Result};
use crate::platform::http::shell::Task;
use crate::platform::i18n;
use crate::platform::input;
use crate::platform::list::Paging;
use crate::platform::numbering;
use crate::platform::state::AppState;
use crate::policy::{LocationPurpose, PropertyPolicy, Tracking};

// ------------------------------------------------------------------ who may

/// What property plugs into the platform (listed in `crate::app`).
pub struct Property;

impl Capability for Property {
    fn api(&self) -> utoipa_axum::router::OpenApiRouter<AppState> {
        api::routes()
    }

    fn pages(&self) -> axum::Router<AppState> {
        pages::routes()
    }

    fn scan_due<'a>(&'a self, state: &'a AppState) -> Pending<'a, ()> {
        Box::pin(async move { scan_due(state).await.map(drop) })
    }

    fn tasks<'a>(&'a self, state: &'a AppState, actor: &'a Actor) -> Pending<'a, Vec<Task>> {
        Box::pin(tasks_for(state, actor))
    }

    fn customer_panels<'a>(
        &'a self,
        state: &'a AppState,
        actor: &'a Actor,
        customer_id: i64,
        can_edit: bool,
    ) -> Pending<'a, Vec<Panel>> {
        Box::pin(async move {
            Ok(vec![
                pages::customer_panel(state, actor, customer_id, can_edit).await?,
            ])
        })
    }
}

/// Admins, or one of the roles the policy lists.
fn allowed(actor: &Actor, roles: &[String]) -> bool {
    actor.has_role(Role::Admin) || actor.has_any_role(roles)
}

fn require(actor: &Actor, roles: &[String]) -> Result<()> {
    if allowed(actor, roles) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// What the actor may do with property, for pages to show the right forms.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Abilities {
    pub sales: bool,
    pub warehouse: bool,
    pub verify: bool,
    pub abnormality: bool,
    pub approve_counts: bool,
}

pub fn abilities(state: &AppState, actor: &Actor, kind: Option<&str>) -> Abilities {
    let p = state.policy();
    let pp = &p.policy.property;
    Abilities {
        sales: allowed(actor, &pp.sales_roles),
        warehouse: allowed(actor, &pp.warehouse_roles),
        verify: match kind.and_then(|k| pp.kind(k)) {
            Some(k) => allowed(actor, std::slice::from_ref(&k.verifier_role)),
            None => actor.has_role(Role::Admin),
        },
        abnormality: allowed(actor, &pp.abnormality_roles),
        approve_counts: allowed(actor, &pp.count_approver_roles),
    }
}

/// An item the actor may see (404 otherwise: its customer is out of scope).
pub async fn visible_item(state: &AppState, actor: &Actor, id: i64) -> Result<items::Model> {
    let item = store::item(&state.db, id).await?.ok_or(Error::NotFound)?;
    customers::visible(state, actor, item.customer_id).await?;
    Ok(item)
}

fn today(state: &AppState) -> NaiveDate {
    state
        .clock
        .now()
        .with_timezone(&state.policy().policy.timezone())
        .date_naive()
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn entry(now: DateTime<Utc>, actor: &Actor, action: &str, item_id: i64) -> AuditEntry {
    AuditEntry::new(now, &actor.audit_actor(), action, "property_item", item_id)
}

/// Locks the item in the write transaction and checks the version the
/// caller edited (when it sent one).
async fn lock(
    txn: &sea_orm::DatabaseTransaction,
    id: i64,
    version: Option<i64>,
) -> Result<items::Model> {
    let item = store::item_for_update(txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    if version.is_some_and(|v| v != item.version) {
        return Err(Error::StaleVersion);
    }
    Ok(item)
}

/// Saves the item with its next version.
async fn save(
    txn: &sea_orm::DatabaseTransaction,
    mut item: items::Model,
    now: DateTime<Utc>,
) -> Result<items::Model> {
    item.version += 1;
    item.updated_at = now;
    Ok(item.into_active_model().reset_all().update(txn).await?)
}

fn state_of(item: &items::Model) -> ItemState {
    ItemState::parse(&item.state).unwrap_or(ItemState::Ended)
}

fn location_of(
    pp: &PropertyPolicy,
    field: &str,
    code: &str,
    purposes: &[LocationPurpose],
) -> Result<String> {
    match pp.location(code) {
        Some(l) if purposes.contains(&l.purpose) => Ok(l.code.clone()),
        Some(_) => Err(FieldError::new(field, "property.refuse.location_purpose")
            .arg("location", code)
            .into()),
        None => Err(FieldError::new(field, "error.choice_unknown")
            .arg("value", code)
            .into()),
    }
}

fn pending_location(pp: &PropertyPolicy) -> Result<String> {
    pp.first_location(LocationPurpose::Pending)
        .map(|l| l.code.clone())
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("policy has no pending location")))
}

fn isolation_location(pp: &PropertyPolicy) -> Result<String> {
    pp.first_location(LocationPurpose::Isolation)
        .map(|l| l.code.clone())
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("policy has no isolation location")))
}

/// A movement row with everything optional left empty.
struct Move<'a> {
    kind: MovementKind,
    quantity: i64,
    from: Option<&'a str>,
    to: Option<&'a str>,
    order_no: Option<String>,
    order_customer_id: Option<i64>,
    document_id: Option<i64>,
    reason: Option<String>,
}

impl<'a> Move<'a> {
    fn new(kind: MovementKind, quantity: i64, from: Option<&'a str>, to: Option<&'a str>) -> Self {
        Move {
            kind,
            quantity,
            from,
            to,
            order_no: None,
            order_customer_id: None,
            document_id: None,
            reason: None,
        }
    }
}

/// Writes one ledger row after checking it against the balances replayed
/// from the ledger; the item's register quantity follows. Refused (nothing
/// written) if any balance would go negative.
async fn post(
    txn: &sea_orm::DatabaseTransaction,
    item: &mut items::Model,
    m: Move<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Balances> {
    let mut b = store::balances(txn, item.id).await?;
    model::apply(&mut b, m.from, m.to, m.quantity)?;
    movements::ActiveModel {
        item_id: Set(item.id),
        kind: Set(m.kind.as_str().into()),
        quantity: Set(m.quantity),
        from_location: Set(m.from.map(str::to_owned)),
        to_location: Set(m.to.map(str::to_owned)),
        order_no: Set(m.order_no),
        order_customer_id: Set(m.order_customer_id),
        document_id: Set(m.document_id),
        reason: Set(m.reason),
        actor: Set(actor.username.clone()),
        at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    item.balance = store::total(&b);
    Ok(b)
}

// ------------------------------------------------------------------ views

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerRef {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub owner_id: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LocationQty {
    pub location: String,
    pub quantity: i64,
}

/// An item or lot as the API returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub id: i64,
    pub customer: CustomerRef,
    pub notice_line_id: Option<i64>,
    pub kind: String,
    pub item_name: String,
    pub spec: Option<String>,
    pub lot_no: Option<String>,
    pub serial_no: Option<String>,
    pub unit: String,
    pub received_qty: i64,
    /// The register quantity: the sum of the ledger.
    pub balance: i64,
    pub balances: Vec<LocationQty>,
    pub state: ItemState,
    /// 登记号, once registered.
    pub register_no: Option<String>,
    pub verdict: Option<Verdict>,
    pub verification_note: Option<String>,
    pub verified_by: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub registered_by: Option<String>,
    pub registered_at: Option<DateTime<Utc>>,
    pub calibration_due_on: Option<NaiveDate>,
    pub maintenance_due_on: Option<NaiveDate>,
    pub usage_count: i64,
    pub rated_life: Option<i64>,
    pub last_used_at: DateTime<Utc>,
    pub idle: bool,
    /// Why it may not be issued now (empty: it may).
    pub blocks: Vec<String>,
    pub care_due: Vec<model::CareDue>,
    pub received_by: String,
    pub received_at: DateTime<Utc>,
    pub end_kind: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub version: i64,
}

fn customer_ref(c: Option<&customers::entity::customers::Model>, id: i64) -> CustomerRef {
    match c {
        Some(c) => CustomerRef {
            id: c.id,
            code: c.code.clone(),
            name: c.full_name.clone(),
            owner_id: c.owner_id,
        },
        None => CustomerRef {
            id,
            code: String::new(),
            name: String::new(),
            owner_id: 0,
        },
    }
}

fn to_view(
    state: &AppState,
    i: &items::Model,
    c: Option<&customers::entity::customers::Model>,
    balances: &Balances,
) -> ItemView {
    let p = state.policy();
    let pp = &p.policy.property;
    let today = today(state);
    let lang = i18n::current();
    ItemView {
        id: i.id,
        customer: customer_ref(c, i.customer_id),
        notice_line_id: i.notice_line_id,
        kind: i.kind.clone(),
        item_name: i.item_name.clone(),
        spec: i.spec.clone(),
        lot_no: i.lot_no.clone(),
        serial_no: i.serial_no.clone(),
        unit: i.unit.clone(),
        received_qty: i.received_qty,
        balance: i.balance,
        balances: balances
            .iter()
            .map(|(l, q)| LocationQty {
                location: l.clone(),
                quantity: *q,
            })
            .collect(),
        state: state_of(i),
        register_no: i.register_no.clone(),
        verdict: i.verdict.as_deref().and_then(Verdict::parse),
        verification_note: i.verification_note.clone(),
        verified_by: i.verified_by.clone(),
        verified_at: i.verified_at,
        registered_by: i.registered_by.clone(),
        registered_at: i.registered_at,
        calibration_due_on: i.calibration_due_on,
        maintenance_due_on: i.maintenance_due_on,
        usage_count: i.usage_count,
        rated_life: i.rated_life,
        last_used_at: i.last_used_at,
        idle: model::is_idle(i, state.clock.now(), pp),
        blocks: model::issue_blocks(i, today, pp)
            .iter()
            .map(|b| b.error().message(lang))
            .collect(),
        care_due: model::care_due(i, today, pp),
        received_by: i.received_by.clone(),
        received_at: i.received_at,
        end_kind: i.end_kind.clone(),
        ended_at: i.ended_at,
        version: i.version,
    }
}

/// Items as the API returns them, each with its balances per location (as a GET of one shows
/// it): two queries for the whole list.
async fn views(state: &AppState, rows: &[items::Model]) -> Result<Vec<ItemView>> {
    let ids: Vec<i64> = rows.iter().map(|i| i.customer_id).collect();
    let names = customers::labels(&state.db, &ids).await?;
    let item_ids: Vec<i64> = rows.iter().map(|i| i.id).collect();
    let balances = store::balances_of(&state.db, &item_ids).await?;
    let none = model::Balances::new();
    Ok(rows
        .iter()
        .map(|i| {
            let b = balances.get(&i.id).unwrap_or(&none);
            to_view(state, i, names.get(&i.customer_id), b)
        })
        .collect())
}

/// One item with its balances per location.
pub async fn item(state: &AppState, actor: &Actor, id: i64) -> Result<ItemView> {
    let i = visible_item(state, actor, id).await?;
    let b = store::balances(&state.db, id).await?;
    let names = customers::labels(&state.db, &[i.customer_id]).await?;
    Ok(to_view(state, &i, names.get(&i.customer_id), &b))
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct ItemFilter {
    pub customer_id: Option<i64>,
    pub state: Option<String>,
    pub kind: Option<String>,
    /// Register, lot or serial number, or part of the item name.
    pub q: Option<String>,
    /// Only the register (registered, not ended).
    pub register: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

impl ItemFilter {
    pub fn paging(&self) -> Paging {
        Paging::new(self.page, self.per_page)
    }
}

pub async fn items(
    state: &AppState,
    actor: &Actor,
    f: &ItemFilter,
) -> Result<(Vec<ItemView>, u64)> {
    let visible = customers::visible_ids(state, actor).await?;
    let q = store::ItemQuery {
        customer_id: f.customer_id,
        state: f.state.clone(),
        kind: f.kind.clone(),
        q: f.q.clone(),
        register: f.register.unwrap_or(false),
    };
    let (rows, total) = store::items(&state.db, &q, visible, f.paging()).await?;
    Ok((views(state, &rows).await?, total))
}

/// Items whose register, lot or serial number is exactly `number` (a scan),
/// with their balances per location.
pub async fn find(state: &AppState, actor: &Actor, number: &str) -> Result<Vec<ItemView>> {
    let visible = customers::visible_ids(state, actor).await?;
    let rows = store::find_by_number(&state.db, number.trim(), visible).await?;
    let ids: Vec<i64> = rows.iter().map(|i| i.customer_id).collect();
    let names = customers::labels(&state.db, &ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for i in &rows {
        let b = store::balances(&state.db, i.id).await?;
        out.push(to_view(state, i, names.get(&i.customer_id), &b));
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MovementView {
    pub id: i64,
    pub kind: MovementKind,
    pub quantity: i64,
    pub from_location: Option<String>,
    pub to_location: Option<String>,
    pub order_no: Option<String>,
    pub order_customer_id: Option<i64>,
    pub document_id: Option<i64>,
    pub reason: Option<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
    /// The item's total after this row.
    pub balance_after: i64,
}

/// The movement ledger of an item, oldest first, with the running balance.
pub async fn ledger(state: &AppState, actor: &Actor, id: i64) -> Result<Vec<MovementView>> {
    visible_item(state, actor, id).await?;
    let mut running = 0;
    Ok(store::movements_of(&state.db, id)
        .await?
        .into_iter()
        .map(|m| {
            running += m.to_location.as_ref().map_or(0, |_| m.quantity)
                - m.from_location.as_ref().map_or(0, |_| m.quantity);
            MovementView {
                id: m.id,
                kind: MovementKind::parse(&m.kind).unwrap_or(MovementKind::CountGain),
                quantity: m.quantity,
                from_location: m.from_location,
                to_location: m.to_location,
                order_no: m.order_no,
                order_customer_id: m.order_customer_id,
                document_id: m.document_id,
                reason: m.reason,
                actor: m.actor,
                at: m.at,
                balance_after: running,
            }
        })
        .collect())
}

/// The item's history from the audit log, newest first.
/// An item's history (newest first, at most this many entries).
const HISTORY_LIMIT: u64 = 500;

pub async fn history(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<Vec<crate::platform::audit_api::AuditView>> {
    visible_item(state, actor, id).await?;
    Ok(
        crate::platform::audit_api::history_of(&state.db, "property_item", id, HISTORY_LIMIT)
            .await?,
    )
}

/// An item's history as people read it (see [`crate::platform::history`]).
pub async fn history_lines(
    state: &AppState,
    actor: &Actor,
    id: i64,
    labels: &dyn crate::platform::history::Labels,
) -> Result<Vec<crate::platform::history::Line>> {
    visible_item(state, actor, id).await?;
    crate::platform::history::lines(state, "property_item", id, HISTORY_LIMIT, labels).await
}

// ------------------------------------------------------------------ notices (step 1)

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NoticeLineInput {
    pub kind: Option<String>,
    pub item_name: Option<String>,
    pub spec: Option<String>,
    pub quantity: Option<i64>,
    pub unit: Option<String>,
}

/// 客供物料记录表: what the customer will send, recorded by sales.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NoticeInput {
    pub customer_id: Option<i64>,
    pub order_no: Option<String>,
    /// YYYY-MM-DD
    pub expected_on: Option<String>,
    pub notes: Option<String>,
    #[serde(default)]
    pub lines: Vec<NoticeLineInput>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoticeLineView {
    pub id: i64,
    pub line_no: i32,
    pub kind: String,
    pub item_name: String,
    pub spec: Option<String>,
    pub quantity: i64,
    pub unit: String,
    pub received_qty: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    pub id: i64,
    pub number: String,
    pub customer: CustomerRef,
    pub order_no: Option<String>,
    pub expected_on: NaiveDate,
    /// open, received
    pub status: String,
    /// Not received by its expected date.
    pub late: bool,
    pub notes: Option<String>,
    pub lines: Vec<NoticeLineView>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

fn line_view(l: notice_lines::Model) -> NoticeLineView {
    NoticeLineView {
        id: l.id,
        line_no: l.line_no,
        kind: l.kind,
        item_name: l.item_name,
        spec: l.spec,
        quantity: l.quantity,
        unit: l.unit,
        received_qty: l.received_qty,
    }
}

async fn notice_view(
    state: &AppState,
    n: notices::Model,
    c: Option<&customers::entity::customers::Model>,
) -> Result<NoticeView> {
    let lines = store::lines_of(&state.db, n.id).await?;
    Ok(NoticeView {
        id: n.id,
        customer: customer_ref(c, n.customer_id),
        late: n.status == "open" && n.expected_on < today(state),
        number: n.number,
        order_no: n.order_no,
        expected_on: n.expected_on,
        status: n.status,
        notes: n.notes,
        lines: lines.into_iter().map(line_view).collect(),
        created_by: n.created_by,
        created_at: n.created_at,
        version: n.version,
    })
}

fn check_line(
    pp: &PropertyPolicy,
    f: &mut Fields,
    at: &str,
    l: &NoticeLineInput,
) -> Option<(String, String, Option<String>, i64, String)> {
    let kind = text(&l.kind);
    let name = text(&l.item_name);
    let unit = text(&l.unit);
    let mut ok = true;
    match kind.as_deref() {
        None => {
            f.push(FieldError::new(format!("{at}kind"), "error.required"));
            ok = false;
        }
        Some(k) if pp.kind(k).is_none() => {
            f.push(FieldError::new(format!("{at}kind"), "error.choice_unknown").arg("value", k));
            ok = false;
        }
        _ => {}
    }
    if name.is_none() {
        f.push(FieldError::new(format!("{at}item_name"), "error.required"));
        ok = false;
    }
    if unit.is_none() {
        f.push(FieldError::new(format!("{at}unit"), "error.required"));
        ok = false;
    }
    let qty = l.quantity.unwrap_or(0);
    if let Err(e) = input::positive_quantity(&format!("{at}quantity"), qty) {
        f.push(e);
        ok = false;
    }
    ok.then(|| {
        (
            kind.unwrap_or_default(),
            name.unwrap_or_default(),
            text(&l.spec),
            qty,
            unit.unwrap_or_default(),
        )
    })
}

fn parse_date(f: &mut Fields, field: &str, v: &Option<String>) -> Option<NaiveDate> {
    let s = text(v)?;
    match input::parse_date(field, &s) {
        Ok(d) => Some(d),
        Err(e) => {
            f.push(e);
            None
        }
    }
}

pub async fn create_notice(
    state: &AppState,
    actor: &Actor,
    input: NoticeInput,
) -> Result<NoticeView> {
    let p = state.policy();
    let pp = &p.policy.property;
    require(actor, &pp.sales_roles)?;
    let Some(customer_id) = input.customer_id else {
        return Err(FieldError::new("customer_id", "error.required").into());
    };
    // Sales record notices for the customers they may edit (404 / 403 otherwise).
    let customer = customers::editable(state, actor, customer_id).await?;
    let mut f = Fields::default();
    let expected_on = parse_date(&mut f, "expected_on", &input.expected_on);
    if text(&input.expected_on).is_none() {
        f.push(FieldError::new("expected_on", "error.required"));
    }
    if input.lines.is_empty() {
        f.push(FieldError::new("lines", "error.required"));
    }
    let mut lines = Vec::new();
    for (i, l) in input.lines.iter().enumerate() {
        if let Some(l) = check_line(pp, &mut f, &format!("lines[{i}]."), l) {
            lines.push(l);
        }
    }
    f.finish()?;
    let expected_on =
        expected_on.ok_or_else(|| Error::from(FieldError::new("expected_on", "error.required")))?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let number = numbering::next_number(&txn, &p.policy, "property_notice", today(state)).await?;
    let n = notices::ActiveModel {
        number: Set(number.clone()),
        customer_id: Set(customer_id),
        order_no: Set(text(&input.order_no)),
        expected_on: Set(expected_on),
        status: Set("open".into()),
        notes: Set(text(&input.notes)),
        created_by: Set(actor.username.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for (i, (kind, name, spec, qty, unit)) in lines.into_iter().enumerate() {
        notice_lines::ActiveModel {
            notice_id: Set(n.id),
            line_no: Set(i32::try_from(i + 1).unwrap_or(i32::MAX)),
            kind: Set(kind),
            item_name: Set(name),
            spec: Set(spec),
            quantity: Set(qty),
            unit: Set(unit),
            received_qty: Set(0),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "property_notice",
            "property_notice",
            n.id,
        )
        .change("number", serde_json::Value::Null, number)
        .change("customer_id", serde_json::Value::Null, customer_id),
    )
    .await?;
    txn.commit().await?;
    notice_view(state, n, Some(&customer)).await
}

/// Adds a line to an open notice.
pub async fn add_notice_line(
    state: &AppState,
    actor: &Actor,
    notice_id: i64,
    input: NoticeLineInput,
) -> Result<NoticeView> {
    let p = state.policy();
    let pp = &p.policy.property;
    let n = notice_visible(state, actor, notice_id).await?;
    require(actor, &pp.sales_roles)?;
    customers::editable(state, actor, n.customer_id).await?;
    let mut f = Fields::default();
    let line = check_line(pp, &mut f, "", &input);
    f.finish()?;
    let Some((kind, name, spec, qty, unit)) = line else {
        return Err(FieldError::new("item_name", "error.required").into());
    };
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let n = store::notice_for_update(&txn, notice_id)
        .await?
        .ok_or(Error::NotFound)?;
    if n.status != "open" {
        return Err(FieldError::new("notice", "property.refuse.notice_closed").into());
    }
    let line_no = store::lines_of(&txn, notice_id).await?.len() + 1;
    notice_lines::ActiveModel {
        notice_id: Set(notice_id),
        line_no: Set(i32::try_from(line_no).unwrap_or(i32::MAX)),
        kind: Set(kind),
        item_name: Set(name.clone()),
        spec: Set(spec),
        quantity: Set(qty),
        unit: Set(unit),
        received_qty: Set(0),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "property_notice_line",
            "property_notice",
            notice_id,
        )
        .change("line", serde_json::Value::Null, format!("{name} × {qty}")),
    )
    .await?;
    txn.commit().await?;
    notice(state, actor, notice_id).await
}

async fn notice_visible(state: &AppState, actor: &Actor, id: i64) -> Result<notices::Model> {
    let n = store::notice(&state.db, id).await?.ok_or(Error::NotFound)?;
    customers::visible(state, actor, n.customer_id).await?;
    Ok(n)
}

pub async fn notice(state: &AppState, actor: &Actor, id: i64) -> Result<NoticeView> {
    let n = notice_visible(state, actor, id).await?;
    let names = customers::labels(&state.db, &[n.customer_id]).await?;
    let c = names.get(&n.customer_id).cloned();
    notice_view(state, n, c.as_ref()).await
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct NoticeFilter {
    pub customer_id: Option<i64>,
    /// open, received
    pub status: Option<String>,
    /// Only open notices past their expected date.
    pub late: Option<bool>,
}

pub async fn notices(state: &AppState, actor: &Actor, f: &NoticeFilter) -> Result<Vec<NoticeView>> {
    let visible = customers::visible_ids(state, actor).await?;
    let late = f.late.unwrap_or(false);
    let status = if late {
        Some("open")
    } else {
        f.status.as_deref().filter(|s| !s.is_empty())
    };
    let rows = store::notices(
        &state.db,
        visible,
        f.customer_id,
        status,
        late.then(|| today(state)),
    )
    .await?;
    let ids: Vec<i64> = rows.iter().map(|n| n.customer_id).collect();
    let names = customers::labels(&state.db, &ids).await?;
    let mut out = Vec::new();
    for n in rows {
        let c = names.get(&n.customer_id).cloned();
        out.push(notice_view(state, n, c.as_ref()).await?);
    }
    Ok(out)
}

// ------------------------------------------------------------------ receipt (step 2)

/// What the warehouse found on arrival.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ReceiveInput {
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub line_id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::int"
    )]
    pub quantity: Option<i64>,
    pub lot_no: Option<String>,
    /// Serial numbers of single pieces, one per line or comma-separated (as many as the quantity).
    pub serial_nos: Option<String>,
    /// Packaging checked and intact.
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::bool"
    )]
    pub packaging_ok: bool,
    pub note: Option<String>,
}

/// Receives goods against a notice line into the pending-inspection
/// location: one lot, or one item per serial number.
pub async fn receive(
    state: &AppState,
    actor: &Actor,
    notice_id: i64,
    input: ReceiveInput,
) -> Result<Vec<ItemView>> {
    let p = state.policy();
    let pp = &p.policy.property;
    let n = notice_visible(state, actor, notice_id).await?;
    require(actor, &pp.warehouse_roles)?;
    let mut f = Fields::default();
    let line = match input.line_id {
        Some(id) => match store::line(&state.db, id).await? {
            Some(l) if l.notice_id == notice_id => Some(l),
            _ => {
                f.push(FieldError::new("line_id", "error.choice_unknown").arg("value", id));
                None
            }
        },
        None => {
            f.push(FieldError::new("line_id", "error.required"));
            None
        }
    };
    let qty = input.quantity.unwrap_or(0);
    if let Err(e) = input::positive_quantity("quantity", qty) {
        f.push(e);
    }
    if !input.packaging_ok {
        f.push(FieldError::new("packaging_ok", "property.refuse.packaging"));
    }
    let serials: Vec<String> = input
        .serial_nos
        .as_deref()
        .unwrap_or("")
        .split([',', '，', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let tracking = line
        .as_ref()
        .and_then(|l| pp.kind(&l.kind))
        .map(|k| k.tracking);
    if tracking == Some(Tracking::Serial) && qty > 0 && serials.len() as i64 != qty {
        f.push(FieldError::new("serial_nos", "property.refuse.serials").arg("quantity", qty));
    }
    if let Some(l) = &line
        && qty > 0
        && l.received_qty + qty > l.quantity
    {
        f.push(
            FieldError::new("quantity", "property.refuse.over_notice")
                .arg("expected", l.quantity - l.received_qty),
        );
    }
    if n.status != "open" {
        f.push(FieldError::new("notice", "property.refuse.notice_closed"));
    }
    f.finish()?;
    let line = line.ok_or(Error::NotFound)?;
    let pending = pending_location(pp)?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let n = store::notice_for_update(&txn, notice_id)
        .await?
        .ok_or(Error::NotFound)?;
    // Re-read the line under the lock: two receipts at once cannot exceed the notice.
    let line = store::line(&txn, line.id).await?.ok_or(Error::NotFound)?;
    if line.received_qty + qty > line.quantity {
        return Err(FieldError::new("quantity", "property.refuse.over_notice")
            .arg("expected", line.quantity - line.received_qty)
            .into());
    }
    let pieces: Vec<(Option<String>, i64)> = if tracking == Some(Tracking::Serial) {
        serials.into_iter().map(|s| (Some(s), 1)).collect()
    } else {
        vec![(None, qty)]
    };
    let mut saved = Vec::new();
    for (serial, q) in pieces {
        let mut item = items::ActiveModel {
            customer_id: Set(n.customer_id),
            notice_line_id: Set(Some(line.id)),
            kind: Set(line.kind.clone()),
            item_name: Set(line.item_name.clone()),
            spec: Set(line.spec.clone()),
            lot_no: Set(text(&input.lot_no)),
            serial_no: Set(serial),
            unit: Set(line.unit.clone()),
            received_qty: Set(q),
            balance: Set(0),
            state: Set(ItemState::PendingInspection.as_str().into()),
            usage_count: Set(0),
            last_used_at: Set(now),
            received_by: Set(actor.username.clone()),
            received_at: Set(now),
            policy_version: Set(i32::try_from(p.version).unwrap_or(i32::MAX)),
            updated_at: Set(now),
            version: Set(1),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        post(
            &txn,
            &mut item,
            Move::new(MovementKind::Receive, q, None, Some(&pending)),
            actor,
            now,
        )
        .await?;
        let item = item.into_active_model().reset_all().update(&txn).await?;
        audit::record(
            &txn,
            entry(now, actor, "property_receive", item.id)
                .change(
                    "state",
                    serde_json::Value::Null,
                    ItemState::PendingInspection.as_str(),
                )
                .change("quantity", serde_json::Value::Null, q)
                .change("notice", serde_json::Value::Null, n.number.clone())
                .reason(text(&input.note)),
        )
        .await?;
        saved.push(item);
    }
    let received = line.received_qty + qty;
    let mut l = line.into_active_model();
    l.received_qty = Set(received);
    l.update(&txn).await?;
    // The notice is received once every line is.
    let all_in = store::lines_of(&txn, notice_id)
        .await?
        .iter()
        .all(|l| l.received_qty >= l.quantity);
    if all_in {
        let mut am = n.clone().into_active_model();
        am.status = Set("received".into());
        am.version = Set(n.version + 1);
        am.updated_at = Set(now);
        am.update(&txn).await?;
    }
    txn.commit().await?;
    // Each item as its GET shows it, balances included.
    let mut out = Vec::with_capacity(saved.len());
    for i in &saved {
        out.push(self::item(state, actor, i.id).await?);
    }
    Ok(out)
}

// ------------------------------------------------------------------ verification (step 3)

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct VerifyInput {
    pub version: Option<i64>,
    pub verdict: Option<String>,
    /// Deviation accepted, reasons for rejection, findings.
    pub note: Option<String>,
    /// A `report` document of this item (uploaded first): the incoming
    /// inspection report, mold confirmation report or calibration record.
    pub report_document_id: Option<i64>,
}

pub async fn verify(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: VerifyInput,
) -> Result<ItemView> {
    let p = state.policy();
    let pp = &p.policy.property;
    let current = visible_item(state, actor, id).await?;
    if !abilities(state, actor, Some(&current.kind)).verify {
        return Err(Error::Forbidden);
    }
    let mut f = Fields::default();
    let verdict = match text(&input.verdict) {
        None => {
            f.push(FieldError::new("verdict", "error.required"));
            None
        }
        Some(v) => match Verdict::parse(&v) {
            Some(v) => Some(v),
            None => {
                f.push(FieldError::new("verdict", "error.choice_unknown").arg("value", v));
                None
            }
        },
    };
    if verdict.is_some_and(|v| v != Verdict::Accepted) && text(&input.note).is_none() {
        f.push(FieldError::new("note", "property.refuse.note_required"));
    }
    let report = match input.report_document_id {
        Some(doc) => match store::document(&state.db, doc).await? {
            Some(d) if d.item_id == id && d.kind == "report" => Some(d.id),
            _ => {
                f.push(FieldError::new(
                    "report_document_id",
                    "property.refuse.no_report",
                ));
                None
            }
        },
        None => {
            f.push(FieldError::new(
                "report_document_id",
                "property.refuse.no_report",
            ));
            None
        }
    };
    f.finish()?;
    let verdict = verdict.ok_or(Error::NotFound)?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let mut item = lock(&txn, id, input.version).await?;
    let old = state_of(&item);
    let new = model::next(old, Step::Verify(verdict))?;
    if new == ItemState::Rejected {
        // Rejected goods are isolated until the customer says what to do.
        let b = store::balances(&txn, id).await?;
        let iso = isolation_location(pp)?;
        for (loc, q) in b {
            if loc != iso {
                post(
                    &txn,
                    &mut item,
                    Move::new(MovementKind::Isolate, q, Some(&loc), Some(&iso)),
                    actor,
                    now,
                )
                .await?;
            }
        }
    }
    item.state = new.as_str().into();
    item.verdict = Some(verdict.as_str().into());
    item.verification_note = text(&input.note);
    item.verification_report_id = report;
    item.verified_by = Some(actor.username.clone());
    item.verified_at = Some(now);
    let item = save(&txn, item, now).await?;
    audit::record(
        &txn,
        entry(now, actor, "property_verify", id)
            .change("state", old.as_str(), new.as_str())
            .change("verdict", serde_json::Value::Null, verdict.as_str())
            .reason(text(&input.note)),
    )
    .await?;
    txn.commit().await?;
    self::item(state, actor, item.id).await
}

// ------------------------------------------------------------------ registration (step 4)

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RegisterInput {
    pub version: Option<i64>,
    /// Storage location to put it away in (a customer-property location).
    pub location: Option<String>,
    /// Rated life of a usage counter (mold shots), for kinds that keep one.
    pub rated_life: Option<i64>,
    /// First calibration / maintenance due dates; by default today plus the kind's interval.
    pub calibration_due_on: Option<String>,
    pub maintenance_due_on: Option<String>,
}

/// Enters a verified item in the register (顾客财产清单) with its number and
/// puts it away in a customer-property location.
pub async fn register(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: RegisterInput,
) -> Result<ItemView> {
    let p = state.policy();
    let pp = &p.policy.property;
    let current = visible_item(state, actor, id).await?;
    require(actor, &pp.warehouse_roles)?;
    let kind = pp.kind(&current.kind).cloned();
    let mut f = Fields::default();
    let location = match text(&input.location) {
        None => {
            f.push(FieldError::new("location", "error.required"));
            None
        }
        Some(l) => match location_of(pp, "location", &l, &[LocationPurpose::Storage]) {
            Ok(l) => Some(l),
            Err(Error::Invalid(e)) => {
                f.0.extend(e);
                None
            }
            Err(e) => return Err(e),
        },
    };
    let cal = parse_date(&mut f, "calibration_due_on", &input.calibration_due_on);
    let mnt = parse_date(&mut f, "maintenance_due_on", &input.maintenance_due_on);
    let usage = kind.as_ref().is_some_and(|k| k.usage_counter);
    if usage
        && input
            .rated_life
            .is_none_or(|l| input::positive_quantity("rated_life", l).is_err())
    {
        f.push(FieldError::new("rated_life", "property.refuse.rated_life"));
    }
    f.finish()?;
    let location = location.ok_or(Error::NotFound)?;
    let today = today(state);
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let mut item = lock(&txn, id, input.version).await?;
    let old = state_of(&item);
    let new = model::next(old, Step::Register)?;
    let number = numbering::next_number(&txn, &p.policy, "property_register", today).await?;
    let pending = pending_location(pp)?;
    let b = store::balances(&txn, id).await?;
    if let Some(q) = b.get(&pending).copied() {
        post(
            &txn,
            &mut item,
            Move::new(MovementKind::PutAway, q, Some(&pending), Some(&location)),
            actor,
            now,
        )
        .await?;
    }
    item.state = new.as_str().into();
    item.register_no = Some(number.clone());
    item.registered_by = Some(actor.username.clone());
    item.registered_at = Some(now);
    item.rated_life = if usage { input.rated_life } else { None };
    if let Some(k) = &kind {
        item.calibration_due_on = cal.or_else(|| model::next_due(today, k.calibration_days));
        item.maintenance_due_on = mnt.or_else(|| model::next_due(today, k.maintenance_days));
    }
    item.last_used_at = now;
    let item = save(&txn, item, now).await?;
    audit::record(
        &txn,
        entry(now, actor, "property_register", id)
            .change("state", old.as_str(), new.as_str())
            .change("register_no", serde_json::Value::Null, number)
            .change("location", serde_json::Value::Null, location),
    )
    .await?;
    txn.commit().await?;
    self::item(state, actor, item.id).await
}

// ------------------------------------------------------------------ storage and use (steps 5–6)

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MoveInput {
    pub version: Option<i64>,
    /// put_away (between storage locations), issue, return_from_production
    pub kind: Option<String>,
    pub quantity: Option<i64>,
    pub from_location: Option<String>,
    pub to_location: Option<String>,
    /// Issue: the production order / work order it is issued against.
    pub order_no: Option<String>,
    /// Issue: the customer the order is for (default: the item's customer).
    /// Another customer's order needs the customer's written consent on file.
    pub order_customer_id: Option<i64>,
    /// Issue: why a newer lot is issued while an older one is available (FIFO).
    pub reason: Option<String>,
    /// Return from production: shots or uses to add to the usage counter.
    pub usage: Option<i64>,
}

/// Moves an item within the factory: put away, issue to production, return from production.
pub async fn move_item(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: MoveInput,
) -> Result<ItemView> {
    let p = state.policy();
    let pp = &p.policy.property;
    let current = visible_item(state, actor, id).await?;
    require(actor, &pp.warehouse_roles)?;
    let mut f = Fields::default();
    let kind = match text(&input.kind)
        .as_deref()
        .map(|k| (k, MovementKind::parse(k)))
    {
        Some((
            _,
            Some(
                k @ (MovementKind::PutAway
                | MovementKind::Issue
                | MovementKind::ReturnFromProduction),
            ),
        )) => Some(k),
        Some((k, _)) => {
            f.push(FieldError::new("kind", "error.choice_unknown").arg("value", k));
            None
        }
        None => {
            f.push(FieldError::new("kind", "error.required"));
            None
        }
    };
    let qty = input.quantity.unwrap_or(0);
    if let Err(e) = input::positive_quantity("quantity", qty) {
        f.push(e);
    }
    let storage = [LocationPurpose::Storage];
    let loc = |field: &str, v: &Option<String>, f: &mut Fields| -> Option<String> {
        match text(v) {
            None => {
                f.push(FieldError::new(field, "error.required"));
                None
            }
            Some(l) => match location_of(pp, field, &l, &storage) {
                Ok(l) => Some(l),
                Err(Error::Invalid(e)) => {
                    f.0.extend(e);
                    None
                }
                Err(_) => None,
            },
        }
    };
    let (from, to) = match kind {
        Some(MovementKind::PutAway) => (
            loc("from_location", &input.from_location, &mut f),
            loc("to_location", &input.to_location, &mut f),
        ),
        Some(MovementKind::Issue) => (loc("from_location", &input.from_location, &mut f), None),
        Some(_) => (None, loc("to_location", &input.to_location, &mut f)),
        None => (None, None),
    };
    let order_no = text(&input.order_no);
    if kind == Some(MovementKind::Issue) && order_no.is_none() {
        f.push(FieldError::new(
            "order_no",
            "property.refuse.order_required",
        ));
    }
    if let Some(Err(e)) = input.usage.map(|u| input::count("usage", u)) {
        f.push(e);
    }
    f.finish()?;
    let kind = kind.ok_or(Error::NotFound)?;
    let today = today(state);
    let order_customer = input.order_customer_id.unwrap_or(current.customer_id);
    // Use for another customer's order needs this customer's written consent for that order.
    let consent = if kind == MovementKind::Issue && order_customer != current.customer_id {
        let docs = store::documents_of(&state.db, id).await?;
        let found = docs
            .iter()
            .find(|d| d.kind == "consent" && d.order_no == order_no)
            .map(|d| d.id);
        if found.is_none() {
            return Err(
                FieldError::new("order_customer_id", "property.refuse.no_consent")
                    .arg("order", order_no.clone().unwrap_or_default())
                    .into(),
            );
        }
        found
    } else {
        None
    };
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let mut item = lock(&txn, id, input.version).await?;
    let old = state_of(&item);
    if kind == MovementKind::Issue {
        if let Some(b) = model::issue_blocks(&item, today, pp).first() {
            return Err(b.error().into());
        }
        if item.serial_no.is_none() && text(&input.reason).is_none() {
            let others = store::same_item_lots(&txn, &item).await?;
            if let Some(o) = model::older_lot(&item, &others, today, pp) {
                return Err(FieldError::new("reason", "property.refuse.fifo")
                    .arg(
                        "lot",
                        o.register_no
                            .clone()
                            .or(o.lot_no.clone())
                            .unwrap_or_default(),
                    )
                    .into());
            }
        }
    }
    let new = model::next(old, Step::Move(kind))?;
    let mut m = Move::new(kind, qty, from.as_deref(), to.as_deref());
    m.order_no = order_no.clone();
    m.order_customer_id = (kind == MovementKind::Issue).then_some(order_customer);
    m.document_id = consent;
    m.reason = text(&input.reason);
    post(&txn, &mut item, m, actor, now).await?;
    item.state = new.as_str().into();
    if matches!(
        kind,
        MovementKind::Issue | MovementKind::ReturnFromProduction
    ) {
        item.last_used_at = now;
        item.idle_reported_at = None;
    }
    if let Some(u) = input
        .usage
        .filter(|_| kind == MovementKind::ReturnFromProduction)
    {
        item.usage_count += u;
    }
    let item = save(&txn, item, now).await?;
    let mut e = entry(now, actor, &format!("property_{}", kind.as_str()), id)
        .change("quantity", serde_json::Value::Null, qty)
        .change("balance", current.balance, item.balance)
        .reason(text(&input.reason));
    if let Some(o) = order_no {
        e = e.change("order_no", serde_json::Value::Null, o);
    }
    audit::record(&txn, e).await?;
    txn.commit().await?;
    self::item(state, actor, item.id).await
}

// ------------------------------------------------------------------ documents

/// An uploaded customer document for an item.
pub struct DocumentUpload {
    /// instruction, consent, report
    pub kind: String,
    /// For instructions: return, scrap, destroy, transfer_ownership, repair, use_as_is.
    pub instruction: Option<String>,
    /// For consents: the other customer's order the item may be used for.
    pub order_no: Option<String>,
    pub note: Option<String>,
    pub filename: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    pub id: i64,
    pub item_id: i64,
    pub kind: String,
    pub instruction: Option<String>,
    pub order_no: Option<String>,
    /// Download at /api/v1/attachments/{attachment_id}.
    pub attachment_id: i64,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

fn document_view(d: documents::Model) -> DocumentView {
    DocumentView {
        id: d.id,
        item_id: d.item_id,
        kind: d.kind,
        instruction: d.instruction,
        order_no: d.order_no,
        attachment_id: d.attachment_id,
        note: d.note,
        created_by: d.created_by,
        created_at: d.created_at,
    }
}

pub async fn documents(state: &AppState, actor: &Actor, id: i64) -> Result<Vec<DocumentView>> {
    visible_item(state, actor, id).await?;
    Ok(store::documents_of(&state.db, id)
        .await?
        .into_iter()
        .map(document_view)
        .collect())
}

/// Whether the actor may file any kind of document for the item (checked
/// before an upload is read): sales for instructions and consents, the
/// kind's verifier for reports.
pub fn may_file_documents(state: &AppState, actor: &Actor, item: &items::Model) -> bool {
    let a = abilities(state, actor, Some(&item.kind));
    a.sales || a.verify
}

/// Files a customer document for an item: written instructions and
/// consents by sales, verification reports by the verifying role. The file
/// is kept among the customer's attachments.
pub async fn add_document(
    state: &AppState,
    actor: &Actor,
    id: i64,
    upload: DocumentUpload,
) -> Result<DocumentView> {
    let item = visible_item(state, actor, id).await?;
    let p = state.policy();
    let pp = &p.policy.property;
    let (attachment_kind, may) = match upload.kind.as_str() {
        "instruction" => ("customer_instruction", allowed(actor, &pp.sales_roles)),
        "consent" => ("customer_consent", allowed(actor, &pp.sales_roles)),
        "report" => (
            "verification_report",
            abilities(state, actor, Some(&item.kind)).verify,
        ),
        other => {
            return Err(FieldError::new("kind", "error.choice_unknown")
                .arg("value", other)
                .into());
        }
    };
    if !may {
        return Err(Error::Forbidden);
    }
    if upload.kind != "report" {
        // Customer documents come through the people who may act for the customer.
        customers::editable(state, actor, item.customer_id).await?;
    }
    let mut f = Fields::default();
    let instruction = text(&upload.instruction);
    if upload.kind == "instruction" {
        match instruction.as_deref() {
            None => f.push(FieldError::new("instruction", "error.required")),
            Some(i) if Instruction::parse(i).is_none() => {
                f.push(FieldError::new("instruction", "error.choice_unknown").arg("value", i));
            }
            _ => {}
        }
    }
    let order_no = text(&upload.order_no);
    if upload.kind == "consent" && order_no.is_none() {
        f.push(FieldError::new(
            "order_no",
            "property.refuse.order_required",
        ));
    }
    let checked = customers::attachments::check(
        &p.policy.customers,
        customers::attachments::Upload {
            kind: attachment_kind.into(),
            filename: upload.filename,
            data: upload.data,
        },
        true,
    );
    let checked = match checked {
        Ok(c) => Some(c),
        Err(Error::Invalid(e)) => {
            f.0.extend(e);
            None
        }
        Err(e) => return Err(e),
    };
    f.finish()?;
    let checked = checked.ok_or(Error::NotFound)?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let a = customers::attachments::insert(&txn, actor, item.customer_id, checked, now).await?;
    let d = documents::ActiveModel {
        customer_id: Set(item.customer_id),
        item_id: Set(id),
        kind: Set(upload.kind.clone()),
        instruction: Set(if upload.kind == "instruction" {
            instruction.clone()
        } else {
            None
        }),
        order_no: Set(if upload.kind == "consent" {
            order_no.clone()
        } else {
            None
        }),
        attachment_id: Set(a.id),
        note: Set(text(&upload.note)),
        created_by: Set(actor.username.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        entry(now, actor, "property_document", id).change(
            "document",
            serde_json::Value::Null,
            format!(
                "{} {}{} · {}",
                upload.kind,
                instruction.unwrap_or_default(),
                order_no.map(|o| format!(" {o}")).unwrap_or_default(),
                customers::attachments::describe(&a)
            ),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(document_view(d))
}

// ------------------------------------------------------------------ care (step 7)

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CareInput {
    /// calibration, maintenance, usage
    pub kind: Option<String>,
    /// YYYY-MM-DD, default today
    pub done_on: Option<String>,
    /// pass, fail (a failed calibration or maintenance raises an abnormality)
    pub result: Option<String>,
    /// usage: the counter reading now (e.g. total mold shots).
    pub usage_count: Option<i64>,
    /// Next due date; by default done_on plus the kind's interval.
    pub next_due_on: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CareView {
    pub id: i64,
    pub kind: String,
    pub done_on: NaiveDate,
    pub result: String,
    pub usage_count: Option<i64>,
    pub next_due_on: Option<NaiveDate>,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub async fn care_records(state: &AppState, actor: &Actor, id: i64) -> Result<Vec<CareView>> {
    visible_item(state, actor, id).await?;
    Ok(store::care_of(&state.db, id)
        .await?
        .into_iter()
        .map(|c| CareView {
            id: c.id,
            kind: c.kind,
            done_on: c.done_on,
            result: c.result,
            usage_count: c.usage_count,
            next_due_on: c.next_due_on,
            note: c.note,
            created_by: c.created_by,
            created_at: c.created_at,
        })
        .collect())
}

/// Records calibration, maintenance or a usage reading (by the verifying role).
pub async fn record_care(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: CareInput,
) -> Result<ItemView> {
    let p = state.policy();
    let pp = &p.policy.property;
    let current = visible_item(state, actor, id).await?;
    if !abilities(state, actor, Some(&current.kind)).verify {
        return Err(Error::Forbidden);
    }
    let kind_policy = pp.kind(&current.kind).cloned();
    let mut f = Fields::default();
    let kind = text(&input.kind);
    let interval = match (kind.as_deref(), &kind_policy) {
        (Some("calibration"), Some(k)) if k.calibration_days > 0 => k.calibration_days,
        (Some("maintenance"), Some(k)) if k.maintenance_days > 0 => k.maintenance_days,
        (Some("usage"), Some(k)) if k.usage_counter => 0,
        (Some(other), _) => {
            f.push(FieldError::new("kind", "property.refuse.care_kind").arg("value", other));
            0
        }
        (None, _) => {
            f.push(FieldError::new("kind", "error.required"));
            0
        }
    };
    let done_on = parse_date(&mut f, "done_on", &input.done_on).unwrap_or_else(|| today(state));
    let next = parse_date(&mut f, "next_due_on", &input.next_due_on);
    let result = text(&input.result).unwrap_or_else(|| "pass".into());
    if result != "pass" && result != "fail" {
        f.push(FieldError::new("result", "error.choice_unknown").arg("value", &result));
    }
    if kind.as_deref() == Some("usage")
        && input
            .usage_count
            .is_none_or(|u| u < current.usage_count || input::count("usage_count", u).is_err())
    {
        f.push(
            FieldError::new("usage_count", "property.refuse.usage_back")
                .arg("count", current.usage_count),
        );
    }
    f.finish()?;
    let kind = kind.unwrap_or_default();
    let next = if kind == "usage" {
        None
    } else {
        next.or_else(|| model::next_due(done_on, interval))
    };
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let mut item = lock(&txn, id, None).await?;
    if state_of(&item) == ItemState::Ended {
        return Err(FieldError::new("state", "property.refuse.ended").into());
    }
    let old = serde_json::json!({
        "calibration_due_on": item.calibration_due_on,
        "maintenance_due_on": item.maintenance_due_on,
        "usage_count": item.usage_count,
    });
    match kind.as_str() {
        // A failed calibration leaves the old (past) due date: the gauge stays blocked.
        "calibration" if result == "pass" => item.calibration_due_on = next,
        "maintenance" if result == "pass" => item.maintenance_due_on = next,
        "usage" => item.usage_count = input.usage_count.unwrap_or(item.usage_count),
        _ => {}
    }
    care::ActiveModel {
        item_id: Set(id),
        kind: Set(kind.clone()),
        done_on: Set(done_on),
        result: Set(result.clone()),
        usage_count: Set(input.usage_count.filter(|_| kind == "usage")),
        next_due_on: Set(next),
        note: Set(text(&input.note)),
        created_by: Set(actor.username.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let item = save(&txn, item, now).await?;
    let new = serde_json::json!({
        "calibration_due_on": item.calibration_due_on,
        "maintenance_due_on": item.maintenance_due_on,
        "usage_count": item.usage_count,
    });
    audit::record(
        &txn,
        entry(now, actor, &format!("property_care_{kind}"), id)
            .diff(&old, &new)
            .change("result", serde_json::Value::Null, result)
            .reason(text(&input.note)),
    )
    .await?;
    txn.commit().await?;
    self::item(state, actor, item.id).await
}

// ------------------------------------------------------------------ abnormality (step 8)

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AbnormalityInput {
    pub version: Option<i64>,
    /// lost, damaged, deteriorated, expired, unsuitable
    pub kind: Option<String>,
    pub description: Option<String>,
    /// How much is affected (isolated unless lost).
    pub quantity: Option<i64>,
    /// Where the affected quantity is now.
    pub location: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AbnormalityView {
    pub id: i64,
    pub number: String,
    pub item_id: i64,
    pub kind: String,
    pub description: String,
    pub quantity: i64,
    /// open, notified, instructed, closed
    pub status: String,
    pub raised_by: String,
    pub raised_at: DateTime<Utc>,
    pub notified_by: Option<String>,
    pub notified_at: Option<DateTime<Utc>>,
    pub notification: Option<String>,
    pub instruction: Option<String>,
    pub instruction_document_id: Option<i64>,
    pub instructed_by: Option<String>,
    pub instructed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

fn abnormality_view(a: abnormalities::Model) -> AbnormalityView {
    AbnormalityView {
        id: a.id,
        number: a.number,
        item_id: a.item_id,
        kind: a.kind,
        description: a.description,
        quantity: a.quantity,
        status: a.status,
        raised_by: a.raised_by,
        raised_at: a.raised_at,
        notified_by: a.notified_by,
        notified_at: a.notified_at,
        notification: a.notification,
        instruction: a.instruction,
        instruction_document_id: a.instruction_document_id,
        instructed_by: a.instructed_by,
        instructed_at: a.instructed_at,
        closed_at: a.closed_at,
        version: a.version,
    }
}

pub async fn abnormalities_of(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<Vec<AbnormalityView>> {
    visible_item(state, actor, id).await?;
    Ok(store::abnormalities_of(&state.db, id)
        .await?
        .into_iter()
        .map(abnormality_view)
        .collect())
}

/// One abnormality record with its item (for the record form).
pub async fn abnormality(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<(AbnormalityView, ItemView)> {
    let a = store::abnormality(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let item = self::item(state, actor, a.item_id).await?;
    Ok((abnormality_view(a), item))
}

/// Raises an abnormality: the item is blocked, the affected quantity isolated
/// (a lost quantity leaves the ledger as a count loss), a record numbered.
pub async fn raise_abnormality(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: AbnormalityInput,
) -> Result<AbnormalityView> {
    let p = state.policy();
    let pp = &p.policy.property;
    let current = visible_item(state, actor, id).await?;
    require(actor, &pp.abnormality_roles)?;
    let mut f = Fields::default();
    let kind = match text(&input.kind) {
        Some(k) if model::AbnormalityKind::parse(&k).is_some() => model::AbnormalityKind::parse(&k),
        Some(k) => {
            f.push(FieldError::new("kind", "error.choice_unknown").arg("value", k));
            None
        }
        None => {
            f.push(FieldError::new("kind", "error.required"));
            None
        }
    };
    let description = text(&input.description);
    if description.is_none() {
        f.push(FieldError::new("description", "error.required"));
    }
    let qty = input.quantity.unwrap_or(current.balance);
    if qty <= 0 || qty > current.balance {
        f.push(
            FieldError::new("quantity", "property.refuse.over_balance")
                .arg("available", current.balance),
        );
    }
    let location = match text(&input.location) {
        Some(l) => match location_of(
            pp,
            "location",
            &l,
            &[LocationPurpose::Storage, LocationPurpose::Pending],
        ) {
            Ok(l) => Some(l),
            Err(Error::Invalid(e)) => {
                f.0.extend(e);
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    f.finish()?;
    let kind = kind.ok_or(Error::NotFound)?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let mut item = lock(&txn, id, input.version).await?;
    let old = state_of(&item);
    let new = model::next(old, Step::RaiseAbnormality)?;
    // Where the quantity is: the named location, else the one holding most.
    let b = store::balances(&txn, id).await?;
    let iso = isolation_location(pp)?;
    let from = location.or_else(|| {
        b.iter()
            .filter(|(l, _)| **l != iso)
            .max_by_key(|(_, q)| **q)
            .map(|(l, _)| l.clone())
    });
    if let Some(from) = &from {
        let m = if kind == model::AbnormalityKind::Lost {
            Move::new(MovementKind::CountLoss, qty, Some(from), None)
        } else {
            Move::new(MovementKind::Isolate, qty, Some(from), Some(&iso))
        };
        post(&txn, &mut item, m, actor, now).await?;
    }
    item.state = new.as_str().into();
    let item = save(&txn, item, now).await?;
    let number =
        numbering::next_number(&txn, &p.policy, "property_abnormality", today(state)).await?;
    let a = abnormalities::ActiveModel {
        number: Set(number.clone()),
        item_id: Set(id),
        kind: Set(kind.as_str().into()),
        description: Set(description.unwrap_or_default()),
        quantity: Set(qty),
        status: Set("open".into()),
        raised_by: Set(actor.username.clone()),
        raised_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        entry(now, actor, "property_abnormality", id)
            .change("state", old.as_str(), new.as_str())
            .change(
                "abnormality",
                serde_json::Value::Null,
                format!("{number} {} × {qty}", kind.as_str()),
            )
            .change("balance", current.balance, item.balance),
    )
    .await?;
    txn.commit().await?;
    Ok(abnormality_view(a))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NotifyInput {
    pub version: Option<i64>,
    /// How and whom the customer was told (phone, mail, letter; name; date).
    pub notification: Option<String>,
}

/// An abnormality and its item, for the sales steps on it: 404 out of
/// scope, 403 for a role that may not act for the customer.
async fn abnormality_for_sales(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<(abnormalities::Model, items::Model)> {
    let a = store::abnormality(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let item = visible_item(state, actor, a.item_id).await?;
    require(actor, &state.policy().policy.property.sales_roles)?;
    customers::editable(state, actor, item.customer_id).await?;
    Ok((a, item))
}

/// Locks an abnormality in the write transaction and checks the version edited.
async fn lock_abnormality(
    txn: &sea_orm::DatabaseTransaction,
    id: i64,
    version: Option<i64>,
) -> Result<abnormalities::Model> {
    let a = store::abnormality_for_update(txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    if version.is_some_and(|v| v != a.version) {
        return Err(Error::StaleVersion);
    }
    Ok(a)
}

/// Records that the customer was notified of an abnormality (sales).
pub async fn notify_customer(
    state: &AppState,
    actor: &Actor,
    abnormality_id: i64,
    input: NotifyInput,
) -> Result<AbnormalityView> {
    abnormality_for_sales(state, actor, abnormality_id).await?;
    let Some(note) = text(&input.notification) else {
        return Err(FieldError::new("notification", "error.required").into());
    };
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let a = lock_abnormality(&txn, abnormality_id, input.version).await?;
    if a.status != "open" && a.status != "notified" {
        return Err(FieldError::new("status", "property.refuse.abnormality_closed").into());
    }
    let mut am = a.clone().into_active_model();
    am.status = Set("notified".into());
    am.notified_by = Set(Some(actor.username.clone()));
    am.notified_at = Set(Some(now));
    am.notification = Set(Some(note.clone()));
    am.version = Set(a.version + 1);
    let saved = am.update(&txn).await?;
    audit::record(
        &txn,
        entry(now, actor, "property_notify", a.item_id)
            .change("abnormality", a.number.clone(), a.number.clone())
            .change("notification", serde_json::Value::Null, note),
    )
    .await?;
    txn.commit().await?;
    Ok(abnormality_view(saved))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct InstructionInput {
    pub version: Option<i64>,
    /// An `instruction` document of the item, uploaded first; its
    /// instruction (return, scrap, repair, use as is …) is what is recorded.
    pub document_id: Option<i64>,
}

/// Records the customer's instruction on an abnormality (sales). Repair or
/// use-as-is puts the item back in service; return, scrap, destroy or
/// transfer leave it blocked until the end step is done.
pub async fn record_instruction(
    state: &AppState,
    actor: &Actor,
    abnormality_id: i64,
    input: InstructionInput,
) -> Result<AbnormalityView> {
    let p = state.policy();
    let (a, _) = abnormality_for_sales(state, actor, abnormality_id).await?;
    let doc = match input.document_id {
        Some(d) => store::document(&state.db, d)
            .await?
            .filter(|d| d.item_id == a.item_id && d.kind == "instruction"),
        None => None,
    };
    let Some(doc) = doc else {
        return Err(FieldError::new("document_id", "property.refuse.no_instruction").into());
    };
    let instruction = doc
        .instruction
        .as_deref()
        .and_then(Instruction::parse)
        .ok_or_else(|| {
            Error::from(FieldError::new(
                "document_id",
                "property.refuse.no_instruction",
            ))
        })?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let a = lock_abnormality(&txn, abnormality_id, input.version).await?;
    if a.status == "closed" || a.status == "instructed" {
        return Err(FieldError::new("status", "property.refuse.abnormality_closed").into());
    }
    if a.notified_at.is_none() {
        return Err(FieldError::new("status", "property.refuse.not_notified").into());
    }
    let mut item = lock(&txn, a.item_id, None).await?;
    let old = state_of(&item);
    let resumes = instruction.end_step().is_none();
    let mut am = a.clone().into_active_model();
    am.instruction = Set(Some(instruction.as_str().into()));
    am.instruction_document_id = Set(Some(doc.id));
    am.instructed_by = Set(Some(actor.username.clone()));
    am.instructed_at = Set(Some(now));
    am.status = Set(if resumes { "closed" } else { "instructed" }.into());
    am.closed_at = Set(resumes.then_some(now));
    am.version = Set(a.version + 1);
    let saved = am.update(&txn).await?;
    // Back in service once no other abnormality of the item is open.
    let others_open = store::abnormalities_of(&txn, item.id)
        .await?
        .iter()
        .any(|o| o.id != a.id && o.status != "closed");
    if resumes && !others_open && old == ItemState::Abnormal {
        let new = model::next(old, Step::Resume)?;
        let iso = isolation_location(&p.policy.property)?;
        // The isolated quantity goes back to storage.
        let b = store::balances(&txn, item.id).await?;
        let back = p
            .policy
            .property
            .first_location(LocationPurpose::Storage)
            .map(|l| l.code.clone());
        if let (Some(q), Some(back)) = (b.get(&iso).copied(), back) {
            post(
                &txn,
                &mut item,
                Move::new(MovementKind::PutAway, q, Some(&iso), Some(&back)),
                actor,
                now,
            )
            .await?;
        }
        item.state = new.as_str().into();
        save(&txn, item, now).await?;
    }
    audit::record(
        &txn,
        entry(now, actor, "property_instruction", a.item_id)
            .change("abnormality", a.number.clone(), a.number.clone())
            .change("instruction", serde_json::Value::Null, instruction.as_str()),
    )
    .await?;
    txn.commit().await?;
    Ok(abnormality_view(saved))
}

// ------------------------------------------------------------------ end (step 10)

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EndInput {
    pub version: Option<i64>,
    /// return_to_customer, scrap, destroy, transfer_ownership
    pub kind: Option<String>,
    pub quantity: Option<i64>,
    pub from_location: Option<String>,
    /// The customer's written instruction (an `instruction` document of the item).
    pub document_id: Option<i64>,
    pub note: Option<String>,
}

/// Returns, scraps, destroys or hands over property: only with the
/// customer's matching written instruction on file. The item ends when
/// nothing is left.
pub async fn end(state: &AppState, actor: &Actor, id: i64, input: EndInput) -> Result<ItemView> {
    let p = state.policy();
    let pp = &p.policy.property;
    let current = visible_item(state, actor, id).await?;
    require(actor, &pp.warehouse_roles)?;
    let mut f = Fields::default();
    let kind = match text(&input.kind) {
        Some(k) => match MovementKind::parse(&k).filter(|m| m.is_end()) {
            Some(m) => Some(m),
            None => {
                f.push(FieldError::new("kind", "error.choice_unknown").arg("value", k));
                None
            }
        },
        None => {
            f.push(FieldError::new("kind", "error.required"));
            None
        }
    };
    let qty = input.quantity.unwrap_or(0);
    if let Err(e) = input::positive_quantity("quantity", qty) {
        f.push(e);
    }
    let from = text(&input.from_location);
    if from.is_none() {
        f.push(FieldError::new("from_location", "error.required"));
    }
    f.finish()?;
    let kind = kind.ok_or(Error::NotFound)?;
    let needed = kind.end_instruction();
    let doc = match input.document_id {
        Some(d) => store::document(&state.db, d).await?.filter(|d| {
            d.item_id == id
                && d.kind == "instruction"
                && d.instruction.as_deref().and_then(Instruction::parse) == needed
        }),
        None => None,
    };
    let Some(doc) = doc else {
        return Err(
            FieldError::new("document_id", "property.refuse.no_instruction_for")
                .arg("step", kind.as_str())
                .into(),
        );
    };
    let from = from.unwrap_or_default();
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let mut item = lock(&txn, id, input.version).await?;
    let old = state_of(&item);
    let mid = model::next(old, Step::Move(kind))?;
    let mut m = Move::new(kind, qty, Some(&from), None);
    m.document_id = Some(doc.id);
    m.reason = text(&input.note);
    post(&txn, &mut item, m, actor, now).await?;
    let new = model::after_end(mid, item.balance);
    item.state = new.as_str().into();
    if new == ItemState::Ended {
        item.end_kind = Some(kind.as_str().into());
        item.ended_at = Some(now);
        // Abnormalities waiting for this end are done.
        for a in store::abnormalities_of(&txn, id).await? {
            if a.status == "instructed" {
                let v = a.version;
                let mut am = a.into_active_model();
                am.status = Set("closed".into());
                am.closed_at = Set(Some(now));
                am.version = Set(v + 1);
                am.update(&txn).await?;
            }
        }
    }
    let item = save(&txn, item, now).await?;
    audit::record(
        &txn,
        entry(now, actor, &format!("property_{}", kind.as_str()), id)
            .change("state", old.as_str(), new.as_str())
            .change("quantity", serde_json::Value::Null, qty)
            .change("balance", current.balance, item.balance)
            .change("document", serde_json::Value::Null, doc.id)
            .reason(text(&input.note)),
    )
    .await?;
    txn.commit().await?;
    self::item(state, actor, item.id).await
}

// ------------------------------------------------------------------ counts

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CountInput {
    pub location: Option<String>,
    pub counted_qty: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DecisionInput {
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::bool"
    )]
    pub approve: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CountView {
    pub id: i64,
    pub item_id: i64,
    pub location: String,
    pub book_qty: i64,
    pub counted_qty: i64,
    pub variance: i64,
    /// pending, approved, rejected
    pub status: String,
    pub counted_by: String,
    pub counted_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

fn count_view(c: counts::Model) -> CountView {
    CountView {
        id: c.id,
        item_id: c.item_id,
        variance: c.counted_qty - c.book_qty,
        location: c.location,
        book_qty: c.book_qty,
        counted_qty: c.counted_qty,
        status: c.status,
        counted_by: c.counted_by,
        counted_at: c.counted_at,
        decided_by: c.decided_by,
        decided_at: c.decided_at,
        reason: c.reason,
    }
}

pub async fn counts_of(state: &AppState, actor: &Actor, id: i64) -> Result<Vec<CountView>> {
    visible_item(state, actor, id).await?;
    Ok(store::counts_of(&state.db, id)
        .await?
        .into_iter()
        .map(count_view)
        .collect())
}

/// Records a physical count at a location. A count that matches the book is
/// approved at once; a variance waits for an approver.
pub async fn count(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: CountInput,
) -> Result<CountView> {
    let p = state.policy();
    let pp = &p.policy.property;
    visible_item(state, actor, id).await?;
    require(actor, &pp.warehouse_roles)?;
    let mut f = Fields::default();
    let location = match text(&input.location) {
        None => {
            f.push(FieldError::new("location", "error.required"));
            None
        }
        Some(l) if pp.location(&l).is_none() => {
            f.push(FieldError::new("location", "error.choice_unknown").arg("value", l));
            None
        }
        Some(l) => Some(l),
    };
    let counted = input.counted_qty.unwrap_or(0);
    match input.counted_qty {
        None => f.push(FieldError::new("counted_qty", "error.required")),
        Some(q) if q < 0 => {
            f.push(FieldError::new(
                "counted_qty",
                "property.refuse.count_negative",
            ));
        }
        Some(q) if q > input::MAX_QUANTITY => {
            if let Err(e) = input::count("counted_qty", q) {
                f.push(e);
            }
        }
        Some(_) => {}
    }
    f.finish()?;
    let location = location.unwrap_or_default();
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let item = lock(&txn, id, None).await?;
    if state_of(&item) == ItemState::Ended {
        return Err(FieldError::new("state", "property.refuse.ended").into());
    }
    let book = store::balances(&txn, id)
        .await?
        .get(&location)
        .copied()
        .unwrap_or(0);
    let matches = book == counted;
    let c = counts::ActiveModel {
        item_id: Set(id),
        location: Set(location.clone()),
        book_qty: Set(book),
        counted_qty: Set(counted),
        status: Set(if matches { "approved" } else { "pending" }.into()),
        counted_by: Set(actor.username.clone()),
        counted_at: Set(now),
        decided_by: Set(matches.then(|| actor.username.clone())),
        decided_at: Set(matches.then_some(now)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        entry(now, actor, "property_count", id)
            .change("location", serde_json::Value::Null, location)
            .change("book", serde_json::Value::Null, book)
            .change("counted", serde_json::Value::Null, counted),
    )
    .await?;
    txn.commit().await?;
    Ok(count_view(c))
}

/// Approves (the ledger takes the variance as a count gain or loss) or
/// rejects a count. Refused when the book moved since the count: count again.
pub async fn decide_count(
    state: &AppState,
    actor: &Actor,
    count_id: i64,
    input: DecisionInput,
) -> Result<CountView> {
    let p = state.policy();
    let pp = &p.policy.property;
    let c = store::count(&state.db, count_id)
        .await?
        .ok_or(Error::NotFound)?;
    visible_item(state, actor, c.item_id).await?;
    require(actor, &pp.count_approver_roles)?;
    if !input.approve && text(&input.reason).is_none() {
        return Err(FieldError::new("reason", "property.refuse.note_required").into());
    }
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let c = store::count_for_update(&txn, count_id)
        .await?
        .ok_or(Error::NotFound)?;
    if c.status != "pending" {
        return Err(FieldError::new("status", "property.refuse.count_decided").into());
    }
    let mut item = lock(&txn, c.item_id, None).await?;
    if input.approve {
        let book = store::balances(&txn, c.item_id)
            .await?
            .get(&c.location)
            .copied()
            .unwrap_or(0);
        if book != c.book_qty {
            return Err(FieldError::new("book_qty", "property.refuse.count_stale")
                .arg("book", book)
                .into());
        }
        let variance = c.counted_qty - c.book_qty;
        let m = if variance > 0 {
            Move::new(MovementKind::CountGain, variance, None, Some(&c.location))
        } else {
            Move::new(MovementKind::CountLoss, -variance, Some(&c.location), None)
        };
        let old = state_of(&item);
        model::next(old, Step::Move(m.kind))?;
        let mut m = m;
        m.reason = text(&input.reason);
        post(&txn, &mut item, m, actor, now).await?;
        save(&txn, item, now).await?;
    }
    let mut am = c.clone().into_active_model();
    am.status = Set(if input.approve {
        "approved"
    } else {
        "rejected"
    }
    .into());
    am.decided_by = Set(Some(actor.username.clone()));
    am.decided_at = Set(Some(now));
    am.reason = Set(text(&input.reason));
    let saved = am.update(&txn).await?;
    audit::record(
        &txn,
        entry(
            now,
            actor,
            if input.approve {
                "property_count_approve"
            } else {
                "property_count_reject"
            },
            c.item_id,
        )
        .change(
            "variance",
            serde_json::Value::Null,
            c.counted_qty - c.book_qty,
        )
        .reason(text(&input.reason)),
    )
    .await?;
    txn.commit().await?;
    Ok(count_view(saved))
}

// ------------------------------------------------------------------ due lists (step 7, 9)

/// What needs attention, within the actor's scope.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DueLists {
    /// Calibration, maintenance or usage coming due or overdue.
    pub care: Vec<ItemView>,
    /// Unused longer than the policy allows.
    pub idle: Vec<ItemView>,
    /// Abnormalities waiting for the customer's instruction.
    pub abnormalities: Vec<AbnormalityView>,
    /// Notices not received by their expected date.
    pub late_notices: Vec<NoticeView>,
    /// Received, waiting for verification.
    pub pending_inspection: Vec<ItemView>,
    /// Count variances waiting for approval.
    pub counts: Vec<CountView>,
}

async fn due_in(state: &AppState, visible: Option<SelectStatement>) -> Result<DueLists> {
    let p = state.policy();
    let pp = &p.policy.property;
    let today = today(state);
    let now = state.clock.now();
    let soon = today + chrono::Days::new(u64::from(pp.due_soon_days));
    let care_cond = Condition::any()
        .add(items::Column::CalibrationDueOn.lte(soon))
        .add(items::Column::MaintenanceDueOn.lte(soon))
        .add(items::Column::RatedLife.is_not_null());
    let care_rows: Vec<items::Model> = store::items_in_hand(&state.db, visible.clone(), care_cond)
        .await?
        .into_iter()
        .filter(|i| !model::care_due(i, today, pp).is_empty())
        .collect();
    let idle_before = now
        .checked_sub_months(chrono::Months::new(pp.idle_months))
        .unwrap_or(now);
    let idle_rows: Vec<items::Model> = store::items_in_hand(
        &state.db,
        visible.clone(),
        Condition::all()
            .add(items::Column::LastUsedAt.lt(idle_before))
            .add(items::Column::Balance.gt(0)),
    )
    .await?;
    let pending = store::items(
        &state.db,
        &store::ItemQuery {
            state: Some(ItemState::PendingInspection.as_str().into()),
            ..Default::default()
        },
        visible.clone(),
        Paging::new(Some(1u64), Some(500u64)),
    )
    .await?
    .0;
    let late = store::notices(&state.db, visible.clone(), None, Some("open"), Some(today)).await?;
    let ids: Vec<i64> = late.iter().map(|n| n.customer_id).collect();
    let names = customers::labels(&state.db, &ids).await?;
    let mut late_notices = Vec::new();
    for n in late {
        let c = names.get(&n.customer_id).cloned();
        late_notices.push(notice_view(state, n, c.as_ref()).await?);
    }
    Ok(DueLists {
        care: views(state, &care_rows).await?,
        idle: views(state, &idle_rows).await?,
        abnormalities: store::open_abnormalities(&state.db, visible.clone())
            .await?
            .into_iter()
            .map(abnormality_view)
            .collect(),
        late_notices,
        pending_inspection: views(state, &pending).await?,
        counts: store::pending_counts(&state.db, visible)
            .await?
            .into_iter()
            .map(count_view)
            .collect(),
    })
}

/// Everything due within the actor's scope.
pub async fn due(state: &AppState, actor: &Actor) -> Result<DueLists> {
    let visible = customers::visible_ids(state, actor).await?;
    due_in(state, visible).await
}

/// Home-page tasks by role: sales owners see their customers' idle property,
/// abnormalities and late notices; the warehouse late notices and counts to
/// approve; verifying roles what waits for them and care coming due.
pub async fn tasks_for(state: &AppState, actor: &Actor) -> Result<Vec<Task>> {
    let p = state.policy();
    let pp = &p.policy.property;
    let lang = i18n::current();
    let mut tasks = Vec::new();
    let mut push = |key: &str, count: usize, href: &str, overdue: bool| {
        if count > 0 {
            tasks.push(Task {
                title: i18n::tr(lang, key, &[("count", count.to_string())]),
                detail: i18n::tr(lang, &format!("{key}_detail"), &[]),
                href: href.to_owned(),
                overdue,
            });
        }
    };
    let is_sales = actor.has_role(Role::SalesRep) || actor.has_role(Role::SalesManager);
    if is_sales {
        let own = due_in(state, Some(customers::owned_ids(actor.user_id))).await?;
        push(
            "property.task_idle",
            own.idle.len(),
            "/property?list=idle",
            true,
        );
        push(
            "property.task_abnormal",
            own.abnormalities.len(),
            "/property?list=abnormalities",
            true,
        );
        push(
            "property.task_late_notices",
            own.late_notices.len(),
            "/property?list=notices",
            true,
        );
    }
    let verifies: Vec<&str> = pp
        .kinds
        .iter()
        .filter(|k| actor.roles.iter().any(|r| r.as_str() == k.verifier_role))
        .map(|k| k.code.as_str())
        .collect();
    let warehouse = actor.has_any_role(&pp.warehouse_roles);
    let approver = actor.has_any_role(&pp.count_approver_roles);
    if !verifies.is_empty() || warehouse || approver {
        let all = due_in(state, None).await?;
        if !verifies.is_empty() {
            let mine = |i: &&ItemView| verifies.contains(&i.kind.as_str());
            push(
                "property.task_inspection",
                all.pending_inspection.iter().filter(mine).count(),
                "/property?list=inspection",
                false,
            );
            let care: Vec<&ItemView> = all.care.iter().filter(mine).collect();
            let overdue = care.iter().any(|i| i.care_due.iter().any(|d| d.overdue));
            push(
                "property.task_care",
                care.len(),
                "/property?list=care",
                overdue,
            );
        }
        if warehouse {
            push(
                "property.task_late_notices",
                all.late_notices.len(),
                "/property?list=notices",
                true,
            );
        }
        if approver {
            push(
                "property.task_counts",
                all.counts.len(),
                "/property?list=counts",
                false,
            );
        }
    }
    Ok(tasks)
}

/// The poller's pass: marks property that became idle and records the
/// reminder in the item's history once per idle spell.
pub async fn scan_due(state: &AppState) -> Result<usize> {
    let p = state.policy();
    let pp = &p.policy.property;
    let now = state.clock.now();
    let before = now
        .checked_sub_months(chrono::Months::new(pp.idle_months))
        .unwrap_or(now);
    let rows = store::idle_unreported(&state.db, before).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let txn = db::begin_write(&state.db).await?;
    let system = audit::AuditActor::system();
    let mut n = 0;
    for row in rows {
        let Some(item) = store::item_for_update(&txn, row.id).await? else {
            continue;
        };
        if item.idle_reported_at.is_some() || !model::is_idle(&item, now, pp) {
            continue;
        }
        let last = item.last_used_at;
        let mut am = item.into_active_model();
        am.idle_reported_at = Set(Some(now));
        am.update(&txn).await?;
        audit::record(
            &txn,
            AuditEntry::new(now, &system, "property_idle", "property_item", row.id).change(
                "last_used_at",
                serde_json::Value::Null,
                last.to_rfc3339(),
            ),
        )
        .await?;
        n += 1;
    }
    txn.commit().await?;
    Ok(n)
}

/// Property of one customer, for the customer page's tab.
pub async fn of_customer(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
) -> Result<Vec<ItemView>> {
    customers::visible(state, actor, customer_id).await?;
    let (rows, _) = store::items(
        &state.db,
        &store::ItemQuery {
            customer_id: Some(customer_id),
            ..Default::default()
        },
        None,
        Paging::new(Some(1u64), Some(500u64)),
    )
    .await?;
    views(state, &rows).await
}

/// Used by the ledger check in tests: the replayed balances of an item.
pub async fn replayed_balances(state: &AppState, id: i64) -> Result<HashMap<String, i64>> {
    Ok(store::balances(&state.db, id).await?.into_iter().collect())
}
