//! Pages of consignment and custody agreements: the lists (with a create form), each
//! agreement's page with a form per action its viewer may take, and the printable monthly
//! settlement statement (with its .xlsx download).
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::{self, Action};
use super::{
    Abilities, AgreementFilter, ConsignmentInput, ConsignmentSummary, ConsignmentView,
    CustodyGoodsInput, CustodyInput, CustodySummary, CustodyView, PaymentInput, ReceiptInput,
    ReturnInput, SaleInput, SettlementInput, StatementView, VersionInput,
};
use crate::platform::auth::Actor;
use crate::platform::error::{Error, FieldError, Result};
use crate::platform::http::extract::{FormBody, QueryParams};
use crate::platform::http::shell::{FormErrors, Shell, render, see_other};
use crate::platform::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/property/consignment",
            get(consignment_list).post(consignment_create),
        )
        .route("/property/consignment/{id}", get(consignment_detail))
        .route("/property/consignment/{id}/edit", post(consignment_edit))
        .route("/property/consignment/{id}/receipts", post(receipt_submit))
        .route("/property/consignment/{id}/sales", post(sale_submit))
        .route("/property/consignment/{id}/returns", post(return_submit))
        .route(
            "/property/consignment/{id}/return-unsold",
            post(return_unsold_submit),
        )
        .route("/property/consignment/{id}/end", post(consignment_end))
        .route(
            "/property/consignment/{id}/settlements",
            post(settlement_submit),
        )
        .route("/property/consignment/{id}/statement", get(statement_page))
        .route("/property/custody", get(custody_list).post(custody_create))
        .route("/property/custody/{id}", get(custody_detail))
        .route("/property/custody/{id}/edit", post(custody_edit))
        .route("/property/custody/{id}/check-ins", post(check_in_submit))
        .route("/property/custody/{id}/check-outs", post(check_out_submit))
        .route("/property/custody/{id}/payments", post(payment_submit))
        .route("/property/custody/{id}/end", post(custody_end))
}

/// The field errors of a failed form as (label, message), labels translated.
fn error_list(shell: &Shell, errors: &FormErrors) -> Vec<(String, String)> {
    errors
        .fields
        .iter()
        .map(|(f, m)| {
            let key = format!("agreements.field.{f}");
            let label = shell.t(&key);
            (if label == key { f.clone() } else { label }, m.clone())
        })
        .collect()
}

fn today(state: &AppState) -> String {
    super::today(state).to_string()
}

/// A customer typed in a form (its code, or its id), resolved within the actor's scope.
async fn resolve_customer(state: &AppState, actor: &Actor, typed: &str) -> Result<i64> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(FieldError::new("customer_id", "error.required").into());
    }
    let (found, _) = crate::customers::search(
        state,
        actor,
        &crate::customers::CustomerFilter {
            q: Some(typed.to_owned()),
            per_page: Some(5),
            ..Default::default()
        },
    )
    .await?;
    found
        .into_iter()
        .find(|c| c.code == typed || c.id.to_string() == typed || c.full_name == typed)
        .map(|c| c.id)
        .ok_or_else(|| {
            FieldError::new("customer_id", "agreements.error.customer_unknown")
                .arg("value", typed)
                .into()
        })
}

/// A create form: the customer as typed, the rest as the service reads it.
#[derive(Debug, Clone, Default, Deserialize)]
struct CreateForm {
    #[serde(default)]
    customer: String,
    #[serde(default)]
    start_date: Option<String>,
    #[serde(default)]
    end_date: Option<String>,
    #[serde(default)]
    cost_ratio: Option<String>,
    #[serde(default)]
    consignment_ratio: Option<String>,
    #[serde(default)]
    monthly_fee: Option<String>,
    #[serde(default)]
    late_fee_rate: Option<String>,
    #[serde(default)]
    payment_due_day: Option<String>,
    #[serde(default)]
    notes: Option<String>,
}

impl CreateForm {
    fn due_day(&self) -> Result<Option<i64>> {
        match self.payment_due_day.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => t
                .parse()
                .map(Some)
                .map_err(|_| FieldError::new("payment_due_day", "agreements.error.due_day").into()),
        }
    }
}

/// Customers the actor may pick on a create form (a datalist; typing a code works as well).
async fn customer_choices(state: &AppState, actor: &Actor) -> Result<Vec<(String, String)>> {
    let (found, _) = crate::customers::search(
        state,
        actor,
        &crate::customers::CustomerFilter {
            per_page: Some(200),
            sort: Some("name".into()),
            ..Default::default()
        },
    )
    .await?;
    Ok(found.into_iter().map(|c| (c.code, c.full_name)).collect())
}

// ------------------------------------------------------------------ consignment list

