//! Property pages by role: the dashboard of what is due and the quick find
//! (scan a number), notices, the item page with the forms each role may
//! use, labels with QR codes, and the print pages (register, ledger,
//! abnormality record, notice) with their Excel downloads.
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{
    Abilities, AbnormalityInput, AbnormalityView, CareInput, CareView, CountInput, CountView,
    DecisionInput, DocumentView, DueLists, EndInput, InstructionInput, ItemFilter, ItemView,
    MoveInput, MovementView, NoticeInput, NoticeLineInput, NoticeView, NotifyInput, ReceiveInput,
    RegisterInput, VerifyInput,
};
use crate::customers::io::Download;
use crate::platform::auth::Actor;
use crate::platform::error::{Error, FieldError, Result};
use crate::platform::http::extract::{FormBody, QueryParams};
use crate::platform::http::shell::{FormErrors, Shell, render, see_other};
use crate::platform::sheet::{self, Column, Format};
use crate::platform::state::AppState;
use crate::policy::{PropertyKind, PropertyLocation, PropertyPolicy};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/property", get(dashboard))
        .route("/property/find", get(find_page))
        .route("/property/register", get(register_page))
        .route("/property/labels", get(labels_page))
        .route(
            "/property/notices/new",
            get(new_notice_page).post(new_notice_submit),
        )
        .route("/property/notices/{id}", get(notice_page))
        .route("/property/notices/{id}/print", get(notice_print))
        .route("/property/notices/{id}/lines", post(notice_line_submit))
        .route("/property/notices/{id}/receive", post(receive_submit))
        .route("/property/items/{id}", get(item_page))
        .route("/property/items/{id}/ledger", get(ledger_print))
        .route("/property/items/{id}/{step}", post(item_step))
        .route("/property/items/{id}/documents", post(document_submit))
        .route("/property/abnormalities/{id}", get(abnormality_print))
        .route(
            "/property/abnormalities/{id}/{step}",
            post(abnormality_step),
        )
        .route("/property/counts/{id}/decide", post(count_decide))
}

/// Names of the policy's kinds and locations in the page's language.
pub struct Names {
    policy: PropertyPolicy,
    lang: String,
}

impl Names {
    fn new(state: &AppState, shell: &Shell) -> Names {
        Names {
            policy: state.policy().policy.property.clone(),
            lang: shell.lang_code().to_owned(),
        }
    }
    pub fn kind(&self, code: &str) -> String {
        self.policy
            .kind(code)
            .map(|k| k.name(&self.lang).to_owned())
            .unwrap_or_else(|| code.to_owned())
    }
    pub fn kinds(&self) -> &[PropertyKind] {
        &self.policy.kinds
    }
    pub fn kind_label(&self, k: &PropertyKind) -> String {
        k.name(&self.lang).to_owned()
    }
    pub fn report(&self, code: &str) -> String {
        self.policy
            .kind(code)
            .map(|k| k.report(&self.lang).to_owned())
            .unwrap_or_default()
    }
    pub fn care(&self, code: &str) -> String {
        self.policy
            .kind(code)
            .map(|k| k.care(&self.lang).to_owned())
            .unwrap_or_default()
    }
    pub fn location(&self, code: &str) -> String {
        self.policy
            .location(code)
            .map(|l| format!("{} {}", l.code, l.name(&self.lang)))
            .unwrap_or_else(|| code.to_owned())
    }
    pub fn locations(&self) -> &[PropertyLocation] {
        &self.policy.locations
    }
    pub fn location_label(&self, l: &PropertyLocation) -> String {
        format!("{} {}", l.code, l.name(&self.lang))
    }
    pub fn is_storage(&self, l: &PropertyLocation) -> bool {
        l.purpose == crate::policy::LocationPurpose::Storage
    }
    pub fn serial(&self, kind: &str) -> bool {
        self.policy
            .kind(kind)
            .is_some_and(|k| k.tracking == crate::policy::Tracking::Serial)
    }
    pub fn usage(&self, kind: &str) -> bool {
        self.policy.kind(kind).is_some_and(|k| k.usage_counter)
    }
    /// The care kinds with due dates (calibration, maintenance).
    pub fn date_kinds(&self, kind: &str) -> Vec<&'static str> {
        self.care_kinds(kind)
            .into_iter()
            .filter(|k| *k != "usage")
            .collect()
    }
    pub fn care_kinds(&self, kind: &str) -> Vec<&'static str> {
        let Some(k) = self.policy.kind(kind) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if k.calibration_days > 0 {
            out.push("calibration");
        }
        if k.maintenance_days > 0 {
            out.push("maintenance");
        }
        if k.usage_counter {
            out.push("usage");
        }
        out
    }
}

/// How an item's audit entries read: the policy's kinds and locations, the states, verdicts,
/// instructions and document kinds in the page's language.
struct HistoryLabels<'a> {
    names: &'a Names,
    lang: crate::platform::i18n::Lang,
    /// Document id → file name, for steps that name the instruction they rest on.
    documents: std::collections::HashMap<i64, String>,
}

