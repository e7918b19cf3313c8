//! The customer archive (SPEC §1): customers with their contacts,
//! interactions and visit plans; completeness against the policy's
//! deadlines; duplicate prevention; ownership, sharing and transfer; search.
pub mod api;
pub mod attachments;
pub mod entity;
pub mod io;
pub mod model;
pub mod pages;
pub mod store;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryTrait, Select, Set,
};
use serde::{Deserialize, Serialize};

use entity::{
    contacts, customer_owner_history, customer_shares, customer_terms, customers, interactions,
    visit_plans,
};
pub use store::Scope;

use crate::platform::audit::{self, AuditEntry};
use crate::platform::auth::{self, Actor, Role};
use crate::platform::db;
use crate::platform::error::{Error, FieldError, Fields, Result};
use crate::platform::group_commit::GroupCommit;
use crate::platform::i18n;
use crate::platform::list::{Paging, Total};
use crate::platform::numbering;
use crate::platform::reads::Reads;
use crate::platform::schema::users;
use crate::platform::state::AppState;
use crate::policy::store::PolicyInForce;
use crate::policy::{CustomerPolicy, Policy};

/// What the customer archive plugs into the platform (listed in `crate::app`).
pub struct Customers;

impl crate::platform::capability::Capability for Customers {
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
    ) -> crate::platform::capability::Pending<'a, Vec<crate::platform::http::shell::Task>> {
        Box::pin(tasks_for(state, actor))
    }
}

// ------------------------------------------------------------------ scope

/// What the actor may see: everything for admins and the roles the policy
/// lists, else own, shared and (for managers) the team's customers.
pub async fn read_scope(state: &AppState, actor: &Actor) -> Result<Scope> {
    let policy = state.policy();
    let all =
        actor.has_role(Role::Admin) || actor.has_any_role(&policy.policy.customers.read_all_roles);
    if all {
        return Ok(Scope::All);
    }
    edit_scope(state, actor).await
}

/// What the actor may change: everything for admins; else own, shared and
/// the managed teams' customers (read-all roles read, they do not edit).
pub async fn edit_scope(state: &AppState, actor: &Actor) -> Result<Scope> {
    if actor.has_role(Role::Admin) {
        return Ok(Scope::All);
    }
    let managed_teams = if actor.has_role(Role::SalesManager) {
        store::managed_teams(&state.db, actor.user_id).await?
    } else {
        Vec::new()
    };
    Ok(Scope::Own {
        user_id: actor.user_id,
        managed_teams,
    })
}

/// A customer the actor may see (404 otherwise, so existence does not leak).
pub async fn visible(state: &AppState, actor: &Actor, id: i64) -> Result<customers::Model> {
    let scope = read_scope(state, actor).await?;
    store::get(&state.db, &scope, id)
        .await?
        .ok_or(Error::NotFound)
}

/// A customer the actor may change: 404 when it cannot even see it, 403
/// when it may only read it.
pub async fn editable(state: &AppState, actor: &Actor, id: i64) -> Result<customers::Model> {
    let scope = edit_scope(state, actor).await?;
    match store::get(&state.db, &scope, id).await? {
        Some(c) => Ok(c),
        None => {
            visible(state, actor, id).await?;
            Err(Error::Forbidden)
        }
    }
}

/// The ids of the customers the actor may see, as a subquery for other
/// capabilities' lists; `None` when it sees every customer.
pub async fn visible_ids(
    state: &AppState,
    actor: &Actor,
) -> Result<Option<sea_orm::sea_query::SelectStatement>> {
    Ok(match read_scope(state, actor).await? {
        Scope::All => None,
        scope => Some(
            Query::select()
                .column(customers::Column::Id)
                .from(customers::Entity)
                .cond_where(store::visible(&scope))
                .to_owned(),
        ),
    })
}

/// The ids of the customers a user owns, as a subquery (its own work lists).
pub fn owned_ids(user_id: i64) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(customers::Column::Id)
        .from(customers::Entity)
        .and_where(customers::Column::OwnerId.eq(user_id))
        .to_owned()
}