#[derive(Template)]
#[template(path = "property/agreements/consignment_list.html")]
struct ConsignmentListPage {
    shell: Shell,
    filter: AgreementFilter,
    items: Vec<ConsignmentSummary>,
    total: u64,
    can_create: bool,
    customers: Vec<(String, String)>,
    form: CreateForm,
    errors: Vec<(String, String)>,
    general: Option<String>,
    defaults: (String, String),
    today: String,
}

impl ConsignmentListPage {
    fn opt<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().unwrap_or("")
    }
}

async fn consignment_list_page(
    state: &AppState,
    actor: &Actor,
    filter: AgreementFilter,
    form: CreateForm,
    errors: FormErrors,
) -> Result<ConsignmentListPage> {
    let (items, total) = super::consignments(state, actor, &filter).await?;
    let shell = Shell::new("consignment.title");
    let can_create = model::may(actor, Action::Manage);
    let p = state.policy();
    let mut form = form;
    if form.customer.is_empty()
        && let Some(id) = filter.customer_id
        && let Ok(labels) = crate::customers::labels(&state.db, &[id]).await
        && let Some(l) = labels.get(&id)
    {
        form.customer = l.code.clone();
    }
    Ok(ConsignmentListPage {
        errors: error_list(&shell, &errors),
        general: errors.general,
        customers: if can_create {
            customer_choices(state, actor).await?
        } else {
            Vec::new()
        },
        defaults: (
            model::ratio_text(p.policy.consignment.default_cost_ratio),
            model::ratio_text(p.policy.consignment.default_consignment_ratio),
        ),
        today: today(state),
        shell,
        filter,
        items,
        total,
        can_create,
        form,
    })
}

async fn consignment_list(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(filter): QueryParams<AgreementFilter>,
) -> Result<Response> {
    render(
        &consignment_list_page(
            &state,
            &actor,
            filter,
            CreateForm::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

async fn consignment_create(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(f): FormBody<CreateForm>,
) -> Result<Response> {
    if !model::may(&actor, Action::Manage) {
        return Err(Error::Forbidden);
    }
    let result = async {
        let customer_id = resolve_customer(&state, &actor, &f.customer).await?;
        super::create_consignment(
            &state,
            &actor,
            ConsignmentInput {
                customer_id: Some(customer_id),
                start_date: f.start_date.clone(),
                end_date: f.end_date.clone(),
                cost_ratio: f.cost_ratio.clone(),
                consignment_ratio: f.consignment_ratio.clone(),
                notes: f.notes.clone(),
                ..Default::default()
            },
        )
        .await
    }
    .await;
    match result {
        Ok(a) => Ok(see_other(&format!(
            "/property/consignment/{}",
            a.summary.id
        ))),
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            let page = consignment_list_page(&state, &actor, AgreementFilter::default(), f, errors)
                .await?;
            Ok((status, render(&page)?).into_response())
        }
    }
}

// ------------------------------------------------------------------ consignment detail

#[derive(Template)]
#[template(path = "property/agreements/consignment_detail.html")]
struct ConsignmentPage {
    shell: Shell,
    a: ConsignmentView,
    can: Abilities,
    /// Which form failed ("" when none), to show its errors beside it.
    failed: &'static str,
    errors: Vec<(String, String)>,
    general: Option<String>,
    /// The month a statement link opens by default (this month).
    this_month: String,
    /// The last month that has ended (what is usually closed next).
    last_month: String,
    now_local: String,
}

impl ConsignmentPage {
    fn kind(&self, kind: &str) -> String {
        self.shell.t(&format!("consignment.kind.{kind}"))
    }
    fn status(&self) -> String {
        self.shell.t(&format!(
            "agreements.status.{}",
            self.a.summary.status.as_str()
        ))
    }
}

async fn consignment_page(
    state: &AppState,
    actor: &Actor,
    id: i64,
    failed: &'static str,
    errors: FormErrors,
) -> Result<ConsignmentPage> {
    let a = super::consignment(state, actor, id).await?;
    let can = super::abilities(state, actor, a.summary.customer.id).await;
    let shell = Shell::new("consignment.detail");
    let today = super::today(state);
    let month = model::YearMonth::of(today);
    let now_local = state
        .clock
        .now()
        .with_timezone(&state.policy().policy.timezone())
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    Ok(ConsignmentPage {
        errors: error_list(&shell, &errors),
        general: errors.general,
        shell,
        a,
        can,
        failed,
        this_month: month.to_string(),
        last_month: month.prev().to_string(),
        now_local,
    })
}

async fn consignment_detail(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response> {
    render(&consignment_page(&state, &actor, id, "", FormErrors::default()).await?)
}

/// Back to the agreement's page after a form, or the page again with the form's errors.
async fn after_consignment_form<T>(
    state: &AppState,
    actor: &Actor,
    id: i64,
    form: &'static str,
    r: Result<T>,
) -> Result<Response> {
    match r {
        Ok(_) => Ok(see_other(&format!("/property/consignment/{id}#{form}"))),
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            let page = consignment_page(state, actor, id, form, errors).await?;
            Ok((status, render(&page)?).into_response())
        }
    }
}

async fn consignment_edit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<ConsignmentInput>,
) -> Result<Response> {
    let input = ConsignmentInput {
        customer_id: None,
        ..f
    };
    let r = super::update_consignment(&state, &actor, id, input).await;
    after_consignment_form(&state, &actor, id, "terms", r).await
}

async fn receipt_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<ReceiptInput>,
) -> Result<Response> {
    let r = super::receive(&state, &actor, id, f).await;
    after_consignment_form(&state, &actor, id, "receipt", r).await
}

