//! JSON routes of the customer archive. Out-of-scope customers answer 404.
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::attachments::AttachmentView;
use super::io::{self, ImportOptions, ImportReport, ImportRowError};
use super::{
    ContactInput, ContactView, CustomerFilter, CustomerInput, CustomerSummary, CustomerView,
    InteractionInput, InteractionView, OwnerPeriod, TransferInput, TransferResult, UserRef,
    VisitPlanInput, VisitPlanView,
};
use crate::platform::audit_api::AuditView;
use crate::platform::auth::Actor;
use crate::platform::auth::model::{Authorized, ExportCustomers};
use crate::platform::error::{Error, ErrorBody, FieldError, Result};
use crate::platform::http::extract::{JsonBody, QueryParams};
use crate::platform::i18n;
use crate::platform::list::Page;
use crate::platform::sheet;
use crate::platform::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(transfer))
        .routes(routes!(import_template))
        .routes(routes!(import))
        .routes(routes!(export))
        .routes(routes!(list_contacts, add_contact))
        .routes(routes!(update_contact, delete_contact))
        .routes(routes!(list_interactions, add_interaction))
        .routes(routes!(list_visit_plans, add_visit_plan))
        .routes(routes!(history))
        .routes(routes!(owners))
        .routes(routes!(list_shares, add_share))
        .routes(routes!(remove_share))
        .routes(routes!(list_attachments, upload_attachment))
        .routes(routes!(download_attachment, delete_attachment));
    document_create(router.get_openapi_mut());
    router
}

/// Creating and editing share one body, `CustomerInput`, in which every field is optional
/// (an edit sends what it changes); a create needs the name and the type. The document says
/// so with a schema of its own for the create, `NewCustomer`: `CustomerInput` with those two
/// required.
fn document_create(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{RefOr, Schema, schema::Ref};
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(Schema::Object(input))) = components.schemas.get("CustomerInput") else {
        return;
    };
    let mut create = input.clone();
    create.required = vec!["full_name".into(), "customer_type".into()];
    create.description =
        Some("A new customer: `CustomerInput` with the name and type required.".into());
    components
        .schemas
        .insert("NewCustomer".into(), RefOr::T(Schema::Object(create)));
    let body = openapi
        .paths
        .paths
        .get_mut("/api/v1/customers")
        .and_then(|item| item.post.as_mut())
        .and_then(|op| op.request_body.as_mut())
        .and_then(|b| b.content.get_mut("application/json"));
    if let Some(content) = body {
        content.schema = Some(RefOr::Ref(Ref::from_schema_name("NewCustomer")));
    }
}

/// Reads `kind` and `file` from a multipart request (after the caller has
/// checked scope, so an out-of-scope customer is 404 whatever was sent).
pub async fn read_upload(
    req: axum::extract::Request,
    state: &AppState,
) -> Result<super::attachments::Upload> {
    use crate::platform::error::{Error, FieldError};
    use crate::platform::http::multipart;
    let spec = multipart::Spec {
        file: "file",
        texts: &["kind"],
        max_file_mib: state.policy().policy.customers.attachment_max_mib,
    };
    let form = multipart::read(req, state, &spec).await?;
    let kind = form.text("kind").unwrap_or_default();
    let file = form
        .file
        .ok_or_else(|| Error::from(FieldError::new("file", "error.required")))?;
    Ok(super::attachments::Upload {
        kind,
        filename: file.filename,
        data: file.data,
    })
}

/// A customer's attachments.
#[utoipa::path(get, path = "/api/v1/customers/{id}/attachments", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Page<AttachmentView>), (status = 404, body = ErrorBody)))]
async fn list_attachments(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<AttachmentView>>> {
    Ok(Json(Page::all(
        super::attachments::list(&state, &actor, id).await?,
    )))
}

/// Upload an attachment: multipart form with `kind` (policy list, e.g. business_licence) and `file`.
/// Type and size are checked against the policy and the content must match the extension.
#[utoipa::path(post, path = "/api/v1/customers/{id}/attachments", tag = "customers", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "fields `kind` and `file`"),
    responses((status = 201, body = AttachmentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_attachment(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    req: axum::extract::Request,
) -> Result<Response> {
    // Scope before reading the body: an unknown customer is 404 whatever was sent.
    super::editable(&state, &actor, id).await?;
    let upload = read_upload(req, &state).await?;
    let a = super::attachments::upload(&state, &actor, id, upload).await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

/// Download an attachment (for those who can see its customer).
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = ErrorBody)))]
async fn download_attachment(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response> {
    let (a, data) = super::attachments::download(&state, &actor, id).await?;
    let disposition = format!(
        "attachment; filename*=UTF-8''{}",
        urlencoding::encode(&a.filename)
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, a.content_type),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (
                axum::http::header::CACHE_CONTROL,
                "private, no-store".to_owned(),
            ),
        ],
        data,
    )
        .into_response())
}

