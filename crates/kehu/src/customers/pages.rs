//! Customer pages: the list with search and filters, the detail page with
//! its tabs, create and edit forms, transfer, and the overdue-archive list.
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;

use super::api::FormatParam;
use super::io::{self, ImportOptions, ImportReport};
use super::{
    ContactInput, ContactView, CustomerFilter, CustomerInput, CustomerSummary, CustomerView,
    InteractionInput, InteractionView, OwnerPeriod, TransferInput, UserRef, VisitPlanInput,
    VisitPlanView,
};
use crate::platform::auth::model::{Authorized, ExportCustomers};
use crate::platform::auth::{Actor, Role};
use crate::platform::error::{Error, FieldError, Result};
use crate::platform::http::extract::{FormBody, QueryParams};
use crate::platform::http::shell::{FormErrors, Shell, render, see_other};
use crate::platform::sheet::{self, Format};
use crate::platform::state::AppState;
use crate::policy::{Choice, CustomerPolicy};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list_page))
        .route("/customers/new", get(new_page).post(create_submit))
        .route("/customers/import", get(import_page).post(import_submit))
        .route("/customers/import/template", get(template_download))
        .route("/customers/export", get(export_download))
        .route(
            "/customers/transfer",
            get(transfer_page).post(transfer_submit),
        )
        .route("/customers/{id}", get(detail_page))
        .route("/customers/{id}/edit", get(edit_page).post(edit_submit))
        .route("/customers/{id}/contacts", post(contact_submit))
        .route(
            "/customers/{id}/contacts/{contact}",
            post(contact_edit_submit),
        )
        .route(
            "/customers/{id}/contacts/{contact}/delete",
            post(contact_delete_submit),
        )
        .route("/customers/{id}/interactions", post(interaction_submit))
        .route("/customers/{id}/visit-plans", post(visit_plan_submit))
        .route("/customers/{id}/shares", post(share_submit))
        .route("/customers/{id}/attachments", post(attachment_submit))
        .route(
            "/customers/attachments/{id}/delete",
            post(attachment_delete),
        )
}

/// The policy's choice lists, for labels and selects.
pub struct Lists {
    policy: CustomerPolicy,
    lang: String,
}

impl Lists {
    fn new(state: &AppState, shell: &Shell) -> Lists {
        Lists {
            policy: state.policy().policy.customers.clone(),
            lang: shell.lang_code().to_owned(),
        }
    }
    pub fn of(&self, list: &str) -> &[Choice] {
        self.policy.choices(list)
    }
    pub fn name(&self, c: &Choice) -> String {
        c.name(&self.lang).to_owned()
    }
    /// The display name of a stored code (the code itself if the policy dropped it).
    pub fn label(&self, list: &str, code: &str) -> String {
        self.policy
            .choices(list)
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.name(&self.lang).to_owned())
            .unwrap_or_else(|| code.to_owned())
    }
    pub fn opt_label(&self, list: &str, code: &Option<String>) -> String {
        code.as_deref()
            .map(|c| self.label(list, c))
            .unwrap_or_default()
    }
}

// ------------------------------------------------------------------ list

#[derive(Template)]
#[template(path = "customers/list.html")]
struct ListPage {
    shell: Shell,
    lists: Lists,
    filter: CustomerFilter,
    items: Vec<CustomerSummary>,
    /// "1,234" or "10,000+".
    total: String,
    page: u64,
    pages: u64,
    query: String,
    owners: Vec<UserRef>,
    can_transfer: bool,
    can_create: bool,
    can_export: bool,
}

impl ListPage {
    fn opt<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().unwrap_or("")
    }
    /// Whether any filter besides the search box is in use (then they show).
    fn filtered(&self) -> bool {
        let f = &self.filter;
        [
            &f.customer_type,
            &f.stage,
            &f.region,
            &f.industry,
            &f.grade,
            &f.tag,
        ]
        .iter()
        .any(|v| v.as_deref().is_some_and(|s| !s.is_empty()))
            || f.owner_id.is_some()
            || f.sort.as_deref().is_some_and(|s| s != "-updated")
    }
    fn owner_selected(&self, id: &i64) -> bool {
        self.filter.owner_id == Some(*id)
    }
}

