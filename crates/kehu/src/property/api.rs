//! JSON routes of customer property. Property of a customer the caller may
//! not see answers 404; a step the caller's role may not take, 403.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    AbnormalityInput, AbnormalityView, CareInput, CareView, CountInput, CountView, DecisionInput,
    DocumentUpload, DocumentView, DueLists, EndInput, InstructionInput, ItemFilter, ItemView,
    MoveInput, MovementView, NoticeFilter, NoticeInput, NoticeLineInput, NoticeView, NotifyInput,
    ReceiveInput, RegisterInput, VerifyInput,
};
use crate::platform::audit_api::AuditView;
use crate::platform::auth::Actor;
use crate::platform::error::{Error, ErrorBody, FieldError, Result};
use crate::platform::http::extract::{JsonBody, QueryParams};
use crate::platform::list::{Page, Total};
use crate::platform::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notices, create_notice))
        .routes(routes!(get_notice))
        .routes(routes!(add_notice_line))
        .routes(routes!(receive))
        .routes(routes!(list_items))
        .routes(routes!(find))
        .routes(routes!(get_item))
        .routes(routes!(ledger))
        .routes(routes!(history))
        .routes(routes!(verify))
        .routes(routes!(register))
        .routes(routes!(move_item))
        .routes(routes!(end))
        .routes(routes!(list_documents, add_document))
        .routes(routes!(list_care, add_care))
        .routes(routes!(list_abnormalities, raise_abnormality))
        .routes(routes!(get_abnormality))
        .routes(routes!(notify))
        .routes(routes!(instruction))
        .routes(routes!(list_counts, add_count))
        .routes(routes!(decide_count))
        .routes(routes!(due))
}

/// Reads a property document from a multipart form (`kind`, `instruction`, `order_no`, `note`
/// and `file`), after the caller checked scope and role.
pub async fn read_document(
    req: axum::extract::Request,
    state: &AppState,
) -> Result<DocumentUpload> {
    use crate::platform::http::multipart;
    let spec = multipart::Spec {
        file: "file",
        texts: &["kind", "instruction", "order_no", "note"],
        max_file_mib: state.policy().policy.customers.attachment_max_mib,
    };
    let mut form = multipart::read(req, state, &spec).await?;
    let file = form
        .file
        .take()
        .ok_or_else(|| Error::from(FieldError::new("file", "error.required")))?;
    Ok(DocumentUpload {
        kind: form.text("kind").unwrap_or_default(),
        instruction: form.text("instruction"),
        order_no: form.text("order_no"),
        note: form.text("note"),
        filename: file.filename,
        data: file.data,
    })
}

fn created<T: serde::Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

/// Advance notices (客供物料记录表) of the customers the caller may see.
#[utoipa::path(get, path = "/api/v1/property/notices", tag = "property", params(NoticeFilter),
    responses((status = 200, body = Page<NoticeView>)))]
async fn list_notices(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(f): QueryParams<NoticeFilter>,
) -> Result<Json<Page<NoticeView>>> {
    Ok(Json(Page::all(super::notices(&state, &actor, &f).await?)))
}

/// Record an advance notice (sales, for a customer it may edit).
#[utoipa::path(post, path = "/api/v1/property/notices", tag = "property", request_body = NoticeInput,
    responses((status = 201, body = NoticeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_notice(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<NoticeInput>,
) -> Result<Response> {
    Ok(created(super::create_notice(&state, &actor, input).await?))
}

/// One notice with its lines.
#[utoipa::path(get, path = "/api/v1/property/notices/{id}", tag = "property", params(("id" = i64, Path)),
    responses((status = 200, body = NoticeView), (status = 404, body = ErrorBody)))]