/// Code, name and owner of customers by id, for other capabilities' lists
/// (the caller has already kept its rows within the actor's scope).
pub async fn labels(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, customers::Model>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(customers::Entity::find()
        .filter(customers::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}

fn may_see_phones(policy: &CustomerPolicy, actor: &Actor) -> bool {
    actor.has_any_role(&policy.phone_roles)
}

// ------------------------------------------------------------------ views

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserRef {
    pub id: i64,
    pub username: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CompletenessView {
    /// Share of the policy's full field list filled, 0–100.
    pub score: u8,
    pub missing_basic: Vec<String>,
    pub missing_full: Vec<String>,
    pub basic_due_at: DateTime<Utc>,
    pub full_due_at: DateTime<Utc>,
    /// The version of the policy that computed the deadlines (the one in
    /// force when the customer was created).
    pub policy_version: i32,
    /// Required fields are still missing after their deadline.
    pub overdue: bool,
}

/// A customer as the API returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    pub id: i64,
    pub code: String,
    pub full_name: String,
    pub short_name: Option<String>,
    /// 助记码: pinyin initials of the name.
    pub mnemonic: String,
    pub pinyin: String,
    pub credit_code: Option<String>,
    pub customer_type: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub legal_representative: Option<String>,
    /// Yuan, two decimals, as text (money is never a float).
    pub registered_capital: Option<String>,
    pub business_scope: Option<String>,
    pub scale: Option<String>,
    pub stage: String,
    pub source: Option<String>,
    pub first_contact_date: Option<NaiveDate>,
    pub cooperation_start_date: Option<NaiveDate>,
    pub owner: UserRef,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub grade: Option<String>,
    pub completeness: CompletenessView,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub fn fen_to_yuan(fen: i64) -> String {
    Decimal::new(fen, 2).to_string()
}

fn split_tags(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn join_tags(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(",{},", tags.join(","))
    }
}

async fn user_ref(db: &impl ConnectionTrait, id: i64) -> Result<UserRef> {
    let u = auth::store::user_by_id(db, id).await?;
    Ok(match u {
        Some(u) => UserRef {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
        },
        None => UserRef {
            id,
            username: String::new(),
            display_name: String::new(),
        },
    })
}

/// Facts about a customer beyond its own row that completeness needs.
struct Extras {
    contacts: usize,
    licence: bool,
}

async fn extras(db: &impl ConnectionTrait, id: i64) -> Result<Extras> {
    let (contacts, licence) = store::extras_of(db, id).await?;
    Ok(Extras { contacts, licence })
}

fn is_filled(c: &customers::Model, x: &Extras, field: &str) -> bool {
    let some = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    match field {
        "full_name" => !c.full_name.trim().is_empty(),
        "short_name" => some(&c.short_name),
        "credit_code" => some(&c.credit_code),
        "customer_type" => !c.customer_type.is_empty(),
        "industry" => some(&c.industry),
        "region" => some(&c.region),
        "address" => some(&c.address),
        "legal_representative" => some(&c.legal_representative),
        "registered_capital" => c.registered_capital_fen.is_some(),
        "business_scope" => some(&c.business_scope),
        "scale" => some(&c.scale),
        "source" => some(&c.source),
        "first_contact_date" => c.first_contact_date.is_some(),
        "cooperation_start_date" => c.cooperation_start_date.is_some(),
        "tags" => !c.tags.is_empty(),
        "contacts" => x.contacts > 0,
        "business_licence" => x.licence,
        _ => false,
    }
}

fn completeness_of(
    c: &customers::Model,
    x: &Extras,
    policy: &CustomerPolicy,
    now: DateTime<Utc>,
) -> CompletenessView {
    let filled = |f: &str| is_filled(c, x, f);
    let basic = model::completeness(&filled, &policy.basic_fields);
    let full = model::completeness(&filled, &policy.full_fields);
    let overdue = (!basic.missing.is_empty() && now > c.basic_due_at)
        || (!full.missing.is_empty() && now > c.full_due_at);
    CompletenessView {
        score: full.score,
        missing_basic: basic.missing,
        missing_full: full.missing,
        basic_due_at: c.basic_due_at,
        full_due_at: c.full_due_at,
        policy_version: c.policy_version,
        overdue,
    }
}

/// The stored completeness columns `(basic_complete, full_complete, score)`
/// of a customer with `contacts` contacts and (or not) a business licence;
/// for bulk writers (`kehu demo`) that do not go through [`create`].
pub(crate) fn stored_completeness(
    c: &customers::Model,
    contacts: usize,
    licence: bool,
    policy: &CustomerPolicy,
    now: DateTime<Utc>,
) -> (bool, bool, i32) {
    let view = completeness_of(c, &Extras { contacts, licence }, policy, now);
    (
        view.missing_basic.is_empty(),
        view.missing_full.is_empty(),
        i32::from(view.score),
    )
}

/// Recomputes the stored completeness flags after any change that affects them.
async fn refresh_completeness(
    db: &impl ConnectionTrait,
    policy: &Policy,
    c: customers::Model,
    now: DateTime<Utc>,
) -> Result<customers::Model> {
    let x = extras(db, c.id).await?;
    let view = completeness_of(&c, &x, &policy.customers, now);
    let basic = view.missing_basic.is_empty();
    let full = view.missing_full.is_empty();
    let score = i32::from(view.score);
    if c.basic_complete == basic && c.full_complete == full && c.completeness == score {
        return Ok(c);
    }
    let mut am = c.into_active_model();
    am.basic_complete = Set(basic);
    am.full_complete = Set(full);
    am.completeness = Set(score);
    Ok(am.update(db).await?)
}

pub async fn view(state: &AppState, c: &customers::Model) -> Result<CustomerView> {
    let x = extras(&state.db, c.id).await?;
    let owner = user_ref(&state.db, c.owner_id).await?;
    Ok(view_with(state, c, &x, owner))
}

/// One customer the actor may see, as the API returns it, read in one query
/// (404 when out of scope).
pub async fn visible_view(state: &AppState, actor: &Actor, id: i64) -> Result<CustomerView> {
    let scope = read_scope(state, actor).await?;
    view_in(state, &scope, id).await
}

/// One customer within `scope`, as the API returns it, in one query.
async fn view_in(state: &AppState, scope: &Scope, id: i64) -> Result<CustomerView> {
    let r = store::get_with_extras(&state.reads, scope, id)
        .await?
        .ok_or(Error::NotFound)?;
    let x = Extras {
        contacts: r.contacts,
        licence: r.licence,
    };
    let owner = UserRef {
        id: r.customer.owner_id,
        username: r.owner_username,
        display_name: r.owner_name,
    };
    Ok(view_with(state, &r.customer, &x, owner))
}

fn view_with(state: &AppState, c: &customers::Model, x: &Extras, owner: UserRef) -> CustomerView {
    let policy = state.policy();
    CustomerView {
        id: c.id,
        code: c.code.clone(),
        full_name: c.full_name.clone(),
        short_name: c.short_name.clone(),
        mnemonic: c.mnemonic.clone(),
        pinyin: c.pinyin.clone(),
        credit_code: c.credit_code.clone(),
        customer_type: c.customer_type.clone(),
        industry: c.industry.clone(),
        region: c.region.clone(),
        address: c.address.clone(),
        legal_representative: c.legal_representative.clone(),
        registered_capital: c.registered_capital_fen.map(fen_to_yuan),
        business_scope: c.business_scope.clone(),
        scale: c.scale.clone(),
        stage: c.stage.clone(),
        source: c.source.clone(),
        first_contact_date: c.first_contact_date,
        cooperation_start_date: c.cooperation_start_date,
        owner,
        tags: split_tags(&c.tags),
        notes: c.notes.clone(),
        grade: c.grade.clone(),
        completeness: completeness_of(c, x, &policy.policy.customers, state.clock.now()),
        created_by: c.created_by.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
        version: c.version,
    }
}

/// The audit snapshot: the record's own fields, without derived ones.
fn snapshot(c: &customers::Model) -> serde_json::Value {
    serde_json::json!({
        "code": c.code,
        "full_name": c.full_name,
        "short_name": c.short_name,
        "credit_code": c.credit_code,
        "customer_type": c.customer_type,
        "industry": c.industry,
        "region": c.region,
        "address": c.address,
        "legal_representative": c.legal_representative,
        "registered_capital": c.registered_capital_fen.map(fen_to_yuan),
        "business_scope": c.business_scope,
        "scale": c.scale,
        "stage": c.stage,
        "source": c.source,
        "first_contact_date": c.first_contact_date,
        "cooperation_start_date": c.cooperation_start_date,
        "owner_id": c.owner_id,
        "tags": split_tags(&c.tags),
        "notes": c.notes,
        "grade": c.grade,
    })
}

// ------------------------------------------------------------------ input

/// Create or edit a customer. On edit, absent fields stay as they are and
/// an empty text clears an optional field; `version` is required.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CustomerInput {
    pub version: Option<i64>,
    pub full_name: Option<String>,
    pub short_name: Option<String>,
    /// 统一社会信用代码, 18 characters, checked per GB 32100-2015.
    pub credit_code: Option<String>,
    pub customer_type: Option<String>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub legal_representative: Option<String>,
    /// Yuan, e.g. "5000000" or "5000000.00".
    pub registered_capital: Option<String>,
    pub business_scope: Option<String>,
    pub scale: Option<String>,
    pub stage: Option<String>,
    pub source: Option<String>,
    /// YYYY-MM-DD
    pub first_contact_date: Option<String>,
    /// YYYY-MM-DD
    pub cooperation_start_date: Option<String>,
    /// Defaults to the creating user; managers and admins may choose.
    pub owner_id: Option<i64>,
    /// Comma-separated.
    pub tags: Option<String>,
    pub notes: Option<String>,
    pub grade: Option<String>,
    /// Create only: a first contact.
    pub contact_name: Option<String>,
    /// Create only: the first contact's phones; several separated by commas
    /// (`,` `，` `;` `；` `/` `、`), as exports write them.
    pub contact_phone: Option<String>,
    pub contact_title: Option<String>,
    /// Save even though a customer with the same normalised name or phone exists.
    #[serde(default)]
    pub confirm_duplicates: bool,
    /// Why (kept in the audit log).
    pub reason: Option<String>,
}

fn clean(v: &Option<String>) -> Option<Option<String>> {
    v.as_ref().map(|s| {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_owned())
    })
}

fn choice_ok(policy: &CustomerPolicy, list: &str, value: &str) -> bool {
    policy.choices(list).iter().any(|c| c.code == value)
}

fn parse_date(
    f: &mut Fields,
    field: &str,
    v: &Option<Option<String>>,
) -> Option<Option<NaiveDate>> {
    match v {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => match crate::platform::input::parse_date(field, s) {
            Ok(d) => Some(Some(d)),
            Err(e) => {
                f.push(e);
                None
            }
        },
    }
}

fn lang() -> String {
    i18n::current().as_str().to_owned()
}

/// Applies `input` onto `c` (a fresh default for create), collecting every error.
fn apply_input(
    c: &mut customers::Model,
    input: &CustomerInput,
    policy: &CustomerPolicy,
    creating: bool,
) -> Result<()> {
    let errors = apply_fields(c, input, policy, creating);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

/// [`apply_input`], returning the problems found (empty when all is well).
fn apply_fields(
    c: &mut customers::Model,
    input: &CustomerInput,
    policy: &CustomerPolicy,
    creating: bool,
) -> Vec<FieldError> {
    let mut f = Fields::default();
    let loc = lang();
    match clean(&input.full_name) {
        Some(Some(n)) if n.chars().count() <= 100 => c.full_name = n,
        Some(Some(_)) => f.push(FieldError::new("full_name", "error.too_long").arg("max", 100)),
        Some(None) => f.push(FieldError::new("full_name", "error.required")),
        None if creating => f.push(FieldError::new("full_name", "error.required")),
        None => {}
    }
    if let Some(v) = clean(&input.short_name) {
        c.short_name = v;
    }
    match clean(&input.credit_code) {
        Some(Some(code)) => match model::validate_credit_code(&code) {
            Ok(norm) => c.credit_code = Some(norm),
            Err(e) => f.push(FieldError::text("credit_code", e.message(&loc))),
        },
        Some(None) => c.credit_code = None,
        None => {}
    }
    for (field, list, required) in [
        ("customer_type", "types", true),
        ("stage", "stages", true),
        ("industry", "industries", false),
        ("region", "regions", false),
        ("scale", "scales", false),
        ("source", "sources", false),
    ] {
        let value = match field {
            "customer_type" => &input.customer_type,
            "stage" => &input.stage,
            "industry" => &input.industry,
            "region" => &input.region,
            "scale" => &input.scale,
            _ => &input.source,
        };
        let v = match clean(value) {
            None if creating && required => {
                // New customers start as the first entry of the list (e.g. 潜在).
                match (field, policy.choices(list).first()) {
                    ("stage", Some(first)) => Some(Some(first.code.clone())),
                    _ => {
                        f.push(FieldError::new(field, "error.required"));
                        None
                    }
                }
            }
            other => other,
        };
        match v {
            Some(Some(code)) if !choice_ok(policy, list, &code) => {
                f.push(FieldError::new(field, "error.choice_unknown").arg("value", code));
            }
            Some(None) if required => f.push(FieldError::new(field, "error.required")),
            Some(v) => {
                let code = v.unwrap_or_default();
                match field {
                    "customer_type" => c.customer_type = code,
                    "stage" => c.stage = code,
                    "industry" => c.industry = Some(code).filter(|s| !s.is_empty()),
                    "region" => c.region = Some(code).filter(|s| !s.is_empty()),
                    "scale" => c.scale = Some(code).filter(|s| !s.is_empty()),
                    _ => c.source = Some(code).filter(|s| !s.is_empty()),
                }
            }
            None => {}
        }
    }
    if let Some(v) = clean(&input.address) {
        c.address = v;
    }
    if let Some(v) = clean(&input.legal_representative) {
        c.legal_representative = v;
    }
    match clean(&input.registered_capital) {
        Some(Some(s)) => match crate::platform::input::parse_yuan(&s) {
            Some(fen) => c.registered_capital_fen = Some(fen),
            None => f.push(FieldError::new("registered_capital", "error.money_format")),
        },
        Some(None) => c.registered_capital_fen = None,
        None => {}
    }
    if let Some(v) = clean(&input.business_scope) {
        c.business_scope = v;
    }
    if let Some(v) = parse_date(
        &mut f,
        "first_contact_date",
        &clean(&input.first_contact_date),
    ) {
        c.first_contact_date = v;
    }
    if let Some(v) = parse_date(
        &mut f,
        "cooperation_start_date",
        &clean(&input.cooperation_start_date),
    ) {
        c.cooperation_start_date = v;
    }
    if let Some(v) = clean(&input.tags) {
        let mut tags: Vec<String> = v
            .unwrap_or_default()
            .split([',', '，', ';', '；'])
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        tags.sort();
        tags.dedup();
        if tags.iter().any(|t| t.chars().count() > 20) {
            f.push(FieldError::new("tags", "error.too_long").arg("max", 20));
        }
        c.tags = join_tags(&tags);
    }
    if let Some(v) = clean(&input.notes) {
        c.notes = v;
    }
    if let Some(v) = clean(&input.grade) {
        c.grade = v;
    }
    let keys = model::pinyin_keys(&c.full_name);
    c.mnemonic = keys.initials;
    c.pinyin = keys.full;
    c.name_norm = model::normalize_name(&c.full_name);
    let cols = model::search_columns(&c.full_name, c.short_name.as_deref());
    c.name_text = cols.name_text;
    c.pinyin_text = cols.pinyin_text;
    f.0
}

/// The search terms of a customer: its names, its contacts' phones, its
/// owner and the users it is shared with.
pub(crate) fn terms_for(
    c: &customers::Model,
    contacts: &[contacts::Model],
    shared_with: &[i64],
) -> Vec<String> {
    terms_with_phones(
        c,
        contacts
            .iter()
            .flat_map(|contact| contact.phones.split(", "))
            .filter(|p| !p.is_empty()),
        shared_with,
    )
}

fn terms_with_phones<'a>(
    c: &customers::Model,
    phones: impl Iterator<Item = &'a str>,
    shared_with: &[i64],
) -> Vec<String> {
    model::customer_terms(
        &c.full_name,
        c.short_name.as_deref(),
        &c.pinyin,
        c.credit_code.as_deref(),
        phones,
        c.owner_id,
        shared_with,
        model::Filters {
            customer_type: &c.customer_type,
            stage: &c.stage,
            region: c.region.as_deref(),
            industry: c.industry.as_deref(),
            grade: c.grade.as_deref(),
            tags: &c.tags,
        },
    )
}

/// Rewrites a customer's search terms from what is stored: after a change
/// of its contacts, owner (from `was_owner`) or shares.
async fn reindex(txn: &impl ConnectionTrait, c: &customers::Model, was_owner: i64) -> Result<()> {
    let contacts = store::contacts_of(txn, c.id).await?;
    let shared = store::shared_with(txn, c.id).await?;
    let terms = terms_for(c, &contacts, &shared);
    store::set_terms(txn, c.id, was_owner, c.owner_id, &terms).await
}

/// The owner rules: anyone may own what it creates; another owner must be
/// active sales staff, whom admins may choose freely and managers only from
/// the teams they manage. `user` is the chosen owner's record, if it exists;
/// `managed_teams` the teams the actor manages. No IO.
fn owner_rule(
    actor: &Actor,
    owner_id: i64,
    user: Option<&users::Model>,
    managed_teams: &[i64],
) -> std::result::Result<i64, FieldError> {
    if owner_id == actor.user_id {
        return Ok(owner_id);
    }
    let ok_user = user.is_some_and(|u| {
        let roles = auth::model::parse_roles(&u.roles);
        u.active && (roles.contains(&Role::SalesRep) || roles.contains(&Role::SalesManager))
    });
    if !ok_user {
        return Err(FieldError::new("owner_id", "error.owner_invalid"));
    }
    // Admins assign to anyone; managers to their own team members.
    if actor.has_role(Role::Admin) {
        return Ok(owner_id);
    }
    match user.and_then(|u| u.team_id) {
        Some(t) if managed_teams.contains(&t) => Ok(owner_id),
        _ => Err(FieldError::new("owner_id", "error.owner_not_in_team")),
    }
}

/// The owner a new customer (or a transfer) gets: the actor unless it names
/// another user that [`owner_rule`] allows. The outer error is IO only.
async fn owner_for(
    state: &AppState,
    actor: &Actor,
    owner_id: Option<i64>,
) -> Result<std::result::Result<i64, FieldError>> {
    let Some(owner_id) = owner_id.filter(|id| *id != actor.user_id) else {
        return Ok(Ok(actor.user_id));
    };
    let user = auth::store::user_by_id(&state.db, owner_id).await?;
    let teams = if actor.has_role(Role::Admin) {
        Vec::new()
    } else {
        store::managed_teams(&state.db, actor.user_id).await?
    };
    Ok(owner_rule(actor, owner_id, user.as_ref(), &teams))
}

async fn owner_choice(state: &AppState, actor: &Actor, owner_id: Option<i64>) -> Result<i64> {
    Ok(owner_for(state, actor, owner_id).await??)
}

/// An existing customer that a new or edited one may duplicate.
#[derive(Debug, Clone)]
struct Match {
    id: i64,
    code: String,
    full_name: String,
    owner_username: String,
    owner_name: String,
}

/// Existing customers by credit code, normalised name and phone term:
/// looked up with a few batched queries, for the keys of one customer (create,
/// edit) or of a whole file (import), then checked by [`duplicates`].
#[derive(Debug, Default)]
pub(crate) struct Known {
    credit_codes: HashMap<String, Match>,
    names: HashMap<String, Vec<Match>>,
    phones: HashMap<String, Vec<Match>>,
}

/// Keys per `IN (…)` lookup, well under both engines' parameter limits.
const LOOKUP_CHUNK: usize = 500;
/// Matches kept per name or phone (the message names a few, not hundreds).
const MATCHES_PER_KEY: usize = 6;

impl Known {
    /// Loads the customers holding any of the credit codes, normalised names
    /// or phone terms ([`model::phone_term`]), with their owners' names.
    pub(crate) async fn load(
        reads: &Reads,
        credit_codes: &[String],
        names: &[String],
        phone_terms: &[String],
    ) -> Result<Known> {
        let mut rows: HashMap<i64, customers::Model> = HashMap::new();
        let mut by_code = Vec::new();
        for chunk in credit_codes.chunks(LOOKUP_CHUNK) {
            for c in reads
                .all::<customers::ActiveModel>(
                    customers::Entity::find()
                        .filter(customers::Column::CreditCode.is_in(chunk.iter().cloned())),
                )
                .await?
            {
                by_code.push(c.id);
                rows.insert(c.id, c);
            }
        }
        let mut by_name = Vec::new();
        for chunk in names.chunks(LOOKUP_CHUNK) {
            for c in reads
                .all::<customers::ActiveModel>(
                    customers::Entity::find()
                        .filter(customers::Column::NameNorm.is_in(chunk.iter().cloned())),
                )
                .await?
            {
                by_name.push(c.id);
                rows.insert(c.id, c);
            }
        }
        let mut by_phone = Vec::new();
        for chunk in phone_terms.chunks(LOOKUP_CHUNK) {
            by_phone.extend(
                reads
                    .all::<customer_terms::ActiveModel>(
                        customer_terms::Entity::find()
                            .filter(customer_terms::Column::Term.is_in(chunk.iter().cloned())),
                    )
                    .await?,
            );
        }
        let missing: Vec<i64> = by_phone
            .iter()
            .map(|t| t.customer_id)
            .filter(|id| !rows.contains_key(id))
            .collect();
        for chunk in missing.chunks(LOOKUP_CHUNK) {
            for c in reads
                .all::<customers::ActiveModel>(
                    customers::Entity::find()
                        .filter(customers::Column::Id.is_in(chunk.iter().copied())),
                )
                .await?
            {
                rows.insert(c.id, c);
            }
        }
        let owner_ids: Vec<i64> = rows.values().map(|c| c.owner_id).collect();
        let mut owners: HashMap<i64, users::Model> = HashMap::new();
        for chunk in owner_ids.chunks(LOOKUP_CHUNK) {
            for u in reads
                .all::<users::ActiveModel>(
                    users::Entity::find().filter(users::Column::Id.is_in(chunk.iter().copied())),
                )
                .await?
            {
                owners.insert(u.id, u);
            }
        }
        let as_match = |c: &customers::Model| {
            let owner = owners.get(&c.owner_id);
            Match {
                id: c.id,
                code: c.code.clone(),
                full_name: c.full_name.clone(),
                owner_username: owner.map(|u| u.username.clone()).unwrap_or_default(),
                owner_name: owner.map(|u| u.display_name.clone()).unwrap_or_default(),
            }
        };
        let mut known = Known::default();
        for id in by_code {
            if let Some(c) = rows.get(&id)
                && let Some(code) = &c.credit_code
            {
                known.credit_codes.insert(code.clone(), as_match(c));
            }
        }
        for id in by_name {
            if let Some(c) = rows.get(&id) {
                let list = known.names.entry(c.name_norm.clone()).or_default();
                if list.len() < MATCHES_PER_KEY && !list.iter().any(|m| m.id == id) {
                    list.push(as_match(c));
                }
            }
        }
        for t in by_phone {
            if let Some(c) = rows.get(&t.customer_id) {
                let list = known.phones.entry(t.term).or_default();
                if list.len() < MATCHES_PER_KEY && !list.iter().any(|m| m.id == c.id) {
                    list.push(as_match(c));
                }
            }
        }
        Ok(known)
    }
}

/// The duplicate rules: the same credit code is refused (naming the customer
/// and its owner); the same normalised name or contact phone asks for
/// confirmation. `except` is the customer being edited. No IO.
fn duplicates(
    known: &Known,
    c: &customers::Model,
    phones: &[String],
    except: Option<i64>,
    confirmed: bool,
) -> Result<()> {
    if let Some(code) = &c.credit_code
        && let Some(other) = known.credit_codes.get(code)
        && Some(other.id) != except
    {
        return Err(Error::Conflict(
            "customer.duplicate_credit_code".into(),
            vec![
                ("code", other.code.clone()),
                ("name", other.full_name.clone()),
                (
                    "owner",
                    format!("{} ({})", other.owner_name, other.owner_username),
                ),
            ],
        ));
    }
    if confirmed {
        return Ok(());
    }
    let mut warnings = Vec::new();
    let others = |list: Option<&Vec<Match>>| {
        list.into_iter()
            .flatten()
            .filter(|m| Some(m.id) != except)
            .take(MATCHES_PER_KEY - 1)
            .cloned()
            .collect::<Vec<_>>()
    };
    for other in others(known.names.get(&c.name_norm)) {
        warnings.push(
            FieldError::new("full_name", "customer.duplicate_name")
                .arg("code", other.code)
                .arg("name", other.full_name)
                .arg("owner", other.owner_name),
        );
    }
    let mut seen = Vec::new();
    for phone in phones {
        for other in others(known.phones.get(&model::phone_term(phone))) {
            if seen.contains(&other.id) {
                continue;
            }
            seen.push(other.id);
            warnings.push(
                FieldError::new("contact_phone", "customer.duplicate_phone")
                    .arg("code", other.code)
                    .arg("name", other.full_name)
                    .arg("owner", other.owner_name),
            );
        }
    }
    if warnings.is_empty() {
        Ok(())
    } else {
        Err(Error::PossibleDuplicate(warnings))
    }
}

/// [`duplicates`] against the database, for one customer.
async fn check_duplicates(
    state: &AppState,
    c: &customers::Model,
    phones: &[String],
    except: Option<i64>,
    confirmed: bool,
) -> Result<()> {
    // Confirmed: only the credit code can still refuse it.
    let (names, terms): (&[String], Vec<String>) = if confirmed {
        (&[], Vec::new())
    } else {
        (
            std::slice::from_ref(&c.name_norm),
            phones.iter().map(|p| model::phone_term(p)).collect(),
        )
    };
    let known = Known::load(&state.reads, c.credit_code.as_slice(), names, &terms).await?;
    duplicates(&known, c, phones, except, confirmed)
}

fn unique_violation_to_conflict(e: sea_orm::DbErr) -> Error {
    if db::is_unique_violation(&e) {
        // A concurrent create took the same credit code first.
        Error::Conflict("customer.duplicate_credit_code_race".into(), vec![])
    } else {
        e.into()
    }
}

/// The phones typed in one field (several separated by commas, semicolons
/// or slashes, as exports write them), normalised; each bad one is an error
/// of `field`.
fn parse_phones(raw: &str, field: &'static str, errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut out = Vec::new();
    for one in raw
        .split([',', '，', ';', '；', '/', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match model::normalize_phone(one) {
            Ok(p) if !out.contains(&p) => out.push(p),
            Ok(_) => {}
            Err(e) => errors.push(FieldError::text(field, e.message(&lang()))),
        }
    }
    out
}

/// Whether the actor may create customers: sales staff and admins.
pub fn may_create(actor: &Actor) -> bool {
    actor.has_role(Role::Admin)
        || actor.has_role(Role::SalesManager)
        || actor.has_role(Role::SalesRep)
}

/// A new customer that passed validation, ready to save.
#[derive(Debug, Clone)]
pub(crate) struct NewCustomer {
    pub(crate) c: customers::Model,
    /// The first contact's name and title.
    pub(crate) contact: Option<(String, Option<String>)>,
    /// The first contact's phones, canonical.
    pub(crate) phones: Vec<String>,
    /// Its search terms: made with the validation (on the request's thread,
    /// or by the import's validating threads), not by the single writer.
    pub(crate) terms: Vec<String>,
    /// Why, for the audit entry (e.g. a confirmed possible duplicate).
    pub(crate) reason: Option<String>,
}

/// A new customer's record before its input is applied: owned by the actor,
/// with the archive deadlines of the policy in force.
pub(crate) fn blank_customer(
    p: &PolicyInForce,
    actor: &Actor,
    now: DateTime<Utc>,
) -> customers::Model {
    let calendar = p.policy.calendar();
    customers::Model {
        id: 0,
        code: String::new(),
        full_name: String::new(),
        short_name: None,
        mnemonic: String::new(),
        pinyin: String::new(),
        name_norm: String::new(),
        name_text: String::new(),
        pinyin_text: String::new(),
        credit_code: None,
        customer_type: String::new(),
        industry: None,
        region: None,
        address: None,
        legal_representative: None,
        registered_capital_fen: None,
        business_scope: None,
        scale: None,
        stage: String::new(),
        source: None,
        first_contact_date: None,
        cooperation_start_date: None,
        owner_id: actor.user_id,
        tags: String::new(),
        notes: None,
        grade: None,
        basic_due_at: calendar.working_days_due(now, p.policy.customers.basic_deadline_days),
        full_due_at: calendar.working_days_due(now, p.policy.customers.full_deadline_days),
        basic_complete: false,
        full_complete: false,
        completeness: 0,
        policy_version: i32::try_from(p.version).unwrap_or(i32::MAX),
        created_by: actor.username.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// Validates a new customer: every field of `input` against the policy, the
/// first contact, and the owner (`owner`: the result of the owner rules),
/// collecting every problem. No IO: the create form, the API and imports of
/// 100,000 rows all go through it.
pub(crate) fn validate_new(
    base: &customers::Model,
    input: &CustomerInput,
    policy: &CustomerPolicy,
    owner: std::result::Result<i64, FieldError>,
) -> std::result::Result<NewCustomer, Vec<FieldError>> {
    let mut c = base.clone();
    let mut errors = apply_fields(&mut c, input, policy, true);
    let contact_name = clean(&input.contact_name).flatten();
    let mut phones = Vec::new();
    if let Some(Some(raw)) = clean(&input.contact_phone) {
        phones = parse_phones(&raw, "contact_phone", &mut errors);
        if contact_name.is_none() {
            errors.push(FieldError::new("contact_name", "error.required"));
        }
    }
    match owner {
        Ok(o) => c.owner_id = o,
        Err(e) => errors.push(e),
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let terms = terms_with_phones(&c, phones.iter().map(String::as_str), &[]);
    Ok(NewCustomer {
        c,
        contact: contact_name.map(|n| (n, clean(&input.contact_title).flatten())),
        phones,
        terms,
        reason: None,
    })
}

/// Customer rows per multi-row insert (35 columns: under SQLite's 32,766
/// and PostgreSQL's 65,535 statement parameters).
const CUSTOMER_CHUNK: usize = 500;

/// Saves validated new customers in the caller's transaction: their numbers
/// from the policy format, the customers, first contacts, search terms,
/// owner history and one audit entry each (`action`: "create", "import"), all
/// with multi-row statements. `progress` is told how many are saved so far.
/// Returns the saved records in order.
pub(crate) async fn insert_new(
    txn: &DatabaseTransaction,
    policy: &Policy,
    actor: &Actor,
    mut items: Vec<NewCustomer>,
    now: DateTime<Utc>,
    action: &str,
    progress: &(dyn Fn(usize) + Send + Sync),
) -> Result<Vec<customers::Model>> {
    let today = now.with_timezone(&policy.timezone()).date_naive();
    let codes = numbering::next_numbers(txn, policy, "customer", today, items.len()).await?;
    let mut done = 0;
    for (chunk, chunk_codes) in items
        .chunks_mut(CUSTOMER_CHUNK)
        .zip(codes.chunks(CUSTOMER_CHUNK))
    {
        for (item, code) in chunk.iter_mut().zip(chunk_codes) {
            item.c.code = code.clone();
            let x = Extras {
                contacts: usize::from(item.contact.is_some()),
                licence: false,
            };
            let view = completeness_of(&item.c, &x, &policy.customers, now);
            item.c.basic_complete = view.missing_basic.is_empty();
            item.c.full_complete = view.missing_full.is_empty();
            item.c.completeness = i32::from(view.score);
        }
        let mut stmt = customers::Entity::insert_many(chunk.iter().map(|i| {
            let mut am = i.c.clone().into_active_model();
            am.id = sea_orm::NotSet;
            am
        }))
        .into_query();
        stmt.returning(
            Query::returning().columns([customers::Column::Id, customers::Column::Code]),
        );
        let mut ids = HashMap::with_capacity(chunk.len());
        for row in txn
            .query_all(&stmt)
            .await
            .map_err(unique_violation_to_conflict)?
        {
            let id: i64 = row.try_get("", "id")?;
            let code: String = row.try_get("", "code")?;
            ids.insert(code, id);
        }
        let mut contact_rows = Vec::new();
        let mut term_docs = Vec::with_capacity(chunk.len());
        let mut history_rows = Vec::with_capacity(chunk.len());
        for item in chunk.iter_mut() {
            item.c.id = *ids.get(&item.c.code).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("customer {} not returned", item.c.code))
            })?;
            let id = item.c.id;
            if let Some((name, title)) = &item.contact {
                contact_rows.push(contacts::ActiveModel {
                    customer_id: Set(id),
                    name: Set(name.clone()),
                    title: Set(title.clone()),
                    phones: Set(item.phones.join(", ")),
                    email: Set(None),
                    wechat: Set(None),
                    birthday: Set(None),
                    decision_role: Set(None),
                    notes: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    version: Set(1),
                    ..Default::default()
                });
            }
            term_docs.push((id, item.c.owner_id, std::mem::take(&mut item.terms)));
            history_rows.push(customer_owner_history::ActiveModel {
                customer_id: Set(id),
                owner_id: Set(item.c.owner_id),
                from_at: Set(now),
                to_at: Set(None),
                reason: Set(None),
                changed_by: Set(actor.username.clone()),
                ..Default::default()
            });
        }
        if !contact_rows.is_empty() {
            contacts::Entity::insert_many(contact_rows)
                .exec_without_returning(txn)
                .await?;
        }
        let docs: Vec<(i64, i64, &[String])> = term_docs
            .iter()
            .map(|(id, owner, terms)| (*id, *owner, terms.as_slice()))
            .collect();
        store::insert_terms(txn, &docs).await?;
        customer_owner_history::Entity::insert_many(history_rows)
            .exec_without_returning(txn)
            .await?;
        done += chunk.len();
        progress(done);
    }
    // Made a chunk at a time, so 100,000 entries never sit in memory at once.
    let audit_actor = actor.audit_actor();
    for chunk in items.chunks(CUSTOMER_CHUNK) {
        let entries: Vec<AuditEntry> = chunk
            .iter()
            .map(|item| {
                let mut entry = AuditEntry::new(now, &audit_actor, action, "customer", item.c.id)
                    .diff(&serde_json::Value::Null, &snapshot(&item.c));
                if let Some((name, _)) = &item.contact {
                    entry = entry.change("contact", serde_json::Value::Null, name.clone());
                }
                entry.reason(item.reason.clone())
            })
            .collect();
        audit::record_many(txn, entries).await?;
    }
    Ok(items.into_iter().map(|i| i.c).collect())
}

/// Creates a customer (with an optional first contact).
pub async fn create(state: &AppState, actor: &Actor, input: CustomerInput) -> Result<CustomerView> {
    if !may_create(actor) {
        return Err(Error::Forbidden);
    }
    let p = state.policy();
    let now = state.clock.now();
    let base = blank_customer(&p, actor, now);
    let owner = owner_for(state, actor, input.owner_id).await?;
    let mut new =
        validate_new(&base, &input, &p.policy.customers, owner).map_err(Error::Invalid)?;
    check_duplicates(state, &new.c, &new.phones, None, input.confirm_duplicates).await?;
    if input.confirm_duplicates {
        new.reason = Some("confirmed possible duplicate".into());
    }
    let x = Extras {
        contacts: usize::from(new.contact.is_some()),
        licence: false,
    };
    let saved = create_queue(state)?
        .submit(CreateJob {
            new,
            actor: actor.clone(),
            policy: p.clone(),
            now,
        })
        .await?;
    if saved.owner_id != actor.user_id {
        return view_in(state, &Scope::All, saved.id).await;
    }
    // The row as written is the row as stored: no need to read it back.
    let owner = UserRef {
        id: actor.user_id,
        username: actor.username.clone(),
        display_name: actor.display_name.clone(),
    };
    Ok(view_with(state, &saved, &x, owner))
}

/// One queued customer create: what [`insert_new`] needs of its request.
#[derive(Clone)]
pub(crate) struct CreateJob {
    new: NewCustomer,
    actor: Actor,
    policy: Arc<PolicyInForce>,
    now: DateTime<Utc>,
}

pub(crate) type CreateQueue = GroupCommit<CreateJob, customers::Model>;

/// Creates arriving together per commit, at most: a batch is written with
/// multi-row statements, so a few hundred stay well within a millisecond's work.
const CREATE_BATCH: usize = 256;

fn create_queue(state: &AppState) -> Result<Arc<CreateQueue>> {
    state.slot(|| {
        GroupCommit::start(
            state.db.clone(),
            &state.config.database_url(),
            CREATE_BATCH,
            Arc::new(|txn, jobs| Box::pin(insert_jobs(txn, jobs))),
        )
    })
}

/// Writes a batch of creates: one [`insert_new`] per run of jobs by the same
/// actor under the same policy (the audit entries name who created each).
async fn insert_jobs(
    txn: &DatabaseTransaction,
    jobs: Vec<CreateJob>,
) -> Result<Vec<customers::Model>> {
    let mut saved = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter().peekable();
    while let Some(first) = jobs.next() {
        let mut run = vec![first.new];
        while let Some(next) = jobs.next_if(|j| {
            j.actor.user_id == first.actor.user_id && j.policy.version == first.policy.version
        }) {
            run.push(next.new);
        }
        let policy = &first.policy.policy;
        saved.extend(
            insert_new(txn, policy, &first.actor, run, first.now, "create", &|_| {}).await?,
        );
    }
    Ok(saved)
}

/// Edits a customer the actor may change; 409 when `version` is stale.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: CustomerInput,
) -> Result<CustomerView> {
    // Scope first: an out-of-scope customer is 404 whatever the body says.
    let existing = editable(state, actor, id).await?;
    let Some(version) = input.version else {
        return Err(FieldError::new("version", "error.required").into());
    };
    // A stale edit is told so before anything else about it (checked again
    // under the row lock below).
    if existing.version != version {
        return Err(Error::StaleVersion);
    }
    let p = state.policy();
    let policy = &p.policy;
    let mut c = existing.clone();
    apply_input(&mut c, &input, &policy.customers, false)?;
    if input.owner_id.is_some_and(|o| o != existing.owner_id) {
        return Err(FieldError::new("owner_id", "error.owner_use_transfer").into());
    }
    let contacts_now = store::contacts_of(&state.db, id).await?;
    // Duplicates are the name's and the credit code's business: an edit of
    // the address does not ask again about a same-name customer confirmed
    // before.
    let name_changed = c.name_norm != existing.name_norm;
    if name_changed || c.credit_code != existing.credit_code {
        let confirmed = input.confirm_duplicates || !name_changed;
        check_duplicates(state, &c, &[], Some(id), confirmed).await?;
    }
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let current = store::get_for_update(&txn, &Scope::All, id)
        .await?
        .ok_or(Error::NotFound)?;
    if current.version != version {
        return Err(Error::StaleVersion);
    }
    c.version = current.version + 1;
    c.updated_at = now;
    let saved = c
        .clone()
        .into_active_model()
        .reset_all()
        .update(&txn)
        .await
        .map_err(unique_violation_to_conflict)?;
    let shared = store::shared_with(&txn, id).await?;
    let terms = terms_for(&saved, &contacts_now, &shared);
    store::set_terms(&txn, id, saved.owner_id, saved.owner_id, &terms).await?;
    let saved = refresh_completeness(&txn, policy, saved, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(now, &actor.audit_actor(), "update", "customer", id)
            .diff(&snapshot(&current), &snapshot(&saved))
            .reason(input.reason.clone()),
    )
    .await?;
    txn.commit().await?;
    view(state, &saved).await
}

// ------------------------------------------------------------------ search

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct CustomerFilter {
    /// Code, name substring, pinyin initials or full pinyin, phone, credit code.
    /// An exact code, credit code or phone ranks first, then the names that
    /// start with a name text, then the chosen sort.
    pub q: Option<String>,
    pub customer_type: Option<String>,
    pub stage: Option<String>,
    pub region: Option<String>,
    pub industry: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    pub owner_id: Option<i64>,
    pub grade: Option<String>,
    pub tag: Option<String>,
    /// Only customers whose archive is past its deadline.
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    pub overdue: Option<bool>,
    /// `updated` (default, newest first), `code`, `name`, `created`; prefix `-` to reverse.
    pub sort: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    pub page: Option<u64>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    pub per_page: Option<u64>,
}

impl CustomerFilter {
    pub fn paging(&self) -> Paging {
        Paging::new(self.page, self.per_page)
    }

    /// The filters that choose one value of one column, in one list for the
    /// index terms, the row conditions and the page's links.
    pub(crate) fn choices(&self) -> [ChoiceFilter<'_>; 5] {
        use customers::Column as C;
        fn choice<'a>(
            term: &'static str,
            param: &'static str,
            column: customers::Column,
            value: &'a Option<String>,
        ) -> ChoiceFilter<'a> {
            let value = value.as_deref().filter(|s| !s.is_empty());
            ChoiceFilter {
                term,
                param,
                column,
                value,
            }
        }
        [
            choice(
                "type",
                "customer_type",
                C::CustomerType,
                &self.customer_type,
            ),
            choice("stage", "stage", C::Stage, &self.stage),
            choice("region", "region", C::Region, &self.region),
            choice("industry", "industry", C::Industry, &self.industry),
            choice("grade", "grade", C::Grade, &self.grade),
        ]
    }
}