/// Delete an attachment.
#[utoipa::path(delete, path = "/api/v1/attachments/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_attachment(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    super::attachments::delete(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Customers the caller may see: search, filters, sort, pages.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerFilter),
    responses((status = 200, body = Page<CustomerSummary>), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(filter): QueryParams<CustomerFilter>,
) -> Result<Json<Page<CustomerSummary>>> {
    let (items, total) = super::search(&state, &actor, &filter).await?;
    Ok(Json(Page::counted(items, total)))
}

/// Create a customer. 409 `conflict` when the credit code exists (naming the
/// customer and its owner); 409 `possible_duplicate` for a same-name or
/// same-phone customer unless `confirm_duplicates` is true.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerInput,
    responses((status = 201, body = CustomerView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<CustomerInput>,
) -> Result<Response> {
    let c = super::create(&state, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// One customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerView), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<CustomerView>> {
    Ok(Json(super::visible_view(&state, &actor, id).await?))
}

/// Edit a customer with the `version` read; 409 when someone changed it since.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)), request_body = CustomerInput,
    responses((status = 200, body = CustomerView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<CustomerInput>,
) -> Result<Json<CustomerView>> {
    Ok(Json(super::update(&state, &actor, id, input).await?))
}

/// Move customers to another owner with a reason (员工调离): one, several, or all of a rep's.
#[utoipa::path(post, path = "/api/v1/customers/transfer", tag = "customers", request_body = TransferInput,
    responses((status = 200, body = TransferResult), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn transfer(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<TransferInput>,
) -> Result<Json<TransferResult>> {
    Ok(Json(super::transfer(&state, &actor, input).await?))
}

/// A customer's contacts (phones masked for roles the policy does not let see them).
#[utoipa::path(get, path = "/api/v1/customers/{id}/contacts", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Page<ContactView>), (status = 404, body = ErrorBody)))]
async fn list_contacts(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<ContactView>>> {
    Ok(Json(Page::all(super::contacts(&state, &actor, id).await?)))
}

/// Add a contact.
#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", tag = "customers", params(("id" = i64, Path)), request_body = ContactInput,
    responses((status = 201, body = ContactView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_contact(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<ContactInput>,
) -> Result<Response> {
    let c = super::add_contact(&state, &actor, id, input).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// Edit a contact with the `version` read.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "customers", params(("id" = i64, Path)), request_body = ContactInput,
    responses((status = 200, body = ContactView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_contact(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<ContactInput>,
) -> Result<Json<ContactView>> {
    Ok(Json(
        super::update_contact(&state, &actor, id, input).await?,
    ))
}

/// Remove a contact.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_contact(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    super::delete_contact(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A customer's interactions (visits, calls, mails, meetings, WeChat), newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/interactions", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Page<InteractionView>), (status = 404, body = ErrorBody)))]
async fn list_interactions(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<InteractionView>>> {
    Ok(Json(Page::all(
        super::interactions(&state, &actor, id).await?,
    )))
}

/// Record an interaction (optionally completing a visit plan).
#[utoipa::path(post, path = "/api/v1/customers/{id}/interactions", tag = "customers", params(("id" = i64, Path)), request_body = InteractionInput,
    responses((status = 201, body = InteractionView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_interaction(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<InteractionInput>,
) -> Result<Response> {
    let i = super::add_interaction(&state, &actor, id, input).await?;
    Ok((StatusCode::CREATED, Json(i)).into_response())
}

/// A customer's visit plans.
#[utoipa::path(get, path = "/api/v1/customers/{id}/visit-plans", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Page<VisitPlanView>), (status = 404, body = ErrorBody)))]
async fn list_visit_plans(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<VisitPlanView>>> {
    Ok(Json(Page::all(
        super::visit_plans(&state, &actor, id).await?,
    )))
}

/// Plan a visit.
#[utoipa::path(post, path = "/api/v1/customers/{id}/visit-plans", tag = "customers", params(("id" = i64, Path)), request_body = VisitPlanInput,
    responses((status = 201, body = VisitPlanView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_visit_plan(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<VisitPlanInput>,
) -> Result<Response> {
    let v = super::add_visit_plan(&state, &actor, id, input).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The customer's change history from the audit log.
#[utoipa::path(get, path = "/api/v1/customers/{id}/history", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Page<AuditView>), (status = 404, body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<AuditView>>> {
    Ok(Json(Page::all(super::history(&state, &actor, id).await?)))
}

/// Owners of the customer over time.
#[utoipa::path(get, path = "/api/v1/customers/{id}/owners", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Page<OwnerPeriod>), (status = 404, body = ErrorBody)))]
async fn owners(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<OwnerPeriod>>> {
    Ok(Json(Page::all(super::owners(&state, &actor, id).await?)))
}

/// Users the customer is shared with.
#[utoipa::path(get, path = "/api/v1/customers/{id}/shares", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Page<UserRef>), (status = 404, body = ErrorBody)))]
async fn list_shares(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<Page<UserRef>>> {
    Ok(Json(Page::all(super::shares(&state, &actor, id).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ShareInput {
    /// Required; optional in the type so an out-of-scope customer answers 404 first.
    pub user_id: Option<i64>,
}

/// Share the customer with another user, who then sees and edits it.
#[utoipa::path(post, path = "/api/v1/customers/{id}/shares", tag = "customers", params(("id" = i64, Path)), request_body = ShareInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_share(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<ShareInput>,
) -> Result<StatusCode> {
    super::share(&state, &actor, id, input.user_id.unwrap_or_default()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop sharing the customer with a user.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/shares/{user_id}", tag = "customers", params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_share(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<StatusCode> {
    super::unshare(&state, &actor, id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ import / export

/// The file format of a download.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatParam {
    /// `xlsx` (default) or `csv`.
    pub format: Option<String>,
}

/// How to import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `xlsx` or `csv`; by default from the Content-Type, else from the content.
    pub format: Option<String>,
    /// `true`: import the good rows and report the bad ones (default: all or nothing).
    pub skip_invalid: Option<String>,
    /// `true`: import rows whose name or phone matches another customer's.
    pub confirm_duplicates: Option<String>,
}

/// A yes/no parameter: `true`, `1`, `yes`, `on`.
pub fn flag(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "on"
        )
    })
}

/// The body of a refused import (422): nothing was imported because of bad rows.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportFailure {
    pub error: ImportFailureDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportFailureDetail {
    /// `invalid_rows`
    pub code: String,
    pub message: String,
    /// Every problem as `rows[N].column_key`, for clients that show field errors.
    pub fields: Vec<crate::platform::error::FieldMessage>,
    /// Every problem as row, column, reason (as in a 200 answer's `errors`). Absent when the
    /// file itself could not be read (the answer is then an `ErrorBody`).
    #[serde(default)]
    pub errors: Vec<ImportRowError>,
    /// Data rows in the file (absent when the file could not be read).
    pub rows: Option<usize>,
}

impl ImportFailure {
    pub fn new(report: ImportReport) -> Self {
        let lang = i18n::current();
        ImportFailure {
            error: ImportFailureDetail {
                code: "invalid_rows".into(),
                message: i18n::tr(
                    lang,
                    "customer_io.nothing_imported",
                    &[("count", report.bad_rows().to_string())],
                ),
                fields: report
                    .errors
                    .iter()
                    .map(|e| crate::platform::error::FieldMessage {
                        field: match &e.field {
                            Some(f) => format!("rows[{}].{f}", e.row),
                            None => format!("rows[{}]", e.row),
                        },
                        message: e.message.clone(),
                    })
                    .collect(),
                errors: report.errors,
                rows: Some(report.rows),
            },
        }
    }
}

/// The import template: Chinese (or the caller's language) headers, an
/// example row and, in .xlsx, an instructions sheet.
#[utoipa::path(get, path = "/api/v1/customers/import-template", tag = "customers", params(FormatParam),
    responses((status = 200, description = "The template (.xlsx or .csv)", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import_template(
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

/// Import customers from an .xlsx or CSV file sent as the raw request body.
/// One transaction: all or nothing (422 listing every bad row with its
/// column and reason) unless `skip_invalid=true`, which imports the good
/// rows and lists the bad ones. A credit code that exists (or appears
/// earlier in the file) is a bad row; a same name or phone too unless
/// `confirm_duplicates=true`.
#[utoipa::path(post, path = "/api/v1/customers/import", tag = "customers", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The .xlsx or .csv file"),
    responses((status = 200, body = ImportReport), (status = 403, body = ErrorBody),
        (status = 422, body = ImportFailure, description = "Nothing imported: bad rows, or an unreadable file (then an ErrorBody)")))]
async fn import(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    if !io::may_import(&actor) {
        return Err(Error::Forbidden);
    }
    // Refused by its declared length before any of it is read, else read up to the limit.
    let max = state
        .policy()
        .policy
        .limits
        .sheet()
        .max_bytes
        .min(sheet::MAX_BYTES);
    let too_large = || {
        Error::from(FieldError::text(
            "file",
            sheet::SheetError::TooLarge(sheet::Limit::Bytes(max)).message(i18n::current().as_str()),
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, max)
        .await
        .map_err(|_| too_large())?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = io::upload_format(q.format.as_deref(), content_type, &bytes)?;
    let options = ImportOptions {
        skip_invalid: flag(&q.skip_invalid),
        confirm_duplicates: flag(&q.confirm_duplicates),
    };
    let report = io::import(
        &state,
        &actor,
        bytes.to_vec(),
        format,
        options,
        io::no_progress(),
    )
    .await?;
    if report.refused() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(ImportFailure::new(report)),
        )
            .into_response());
    }
    Ok(Json(report).into_response())
}

/// Export the customers the caller may see, with the list's filters, as
/// .xlsx or CSV. Needs the export permission (policy
/// `customers.export_roles`); contact phones are masked for roles outside
/// `customers.phone_roles`; every export is recorded in the audit log.
#[utoipa::path(get, path = "/api/v1/customers/export", tag = "customers", params(FormatParam, CustomerFilter),
    responses((status = 200, description = "The file (.xlsx or .csv)", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export(
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