async fn list_page(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(filter): QueryParams<CustomerFilter>,
) -> Result<Response> {
    let (items, total) = super::search(&state, &actor, &filter).await?;
    let paging = filter.paging();
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let text = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    pairs.extend(text(&filter.q).map(|v| ("q", v)));
    for choice in filter.choices() {
        pairs.extend(choice.value.map(|v| (choice.param, v.to_owned())));
    }
    for (k, v) in [("tag", &filter.tag), ("sort", &filter.sort)] {
        pairs.extend(text(v).map(|v| (k, v)));
    }
    if let Some(o) = filter.owner_id {
        pairs.push(("owner_id", o.to_string()));
    }
    if filter.overdue == Some(true) {
        pairs.push(("overdue", "true".into()));
    }
    let shell = Shell::new(if filter.overdue == Some(true) {
        "customers.overdue_title"
    } else {
        "customers.title"
    });
    render(&ListPage {
        lists: Lists::new(&state, &shell),
        shell,
        page: paging.page,
        pages: paging.pages(total.count),
        query: serde_urlencoded::to_string(&pairs).unwrap_or_default(),
        filter,
        items,
        total: total.label(),
        owners: super::sales_staff(&state).await?,
        can_transfer: actor.has_role(Role::Admin) || actor.has_role(Role::SalesManager),
        can_create: super::may_create(&actor),
        can_export: io::may_export(&state, &actor),
    })
}

// ------------------------------------------------------------------ create / edit

#[derive(Template)]
#[template(path = "customers/form.html")]
struct FormPage {
    shell: Shell,
    lists: Lists,
    customer: Option<CustomerView>,
    v: CustomerForm,
    errors: FormErrors,
    owners: Vec<UserRef>,
    can_choose_owner: bool,
}

/// The form's fields as text, so a refused form comes back as typed.
#[derive(Debug, Clone, Default, Deserialize)]
struct CustomerForm {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    short_name: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    customer_type: String,
    #[serde(default)]
    industry: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    legal_representative: String,
    #[serde(default)]
    registered_capital: String,
    #[serde(default)]
    business_scope: String,
    #[serde(default)]
    scale: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    first_contact_date: String,
    #[serde(default)]
    cooperation_start_date: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    grade: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    contact_title: String,
    #[serde(default)]
    confirm_duplicates: Option<String>,
    #[serde(default)]
    reason: String,
}

impl CustomerForm {
    fn from_view(c: &CustomerView) -> CustomerForm {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        CustomerForm {
            version: Some(c.version),
            full_name: c.full_name.clone(),
            short_name: s(&c.short_name),
            credit_code: s(&c.credit_code),
            customer_type: c.customer_type.clone(),
            industry: s(&c.industry),
            region: s(&c.region),
            address: s(&c.address),
            legal_representative: s(&c.legal_representative),
            registered_capital: s(&c.registered_capital),
            business_scope: s(&c.business_scope),
            scale: s(&c.scale),
            stage: c.stage.clone(),
            source: s(&c.source),
            first_contact_date: c
                .first_contact_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            cooperation_start_date: c
                .cooperation_start_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            owner_id: c.owner.id.to_string(),
            tags: c.tags.join(", "),
            notes: s(&c.notes),
            grade: s(&c.grade),
            ..Default::default()
        }
    }

    fn input(&self, creating: bool) -> CustomerInput {
        let t = |s: &String| Some(s.clone());
        CustomerInput {
            version: self.version,
            full_name: t(&self.full_name),
            short_name: t(&self.short_name),
            credit_code: t(&self.credit_code),
            customer_type: t(&self.customer_type),
            industry: t(&self.industry),
            region: t(&self.region),
            address: t(&self.address),
            legal_representative: t(&self.legal_representative),
            registered_capital: t(&self.registered_capital),
            business_scope: t(&self.business_scope),
            scale: t(&self.scale),
            stage: t(&self.stage),
            source: t(&self.source),
            first_contact_date: t(&self.first_contact_date),
            cooperation_start_date: t(&self.cooperation_start_date),
            owner_id: if creating {
                self.owner_id.trim().parse().ok()
            } else {
                None
            },
            tags: t(&self.tags),
            notes: t(&self.notes),
            grade: t(&self.grade),
            contact_name: creating.then(|| self.contact_name.clone()),
            contact_phone: creating.then(|| self.contact_phone.clone()),
            contact_title: creating.then(|| self.contact_title.clone()),
            confirm_duplicates: self.confirm_duplicates.is_some(),
            reason: Some(self.reason.clone()),
        }
    }
}