async fn sale_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<SaleInput>,
) -> Result<Response> {
    let r = super::sell(&state, &actor, id, f).await;
    after_consignment_form(&state, &actor, id, "sale", r).await
}

async fn return_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<ReturnInput>,
) -> Result<Response> {
    let r = super::give_back(&state, &actor, id, f).await;
    after_consignment_form(&state, &actor, id, "return", r).await
}

async fn return_unsold_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<VersionInput>,
) -> Result<Response> {
    let r = super::return_unsold(&state, &actor, id, f).await;
    after_consignment_form(&state, &actor, id, "return", r).await
}

async fn consignment_end(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<VersionInput>,
) -> Result<Response> {
    let r = super::end_consignment(&state, &actor, id, f).await;
    after_consignment_form(&state, &actor, id, "terms", r).await
}

async fn settlement_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<SettlementInput>,
) -> Result<Response> {
    match super::close_month(&state, &actor, id, f).await {
        Ok(s) => Ok(see_other(&format!(
            "/property/consignment/{id}/statement?month={}",
            s.month
        ))),
        Err(e) => after_consignment_form(&state, &actor, id, "statements", Err::<(), _>(e)).await,
    }
}

// ------------------------------------------------------------------ statement

#[derive(Template)]
#[template(path = "property/agreements/statement.html")]
struct StatementPage {
    shell: Shell,
    s: StatementView,
    can_settle: bool,
    month_over: bool,
}

#[derive(Debug, Deserialize)]
struct StatementQuery {
    #[serde(default)]
    month: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

async fn statement_page(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    QueryParams(q): QueryParams<StatementQuery>,
) -> Result<Response> {
    let s = super::statement(&state, &actor, id, &q.month).await?;
    match q.format.as_deref().map(str::trim).unwrap_or("") {
        "" | "html" => {}
        "xlsx" => return super::api::xlsx_download(&s),
        _ => return Err(FieldError::new("format", "agreements.error.format").into()),
    }
    let can_settle = super::allowed(&state, &actor, s.agreement.customer.id, Action::Settle).await;
    let month_over = model::YearMonth::parse(&s.month)
        .is_some_and(|m| m.next().first_day() <= super::today(&state));
    render(&StatementPage {
        shell: Shell::new("consignment.statement_title"),
        s,
        can_settle,
        month_over,
    })
}

// ------------------------------------------------------------------ custody list

#[derive(Template)]
#[template(path = "property/agreements/custody_list.html")]
struct CustodyListPage {
    shell: Shell,
    filter: AgreementFilter,
    items: Vec<CustodySummary>,
    total: u64,
    can_create: bool,
    customers: Vec<(String, String)>,
    form: CreateForm,
    errors: Vec<(String, String)>,
    general: Option<String>,
    /// The policy's late-fee rate and due day for a new agreement.
    defaults: (String, u32),
    today: String,
}

impl CustodyListPage {
    fn opt<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().unwrap_or("")
    }
}

async fn custody_list_page(
    state: &AppState,
    actor: &Actor,
    filter: AgreementFilter,
    form: CreateForm,
    errors: FormErrors,
) -> Result<CustodyListPage> {
    let (items, total) = super::custodies(state, actor, &filter).await?;
    let shell = Shell::new("custody.title");
    let can_create = model::may(actor, Action::Manage);
    let p = state.policy();
    let mut form = form;
    if form.customer.is_empty()
        && let Some(id) = filter.customer_id
        && let Ok(labels) = crate::customers::labels(&state.db, &[id]).await
        && let Some(l) = labels.get(&id)
    {
        form.customer = l.code.clone();
    }
    Ok(CustodyListPage {
        errors: error_list(&shell, &errors),
        general: errors.general,
        customers: if can_create {
            customer_choices(state, actor).await?
        } else {
            Vec::new()
        },
        defaults: (
            p.policy
                .custody
                .default_late_fee_rate
                .normalize()
                .to_string(),
            p.policy.custody.default_payment_due_day,
        ),
        today: today(state),
        shell,
        filter,
        items,
        total,
        can_create,
        form,
    })
}