impl HistoryLabels<'_> {
    fn key(&self, prefix: &str, code: &str) -> String {
        crate::platform::history::label_or(self.lang, &format!("{prefix}.{code}"), code)
    }
}

impl crate::platform::history::Labels for HistoryLabels<'_> {
    fn action(&self, action: &str) -> String {
        self.key("property.action", action)
    }

    fn field(&self, field: &str) -> String {
        self.key("property.field", field)
    }

    fn value(&self, field: &str, value: &str) -> Option<String> {
        let words = |v: &str| v.split(' ').map(str::to_owned).collect::<Vec<_>>();
        Some(match field {
            "state" => self.key("property.state", value),
            "verdict" => self.key("property.verdict", value),
            "instruction" => self.key("property.instruction", value),
            "result" => crate::platform::history::label_or(
                self.lang,
                &format!("property.result_{value}"),
                value,
            ),
            "location" | "from_location" | "to_location" => self.names.location(value),
            // "GCYC-202601-0001 damaged × 2"
            "abnormality" => {
                let mut w = words(value);
                if let Some(kind) = w.get_mut(1) {
                    *kind = self.key("property.abn_kind", kind);
                }
                w.join(" ")
            }
            // "instruction scrap WO-1 · instruction 指示.pdf (31 bytes, sha256 …)", or an id
            "document" => match value.parse::<i64>() {
                Ok(id) => self.documents.get(&id).cloned().unwrap_or_default(),
                Err(_) => {
                    let (head, file) = value.split_once(" · ").unwrap_or((value, ""));
                    let mut w = words(head);
                    if let Some(kind) = w.first_mut() {
                        *kind = self.key("property.doc", kind);
                    }
                    if let Some(instruction) = w.get_mut(1) {
                        *instruction = self.key("property.instruction", instruction);
                    }
                    let file = file.split(" (").next().unwrap_or_default();
                    let file = file.split_once(' ').map_or(file, |(_, name)| name);
                    format!("{} · {file}", w.join(" ").trim())
                }
            },
            _ => return None,
        })
    }
}

fn t_state(shell: &Shell, s: &super::model::ItemState) -> String {
    shell.t(&format!("property.state.{}", s.as_str()))
}

// ------------------------------------------------------------------ dashboard

/// Which list of the dashboard (the item filter is read beside it: a
/// flattened struct would read numbers in the query as text and fail).
#[derive(Deserialize, Default)]
struct DashboardQuery {
    list: Option<String>,
}

#[derive(Template)]
#[template(path = "property/dashboard.html")]
struct DashboardPage {
    shell: Shell,
    names: Names,
    due: DueLists,
    list: String,
    items: Vec<ItemView>,
    total: u64,
    filter: ItemFilter,
    notices: Vec<NoticeView>,
    can: Abilities,
}