/// One of [`CustomerFilter::choices`]: its field in the `f:` index terms
/// (`model::filter_term`), its query parameter, its column and the value
/// chosen, if any.
pub(crate) struct ChoiceFilter<'a> {
    pub term: &'static str,
    pub param: &'static str,
    pub column: customers::Column,
    pub value: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerSummary {
    pub id: i64,
    pub code: String,
    pub full_name: String,
    pub short_name: Option<String>,
    pub mnemonic: String,
    pub customer_type: String,
    pub stage: String,
    pub region: Option<String>,
    pub grade: Option<String>,
    pub owner_id: i64,
    pub owner_name: String,
    pub completeness: i32,
    pub tags: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

/// One page of the customers the actor may see, filtered and sorted.
pub async fn search(
    state: &AppState,
    actor: &Actor,
    filter: &CustomerFilter,
) -> Result<(Vec<CustomerSummary>, Total)> {
    let plan = filtered_plan(state, actor, filter).await?;
    let sort = filter.sort.as_deref().unwrap_or("-updated");
    // Counted only up to the policy's cap, beside the page rather than before it.
    let cap = u64::from(state.policy().policy.limits.list_count_cap);
    let count = async {
        match plan.known_total {
            Some(t) => Ok(Total::up_to(t, cap)),
            None => crate::platform::list::count_up_to(&state.reads, plan.count.clone(), cap).await,
        }
    };
    let page = async {
        // The exact code, credit code or phone typed ranks before the sort.
        let first = match &plan.first {
            Some(exact) => {
                let q = store::order(plan.page.clone().filter(exact.clone()), sort);
                store::rows(&state.reads, q, 0, store::MAX_EXACT_MATCHES).await?
            }
            None => Vec::new(),
        };
        let paging = filter.paging();
        let (offset, per_page) = (paging.offset(), paging.per_page);
        let first_len = first.len() as u64;
        let mut rows: Vec<customers::Model> = first
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(per_page).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        let mut rest = per_page - rows.len() as u64;
        let ids: Vec<i64> = first.iter().map(|c| c.id).collect();
        let mut not_first = sea_orm::Condition::all().add(customers::Column::Id.is_not_in(ids));
        let mut skip = offset.saturating_sub(first_len);
        // Then the names that start with the text typed, in the chosen order.
        if let Some(starts) = &plan.starts {
            if rest > 0 {
                let cond = sea_orm::Condition::all()
                    .add(starts.cond.clone())
                    .add(not_first.clone());
                let walk = starts.walk.as_ref();
                // Few starts are a list of ids, which one query sorts: per scope
                // part, each owner's walk would read the whole list again.
                let parts = walk.and(plan.parts.as_deref());
                let found = tier_page(state, &plan, parts, cond, walk, sort, skip, rest).await?;
                let n = found.len() as u64;
                // A page that ends them knows how many there are; one past them counts them.
                let before = match n {
                    0 => starts_up_to(state, &plan.page, starts, skip).await?,
                    _ => skip + n,
                };
                rows.extend(found);
                skip = skip.saturating_sub(before);
                rest -= n;
            }
            not_first = not_first.add(starts.others.clone());
        }
        if rest > 0 {
            let walk = plan.walk.as_ref();
            let parts = plan.parts.as_deref();
            rows.extend(tier_page(state, &plan, parts, not_first, walk, sort, skip, rest).await?);
        }
        Ok::<_, Error>(rows)
    };
    let (total, rows) = tokio::try_join!(async { count.await.map_err(Error::from) }, page)?;
    let owner_ids: Vec<i64> = rows.iter().map(|c| c.owner_id).collect();
    let owners = store::display_names(&state.db, &owner_ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        out.push(CustomerSummary {
            id: c.id,
            code: c.code,
            full_name: c.full_name,
            short_name: c.short_name,
            mnemonic: c.mnemonic,
            customer_type: c.customer_type,
            stage: c.stage,
            region: c.region,
            grade: c.grade,
            owner_id: c.owner_id,
            owner_name: owners.get(&c.owner_id).cloned().unwrap_or_default(),
            completeness: c.completeness,
            tags: split_tags(&c.tags),
            updated_at: c.updated_at,
        });
    }
    Ok((out, total))
}

/// The customers the actor may see that match the filter (search text and
/// list filters; not sorted or paged): what the list shows and exports write.
pub(crate) async fn filtered(
    state: &AppState,
    actor: &Actor,
    filter: &CustomerFilter,
) -> Result<Select<customers::Entity>> {
    Ok(filtered_plan(state, actor, filter).await?.count)
}

/// How a search is answered (see [`filtered_plan`]).
struct SearchPlan {
    /// The matches, for the page (not sorted or paged).
    page: Select<customers::Entity>,
    /// The same matches, as the count reads them.
    count: Select<customers::Entity>,
    /// The total when the term index alone knows it.
    known_total: Option<u64>,
    /// The matches that rank before the chosen sort: those whose code,
    /// credit code or phone is exactly what was typed (few by nature).
    first: Option<sea_orm::Condition>,
    /// The matches in any scope, and the scope in parts (see
    /// [`store::scope_parts`]): a page sorted by time or name reads each
    /// part along its owner's index.
    unscoped: Select<customers::Entity>,
    parts: Option<Vec<sea_orm::Condition>>,
    /// A common text's page walks the sort index (see [`tier_page`]).
    walk: Option<Walk>,
    /// A name text's matches whose name starts with it: they rank after
    /// `first` and before the others.
    starts: Option<Starts>,
}

/// The matches of a name text whose full or short name starts with it.
struct Starts {
    /// Them, among the page's matches: their ids when the index finds
    /// few, else the row test that a walk applies.
    cond: sea_orm::Condition,
    /// The other matches.
    others: sea_orm::Condition,
    /// When they are common, their page walks the sort index.
    walk: Option<Walk>,
    /// Their terms, when they are common and these count them exactly (a
    /// start of up to four characters, and no filter the index does not
    /// hold); few are counted on their rows.
    counted: Option<store::TermQuery>,
}

/// How many matches start with the text, when there are no more than
/// `skip` (a page past them): on the index when it counts them exactly;
/// else on the rows of the index's candidates (a longer text's first
/// four characters may be common while the text starts few names), and
/// only past [`MAX_SORTED_MATCHES`] candidates on the rows in scope.
async fn starts_up_to(
    state: &AppState,
    page: &Select<customers::Entity>,
    starts: &Starts,
    skip: u64,
) -> Result<u64> {
    if let Some(terms) = &starts.counted {
        return terms.count_up_to(&state.reads, skip).await;
    }
    let mut q = page.clone().filter(starts.cond.clone());
    if let Some(walk) = &starts.walk {
        let ids = walk
            .terms
            .ids_up_to(&state.reads, MAX_SORTED_MATCHES)
            .await?;
        if (ids.len() as u64) < MAX_SORTED_MATCHES {
            q = q.filter(store::id_among(state.db.get_database_backend(), &ids));
        }
    }
    Ok(crate::platform::list::count_up_to(&state.reads, q, skip)
        .await?
        .count)
}

/// How far a common text's page walks before it sorts the index's matches.
struct Walk {
    /// The text with the scope and filters, for its matches' ids.
    terms: store::TermQuery,
    /// The drive limit ([`drive_limit`]): the walk reads at most twice
    /// as many rows of the sort order, and a page sorts up to as many
    /// matches by id.
    limit: u64,
    /// The terms' matches read already: the first of them, or all.
    ids: Vec<i64>,
    /// Whether `ids` are all of them.
    all: bool,
}

/// The filtered query for a page and for its count, and the total when
/// the index alone knows it.
///
/// A name or pinyin text is a [`store::TermQuery`] with the scope and the
/// owner filter in it, answered one of two ways, whichever reads fewer rows:
/// a *rare* text (fewer than [`drive_limit`] matches) takes its matches'
/// ids from the index and sorts only them; a *common* text walks the list's
/// sort index and tests each row's search columns (`model::search_columns`)
/// until the page is full, which for a common text is soon. Either way the
/// total comes from the same index query, capped, unless a filter the
/// index does not hold (stage, type, tag, overdue…) asks the rows.
async fn filtered_plan(
    state: &AppState,
    actor: &Actor,
    filter: &CustomerFilter,
) -> Result<SearchPlan> {
    let scope = read_scope(state, actor).await?;
    // Filters and text; the scope is added last, whole or in parts.
    let mut q = customers::Entity::find();
    let mut known_total = None;
    let mut first = None;
    // The one filter the index does not hold: it depends on the time.
    let overdue = filter.overdue == Some(true);
    let limit = drive_limit(
        filter.paging(),
        store::max_id(&state.reads).await?,
        state.db.get_database_backend(),
    );
    let cap = u64::from(state.policy().policy.limits.list_count_cap);
    let backend = state.db.get_database_backend();
    // Who may hold the text: the scope and the owner filter, as index terms.
    let mut holders = store::scope_query(&state.db, &scope).await?;
    if let Some(o) = filter.owner_id {
        holders = holders.all([model::owner_term(o)]);
    }
    for choice in filter.choices() {
        if let Some(v) = choice.value {
            holders = holders.all([model::filter_term(choice.term, v)]);
        }
    }
    if let Some(t) = filter
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        holders = holders.all([model::filter_term("tag", t)]);
    }
    let mut text_cond: Option<sea_orm::Condition> = None;
    // What the count reads instead, when that is fewer rows.
    let mut count_cond: Option<sea_orm::Condition> = None;
    let mut driven = false;
    let mut walk = None;
    let mut starts = None;
    let query = filter
        .q
        .as_deref()
        .map(model::query_terms)
        .filter(|q| !matches!(q, model::SearchQuery::Name { text, .. } if text.is_empty()));
    if let Some(query) = query {
        let plan = match query {
            model::SearchQuery::CreditCode(code) => {
                TextPlan::row(sea_orm::Condition::all().add(customers::Column::CreditCode.eq(code)))
            }
            model::SearchQuery::Code(code) => {
                first = Some(sea_orm::Condition::all().add(customers::Column::Code.eq(&code)));
                let column = customers::Column::Code;
                let holders = store::starts_with_count(&state.reads, column, &code, limit).await?;
                TextPlan::row(store::starts_with(column, &code, holders >= limit))
            }
            model::SearchQuery::Phone(digits) => {
                // A role that sees phones masked may not confirm a number by
                // searching for it: its digits find credit codes only.
                let phones = may_see_phones(&state.policy().policy.customers, actor);
                let phone_prefix = format!("t:{digits}");
                if phones {
                    // Read first, as a list: joined to the page's ids as a
                    // subquery, PostgreSQL tested the term on every term row
                    // of each customer (12 ms for 13) instead of looking it up.
                    let exact = store::TermQuery::default().all([phone_prefix.clone()]);
                    let ids = exact
                        .ids_up_to(&state.reads, store::MAX_EXACT_MATCHES)
                        .await?;
                    first = Some(store::id_among(backend, &ids));
                }
                let (credit, whole) = model::credit_term(&digits);
                let mut row = sea_orm::Condition::any().add(store::starts_with(
                    customers::Column::CreditCode,
                    &digits,
                    true,
                ));
                let mut prefixes = Vec::new();
                if phones {
                    let started = store::TermQuery::default().prefix(phone_prefix.clone());
                    row = row.add(store::id_in(started.ids(backend)));
                    prefixes.push(phone_prefix);
                }
                let terms = store::TermQuery::default()
                    .any_or_prefix([credit], prefixes)
                    .and(holders.clone());
                text_plan(state, &terms, row, whole, limit, cap).await?
            }
            model::SearchQuery::Pinyin(py) => {
                let (term, whole) = model::pinyin_term(&py);
                let row = store::pinyin_prefix(backend, &py);
                let terms = store::TermQuery::default().all([term]).and(holders.clone());
                text_plan(state, &terms, row, whole, limit, cap).await?
            }
            model::SearchQuery::Name { terms, text } => {
                // A longer text's start is looked up by its first four
                // characters alone (one term, cheap) and checked on the row.
                let (start, whole) = model::name_start_term(&text);
                let start_terms = store::TermQuery::default()
                    .all([start])
                    .and(holders.clone());
                let row = store::name_starts(backend, &text);
                let contains = store::name_contains(backend, &text);
                // Up to four characters the terms say what the row does;
                // longer, a name may hold every run of four but not the text.
                let text_whole = text.chars().count() <= model::NAME_TERM_CHARS;
                let holders = holders.clone();
                let plan = async {
                    let terms = if text_whole || backend != sea_orm::DbBackend::Postgres {
                        terms
                    } else {
                        rarest(state, terms, limit).await?
                    };
                    let terms = store::TermQuery::default().all(terms).and(holders);
                    text_plan(state, &terms, contains, text_whole, limit, cap).await
                };
                // The starts and the text are two reads of the index, side by side.
                let (found, plan) =
                    tokio::try_join!(start_terms.ids_up_to(&state.reads, limit), plan)?;
                starts = if found.is_empty() {
                    None
                } else if (found.len() as u64) < limit {
                    let mut cond = store::id_among(backend, &found);
                    if !whole {
                        cond = cond.add(row.clone());
                    }
                    Some(Starts {
                        cond,
                        others: row.not(),
                        walk: None,
                        counted: None,
                    })
                } else {
                    Some(Starts {
                        cond: row.clone(),
                        others: row.not(),
                        counted: (whole && !overdue).then(|| start_terms.clone()),
                        walk: Some(Walk {
                            terms: start_terms,
                            limit,
                            ids: found,
                            all: false,
                        }),
                    })
                };
                plan
            }
        };
        known_total = plan.total.filter(|_| !overdue);
        driven = plan.driven;
        count_cond = plan.count;
        walk = plan.walk;
        text_cond = Some(plan.cond);
    }
    // No text: the scope and filters alone are counted on the index.
    if text_cond.is_none() && !holders.is_empty() && !overdue {
        known_total = Some(holders.count_up_to(&state.reads, cap + 1).await?);
    }
    for choice in filter.choices() {
        if let Some(v) = choice.value {
            q = q.filter(choice.column.eq(v));
        }
    }
    if let Some(o) = filter.owner_id {
        q = q.filter(customers::Column::OwnerId.eq(o));
    }
    if let Some(t) = filter
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        q = q.filter(customers::Column::Tags.contains(format!(",{t},")));
    }
    if filter.overdue == Some(true) {
        let now = state.clock.now();
        q = q.filter(archive_overdue(now));
    }
    let counted = match count_cond.or_else(|| text_cond.clone()) {
        Some(cond) => q.clone().filter(cond),
        None => q.clone(),
    };
    if let Some(cond) = text_cond {
        q = q.filter(cond);
    }
    let page = q.clone().filter(store::visible(&scope));
    Ok(SearchPlan {
        count: counted.filter(store::visible(&scope)),
        page,
        parts: if driven {
            None
        } else {
            store::scope_parts(&state.db, &scope).await?
        },
        unscoped: q,
        known_total,
        first,
        walk,
        starts,
    })
}