async fn form_page(
    state: &AppState,
    actor: &Actor,
    customer: Option<CustomerView>,
    v: CustomerForm,
    errors: FormErrors,
) -> Result<FormPage> {
    let shell = Shell::new(if customer.is_some() {
        "customers.edit"
    } else {
        "customers.new"
    });
    Ok(FormPage {
        lists: Lists::new(state, &shell),
        shell,
        customer,
        v,
        errors,
        owners: super::sales_staff(state).await?,
        can_choose_owner: actor.has_role(Role::Admin) || actor.has_role(Role::SalesManager),
    })
}

async fn new_page(State(state): State<AppState>, actor: Actor) -> Result<Response> {
    if !super::may_create(&actor) {
        return Err(Error::Forbidden);
    }
    // New customers start in the policy's first stage (潜在).
    let stage = state
        .policy()
        .policy
        .customers
        .stages
        .first()
        .map(|c| c.code.clone())
        .unwrap_or_default();
    let v = CustomerForm {
        owner_id: actor.user_id.to_string(),
        stage,
        ..Default::default()
    };
    render(&form_page(&state, &actor, None, v, FormErrors::default()).await?)
}

async fn create_submit(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(f): FormBody<CustomerForm>,
) -> Result<Response> {
    match super::create(&state, &actor, f.input(true)).await {
        Ok(c) => Ok(see_other(&format!("/customers/{}", c.id))),
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            Ok((
                status,
                render(&form_page(&state, &actor, None, f, errors).await?)?,
            )
                .into_response())
        }
    }
}

async fn edit_page(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response> {
    let c = super::editable(&state, &actor, id).await?;
    let view = super::view(&state, &c).await?;
    let v = CustomerForm::from_view(&view);
    render(&form_page(&state, &actor, Some(view), v, FormErrors::default()).await?)
}

async fn edit_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<CustomerForm>,
) -> Result<Response> {
    match super::update(&state, &actor, id, f.input(false)).await {
        Ok(_) => Ok(see_other(&format!("/customers/{id}"))),
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            let c = super::editable(&state, &actor, id).await?;
            let view = super::view(&state, &c).await?;
            Ok((
                status,
                render(&form_page(&state, &actor, Some(view), f, errors).await?)?,
            )
                .into_response())
        }
    }
}

// ------------------------------------------------------------------ detail

#[derive(Template)]
#[template(path = "customers/detail.html")]
struct DetailPage {
    shell: Shell,
    lists: Lists,
    c: CustomerView,
    contacts: Vec<ContactView>,
    interactions: Vec<InteractionView>,
    plans: Vec<VisitPlanView>,
    history: Vec<crate::platform::history::Line>,
    owners: Vec<OwnerPeriod>,
    shares: Vec<UserRef>,
    staff: Vec<UserRef>,
    attachments: Vec<super::attachments::AttachmentView>,
    /// Other capabilities' sections (e.g. what the customer keeps in the factory).
    panels: Vec<crate::platform::capability::Panel>,
    can_edit: bool,
    can_record: bool,
    errors: FormErrors,
    today: String,
}

impl DetailPage {
    /// The file types the policy allows, for the file picker.
    fn accept(&self) -> String {
        self.lists
            .policy
            .attachment_types
            .iter()
            .map(|t| format!(".{t}"))
            .collect::<Vec<_>>()
            .join(",")
    }
    fn field_name(&self, f: &str) -> String {
        self.shell.t(&format!("customer.field.{f}"))
    }
}