impl DashboardPage {
    fn state(&self, s: &super::model::ItemState) -> String {
        t_state(&self.shell, s)
    }
    fn q(&self) -> &str {
        self.filter.q.as_deref().unwrap_or("")
    }
    fn page(&self) -> u64 {
        self.filter.paging().page
    }
    fn pages(&self) -> u64 {
        self.filter.paging().pages(self.total)
    }
    /// The list's query string without the page, for the pager's links.
    fn query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (k, v) in [
            ("q", &self.filter.q),
            ("kind", &self.filter.kind),
            ("state", &self.filter.state),
        ] {
            if let Some(v) = v.as_deref().filter(|s| !s.is_empty()) {
                pairs.push((k, v.to_owned()));
            }
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

async fn dashboard(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<DashboardQuery>,
    QueryParams(filter): QueryParams<ItemFilter>,
) -> Result<Response> {
    let shell = Shell::new("property.title");
    let due = super::due(&state, &actor).await?;
    let list = q.list.unwrap_or_else(|| "items".into());
    let (items, total) = super::items(&state, &actor, &filter).await?;
    let notices = if list == "notices" {
        super::notices(&state, &actor, &Default::default()).await?
    } else {
        Vec::new()
    };
    render(&DashboardPage {
        names: Names::new(&state, &shell),
        shell,
        due,
        list,
        items,
        total,
        filter,
        notices,
        can: super::abilities(&state, &actor, None),
    })
}

#[derive(Deserialize)]
struct FindQuery {
    number: Option<String>,
}

/// A scanned or typed number: straight to the item when it is one.
async fn find_page(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<FindQuery>,
) -> Result<Response> {
    let number = q.number.unwrap_or_default();
    let found = super::find(&state, &actor, &number).await?;
    if let [one] = found.as_slice() {
        return Ok(see_other(&format!("/property/items/{}", one.id)));
    }
    let query = serde_urlencoded::to_string([("q", number.trim())]).unwrap_or_default();
    Ok(see_other(&format!("/property?{query}")))
}

// ------------------------------------------------------------------ notices

#[derive(Deserialize, Default)]
struct NoticeForm {
    #[serde(default)]
    customer: String,
    #[serde(default)]
    order_no: String,
    #[serde(default)]
    expected_on: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    item_name: String,
    #[serde(default)]
    spec: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    unit: String,
}

impl NoticeForm {
    fn line(&self) -> NoticeLineInput {
        NoticeLineInput {
            kind: Some(self.kind.clone()),
            item_name: Some(self.item_name.clone()),
            spec: Some(self.spec.clone()),
            quantity: self.quantity.trim().parse().ok(),
            unit: Some(self.unit.clone()),
        }
    }
}

#[derive(Template)]
#[template(path = "property/notice_form.html")]
struct NoticeFormPage {
    shell: Shell,
    names: Names,
    v: NoticeForm,
    errors: FormErrors,
    customer_name: String,
}

#[derive(Deserialize)]
struct NewNoticeQuery {
    customer_id: Option<i64>,
}

async fn new_notice_page(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<NewNoticeQuery>,
) -> Result<Response> {
    if !super::abilities(&state, &actor, None).sales {
        return Err(Error::Forbidden);
    }
    let shell = Shell::new("property.notice_new");
    let (customer, customer_name) = match q.customer_id {
        Some(id) => {
            let c = crate::customers::visible(&state, &actor, id).await?;
            (c.code, c.full_name)
        }
        None => (String::new(), String::new()),
    };
    render(&NoticeFormPage {
        names: Names::new(&state, &shell),
        shell,
        v: NoticeForm {
            customer,
            ..Default::default()
        },
        errors: FormErrors::default(),
        customer_name,
    })
}

/// A customer by its code or id, within the actor's scope.
async fn customer_by_code(state: &AppState, actor: &Actor, code: &str) -> Result<Option<i64>> {
    let code = code.trim();
    if code.is_empty() {
        return Ok(None);
    }
    let filter = crate::customers::CustomerFilter {
        q: Some(code.to_owned()),
        ..Default::default()
    };
    let (found, _) = crate::customers::search(state, actor, &filter).await?;
    Ok(found
        .iter()
        .find(|c| c.code == code || c.id.to_string() == code)
        .map(|c| c.id))
}

async fn new_notice_submit(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(f): FormBody<NoticeForm>,
) -> Result<Response> {
    if !super::abilities(&state, &actor, None).sales {
        return Err(Error::Forbidden);
    }
    let customer_id = customer_by_code(&state, &actor, &f.customer).await?;
    let r = match customer_id {
        None => Err(Error::from(FieldError::new(
            "customer",
            "property.customer_unknown",
        ))),
        Some(id) => {
            let input = NoticeInput {
                customer_id: Some(id),
                order_no: Some(f.order_no.clone()),
                expected_on: Some(f.expected_on.clone()),
                notes: Some(f.notes.clone()),
                lines: vec![f.line()],
            };
            super::create_notice(&state, &actor, input).await
        }
    };
    match r {
        Ok(n) => Ok(see_other(&format!("/property/notices/{}", n.id))),
        Err(e) => {
            let status = e.status();
            let mut errors = FormErrors::from_error(e)?;
            // Line fields are named `lines[0].x` by the service; the form's inputs are `x`.
            errors.fields = errors
                .fields
                .into_iter()
                .map(|(k, v)| (k.trim_start_matches("lines[0].").to_owned(), v))
                .collect();
            let shell = Shell::new("property.notice_new");
            Ok((
                status,
                render(&NoticeFormPage {
                    names: Names::new(&state, &shell),
                    shell,
                    v: f,
                    errors,
                    customer_name: String::new(),
                })?,
            )
                .into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "property/notice.html")]
struct NoticePage {
    shell: Shell,
    names: Names,
    n: NoticeView,
    can: Abilities,
    errors: FormErrors,
    items: Vec<ItemView>,
}

impl NoticePage {
    fn state(&self, s: &super::model::ItemState) -> String {
        t_state(&self.shell, s)
    }
}

async fn notice_page_with(
    state: &AppState,
    actor: &Actor,
    id: i64,
    errors: FormErrors,
) -> Result<NoticePage> {
    let n = super::notice(state, actor, id).await?;
    let shell = Shell::new("property.notice");
    let mut items = Vec::new();
    let all = super::of_customer(state, actor, n.customer.id).await?;
    for i in all {
        if i.notice_line_id
            .is_some_and(|l| n.lines.iter().any(|x| x.id == l))
        {
            items.push(i);
        }
    }
    Ok(NoticePage {
        names: Names::new(state, &shell),
        shell,
        n,
        can: super::abilities(state, actor, None),
        errors,
        items,
    })
}

async fn notice_page(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response> {
    render(&notice_page_with(&state, &actor, id, FormErrors::default()).await?)
}

async fn back_to_notice(
    state: &AppState,
    actor: &Actor,
    id: i64,
    r: Result<()>,
) -> Result<Response> {
    match r {
        Ok(()) => Ok(see_other(&format!("/property/notices/{id}"))),
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            Ok((
                status,
                render(&notice_page_with(state, actor, id, errors).await?)?,
            )
                .into_response())
        }
    }
}

async fn notice_line_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<NoticeForm>,
) -> Result<Response> {
    let r = super::add_notice_line(&state, &actor, id, f.line())
        .await
        .map(|_| ());
    back_to_notice(&state, &actor, id, r).await
}

async fn receive_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<ReceiveInput>,
) -> Result<Response> {
    let r = super::receive(&state, &actor, id, f).await.map(|_| ());
    back_to_notice(&state, &actor, id, r).await
}

// ------------------------------------------------------------------ item page

#[derive(Template)]
#[template(path = "property/item.html")]
struct ItemPage {
    shell: Shell,
    names: Names,
    i: ItemView,
    ledger: Vec<MovementView>,
    history: Vec<crate::platform::history::Line>,
    documents: Vec<DocumentView>,
    care: Vec<CareView>,
    abnormalities: Vec<AbnormalityView>,
    counts: Vec<CountView>,
    can: Abilities,
    can_customer: bool,
    errors: FormErrors,
    today: String,
}

impl ItemPage {
    fn state(&self) -> String {
        t_state(&self.shell, &self.i.state)
    }
    fn is(&self, s: &str) -> bool {
        self.i.state.as_str() == s
    }
    fn docs(&self, kind: &str) -> Vec<&DocumentView> {
        self.documents.iter().filter(|d| d.kind == kind).collect()
    }
}

async fn item_page_with(
    state: &AppState,
    actor: &Actor,
    id: i64,
    errors: FormErrors,
) -> Result<ItemPage> {
    let i = super::item(state, actor, id).await?;
    let shell = Shell::new("property.item");
    let can_customer = crate::customers::editable(state, actor, i.customer.id)
        .await
        .is_ok();
    let today = super::today(state).to_string();
    let names = Names::new(state, &shell);
    let documents = super::documents(state, actor, id).await?;
    let lang = crate::platform::i18n::current();
    let label = |prefix: &str, code: &str| {
        crate::platform::history::label_or(lang, &format!("{prefix}.{code}"), code)
    };
    let labels = HistoryLabels {
        names: &names,
        lang,
        // "客户书面指示 报废 2026-03-02"
        documents: documents
            .iter()
            .map(|d| {
                let mut text = label("property.doc", &d.kind);
                if let Some(i) = &d.instruction {
                    text = format!("{text} {}", label("property.instruction", i));
                }
                (d.id, format!("{text} {}", shell.time(&d.created_at)))
            })
            .collect(),
    };
    let history = super::history_lines(state, actor, id, &labels).await?;
    Ok(ItemPage {
        names,
        shell,
        ledger: super::ledger(state, actor, id).await?,
        history,
        documents,
        care: super::care_records(state, actor, id).await?,
        abnormalities: super::abnormalities_of(state, actor, id).await?,
        counts: super::counts_of(state, actor, id).await?,
        can: super::abilities(state, actor, Some(&i.kind)),
        can_customer,
        i,
        errors,
        today,
    })
}

async fn item_page(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response> {
    render(&item_page_with(&state, &actor, id, FormErrors::default()).await?)
}

async fn back_to_item(state: &AppState, actor: &Actor, id: i64, r: Result<()>) -> Result<Response> {
    match r {
        Ok(()) => Ok(see_other(&format!("/property/items/{id}"))),
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            Ok((
                status,
                render(&item_page_with(state, actor, id, errors).await?)?,
            )
                .into_response())
        }
    }
}

/// Every form of the item page, one field set; each step reads what it needs.
#[derive(Deserialize, Default)]
struct StepForm {
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    version: Option<i64>,
    #[serde(default)]
    verdict: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    report_document_id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    document_id: Option<i64>,
    #[serde(default)]
    location: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    rated_life: Option<i64>,
    #[serde(default)]
    calibration_due_on: Option<String>,
    #[serde(default)]
    maintenance_due_on: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    quantity: Option<i64>,
    #[serde(default)]
    from_location: Option<String>,
    #[serde(default)]
    to_location: Option<String>,
    #[serde(default)]
    order_no: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    order_customer_id: Option<i64>,
    #[serde(default)]
    order_customer: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    usage: Option<i64>,
    #[serde(default)]
    done_on: Option<String>,
    #[serde(default)]
    result: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    usage_count: Option<i64>,
    #[serde(default)]
    next_due_on: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    counted_qty: Option<i64>,
    #[serde(default)]
    notification: Option<String>,
}

async fn item_step(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, step)): Path<(i64, String)>,
    FormBody(f): FormBody<StepForm>,
) -> Result<Response> {
    let s = &state;
    let a = &actor;
    let r = match step.as_str() {
        "verify" => super::verify(
            s,
            a,
            id,
            VerifyInput {
                version: f.version,
                verdict: f.verdict,
                note: f.note,
                report_document_id: f.report_document_id,
            },
        )
        .await
        .map(|_| ()),
        "register" => super::register(
            s,
            a,
            id,
            RegisterInput {
                version: f.version,
                location: f.location,
                rated_life: f.rated_life,
                calibration_due_on: f.calibration_due_on,
                maintenance_due_on: f.maintenance_due_on,
            },
        )
        .await
        .map(|_| ()),
        "move" => {
            // The order's customer may be typed as a code; blank means this item's customer.
            let order_customer_id = match f.order_customer.as_deref().map(str::trim) {
                Some(code) if !code.is_empty() => match customer_by_code(s, a, code).await? {
                    Some(c) => Some(c),
                    None => {
                        return back_to_item(
                            s,
                            a,
                            id,
                            Err(
                                FieldError::new("order_customer_id", "property.customer_unknown")
                                    .into(),
                            ),
                        )
                        .await;
                    }
                },
                _ => f.order_customer_id,
            };
            super::move_item(
                s,
                a,
                id,
                MoveInput {
                    version: f.version,
                    kind: f.kind,
                    quantity: f.quantity,
                    from_location: f.from_location,
                    to_location: f.to_location,
                    order_no: f.order_no,
                    order_customer_id,
                    reason: f.reason,
                    usage: f.usage,
                },
            )
            .await
            .map(|_| ())
        }
        "end" => super::end(
            s,
            a,
            id,
            EndInput {
                version: f.version,
                kind: f.kind,
                quantity: f.quantity,
                from_location: f.from_location,
                document_id: f.document_id,
                note: f.note,
            },
        )
        .await
        .map(|_| ()),
        "care" => super::record_care(
            s,
            a,
            id,
            CareInput {
                kind: f.kind,
                done_on: f.done_on,
                result: f.result,
                usage_count: f.usage_count,
                next_due_on: f.next_due_on,
                note: f.note,
            },
        )
        .await
        .map(|_| ()),
        "abnormalities" => super::raise_abnormality(
            s,
            a,
            id,
            AbnormalityInput {
                version: f.version,
                kind: f.kind,
                description: f.description,
                quantity: f.quantity,
                location: f.location,
            },
        )
        .await
        .map(|_| ()),
        "counts" => super::count(
            s,
            a,
            id,
            CountInput {
                location: f.location,
                counted_qty: f.counted_qty,
            },
        )
        .await
        .map(|_| ()),
        _ => return Err(Error::NotFound),
    };
    back_to_item(s, a, id, r).await
}