/// A page of the plan's matches that also meet `cond`, sorted. Near the
/// top of a list by time or name, the first of each scope part in `parts`, merged
/// (each part reads its owner's index in that order: teams are regional
/// and names start with the city, so one walk of every customer's order
/// passes other teams' rows by the hundred thousand); else one query.
///
/// A common text's matches are walked along the sort index, first only as
/// far as a page of evenly spread matches needs (twice over; each part as
/// far in its own order); when they gather elsewhere in
/// that order (a city sorted by name), the index's matches are sorted
/// instead, up to [`MAX_SORTED_MATCHES`]; only a text both commoner and
/// gathered walks on. By name, the stretches of the order that hold most
/// matches ([`stretches_of`]) are found first, and when there are such,
/// only they are walked.
#[allow(clippy::too_many_arguments)]
async fn tier_page(
    state: &AppState,
    plan: &SearchPlan,
    parts: Option<&[sea_orm::Condition]>,
    cond: sea_orm::Condition,
    walk: Option<&Walk>,
    sort: &str,
    skip: u64,
    rest: u64,
) -> Result<Vec<customers::Model>> {
    let merged =
        parts.filter(|_| store::merges_parts(sort) && skip + rest <= store::MAX_MERGED_ROWS);
    // The rows that also meet `cond`, `take` of them after `skip`; with
    // `bound`, each part (or the whole) only as far as its first `bound` rows.
    let walked = |cond: sea_orm::Condition, bound: Option<u64>, skip: u64, rest: u64| async move {
        let Some(parts) = merged else {
            let mut q = plan.page.clone().filter(cond);
            if let Some(rows) = bound {
                q = q.filter(store::within_first(sort, rows, None));
            }
            return store::sorted_rows(&state.reads, q, sort, skip, rest).await;
        };
        let mut each = Vec::with_capacity(parts.len());
        for part in parts {
            let mut q = plan
                .unscoped
                .clone()
                .filter(part.clone())
                .filter(cond.clone());
            if let Some(rows) = bound {
                q = q.filter(store::within_first(sort, rows, Some(part)));
            }
            each.push(store::sorted_rows(&state.reads, q, sort, 0, skip + rest).await?);
        }
        Ok(store::merge_sorted(each, sort, skip, rest))
    };
    // Only a name order gathers a text inside an owner's part (names start
    // with the city); by time it is spread, and each part's walk is short.
    let Some(walk) = walk.filter(|_| merged.is_none() || store::gathers_text(sort)) else {
        return walked(cond, None, skip, rest).await;
    };
    // The index's matches, up to as many as a page sorts.
    let matches = || async {
        Ok::<_, Error>(match walk.all {
            true => std::borrow::Cow::Borrowed(walk.ids.as_slice()),
            false => std::borrow::Cow::Owned(
                walk.terms
                    .ids_up_to(&state.reads, MAX_SORTED_MATCHES)
                    .await?,
            ),
        })
    };
    let backend = state.db.get_database_backend();
    let take = skip + rest;
    // By name, the matches mostly in a few stretches of the order: those
    // stretches walked, the few outside sorted, the lists merged. Tried
    // before the walk from the start, which such matches would defeat.
    if store::gathers_text(sort)
        && take <= store::MAX_MERGED_ROWS
        && let Some((stretches, outside)) = stretches_of(state, walk).await?
    {
        let mut lists = Vec::with_capacity(stretches.len() + 1);
        if !outside.is_empty() {
            let q = plan
                .page
                .clone()
                .filter(cond.clone())
                .filter(store::id_among(backend, &outside));
            lists.push(store::sorted_rows(&state.reads, q, sort, 0, take).await?);
        }
        for stretch in &stretches {
            let within = sea_orm::Condition::all()
                .add(cond.clone())
                .add(store::in_stretch(stretch));
            lists.push(walked(within, None, 0, take).await?);
        }
        return Ok(store::merge_sorted(lists, sort, skip, rest));
    }
    let bound = walk.limit.saturating_mul(2);
    let found = walked(cond.clone(), Some(bound), skip, rest).await?;
    if found.len() as u64 == rest {
        return Ok(found);
    }
    let ids = matches().await?;
    if (ids.len() as u64) < MAX_SORTED_MATCHES {
        let q = plan
            .page
            .clone()
            .filter(cond)
            .filter(store::id_among(backend, &ids));
        return store::sorted_rows(&state.reads, q, sort, skip, rest).await;
    }
    walked(cond, None, skip, rest).await
}