async fn detail(
    state: &AppState,
    actor: &Actor,
    id: i64,
    errors: FormErrors,
) -> Result<DetailPage> {
    let c = super::visible(state, actor, id).await?;
    let can_edit = super::editable(state, actor, id).await.is_ok();
    let shell = Shell::new("customers.detail");
    let today = state
        .clock
        .now()
        .with_timezone(&state.policy().policy.timezone())
        .date_naive()
        .to_string();
    Ok(DetailPage {
        lists: Lists::new(state, &shell),
        shell,
        c: super::view(state, &c).await?,
        contacts: super::contacts(state, actor, id).await?,
        interactions: super::interactions(state, actor, id).await?,
        plans: super::visit_plans(state, actor, id).await?,
        history: super::history_lines(state, actor, id).await?,
        owners: super::owners(state, actor, id).await?,
        shares: super::shares(state, actor, id).await?,
        staff: super::sales_staff(state).await?,
        attachments: super::attachments::list(state, actor, id).await?,
        panels: crate::platform::capability::customer_panels(state, actor, id, can_edit).await?,
        can_edit,
        can_record: super::may_record_interactions(state, actor),
        errors,
        today,
    })
}

async fn detail_page(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response> {
    render(&detail(&state, &actor, id, FormErrors::default()).await?)
}

/// Renders the detail page again with a sub-form's errors, or goes back to it.
async fn after_sub_form(
    state: &AppState,
    actor: &Actor,
    id: i64,
    anchor: &str,
    r: Result<()>,
) -> Result<Response> {
    match r {
        Ok(()) => Ok(see_other(&format!("/customers/{id}#{anchor}"))),
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            Ok((status, render(&detail(state, actor, id, errors).await?)?).into_response())
        }
    }
}

async fn contact_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<ContactInput>,
) -> Result<Response> {
    let r = super::add_contact(&state, &actor, id, f).await.map(|_| ());
    after_sub_form(&state, &actor, id, "contacts", r).await
}

/// The contact, if it belongs to the customer in the address (404 otherwise).
async fn contact_of(state: &AppState, actor: &Actor, id: i64, contact: i64) -> Result<()> {
    let contacts = super::contacts(state, actor, id).await?;
    if contacts.iter().any(|c| c.id == contact) {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

async fn contact_edit_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, contact)): Path<(i64, i64)>,
    FormBody(f): FormBody<ContactInput>,
) -> Result<Response> {
    contact_of(&state, &actor, id, contact).await?;
    let r = super::update_contact(&state, &actor, contact, f)
        .await
        .map(|_| ());
    after_sub_form(&state, &actor, id, "contacts", r).await
}

async fn contact_delete_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, contact)): Path<(i64, i64)>,
) -> Result<Response> {
    contact_of(&state, &actor, id, contact).await?;
    let r = super::delete_contact(&state, &actor, contact).await;
    after_sub_form(&state, &actor, id, "contacts", r).await
}

async fn interaction_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<InteractionInput>,
) -> Result<Response> {
    let r = super::add_interaction(&state, &actor, id, f)
        .await
        .map(|_| ());
    after_sub_form(&state, &actor, id, "interactions", r).await
}

async fn visit_plan_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<VisitPlanInput>,
) -> Result<Response> {
    let r = super::add_visit_plan(&state, &actor, id, f)
        .await
        .map(|_| ());
    after_sub_form(&state, &actor, id, "visits", r).await
}

#[derive(Deserialize)]
struct ShareForm {
    #[serde(default)]
    user_id: Option<i64>,
    #[serde(default)]
    remove: Option<String>,
}

async fn share_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<ShareForm>,
) -> Result<Response> {
    let r = if f.remove.is_some() {
        super::unshare(&state, &actor, id, f.user_id.unwrap_or_default()).await
    } else {
        super::share(&state, &actor, id, f.user_id.unwrap_or_default()).await
    };
    after_sub_form(&state, &actor, id, "profile", r).await
}

// ------------------------------------------------------------------ transfer

#[derive(Template)]
#[template(path = "customers/transfer.html")]
struct TransferPage {
    shell: Shell,
    staff: Vec<UserRef>,
    errors: FormErrors,
    done: Option<usize>,
    from_owner_id: Option<i64>,
    to_owner_id: Option<i64>,
    codes: String,
    reason: String,
}

#[derive(Deserialize, Default)]
struct TransferForm {
    #[serde(default)]
    from_owner_id: String,
    #[serde(default)]
    to_owner_id: String,
    /// Customer codes or ids, one per line or comma-separated; empty with "all".
    #[serde(default)]
    codes: String,
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    reason: String,
}