/// A document upload (multipart; the CSRF token comes in the query).
async fn document_submit(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    req: axum::extract::Request,
) -> Result<Response> {
    let item = super::visible_item(&state, &actor, id).await?;
    if !super::may_file_documents(&state, &actor, &item) {
        return Err(Error::Forbidden);
    }
    let r = async {
        let upload = super::api::read_document(req, &state).await?;
        super::add_document(&state, &actor, id, upload)
            .await
            .map(|_| ())
    }
    .await;
    back_to_item(&state, &actor, id, r).await
}

async fn abnormality_step(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, step)): Path<(i64, String)>,
    FormBody(f): FormBody<StepForm>,
) -> Result<Response> {
    let a = crate::property::store::abnormality(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let r = match step.as_str() {
        "notify" => super::notify_customer(
            &state,
            &actor,
            id,
            NotifyInput {
                version: f.version,
                notification: f.notification,
            },
        )
        .await
        .map(|_| ()),
        "instruction" => super::record_instruction(
            &state,
            &actor,
            id,
            InstructionInput {
                version: f.version,
                document_id: f.document_id,
            },
        )
        .await
        .map(|_| ()),
        _ => return Err(Error::NotFound),
    };
    back_to_item(&state, &actor, a.item_id, r).await
}

async fn count_decide(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    FormBody(f): FormBody<DecisionInput>,
) -> Result<Response> {
    let c = crate::property::store::count(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let r = super::decide_count(&state, &actor, id, f).await.map(|_| ());
    back_to_item(&state, &actor, c.item_id, r).await
}

// ------------------------------------------------------------------ labels

/// An identification label: what it says and the QR code of its page.
pub struct Label {
    pub i: ItemView,
    pub qr_svg: String,
    pub url: String,
}

/// Where printed links point: the configured public URL, else the address this browser used
/// (then the page says the setting is missing, for a label outlives the browser).
fn base_url(state: &AppState, headers: &HeaderMap) -> (String, bool) {
    if let Some(url) = &state.config.public_url {
        return (url.clone(), true);
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    (format!("{scheme}://{host}"), false)
}

fn qr_svg(data: &str) -> Result<String> {
    let code = qrcode::QrCode::new(data.as_bytes())
        .map_err(|e| Error::Internal(anyhow::anyhow!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(96, 96)
        .quiet_zone(false)
        .build())
}

#[derive(Template)]
#[template(path = "property/labels.html")]
struct LabelsPage {
    shell: Shell,
    names: Names,
    labels: Vec<Label>,
    /// Set when no public URL is configured: the address the codes use instead.
    unset_base: Option<String>,
}

impl LabelsPage {
    /// "KG-A01 70 kg、KG-A02 5 kg": the location codes, as the shelves are marked (a label is
    /// small).
    fn locations(&self, i: &ItemView) -> String {
        i.balances
            .iter()
            .map(|b| format!("{} {} {}", b.location, b.quantity, i.unit))
            .collect::<Vec<_>>()
            .join("、")
    }
}

#[derive(Deserialize)]
struct LabelsQuery {
    /// Item ids, comma-separated.
    ids: Option<String>,
}

async fn labels_page(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    QueryParams(q): QueryParams<LabelsQuery>,
) -> Result<Response> {
    let (base, configured) = base_url(&state, &headers);
    let mut labels = Vec::new();
    for id in q
        .ids
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse::<i64>().ok())
        .take(200)
    {
        let i = super::item(&state, &actor, id).await?;
        if i.register_no.is_none() {
            return Err(FieldError::new("ids", "property.refuse.label_unregistered")
                .arg("id", id)
                .into());
        }
        let url = format!("{base}/property/items/{id}");
        labels.push(Label {
            qr_svg: qr_svg(&url)?,
            url,
            i,
        });
    }
    let shell = Shell::new("property.labels");
    render(&LabelsPage {
        names: Names::new(&state, &shell),
        shell,
        labels,
        unset_base: (!configured).then_some(base),
    })
}

// ------------------------------------------------------------------ print pages and Excel

#[derive(Deserialize)]
struct FormatQuery {
    format: Option<String>,
}

fn wants_xlsx(q: &FormatQuery) -> bool {
    q.format.as_deref() == Some("xlsx")
}

fn xlsx(
    columns: &[Column],
    rows: &[Vec<String>],
    lang: &str,
    name: &str,
    ascii: &str,
) -> Result<Response> {
    let bytes = sheet::write(Format::Xlsx, columns, rows, lang, name)
        .map_err(|e| Error::Internal(anyhow::anyhow!("sheet: {}", e.message(lang))))?;
    Ok(Download {
        bytes,
        format: Format::Xlsx,
        filename: format!("{name}.xlsx"),
        ascii_filename: format!("{ascii}.xlsx"),
        rows: rows.len(),
    }
    .into_response())
}

const REGISTER_COLUMNS: &[Column] = &[
    Column::new("register_no", "登记号", "Register no."),
    Column::new("customer", "客户", "Customer"),
    Column::new("kind", "类别", "Kind"),
    Column::new("item", "名称", "Item"),
    Column::new("spec", "规格", "Spec"),
    Column::new("lot", "批号/序列号", "Lot / serial"),
    Column::new("balance", "数量", "Quantity"),
    Column::new("unit", "单位", "Unit"),
    Column::new("location", "库位", "Location"),
    Column::new("state", "状态", "State"),
    Column::new("received", "接收日期", "Received"),
    Column::new("verdict", "验证结果", "Verification"),
    Column::new("due", "到期", "Due"),
];

#[derive(Template)]
#[template(path = "property/register.html")]
struct RegisterPage {
    shell: Shell,
    names: Names,
    items: Vec<ItemView>,
    printed_at: String,
}

impl RegisterPage {
    fn state(&self, s: &super::model::ItemState) -> String {
        t_state(&self.shell, s)
    }
    /// Where it lies: each location with its quantity.
    fn locations(&self, i: &ItemView) -> String {
        i.balances
            .iter()
            .map(|b| format!("{} {}", self.names.location(&b.location), b.quantity))
            .collect::<Vec<_>>()
            .join("、")
    }
    fn due(&self, i: &ItemView) -> String {
        due_text(&self.shell, i)
    }
}

/// What care falls due, where the item's kind has care: "校准 2026-06-01、保养 2026-09-01",
/// "使用次数/额定寿命 900/1000".
fn due_text(shell: &Shell, i: &ItemView) -> String {
    let mut out = Vec::new();
    if let Some(d) = i.calibration_due_on {
        out.push(format!("{} {d}", shell.t("property.care.calibration")));
    }
    if let Some(d) = i.maintenance_due_on {
        out.push(format!("{} {d}", shell.t("property.care.maintenance")));
    }
    if let Some(life) = i.rated_life {
        out.push(format!(
            "{} {}/{life}",
            shell.t("property.care.usage"),
            i.usage_count
        ));
    }
    out.join("、")
}

fn lot_or_serial(i: &ItemView) -> String {
    [i.lot_no.as_deref(), i.serial_no.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ")
}

async fn register_page(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<FormatQuery>,
    QueryParams(filter): QueryParams<ItemFilter>,
) -> Result<Response> {
    // The register is the whole list, whatever its length: read it page by page.
    let mut items = Vec::new();
    for page in 1.. {
        let f = ItemFilter {
            register: Some(true),
            page: Some(page),
            per_page: Some(500),
            ..filter.clone()
        };
        let (rows, total) = super::items(&state, &actor, &f).await?;
        let done = rows.is_empty() || (items.len() + rows.len()) as u64 >= total;
        items.extend(rows);
        if done {
            break;
        }
    }
    let shell = Shell::new("property.register");
    let names = Names::new(&state, &shell);
    let page = RegisterPage {
        printed_at: shell.time(&state.clock.now()),
        names,
        shell,
        items,
    };
    if wants_xlsx(&q) {
        let (shell, names) = (&page.shell, &page.names);
        let rows: Vec<Vec<String>> = page
            .items
            .iter()
            .map(|i| {
                vec![
                    i.register_no.clone().unwrap_or_default(),
                    i.customer.name.clone(),
                    names.kind(&i.kind),
                    i.item_name.clone(),
                    i.spec.clone().unwrap_or_default(),
                    lot_or_serial(i),
                    i.balance.to_string(),
                    i.unit.clone(),
                    page.locations(i),
                    t_state(shell, &i.state),
                    shell.time(&i.received_at),
                    i.verdict
                        .map(|v| shell.t(&format!("property.verdict.{}", v.as_str())))
                        .unwrap_or_default(),
                    page.due(i),
                ]
            })
            .collect();
        return xlsx(
            REGISTER_COLUMNS,
            &rows,
            shell.lang_code(),
            &shell.t("property.register"),
            "property-register",
        );
    }
    render(&page)
}

const LEDGER_COLUMNS: &[Column] = &[
    Column::new("at", "时间", "Time"),
    Column::new("kind", "业务", "Movement"),
    Column::new("quantity", "数量", "Quantity"),
    Column::new("from", "从", "From"),
    Column::new("to", "到", "To"),
    Column::new("order", "订单/工单", "Order"),
    Column::new("balance", "结存", "Balance"),
    Column::new("actor", "经办人", "By"),
    Column::new("reason", "说明", "Note"),
];

#[derive(Template)]
#[template(path = "property/ledger.html")]
struct LedgerPage {
    shell: Shell,
    names: Names,
    i: ItemView,
    ledger: Vec<MovementView>,
}

async fn ledger_print(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    QueryParams(q): QueryParams<FormatQuery>,
) -> Result<Response> {
    let i = super::item(&state, &actor, id).await?;
    let ledger = super::ledger(&state, &actor, id).await?;
    let shell = Shell::new("property.ledger");
    let names = Names::new(&state, &shell);
    if wants_xlsx(&q) {
        let rows: Vec<Vec<String>> = ledger
            .iter()
            .map(|m| {
                vec![
                    shell.time(&m.at),
                    shell.t(&format!("property.move.{}", m.kind.as_str())),
                    m.quantity.to_string(),
                    m.from_location
                        .as_deref()
                        .map(|l| names.location(l))
                        .unwrap_or_default(),
                    m.to_location
                        .as_deref()
                        .map(|l| names.location(l))
                        .unwrap_or_default(),
                    m.order_no.clone().unwrap_or_default(),
                    m.balance_after.to_string(),
                    m.actor.clone(),
                    m.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let name = format!(
            "{} {}",
            shell.t("property.ledger"),
            i.register_no.clone().unwrap_or_default()
        );
        return xlsx(
            LEDGER_COLUMNS,
            &rows,
            shell.lang_code(),
            &name,
            "property-ledger",
        );
    }
    render(&LedgerPage {
        names,
        shell,
        i,
        ledger,
    })
}

const ABNORMALITY_COLUMNS: &[Column] = &[
    Column::new("field", "项目", "Field"),
    Column::new("value", "内容", "Value"),
];

#[derive(Template)]
#[template(path = "property/abnormality.html")]
struct AbnormalityPage {
    shell: Shell,
    names: Names,
    a: AbnormalityView,
    i: ItemView,
}

impl AbnormalityPage {
    fn rows(&self) -> Vec<(String, String)> {
        abnormality_rows(&self.shell, &self.names, &self.a, &self.i)
    }
}

fn abnormality_rows(
    shell: &Shell,
    names: &Names,
    a: &AbnormalityView,
    i: &ItemView,
) -> Vec<(String, String)> {
    let t = |k: &str| shell.t(k);
    vec![
        (t("property.abn.number"), a.number.clone()),
        (
            t("property.customer"),
            format!("{} {}", i.customer.code, i.customer.name),
        ),
        (
            t("property.register_no"),
            i.register_no.clone().unwrap_or_default(),
        ),
        (
            t("property.item_name"),
            format!("{} {}", i.item_name, i.spec.clone().unwrap_or_default()),
        ),
        (t("property.kind"), names.kind(&i.kind)),
        (t("property.lot"), lot_or_serial(i)),
        (
            t("property.abn.kind"),
            t(&format!("property.abn_kind.{}", a.kind)),
        ),
        (t("property.quantity"), format!("{} {}", a.quantity, i.unit)),
        (t("property.abn.description"), a.description.clone()),
        (
            t("property.abn.raised"),
            format!("{} · {}", a.raised_by, shell.time(&a.raised_at)),
        ),
        (
            t("property.abn.notified"),
            format!(
                "{} · {} · {}",
                a.notified_by.clone().unwrap_or_default(),
                shell.opt_time(&a.notified_at),
                a.notification.clone().unwrap_or_default()
            ),
        ),
        (
            t("property.abn.instruction"),
            a.instruction
                .as_deref()
                .map(|x| t(&format!("property.instruction.{x}")))
                .unwrap_or_default(),
        ),
        (
            t("property.abn.instructed"),
            format!(
                "{} · {}",
                a.instructed_by.clone().unwrap_or_default(),
                shell.opt_time(&a.instructed_at)
            ),
        ),
        (
            t("property.abn.status"),
            t(&format!("property.abn_status.{}", a.status)),
        ),
    ]
}

async fn abnormality_print(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    QueryParams(q): QueryParams<FormatQuery>,
) -> Result<Response> {
    let (a, i) = super::abnormality(&state, &actor, id).await?;
    let shell = Shell::new("property.abn.title");
    let names = Names::new(&state, &shell);
    if wants_xlsx(&q) {
        let rows: Vec<Vec<String>> = abnormality_rows(&shell, &names, &a, &i)
            .into_iter()
            .map(|(k, v)| vec![k, v])
            .collect();
        let name = format!("{} {}", shell.t("property.abn.title"), a.number);
        return xlsx(
            ABNORMALITY_COLUMNS,
            &rows,
            shell.lang_code(),
            &name,
            "property-abnormality",
        );
    }
    render(&AbnormalityPage { names, shell, a, i })
}

const NOTICE_COLUMNS: &[Column] = &[
    Column::new("line", "序号", "Line"),
    Column::new("kind", "类别", "Kind"),
    Column::new("item", "名称", "Item"),
    Column::new("spec", "规格", "Spec"),
    Column::new("quantity", "通知数量", "Expected"),
    Column::new("received", "实收数量", "Received"),
    Column::new("unit", "单位", "Unit"),
];

#[derive(Template)]
#[template(path = "property/notice_print.html")]
struct NoticePrint {
    shell: Shell,
    names: Names,
    n: NoticeView,
}

async fn notice_print(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    QueryParams(q): QueryParams<FormatQuery>,
) -> Result<Response> {
    let n = super::notice(&state, &actor, id).await?;
    let shell = Shell::new("property.notice_record");
    let names = Names::new(&state, &shell);
    if wants_xlsx(&q) {
        let rows: Vec<Vec<String>> = n
            .lines
            .iter()
            .map(|l| {
                vec![
                    l.line_no.to_string(),
                    names.kind(&l.kind),
                    l.item_name.clone(),
                    l.spec.clone().unwrap_or_default(),
                    l.quantity.to_string(),
                    l.received_qty.to_string(),
                    l.unit.clone(),
                ]
            })
            .collect();
        let name = format!("{} {}", shell.t("property.notice_record"), n.number);
        return xlsx(
            NOTICE_COLUMNS,
            &rows,
            shell.lang_code(),
            &name,
            "property-notice",
        );
    }
    render(&NoticePrint { names, shell, n })
}

/// The customer page's section of the customer's property in the factory.
#[derive(Template)]
#[template(path = "property/customer_panel.html")]
struct CustomerPanel {
    shell: Shell,
    customer_id: i64,
    items: Vec<ItemView>,
    can_notice: bool,
}

/// The section on the page of a customer the actor may see; a notice for
/// the customer is offered to those who may edit the customer and send one.
pub(super) async fn customer_panel(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
    can_edit: bool,
) -> Result<crate::platform::capability::Panel> {
    let items = super::of_customer(state, actor, customer_id).await?;
    let panel = CustomerPanel {
        shell: Shell::new("property.tab"),
        customer_id,
        can_notice: can_edit && super::abilities(state, actor, None).sales,
        items,
    };
    let html = panel
        .render()
        .map_err(|e| Error::Internal(anyhow::anyhow!("customer panel: {e}")))?;
    Ok(crate::platform::capability::Panel {
        anchor: "property",
        title: panel.shell.title.clone(),
        count: panel.items.len(),
        html,
    })
}