/// How many of a text's matches [`stretches_of`] reads the name order keys of.
const NAME_SAMPLE: usize = 256;

/// The most stretches of the name order a page walks for one text.
const MAX_STRETCHES: usize = 4;

/// The stretches of the name order ([`model::name_stretches`]) that hold
/// the walk's matches but for a few, and those few, which the index finds
/// as the matches that hold none of the stretches' terms, and which the
/// page sorts by id: no more than twice the walk's drive limit (as many as
/// a rare text's page sorts, twice: short names that match lie all over
/// the order, 1,791 of 唐山's 16,678 `ts`, and sorting them costs a
/// tenth of sorting all). The stretches are chosen from a sample of the
/// matches the walk has read (the first of them, when not all: a team's
/// are its first owners', whose cities are the team's). `None` when the
/// matches spread, or the few are more.
async fn stretches_of(
    state: &AppState,
    walk: &Walk,
) -> Result<Option<(Vec<model::NameStretch>, Vec<i64>)>> {
    let ids = &walk.ids;
    let outside = usize::try_from(walk.limit.saturating_mul(2)).unwrap_or(usize::MAX);
    if walk.all && ids.len() <= outside {
        return Ok(None);
    }
    let step = (ids.len() / NAME_SAMPLE).max(1);
    let sample: Vec<i64> = ids
        .iter()
        .step_by(step)
        .take(NAME_SAMPLE)
        .copied()
        .collect();
    let keys = store::name_keys(&state.reads, &sample).await?;
    // As many of the sample outside as would be `outside` of all (of
    // at least as many as were read).
    let allowed = keys.len() * outside / ids.len().max(1);
    let Some(stretches) = model::name_stretches(&keys, MAX_STRETCHES, allowed) else {
        return Ok(None);
    };
    let few = walk
        .terms
        .clone()
        .none(stretches.iter().map(|s| s.term.clone()))
        .ids_up_to(&state.reads, outside as u64 + 1)
        .await?;
    if few.len() > outside {
        return Ok(None);
    }
    Ok(Some((stretches, few)))
}