fn require_transfer_role(actor: &Actor) -> Result<()> {
    if actor.has_role(Role::Admin) || actor.has_role(Role::SalesManager) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

async fn transfer_page(State(state): State<AppState>, actor: Actor) -> Result<Response> {
    require_transfer_role(&actor)?;
    render(&TransferPage {
        shell: Shell::new("customers.transfer"),
        staff: super::sales_staff(&state).await?,
        errors: FormErrors::default(),
        done: None,
        from_owner_id: None,
        to_owner_id: None,
        codes: String::new(),
        reason: String::new(),
    })
}

async fn transfer_submit(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(f): FormBody<TransferForm>,
) -> Result<Response> {
    require_transfer_role(&actor)?;
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for token in f
        .codes
        .split([',', '，', '\n', '\r', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let found = super::search(
            &state,
            &actor,
            &CustomerFilter {
                q: Some(token.to_owned()),
                per_page: Some(2),
                ..Default::default()
            },
        )
        .await?
        .0
        .into_iter()
        .find(|c| c.code == token || c.id.to_string() == token);
        match found {
            Some(c) => ids.push(c.id),
            None => unknown.push(token.to_owned()),
        }
    }
    let from_owner_id = f.from_owner_id.trim().parse().ok();
    let to_owner_id: Option<i64> = f.to_owner_id.trim().parse().ok();
    let result = if !unknown.is_empty() {
        Err(Error::from(
            crate::platform::error::FieldError::new("codes", "customers.codes_unknown")
                .arg("codes", unknown.join(", ")),
        ))
    } else {
        super::transfer(
            &state,
            &actor,
            TransferInput {
                customer_ids: ids,
                from_owner_id,
                all: f.all.is_some(),
                to_owner_id,
                reason: f.reason.clone(),
            },
        )
        .await
    };
    let (status, errors, done) = match result {
        Ok(r) => (
            axum::http::StatusCode::OK,
            FormErrors::default(),
            Some(r.transferred),
        ),
        Err(e) => (e.status(), FormErrors::from_error(e)?, None),
    };
    let page = TransferPage {
        shell: Shell::new("customers.transfer"),
        staff: super::sales_staff(&state).await?,
        errors,
        done,
        from_owner_id,
        to_owner_id,
        codes: f.codes,
        reason: f.reason,
    };
    Ok((status, render(&page)?).into_response())
}

async fn attachment_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    req: axum::extract::Request,
) -> Result<Response> {
    super::editable(&state, &actor, id).await?;
    let r = match super::api::read_upload(req, &state).await {
        Ok(upload) => super::attachments::upload(&state, &actor, id, upload)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    after_sub_form(&state, &actor, id, "attachments", r).await
}

async fn attachment_delete(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response> {
    let (a, _) = super::attachments::download(&state, &actor, id).await?;
    super::attachments::delete(&state, &actor, id).await?;
    Ok(see_other(&format!(
        "/customers/{}#attachments",
        a.customer_id
    )))
}

// ------------------------------------------------------------------ import / export

#[derive(Template)]
#[template(path = "customers/import.html")]
struct ImportPage {
    shell: Shell,
    errors: FormErrors,
    report: Option<ImportReport>,
    /// Distinct bad rows.
    bad_rows: usize,
    /// Problems not listed on the page (the downloadable report has all).
    more: usize,
    /// The error report as data: URLs (xlsx, csv), when there are bad rows.
    report_xlsx: String,
    report_csv: String,
    report_name: String,
    skip_invalid: bool,
    confirm_duplicates: bool,
}

/// Bad rows listed on the page; the downloadable report holds every one.
const ROWS_SHOWN: usize = 1000;

impl ImportPage {
    fn new(
        report: Option<ImportReport>,
        errors: FormErrors,
        options: ImportOptions,
    ) -> Result<Self> {
        let mut page = ImportPage {
            shell: Shell::new("customer_io.import_title"),
            errors,
            report: None,
            bad_rows: report.as_ref().map_or(0, ImportReport::bad_rows),
            more: report
                .as_ref()
                .map_or(0, |r| r.errors.len().saturating_sub(ROWS_SHOWN)),
            report_xlsx: String::new(),
            report_csv: String::new(),
            report_name: String::new(),
            skip_invalid: options.skip_invalid,
            confirm_duplicates: options.confirm_duplicates,
        };
        if let Some(r) = &report
            && !r.errors.is_empty()
        {
            let b64 = base64::engine::general_purpose::STANDARD;
            let xlsx = io::error_report(&r.errors, Format::Xlsx)?;
            let csv = io::error_report(&r.errors, Format::Csv)?;
            page.report_name = xlsx.filename.trim_end_matches(".xlsx").to_owned();
            page.report_xlsx = format!(
                "data:{};base64,{}",
                Format::Xlsx.content_type(),
                b64.encode(&xlsx.bytes)
            );
            page.report_csv = format!("data:text/csv;base64,{}", b64.encode(&csv.bytes));
        }
        page.report = report;
        Ok(page)
    }

    fn column<'a>(&self, c: &'a Option<String>) -> &'a str {
        c.as_deref().unwrap_or("")
    }

    /// The problems listed on the page.
    fn listed(&self) -> &[io::ImportRowError] {
        self.report
            .as_ref()
            .map(|r| &r.errors[..r.errors.len().min(ROWS_SHOWN)])
            .unwrap_or(&[])
    }
}

async fn import_page(actor: Actor) -> Result<Response> {
    if !io::may_import(&actor) {
        return Err(Error::Forbidden);
    }
    render(&ImportPage::new(
        None,
        FormErrors::default(),
        ImportOptions::default(),
    )?)
}

/// The upload: a multipart form whose CSRF token is in the action URL.
async fn import_submit(
    State(state): State<AppState>,
    actor: Actor,
    req: axum::extract::Request,
) -> Result<Response> {
    use crate::platform::http::multipart;
    if !io::may_import(&actor) {
        return Err(Error::Forbidden);
    }
    let spec = multipart::Spec {
        file: "file",
        texts: &["skip_invalid", "confirm_duplicates"],
        max_file_mib: state.policy().policy.limits.import_max_file_mib,
    };
    let form = multipart::read(req, &state, &spec).await;
    let options = match &form {
        Ok(f) => ImportOptions {
            skip_invalid: f.texts.contains_key("skip_invalid"),
            confirm_duplicates: f.texts.contains_key("confirm_duplicates"),
        },
        Err(_) => ImportOptions::default(),
    };
    let result = match form.map(|f| f.file.filter(|file| !file.data.is_empty())) {
        Err(e) => Err(e),
        Ok(None) => Err(FieldError::new("file", "customer_io.file_missing").into()),
        Ok(Some(multipart::UploadedFile {
            filename: name,
            data: bytes,
        })) => {
            let format = match Format::from_filename(&name) {
                Some(f) => Ok(f),
                None if name.contains('.') => Err(Error::from(FieldError::text(
                    "file",
                    sheet::SheetError::UnsupportedFormat { name }
                        .message(crate::platform::i18n::current().as_str()),
                ))),
                None => io::upload_format(None, None, &bytes),
            };
            match format {
                Ok(format) => {
                    io::import(&state, &actor, bytes, format, options, io::no_progress()).await
                }
                Err(e) => Err(e),
            }
        }
    };
    let (status, page) = match result {
        Ok(report) => {
            let status = if report.refused() {
                axum::http::StatusCode::UNPROCESSABLE_ENTITY
            } else {
                axum::http::StatusCode::OK
            };
            (
                status,
                ImportPage::new(Some(report), FormErrors::default(), options)?,
            )
        }
        Err(e) => (
            e.status(),
            ImportPage::new(None, FormErrors::from_error(e)?, options)?,
        ),
    };
    Ok((status, render(&page)?).into_response())
}

async fn template_download(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<FormatParam>,
) -> Result<Response> {
    if !io::may_import(&actor) {
        return Err(Error::Forbidden);
    }
    let format = io::download_format(q.format.as_deref())?;
    Ok(io::template_download(&state, &actor, format)?.into_response())
}

async fn export_download(
    State(state): State<AppState>,
    actor: Authorized<ExportCustomers>,
    QueryParams(q): QueryParams<FormatParam>,
    QueryParams(filter): QueryParams<CustomerFilter>,
) -> Result<Response> {
    let format = io::download_format(q.format.as_deref())?;
    Ok(io::export(&state, &actor, &filter, format)
        .await?
        .into_response())
}