async fn custody_list(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(filter): QueryParams<AgreementFilter>,
) -> Result<Response> {
    render(
        &custody_list_page(
            &state,
            &actor,
            filter,
            CreateForm::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

async fn custody_create(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(f): FormBody<CreateForm>,
) -> Result<Response> {
    if !model::may(&actor, Action::Manage) {
        return Err(Error::Forbidden);
    }
    let result = async {
        let customer_id = resolve_customer(&state, &actor, &f.customer).await?;
        super::create_custody(
            &state,
            &actor,
            CustodyInput {
                customer_id: Some(customer_id),
                start_date: f.start_date.clone(),
                end_date: f.end_date.clone(),
                monthly_fee: f.monthly_fee.clone(),
                late_fee_rate: f.late_fee_rate.clone(),
                payment_due_day: f.due_day()?,
                notes: f.notes.clone(),
                ..Default::default()
            },
        )
        .await
    }
    .await;
    match result {
        Ok(a) => Ok(see_other(&format!("/property/custody/{}", a.summary.id))),
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            let page =
                custody_list_page(&state, &actor, AgreementFilter::default(), f, errors).await?;
            Ok((status, render(&page)?).into_response())
        }
    }
}

// ------------------------------------------------------------------ custody detail

#[derive(Template)]
#[template(path = "property/agreements/custody_detail.html")]
struct CustodyPage {
    shell: Shell,
    a: CustodyView,
    can: Abilities,
    failed: &'static str,
    errors: Vec<(String, String)>,
    general: Option<String>,
    today: String,
}

impl CustodyPage {
    fn kind(&self, kind: &str) -> String {
        self.shell.t(&format!("custody.kind.{kind}"))
    }
    fn status(&self) -> String {
        self.shell.t(&format!(
            "agreements.status.{}",
            self.a.summary.status.as_str()
        ))
    }
}

#[derive(Debug, Default, Deserialize)]
struct AsOfQuery {
    #[serde(default)]
    as_of: Option<String>,
}

async fn custody_page(
    state: &AppState,
    actor: &Actor,
    id: i64,
    as_of: &Option<String>,
    failed: &'static str,
    errors: FormErrors,
) -> Result<CustodyPage> {
    let a = super::custody(state, actor, id, as_of).await?;
    let can = super::abilities(state, actor, a.summary.customer.id).await;
    let shell = Shell::new("custody.detail");
    Ok(CustodyPage {
        errors: error_list(&shell, &errors),
        general: errors.general,
        shell,
        a,
        can,
        failed,
        today: today(state),
    })
}

async fn custody_detail(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    QueryParams(q): QueryParams<AsOfQuery>,
) -> Result<Response> {
    render(&custody_page(&state, &actor, id, &q.as_of, "", FormErrors::default()).await?)
}

async fn after_custody_form<T>(
    state: &AppState,
    actor: &Actor,
    id: i64,
    form: &'static str,
    r: Result<T>,
) -> Result<Response> {
    match r {
        Ok(_) => Ok(see_other(&format!("/property/custody/{id}#{form}"))),
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            let page = custody_page(state, actor, id, &None, form, errors).await?;
            Ok((status, render(&page)?).into_response())
        }
    }
}

async fn custody_edit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<CustodyInput>,
) -> Result<Response> {
    let input = CustodyInput {
        customer_id: None,
        ..f
    };
    let r = super::update_custody(&state, &actor, id, input).await;
    after_custody_form(&state, &actor, id, "terms", r).await
}

async fn check_in_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<CustodyGoodsInput>,
) -> Result<Response> {
    let r = super::check_in(&state, &actor, id, f).await;
    after_custody_form(&state, &actor, id, "goods", r).await
}

async fn check_out_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<CustodyGoodsInput>,
) -> Result<Response> {
    let r = super::check_out(&state, &actor, id, f).await;
    after_custody_form(&state, &actor, id, "goods", r).await
}

async fn payment_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<PaymentInput>,
) -> Result<Response> {
    let r = super::pay(&state, &actor, id, f).await;
    after_custody_form(&state, &actor, id, "fees", r).await
}

async fn custody_end(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<VersionInput>,
) -> Result<Response> {
    let r = super::end_custody(&state, &actor, id, f).await;
    after_custody_form(&state, &actor, id, "terms", r).await
}