/// The run of a longer name text that the fewest customers hold (each
/// counted up to `limit`), which PostgreSQL looks the text up by, the row
/// checking the rest. Given every run, its planner guesses their common
/// matches as if the runs were independent, far too few for runs that go
/// together (有限公 and 限公司), and hashes a common run's entries
/// (860,000 at a million customers) instead of stopping at the page.
async fn rarest(state: &AppState, terms: Vec<String>, limit: u64) -> Result<Vec<String>> {
    let mut best: Option<(u64, String)> = None;
    for term in terms {
        let held = store::TermQuery::default()
            .all([term.clone()])
            .count_up_to(&state.reads, limit)
            .await?;
        if best.as_ref().is_none_or(|(n, _)| held < *n) {
            best = Some((held, term));
        }
    }
    Ok(best.map(|(_, term)| term).into_iter().collect())
}

/// The most matches of a text a page sorts itself, rather than walking
/// the sort index: each is one row read by id (2–7 µs at a million
/// customers), where a walk past gathered matches reads hundreds of
/// thousands of rows.
const MAX_SORTED_MATCHES: u64 = 20_000;

/// How many matches a text may have for the index to drive its search:
/// about where reading them costs what walking the sort index costs. A
/// text held by `h` of `n` customers fills a page of `k` after about
/// `k·n/h` rows of the walk, and sorting its matches reads `h` rows by id,
/// each [`row_by_id_cost`] walked rows: the two meet at `h = √(k·n/cost)`.
fn drive_limit(
    paging: crate::platform::list::Paging,
    customers: u64,
    backend: sea_orm::DbBackend,
) -> u64 {
    let k = paging.offset().saturating_add(paging.per_page).max(1);
    let meet = (k.saturating_mul(customers) as f64 / row_by_id_cost(backend)).sqrt() as u64;
    meet.clamp(200, 50_000)
}

/// What reading a row by id costs, in rows of a walk along an index that
/// holds the search columns. On PostgreSQL a row by id is a descent of the
/// primary key and a heap visit (8 µs each for 4,290 of a team's rows at a
/// million customers, all in shared buffers), where a walk reads the index
/// alone; SQLite reads the row in place from its mapped file.
fn row_by_id_cost(backend: sea_orm::DbBackend) -> f64 {
    if backend == sea_orm::DbBackend::Postgres {
        8.0
    } else {
        1.0
    }
}

/// A name or pinyin text's condition, and its total when the index knows
/// it. `terms` is the text with the scope and filters; `whole` says
/// whether they say all that `row` does (a name of three or more
/// characters, or pinyin past the terms' letters, also needs `row`).
///
/// Fewer than `limit` matches of `terms`: their ids (rare text). More: the
/// row test alone, which the page walks (common text); its total is the
/// number of the terms' matches, read once up to the list's cap, and when
/// the terms are not the whole text and stop below the cap, those matches
/// are tested and counted instead (exact).
async fn text_plan(
    state: &AppState,
    terms: &store::TermQuery,
    row: sea_orm::Condition,
    whole: bool,
    limit: u64,
    cap: u64,
) -> Result<TextPlan> {
    let backend = state.db.get_database_backend();
    // The ids are read once, as far as the count needs them: past the cap
    // their number is the capped total; below it, all of them are here for
    // the count (exact on the index when `whole`, else tested on the rows).
    let reach = limit.max(cap.saturating_add(1));
    let ids = terms.ids_up_to(&state.reads, reach).await?;
    let found = ids.len() as u64;
    if found < limit {
        let mut cond = store::id_among(backend, &ids);
        if !whole {
            cond = cond.add(row);
        }
        return Ok(TextPlan {
            cond,
            count: None,
            total: whole.then_some(found),
            driven: true,
            walk: None,
        });
    }
    let (total, count) = if whole || found > cap {
        // Past the cap the terms' count bounds the total: "10,000+".
        (Some(found), None)
    } else {
        let cond = store::id_among(backend, &ids).add(row.clone());
        (None, Some(cond))
    };
    Ok(TextPlan {
        cond: row,
        count,
        total,
        driven: false,
        walk: Some(Walk {
            terms: terms.clone(),
            limit,
            // Fewer than `reach`: every match.
            all: found < reach,
            ids,
        }),
    })
}

/// What [`text_plan`] decided.
struct TextPlan {
    /// The matches, as the page reads them.
    cond: sea_orm::Condition,
    /// The matches as the count reads them, when not `cond`.
    count: Option<sea_orm::Condition>,
    /// The total in scope, when the index knows it.
    total: Option<u64>,
    /// The matches are a list of ids, which one query sorts (no scope parts).
    driven: bool,
    /// How a common text's page walks the sort index.
    walk: Option<Walk>,
}

impl TextPlan {
    /// A condition the rows answer alone (a code, a credit code).
    fn row(cond: sea_orm::Condition) -> TextPlan {
        TextPlan {
            cond,
            count: None,
            total: None,
            driven: false,
            walk: None,
        }
    }
}