async fn get_notice(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<NoticeView>> {
    Ok(Json(super::notice(&state, &actor, id).await?))
}

/// Add a line to an open notice.
#[utoipa::path(post, path = "/api/v1/property/notices/{id}/lines", tag = "property", params(("id" = i64, Path)), request_body = NoticeLineInput,
    responses((status = 201, body = NoticeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_notice_line(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<NoticeLineInput>,
) -> Result<Response> {
    Ok(created(
        super::add_notice_line(&state, &actor, id, input).await?,
    ))
}

/// Receive goods against a notice line (warehouse): into the pending-inspection location.
#[utoipa::path(post, path = "/api/v1/property/notices/{id}/receive", tag = "property", params(("id" = i64, Path)), request_body = ReceiveInput,
    responses((status = 201, body = Vec<ItemView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn receive(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<ReceiveInput>,
) -> Result<Response> {
    Ok(created(super::receive(&state, &actor, id, input).await?))
}

/// Items and lots; `register=true` gives the register (顾客财产清单).
#[utoipa::path(get, path = "/api/v1/property/items", tag = "property", params(ItemFilter),
    responses((status = 200, body = Page<ItemView>)))]
async fn list_items(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(f): QueryParams<ItemFilter>,
) -> Result<Json<Page<ItemView>>> {
    let (items, total) = super::items(&state, &actor, &f).await?;
    Ok(Json(Page::counted(items, Total::exact(total))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FindParams {
    /// A register, lot or serial number, as typed or scanned.
    number: Option<String>,
}

/// Find items by a scanned or typed number.
#[utoipa::path(get, path = "/api/v1/property/find", tag = "property", params(FindParams),
    responses((status = 200, body = Page<ItemView>)))]
async fn find(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(p): QueryParams<FindParams>,
) -> Result<Json<Page<ItemView>>> {
    let number = p.number.unwrap_or_default();
    Ok(Json(Page::all(super::find(&state, &actor, &number).await?)))
}

/// One item or lot with its balances per location and what blocks its issue.
#[utoipa::path(get, path = "/api/v1/property/items/{id}", tag = "property", params(("id" = i64, Path)),
    responses((status = 200, body = ItemView), (status = 404, body = ErrorBody)))]
async fn get_item(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<ItemView>> {
    Ok(Json(super::item(&state, &actor, id).await?))
}

/// The item's movement ledger with running balance.
#[utoipa::path(get, path = "/api/v1/property/items/{id}/ledger", tag = "property", params(("id" = i64, Path)),
    responses((status = 200, body = Page<MovementView>), (status = 404, body = ErrorBody)))]
async fn ledger(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<MovementView>>> {
    Ok(Json(Page::all(super::ledger(&state, &actor, id).await?)))
}

/// The item's history (every step, who and when).
#[utoipa::path(get, path = "/api/v1/property/items/{id}/history", tag = "property", params(("id" = i64, Path)),
    responses((status = 200, body = Page<AuditView>), (status = 404, body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<AuditView>>> {
    Ok(Json(Page::all(super::history(&state, &actor, id).await?)))
}

/// Verify a received item (the kind's verifying role): accepted, accepted with deviation or rejected, with a report document.
#[utoipa::path(post, path = "/api/v1/property/items/{id}/verify", tag = "property", params(("id" = i64, Path)), request_body = VerifyInput,
    responses((status = 200, body = ItemView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<VerifyInput>,
) -> Result<Json<ItemView>> {
    Ok(Json(super::verify(&state, &actor, id, input).await?))
}

/// Register a verified item (warehouse): register number, label, put away.
#[utoipa::path(post, path = "/api/v1/property/items/{id}/register", tag = "property", params(("id" = i64, Path)), request_body = RegisterInput,
    responses((status = 200, body = ItemView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<RegisterInput>,
) -> Result<Json<ItemView>> {
    Ok(Json(super::register(&state, &actor, id, input).await?))
}

/// Put away, issue to production (against an order of the same customer, FIFO) or return from production.
#[utoipa::path(post, path = "/api/v1/property/items/{id}/move", tag = "property", params(("id" = i64, Path)), request_body = MoveInput,
    responses((status = 200, body = ItemView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn move_item(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<MoveInput>,
) -> Result<Json<ItemView>> {
    Ok(Json(super::move_item(&state, &actor, id, input).await?))
}

/// Return to the customer, scrap, destroy or transfer ownership: only with the customer's written instruction on file.
#[utoipa::path(post, path = "/api/v1/property/items/{id}/end", tag = "property", params(("id" = i64, Path)), request_body = EndInput,
    responses((status = 200, body = ItemView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn end(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<EndInput>,
) -> Result<Json<ItemView>> {
    Ok(Json(super::end(&state, &actor, id, input).await?))
}

/// The item's customer documents (instructions, consents, reports).
#[utoipa::path(get, path = "/api/v1/property/items/{id}/documents", tag = "property", params(("id" = i64, Path)),
    responses((status = 200, body = Page<DocumentView>), (status = 404, body = ErrorBody)))]
async fn list_documents(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<DocumentView>>> {
    Ok(Json(Page::all(super::documents(&state, &actor, id).await?)))
}

/// File a document: multipart with `kind` (instruction, consent, report), `instruction`
/// (return, scrap, destroy, transfer_ownership, repair, use_as_is), `order_no` (consent), `note`, `file`.
#[utoipa::path(post, path = "/api/v1/property/items/{id}/documents", tag = "property", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "fields `kind`, `instruction`, `order_no`, `note`, `file`"),
    responses((status = 201, body = DocumentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_document(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    req: axum::extract::Request,
) -> Result<Response> {
    // Scope before reading the body.
    let item = super::visible_item(&state, &actor, id).await?;
    if !super::may_file_documents(&state, &actor, &item) {
        return Err(Error::Forbidden);
    }
    let upload = read_document(req, &state).await?;
    Ok(created(
        super::add_document(&state, &actor, id, upload).await?,
    ))
}

/// Care records (calibration, maintenance, usage readings).
#[utoipa::path(get, path = "/api/v1/property/items/{id}/care", tag = "property", params(("id" = i64, Path)),
    responses((status = 200, body = Page<CareView>), (status = 404, body = ErrorBody)))]
async fn list_care(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<CareView>>> {
    Ok(Json(Page::all(
        super::care_records(&state, &actor, id).await?,
    )))
}

/// Record calibration, maintenance or a usage reading (the kind's verifying role).
#[utoipa::path(post, path = "/api/v1/property/items/{id}/care", tag = "property", params(("id" = i64, Path)), request_body = CareInput,
    responses((status = 201, body = ItemView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_care(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<CareInput>,
) -> Result<Response> {
    Ok(created(
        super::record_care(&state, &actor, id, input).await?,
    ))
}

/// The item's abnormality records.
#[utoipa::path(get, path = "/api/v1/property/items/{id}/abnormalities", tag = "property", params(("id" = i64, Path)),
    responses((status = 200, body = Page<AbnormalityView>), (status = 404, body = ErrorBody)))]
async fn list_abnormalities(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<AbnormalityView>>> {
    Ok(Json(Page::all(
        super::abnormalities_of(&state, &actor, id).await?,
    )))
}

/// Raise an abnormality: the item is isolated and blocked until the customer's instruction.
#[utoipa::path(post, path = "/api/v1/property/items/{id}/abnormalities", tag = "property", params(("id" = i64, Path)), request_body = AbnormalityInput,
    responses((status = 201, body = AbnormalityView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn raise_abnormality(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<AbnormalityInput>,
) -> Result<Response> {
    Ok(created(
        super::raise_abnormality(&state, &actor, id, input).await?,
    ))
}

/// One abnormality record (顾客财产异常记录表).
#[utoipa::path(get, path = "/api/v1/property/abnormalities/{id}", tag = "property", params(("id" = i64, Path)),
    responses((status = 200, body = AbnormalityView), (status = 404, body = ErrorBody)))]
async fn get_abnormality(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<AbnormalityView>> {
    Ok(Json(super::abnormality(&state, &actor, id).await?.0))
}

/// Record that the customer was notified (sales).
#[utoipa::path(post, path = "/api/v1/property/abnormalities/{id}/notify", tag = "property", params(("id" = i64, Path)), request_body = NotifyInput,
    responses((status = 200, body = AbnormalityView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn notify(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<NotifyInput>,
) -> Result<Json<AbnormalityView>> {
    Ok(Json(
        super::notify_customer(&state, &actor, id, input).await?,
    ))
}

/// Record the customer's instruction (sales), from an instruction document on file.
#[utoipa::path(post, path = "/api/v1/property/abnormalities/{id}/instruction", tag = "property", params(("id" = i64, Path)), request_body = InstructionInput,
    responses((status = 200, body = AbnormalityView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn instruction(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<InstructionInput>,
) -> Result<Json<AbnormalityView>> {
    Ok(Json(
        super::record_instruction(&state, &actor, id, input).await?,
    ))
}

/// The item's counts.
#[utoipa::path(get, path = "/api/v1/property/items/{id}/counts", tag = "property", params(("id" = i64, Path)),
    responses((status = 200, body = Page<CountView>), (status = 404, body = ErrorBody)))]
async fn list_counts(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<CountView>>> {
    Ok(Json(Page::all(super::counts_of(&state, &actor, id).await?)))
}

/// Record a physical count (warehouse); a variance waits for approval.
#[utoipa::path(post, path = "/api/v1/property/items/{id}/counts", tag = "property", params(("id" = i64, Path)), request_body = CountInput,
    responses((status = 201, body = CountView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_count(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<CountInput>,
) -> Result<Response> {
    Ok(created(super::count(&state, &actor, id, input).await?))
}

/// Approve or reject a count variance (policy's approver roles).
#[utoipa::path(post, path = "/api/v1/property/counts/{id}/decide", tag = "property", params(("id" = i64, Path)), request_body = DecisionInput,
    responses((status = 200, body = CountView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide_count(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<DecisionInput>,
) -> Result<Json<CountView>> {
    Ok(Json(super::decide_count(&state, &actor, id, input).await?))
}

/// What is due: care, idle property, abnormalities awaiting instructions, late notices, inspections, counts.
#[utoipa::path(get, path = "/api/v1/property/due", tag = "property",
    responses((status = 200, body = DueLists)))]
async fn due(State(state): State<AppState>, actor: Actor) -> Result<Json<DueLists>> {
    Ok(Json(super::due(&state, &actor).await?))
}