// ------------------------------------------------------------------ transfer, sharing

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TransferInput {
    /// The customers to move; or `from_owner_id` with `all: true`.
    #[serde(default)]
    pub customer_ids: Vec<i64>,
    pub from_owner_id: Option<i64>,
    #[serde(default)]
    pub all: bool,
    pub to_owner_id: Option<i64>,
    /// Mandatory (e.g. 员工调离).
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransferResult {
    pub transferred: usize,
}

/// Moves customers to another owner in one audited transaction (员工调离).
pub async fn transfer(
    state: &AppState,
    actor: &Actor,
    input: TransferInput,
) -> Result<TransferResult> {
    if !(actor.has_role(Role::Admin) || actor.has_role(Role::SalesManager)) {
        return Err(Error::Forbidden);
    }
    let mut f = Fields::default();
    if input.reason.trim().is_empty() {
        f.push(FieldError::new("reason", "error.required"));
    }
    let to = match input.to_owner_id {
        None => {
            f.push(FieldError::new("to_owner_id", "error.required"));
            None
        }
        Some(target) => match owner_choice(state, actor, Some(target)).await {
            Ok(id) => Some(id),
            Err(Error::Invalid(fs)) => {
                for e in fs {
                    f.push(FieldError {
                        field: "to_owner_id".into(),
                        ..e
                    });
                }
                None
            }
            Err(e) => return Err(e),
        },
    };
    let scope = edit_scope(state, actor).await?;
    let mut ids: Vec<i64> = input.customer_ids.clone();
    if input.all {
        match input.from_owner_id {
            Some(from) => {
                let rows = store::scoped(&scope)
                    .filter(customers::Column::OwnerId.eq(from))
                    .all(&state.db)
                    .await?;
                ids.extend(rows.into_iter().map(|c| c.id));
            }
            None => f.push(FieldError::new("from_owner_id", "error.required")),
        }
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() && f.0.is_empty() {
        f.push(FieldError::new("customer_ids", "error.nothing_selected"));
    }
    f.finish()?;
    let Some(to) = to else {
        return Err(FieldError::new("to_owner_id", "error.owner_invalid").into());
    };
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let mut moved = 0;
    for id in &ids {
        // Every customer must be within the actor's edit scope: one outside
        // fails the whole transfer as "not found".
        let c = store::get_for_update(&txn, &scope, *id)
            .await?
            .ok_or(Error::NotFound)?;
        if c.owner_id == to {
            continue;
        }
        let from = c.owner_id;
        let version = c.version;
        let mut am = c.into_active_model();
        am.owner_id = Set(to);
        am.version = Set(version + 1);
        am.updated_at = Set(now);
        let moved_customer = am.update(&txn).await?;
        reindex(&txn, &moved_customer, from).await?;
        customer_owner_history::Entity::update_many()
            .col_expr(
                customer_owner_history::Column::ToAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(customer_owner_history::Column::CustomerId.eq(*id))
            .filter(customer_owner_history::Column::ToAt.is_null())
            .exec(&txn)
            .await?;
        customer_owner_history::ActiveModel {
            customer_id: Set(*id),
            owner_id: Set(to),
            from_at: Set(now),
            to_at: Set(None),
            reason: Set(Some(input.reason.trim().to_owned())),
            changed_by: Set(actor.username.clone()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            AuditEntry::new(now, &actor.audit_actor(), "transfer", "customer", id)
                .change("owner_id", from, to)
                .reason(Some(input.reason.trim().to_owned())),
        )
        .await?;
        moved += 1;
    }
    txn.commit().await?;
    Ok(TransferResult { transferred: moved })
}

/// Shares a customer with another user (who then sees and edits it).
pub async fn share(state: &AppState, actor: &Actor, id: i64, user_id: i64) -> Result<()> {
    let c = editable(state, actor, id).await?;
    let user = auth::store::user_by_id(&state.db, user_id).await?;
    if !user.is_some_and(|u| u.active) || user_id == c.owner_id {
        return Err(FieldError::new("user_id", "error.share_user").into());
    }
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let exists = customer_shares::Entity::find_by_id((id, user_id))
        .one(&txn)
        .await?
        .is_some();
    if !exists {
        customer_shares::ActiveModel {
            customer_id: Set(id),
            user_id: Set(user_id),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        reindex(&txn, &c, c.owner_id).await?;
        audit::record(
            &txn,
            AuditEntry::new(now, &actor.audit_actor(), "share", "customer", id).change(
                "shared_with",
                serde_json::Value::Null,
                user_id,
            ),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

pub async fn unshare(state: &AppState, actor: &Actor, id: i64, user_id: i64) -> Result<()> {
    let c = editable(state, actor, id).await?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let deleted = customer_shares::Entity::delete_by_id((id, user_id))
        .exec(&txn)
        .await?;
    if deleted.rows_affected > 0 {
        reindex(&txn, &c, c.owner_id).await?;
        audit::record(
            &txn,
            AuditEntry::new(now, &actor.audit_actor(), "unshare", "customer", id).change(
                "shared_with",
                user_id,
                serde_json::Value::Null,
            ),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

// ------------------------------------------------------------------ contacts

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactView {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub title: Option<String>,
    /// Masked (138****5678) for roles the policy does not let see phones.
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub decision_role: Option<String>,
    pub notes: Option<String>,
    pub version: i64,
}

fn contact_view(c: &contacts::Model, show_phones: bool) -> ContactView {
    ContactView {
        id: c.id,
        customer_id: c.customer_id,
        name: c.name.clone(),
        title: c.title.clone(),
        phones: c
            .phones
            .split(", ")
            .filter(|p| !p.is_empty())
            .map(|p| {
                if show_phones {
                    p.to_owned()
                } else {
                    model::mask_phone(p)
                }
            })
            .collect(),
        email: c.email.clone(),
        wechat: c.wechat.clone(),
        birthday: c.birthday,
        decision_role: c.decision_role.clone(),
        notes: c.notes.clone(),
        version: c.version,
    }
}

pub async fn contacts(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
) -> Result<Vec<ContactView>> {
    visible(state, actor, customer_id).await?;
    let show = may_see_phones(&state.policy().policy.customers, actor);
    Ok(store::contacts_of(&state.db, customer_id)
        .await?
        .iter()
        .map(|c| contact_view(c, show))
        .collect())
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ContactInput {
    pub version: Option<i64>,
    pub name: Option<String>,
    pub title: Option<String>,
    /// One or more numbers separated by commas.
    pub phones: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    /// YYYY-MM-DD
    pub birthday: Option<String>,
    pub decision_role: Option<String>,
    pub notes: Option<String>,
}

fn apply_contact(
    c: &mut contacts::Model,
    input: &ContactInput,
    policy: &CustomerPolicy,
    creating: bool,
) -> Result<()> {
    let mut f = Fields::default();
    match clean(&input.name) {
        Some(Some(n)) => c.name = n,
        Some(None) => f.push(FieldError::new("name", "error.required")),
        None if creating => f.push(FieldError::new("name", "error.required")),
        None => {}
    }
    if let Some(v) = clean(&input.title) {
        c.title = v;
    }
    if let Some(v) = clean(&input.phones) {
        c.phones = parse_phones(&v.unwrap_or_default(), "phones", &mut f.0).join(", ");
    }
    if let Some(v) = clean(&input.email) {
        if v.as_deref()
            .is_some_and(|e| !e.contains('@') || e.contains(' '))
        {
            f.push(FieldError::new("email", "error.email_format"));
        }
        c.email = v;
    }
    if let Some(v) = clean(&input.wechat) {
        c.wechat = v;
    }
    if let Some(v) = parse_date(&mut f, "birthday", &clean(&input.birthday)) {
        c.birthday = v;
    }
    if let Some(v) = clean(&input.decision_role) {
        if let Some(code) = &v
            && !choice_ok(policy, "decision_roles", code)
        {
            f.push(FieldError::new("decision_role", "error.choice_unknown").arg("value", code));
        }
        c.decision_role = v;
    }
    if let Some(v) = clean(&input.notes) {
        c.notes = v;
    }
    f.finish()
}

/// Completeness counts the business licence among the attachments.
pub(crate) async fn after_attachments_change(
    txn: &impl ConnectionTrait,
    policy: &Policy,
    customer_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let c = store::get_any(txn, customer_id)
        .await?
        .ok_or(Error::NotFound)?;
    refresh_completeness(txn, policy, c, now).await?;
    Ok(())
}

async fn after_contacts_change(
    txn: &impl ConnectionTrait,
    policy: &Policy,
    customer_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let c = store::get_any(txn, customer_id)
        .await?
        .ok_or(Error::NotFound)?;
    reindex(txn, &c, c.owner_id).await?;
    refresh_completeness(txn, policy, c, now).await?;
    Ok(())
}

pub async fn add_contact(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
    input: ContactInput,
) -> Result<ContactView> {
    editable(state, actor, customer_id).await?;
    let p = state.policy();
    let now = state.clock.now();
    let mut c = contacts::Model {
        id: 0,
        customer_id,
        name: String::new(),
        title: None,
        phones: String::new(),
        email: None,
        wechat: None,
        birthday: None,
        decision_role: None,
        notes: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    apply_contact(&mut c, &input, &p.policy.customers, true)?;
    let txn = db::begin_write(&state.db).await?;
    let mut am = c.into_active_model();
    am.id = sea_orm::NotSet;
    let saved = am.insert(&txn).await?;
    after_contacts_change(&txn, &p.policy, customer_id, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "contact_add",
            "customer",
            customer_id,
        )
        .change(
            "contact",
            serde_json::Value::Null,
            format!("{} #{}", saved.name, saved.id),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(contact_view(&saved, true))
}

pub async fn update_contact(
    state: &AppState,
    actor: &Actor,
    contact_id: i64,
    input: ContactInput,
) -> Result<ContactView> {
    let existing = store::contact(&state.db, contact_id)
        .await?
        .ok_or(Error::NotFound)?;
    editable(state, actor, existing.customer_id).await?;
    let Some(version) = input.version else {
        return Err(FieldError::new("version", "error.required").into());
    };
    let p = state.policy();
    let now = state.clock.now();
    let mut c = existing.clone();
    apply_contact(&mut c, &input, &p.policy.customers, false)?;
    let txn = db::begin_write(&state.db).await?;
    let current = store::contact_for_update(&txn, contact_id)
        .await?
        .ok_or(Error::NotFound)?;
    if current.version != version {
        return Err(Error::StaleVersion);
    }
    c.version = version + 1;
    c.updated_at = now;
    let saved = c.into_active_model().reset_all().update(&txn).await?;
    after_contacts_change(&txn, &p.policy, saved.customer_id, now).await?;
    let old = serde_json::to_value(contact_view(&current, true)).unwrap_or_default();
    let new = serde_json::to_value(contact_view(&saved, true)).unwrap_or_default();
    let mut changes = audit::diff(&old, &new);
    changes.remove("version");
    let mut entry = AuditEntry::new(
        now,
        &actor.audit_actor(),
        "contact_update",
        "customer",
        saved.customer_id,
    )
    .change("contact", saved.name.clone(), saved.name.clone());
    entry.changes.extend(
        changes
            .into_iter()
            .map(|(k, v)| (format!("contact.{k}"), v)),
    );
    audit::record(&txn, entry).await?;
    txn.commit().await?;
    Ok(contact_view(&saved, true))
}

pub async fn delete_contact(state: &AppState, actor: &Actor, contact_id: i64) -> Result<()> {
    let existing = store::contact(&state.db, contact_id)
        .await?
        .ok_or(Error::NotFound)?;
    editable(state, actor, existing.customer_id).await?;
    let p = state.policy();
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    contacts::Entity::delete_by_id(contact_id)
        .exec(&txn)
        .await?;
    after_contacts_change(&txn, &p.policy, existing.customer_id, now).await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "contact_delete",
            "customer",
            existing.customer_id,
        )
        .change(
            "contact",
            format!("{} #{}", existing.name, existing.id),
            serde_json::Value::Null,
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

// ------------------------------------------------------------------ interactions, visit plans

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InteractionView {
    pub id: i64,
    pub customer_id: i64,
    pub kind: String,
    pub occurred_on: NaiveDate,
    pub participants: Option<String>,
    pub summary: String,
    pub next_step: Option<String>,
    pub next_step_on: Option<NaiveDate>,
    pub created_by: UserRef,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct InteractionInput {
    /// visit, call, mail, meeting, wechat (policy list).
    pub kind: Option<String>,
    /// YYYY-MM-DD, not in the future.
    pub occurred_on: Option<String>,
    pub participants: Option<String>,
    pub summary: Option<String>,
    pub next_step: Option<String>,
    /// YYYY-MM-DD
    pub next_step_on: Option<String>,
    /// Completes this visit plan with the interaction.
    pub visit_plan_id: Option<i64>,
}

pub async fn interactions(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
) -> Result<Vec<InteractionView>> {
    visible(state, actor, customer_id).await?;
    let mut out = Vec::new();
    for i in store::interactions_of(&state.db, customer_id).await? {
        out.push(InteractionView {
            created_by: user_ref(&state.db, i.created_by_id).await?,
            id: i.id,
            customer_id: i.customer_id,
            kind: i.kind,
            occurred_on: i.occurred_on,
            participants: i.participants,
            summary: i.summary,
            next_step: i.next_step,
            next_step_on: i.next_step_on,
            created_at: i.created_at,
        });
    }
    Ok(out)
}

/// Whether the actor's roles may record interactions (policy `customers.interaction_roles`).
pub fn may_record_interactions(state: &AppState, actor: &Actor) -> bool {
    actor.has_any_role(&state.policy().policy.customers.interaction_roles)
}

/// Records a visit, call, mail, meeting or WeChat exchange on a customer the
/// actor sees, if its roles may (customer service logs calls too).
pub async fn add_interaction(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
    input: InteractionInput,
) -> Result<InteractionView> {
    visible(state, actor, customer_id).await?;
    if !may_record_interactions(state, actor) {
        return Err(Error::Forbidden);
    }
    let p = state.policy();
    let now = state.clock.now();
    let today = now.with_timezone(&p.policy.timezone()).date_naive();
    let mut f = Fields::default();
    let kind = clean(&input.kind).flatten().unwrap_or_default();
    if !choice_ok(&p.policy.customers, "interaction_kinds", &kind) {
        f.push(FieldError::new("kind", "error.choice_unknown").arg("value", &kind));
    }
    let occurred_on = match parse_date(&mut f, "occurred_on", &clean(&input.occurred_on)) {
        Some(Some(d)) if d > today => {
            f.push(FieldError::new("occurred_on", "error.date_future"));
            today
        }
        Some(Some(d)) => d,
        Some(None) | None => today,
    };
    let summary = clean(&input.summary).flatten();
    if summary.is_none() {
        f.push(FieldError::new("summary", "error.required"));
    }
    let next_step_on = parse_date(&mut f, "next_step_on", &clean(&input.next_step_on)).flatten();
    let plan = match input.visit_plan_id {
        Some(pid) => match store::visit_plan(&state.db, pid).await? {
            Some(plan) if plan.customer_id == customer_id && plan.status == "planned" => Some(plan),
            _ => {
                f.push(FieldError::new("visit_plan_id", "error.visit_plan_invalid"));
                None
            }
        },
        None => None,
    };
    f.finish()?;
    let txn = db::begin_write(&state.db).await?;
    let saved = interactions::ActiveModel {
        customer_id: Set(customer_id),
        kind: Set(kind),
        occurred_on: Set(occurred_on),
        participants: Set(clean(&input.participants).flatten()),
        summary: Set(summary.unwrap_or_default()),
        next_step: Set(clean(&input.next_step).flatten()),
        next_step_on: Set(next_step_on),
        created_by_id: Set(actor.user_id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if let Some(plan) = plan {
        let version = plan.version;
        let mut am = plan.into_active_model();
        am.status = Set("done".into());
        am.interaction_id = Set(Some(saved.id));
        am.version = Set(version + 1);
        am.updated_at = Set(now);
        am.update(&txn).await?;
    }
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "interaction_add",
            "customer",
            customer_id,
        )
        .change(
            "interaction",
            serde_json::Value::Null,
            format!("{} {} #{}", saved.kind, saved.occurred_on, saved.id),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(InteractionView {
        created_by: user_ref(&state.db, actor.user_id).await?,
        id: saved.id,
        customer_id,
        kind: saved.kind,
        occurred_on: saved.occurred_on,
        participants: saved.participants,
        summary: saved.summary,
        next_step: saved.next_step,
        next_step_on: saved.next_step_on,
        created_at: saved.created_at,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VisitPlanView {
    pub id: i64,
    pub customer_id: i64,
    pub planned_on: NaiveDate,
    pub purpose: String,
    pub assignee_id: i64,
    /// planned, done, cancelled
    pub status: String,
    pub interaction_id: Option<i64>,
    pub overdue: bool,
    pub version: i64,
}

fn plan_view(p: &visit_plans::Model, today: NaiveDate) -> VisitPlanView {
    VisitPlanView {
        id: p.id,
        customer_id: p.customer_id,
        planned_on: p.planned_on,
        purpose: p.purpose.clone(),
        assignee_id: p.assignee_id,
        status: p.status.clone(),
        interaction_id: p.interaction_id,
        overdue: p.status == "planned" && p.planned_on < today,
        version: p.version,
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct VisitPlanInput {
    /// YYYY-MM-DD
    pub planned_on: Option<String>,
    pub purpose: Option<String>,
    /// Defaults to the customer's owner.
    pub assignee_id: Option<i64>,
}

pub async fn visit_plans(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
) -> Result<Vec<VisitPlanView>> {
    visible(state, actor, customer_id).await?;
    let p = state.policy();
    let today = state
        .clock
        .now()
        .with_timezone(&p.policy.timezone())
        .date_naive();
    Ok(store::visit_plans_of(&state.db, customer_id)
        .await?
        .iter()
        .map(|v| plan_view(v, today))
        .collect())
}

pub async fn add_visit_plan(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
    input: VisitPlanInput,
) -> Result<VisitPlanView> {
    let c = editable(state, actor, customer_id).await?;
    let p = state.policy();
    let now = state.clock.now();
    let today = now.with_timezone(&p.policy.timezone()).date_naive();
    let mut f = Fields::default();
    let planned_on = match parse_date(&mut f, "planned_on", &clean(&input.planned_on)) {
        Some(Some(d)) => d,
        _ => {
            if clean(&input.planned_on).flatten().is_none() {
                f.push(FieldError::new("planned_on", "error.required"));
            }
            today
        }
    };
    let purpose = clean(&input.purpose).flatten();
    if purpose.is_none() {
        f.push(FieldError::new("purpose", "error.required"));
    }
    f.finish()?;
    let txn = db::begin_write(&state.db).await?;
    let saved = visit_plans::ActiveModel {
        customer_id: Set(customer_id),
        planned_on: Set(planned_on),
        purpose: Set(purpose.unwrap_or_default()),
        assignee_id: Set(input.assignee_id.unwrap_or(c.owner_id)),
        status: Set("planned".into()),
        interaction_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditEntry::new(
            now,
            &actor.audit_actor(),
            "visit_plan_add",
            "customer",
            customer_id,
        )
        .change(
            "visit_plan",
            serde_json::Value::Null,
            format!("{} {}", saved.planned_on, saved.purpose),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(plan_view(&saved, today))
}

// ------------------------------------------------------------------ history

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OwnerPeriod {
    pub owner: UserRef,
    pub from_at: DateTime<Utc>,
    pub to_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// The user name of who made the change (or the CLI actor as recorded).
    pub changed_by: String,
    /// Their display name.
    pub changed_by_name: String,
}

pub async fn owners(state: &AppState, actor: &Actor, customer_id: i64) -> Result<Vec<OwnerPeriod>> {
    visible(state, actor, customer_id).await?;
    let mut out = Vec::new();
    for h in store::owner_history(&state.db, customer_id).await? {
        out.push(OwnerPeriod {
            owner: user_ref(&state.db, h.owner_id).await?,
            from_at: h.from_at,
            to_at: h.to_at,
            reason: h.reason,
            changed_by_name: auth::store::user_by_name(&state.db, &h.changed_by)
                .await?
                .map_or_else(|| h.changed_by.clone(), |u| u.display_name),
            changed_by: h.changed_by,
        });
    }
    Ok(out)
}

/// The customer's change history (newest first, at most this many entries).
const HISTORY_LIMIT: u64 = 200;

/// The customer's audit entries as stored (codes and ids), for the API; contact phones are
/// masked for roles that do not see phones.
pub async fn history(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
) -> Result<Vec<crate::platform::audit_api::AuditView>> {
    visible(state, actor, customer_id).await?;
    let mut entries =
        crate::platform::audit_api::history_of(&state.db, "customer", customer_id, HISTORY_LIMIT)
            .await?;
    if !may_see_phones(&state.policy().policy.customers, actor) {
        for e in &mut entries {
            mask_phone_changes(&mut e.changes);
        }
    }
    Ok(entries)
}

/// Fields of a customer's history that hold contact phones.
fn is_phone_field(field: &str) -> bool {
    matches!(field, "contact.phones" | "contact_phone" | "phones")
}

fn mask_phone_changes(changes: &mut serde_json::Value) {
    fn mask(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = model::mask_phone(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(mask),
            _ => {}
        }
    }
    if let Some(o) = changes.as_object_mut() {
        for (_, pair) in o.iter_mut().filter(|(k, _)| is_phone_field(k)) {
            mask(pair);
        }
    }
}

/// The customer's history as people read it: the policy's labels, people's names, phones
/// masked for roles that do not see them.
pub async fn history_lines(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
) -> Result<Vec<crate::platform::history::Line>> {
    visible(state, actor, customer_id).await?;
    let p = state.policy();
    let labels = HistoryLabels {
        policy: &p.policy.customers,
        lang: i18n::current(),
        phones: may_see_phones(&p.policy.customers, actor),
    };
    crate::platform::history::lines(state, "customer", customer_id, HISTORY_LIMIT, &labels).await
}

/// How a customer's audit entries read.
struct HistoryLabels<'a> {
    policy: &'a CustomerPolicy,
    lang: i18n::Lang,
    phones: bool,
}

impl HistoryLabels<'_> {
    fn choice(&self, list: &str, code: &str) -> Option<String> {
        self.policy
            .choices(list)
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.name(self.lang.as_str()).to_owned())
    }
}

impl crate::platform::history::Labels for HistoryLabels<'_> {
    fn action(&self, action: &str) -> String {
        let key = format!("customers.action_{action}");
        crate::platform::history::label_or(self.lang, &key, action)
    }

    fn field(&self, field: &str) -> String {
        let key = match field.strip_prefix("contact.") {
            Some(f) => format!("contact.{f}"),
            None => format!("customer.field.{field}"),
        };
        crate::platform::history::label_or(self.lang, &key, field)
    }

    fn value(&self, field: &str, value: &str) -> Option<String> {
        // "name #12": the record's own id is no business of the reader.
        let without_id = |v: &str| match v.rsplit_once(" #") {
            Some((head, id)) if id.chars().all(|c| c.is_ascii_digit()) => head.to_owned(),
            _ => v.to_owned(),
        };
        // "visit 2026-03-01 #5", "business_licence 执照.pdf (1024 bytes, sha256 …)": the
        // leading code is a policy choice.
        let leading = |list: &str, v: &str| {
            let v = without_id(v);
            let v = v.split(" (").next().unwrap_or(&v).to_owned();
            match v.split_once(' ') {
                Some((code, rest)) => {
                    format!(
                        "{} {rest}",
                        self.choice(list, code).unwrap_or(code.to_owned())
                    )
                }
                None => self.choice(list, &v).unwrap_or(v),
            }
        };
        let list = match field {
            "customer_type" => "types",
            "stage" => "stages",
            "region" => "regions",
            "industry" => "industries",
            "scale" => "scales",
            "source" => "sources",
            "contact.decision_role" => "decision_roles",
            "interaction" => return Some(leading("interaction_kinds", value)),
            "attachment" => return Some(leading("attachment_kinds", value)),
            "contact" => return Some(without_id(value)),
            f if is_phone_field(f) && !self.phones => {
                return Some(
                    value
                        .split('、')
                        .map(model::mask_phone)
                        .collect::<Vec<_>>()
                        .join("、"),
                );
            }
            _ => return None,
        };
        self.choice(list, value)
    }

    fn is_user(&self, field: &str) -> bool {
        matches!(field, "owner_id" | "shared_with")
    }
}

/// Users a customer can be shared with or transferred to (active sales staff).
pub async fn sales_staff(state: &AppState) -> Result<Vec<UserRef>> {
    Ok(auth::store::all_users(&state.db)
        .await?
        .into_iter()
        .filter(|u| {
            let roles = auth::model::parse_roles(&u.roles);
            u.active && (roles.contains(&Role::SalesRep) || roles.contains(&Role::SalesManager))
        })
        .map(|u| UserRef {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
        })
        .collect())
}

/// The shares of a customer.
pub async fn shares(state: &AppState, actor: &Actor, customer_id: i64) -> Result<Vec<UserRef>> {
    visible(state, actor, customer_id).await?;
    let mut out = Vec::new();
    for s in store::shares_of(&state.db, customer_id).await? {
        out.push(user_ref(&state.db, s.user_id).await?);
    }
    Ok(out)
}

/// Customers whose required archive fields are still missing after their deadline.
fn archive_overdue(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(
            sea_orm::Condition::all()
                .add(customers::Column::BasicComplete.eq(false))
                .add(customers::Column::BasicDueAt.lt(now)),
        )
        .add(
            sea_orm::Condition::all()
                .add(customers::Column::FullComplete.eq(false))
                .add(customers::Column::FullDueAt.lt(now)),
        )
}

/// Home-page tasks: the actor's own customers whose archive is past its
/// deadline, and its visits that are overdue.
pub async fn tasks_for(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<crate::platform::http::shell::Task>> {
    use crate::platform::http::shell::Task;
    let lang = i18n::current();
    let now = state.clock.now();
    let mut tasks = Vec::new();
    let overdue = customers::Entity::find()
        .filter(customers::Column::OwnerId.eq(actor.user_id))
        .filter(archive_overdue(now))
        .count(&state.db)
        .await?;
    if overdue > 0 {
        tasks.push(Task {
            title: i18n::tr(
                lang,
                "customers.task_archives",
                &[("count", overdue.to_string())],
            ),
            detail: i18n::tr(lang, "customers.task_archives_detail", &[]),
            href: format!("/customers?overdue=true&owner_id={}", actor.user_id),
            overdue: true,
        });
    }
    let today = now
        .with_timezone(&state.policy().policy.timezone())
        .date_naive();
    let plans = visit_plans::Entity::find()
        .filter(visit_plans::Column::AssigneeId.eq(actor.user_id))
        .filter(visit_plans::Column::Status.eq("planned"))
        .filter(visit_plans::Column::PlannedOn.lte(today))
        .all(&state.db)
        .await?;
    for p in plans.iter().take(20) {
        let name = store::get_any(&state.db, p.customer_id)
            .await?
            .map(|c| c.full_name)
            .unwrap_or_default();
        tasks.push(Task {
            title: i18n::tr(
                lang,
                "customers.task_visit",
                &[("name", name), ("date", p.planned_on.to_string())],
            ),
            detail: p.purpose.clone(),
            href: format!("/customers/{}#visits", p.customer_id),
            overdue: p.planned_on < today,
        });
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_parsed_to_fen_without_floats() {
        assert_eq!(
            crate::platform::input::parse_yuan("5000000"),
            Some(500_000_000)
        );
        assert_eq!(
            crate::platform::input::parse_yuan("5,000,000.50"),
            Some(500_000_050)
        );
        assert_eq!(crate::platform::input::parse_yuan("0.01"), Some(1));
        assert_eq!(crate::platform::input::parse_yuan("1.001"), None);
        assert_eq!(crate::platform::input::parse_yuan("-5"), None);
        assert_eq!(crate::platform::input::parse_yuan("五百万"), None);
        assert_eq!(
            crate::platform::input::parse_yuan("92233720368547758.07"),
            None
        );
        assert_eq!(fen_to_yuan(500_000_050), "5000000.50");
    }

    #[test]
    fn tags_round_trip() {
        let tags = vec!["重点".to_owned(), "华东".to_owned()];
        assert_eq!(split_tags(&join_tags(&tags)), tags);
        assert_eq!(split_tags(&join_tags(&[])), Vec::<String>::new());
    }
}
