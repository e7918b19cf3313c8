//! JSON routes of consignment and custody agreements, under `/api/v1/property/consignment` and
//! `/api/v1/property/custody` (the pages' nouns). Agreements of customers out of the caller's
//! sight answer 404; actions its role may not take 403.
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    AgreementFilter, ConsignmentInput, ConsignmentSummary, ConsignmentView, CustodyGoodsInput,
    CustodyInput, CustodySummary, CustodyView, PaymentInput, ReceiptInput, ReturnInput, SaleInput,
    SettlementInput, SettlementView, StatementView, VersionInput,
};
use crate::platform::auth::Actor;
use crate::platform::error::{ErrorBody, FieldError, Result};
use crate::platform::http::extract::{JsonBody, QueryParams};
use crate::platform::i18n;
use crate::platform::list::{Page, Total};
use crate::platform::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_consignments, create_consignment))
        .routes(routes!(get_consignment, update_consignment))
        .routes(routes!(receive))
        .routes(routes!(sell))
        .routes(routes!(give_back))
        .routes(routes!(return_unsold))
        .routes(routes!(end_consignment))
        .routes(routes!(statement))
        .routes(routes!(close_month))
        .routes(routes!(list_custody, create_custody))
        .routes(routes!(get_custody, update_custody))
        .routes(routes!(check_in))
        .routes(routes!(check_out))
        .routes(routes!(pay))
        .routes(routes!(end_custody))
}

fn created<T: serde::Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

// ------------------------------------------------------------------ consignment

/// Consignment agreements of the customers the caller may see.
#[utoipa::path(get, path = "/api/v1/property/consignment", tag = "property", params(AgreementFilter),
    responses((status = 200, body = Page<ConsignmentSummary>), (status = 401, body = ErrorBody)))]
async fn list_consignments(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(filter): QueryParams<AgreementFilter>,
) -> Result<Json<Page<ConsignmentSummary>>> {
    let (items, total) = super::consignments(&state, &actor, &filter).await?;
    Ok(Json(Page::counted(items, Total::exact(total))))
}

/// Record a consignment agreement (寄售协议) for a customer the caller may edit. Ratios and the
/// term default to the policy's (`[consignment]`); the number follows the policy format
/// `consignment_agreement`.
#[utoipa::path(post, path = "/api/v1/property/consignment", tag = "property", request_body = ConsignmentInput,
    responses((status = 201, body = ConsignmentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_consignment(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<ConsignmentInput>,
) -> Result<Response> {
    Ok(created(
        super::create_consignment(&state, &actor, input).await?,
    ))
}

/// One consignment agreement with its stock per item, movements and closed statements.
#[utoipa::path(get, path = "/api/v1/property/consignment/{id}", tag = "property", params(("id" = i64, Path)),
    responses((status = 200, body = ConsignmentView), (status = 404, body = ErrorBody)))]
async fn get_consignment(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<ConsignmentView>> {
    Ok(Json(super::consignment(&state, &actor, id).await?))
}

/// Edit the period, ratios or notes with the `version` read; 409 when stale.
#[utoipa::path(patch, path = "/api/v1/property/consignment/{id}", tag = "property", params(("id" = i64, Path)), request_body = ConsignmentInput,
    responses((status = 200, body = ConsignmentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_consignment(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<ConsignmentInput>,
) -> Result<Json<ConsignmentView>> {
    Ok(Json(
        super::update_consignment(&state, &actor, id, input).await?,
    ))
}

/// Goods received from the customer (warehouse or sales).
#[utoipa::path(post, path = "/api/v1/property/consignment/{id}/receipts", tag = "property", params(("id" = i64, Path)), request_body = ReceiptInput,
    responses((status = 201, body = ConsignmentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn receive(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<ReceiptInput>,
) -> Result<Response> {
    Ok(created(super::receive(&state, &actor, id, input).await?))
}

/// Record a sale: 422 naming `quantity` when the stock is short, `sold_at` when outside the
/// period or in a closed month.
#[utoipa::path(post, path = "/api/v1/property/consignment/{id}/sales", tag = "property", params(("id" = i64, Path)), request_body = SaleInput,
    responses((status = 201, body = ConsignmentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn sell(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<SaleInput>,
) -> Result<Response> {
    Ok(created(super::sell(&state, &actor, id, input).await?))
}

/// Give goods back to the customer (warehouse or sales).
#[utoipa::path(post, path = "/api/v1/property/consignment/{id}/returns", tag = "property", params(("id" = i64, Path)), request_body = ReturnInput,
    responses((status = 201, body = ConsignmentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn give_back(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<ReturnInput>,
) -> Result<Response> {
    Ok(created(super::give_back(&state, &actor, id, input).await?))
}

/// Give every unsold item back (one return per item in stock), with the `version` read.
#[utoipa::path(post, path = "/api/v1/property/consignment/{id}/return-unsold", tag = "property", params(("id" = i64, Path)), request_body = VersionInput,
    responses((status = 200, body = ConsignmentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn return_unsold(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<VersionInput>,
) -> Result<Json<ConsignmentView>> {
    Ok(Json(super::return_unsold(&state, &actor, id, input).await?))
}

/// End the agreement, with the `version` read; 409 while goods are in stock.
#[utoipa::path(post, path = "/api/v1/property/consignment/{id}/end", tag = "property", params(("id" = i64, Path)), request_body = VersionInput,
    responses((status = 200, body = ConsignmentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn end_consignment(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<VersionInput>,
) -> Result<Json<ConsignmentView>> {
    Ok(Json(
        super::end_consignment(&state, &actor, id, input).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementParams {
    /// "YYYY-MM" (default: this month, in the policy's time zone).
    pub month: Option<String>,
    /// `json` (default) or `xlsx`.
    pub format: Option<String>,
}

/// The monthly settlement statement (寄售月度结算单): the month's sales with commission and the
/// amount due to the customer, as JSON or as an .xlsx file (`format=xlsx`).
#[utoipa::path(get, path = "/api/v1/property/consignment/{id}/statement", tag = "property", params(("id" = i64, Path), StatementParams),
    responses((status = 200, body = StatementView, description = "JSON, or the .xlsx file with format=xlsx"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn statement(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    QueryParams(q): QueryParams<StatementParams>,
) -> Result<Response> {
    let s = super::statement(&state, &actor, id, &q.month).await?;
    match q.format.as_deref().map(str::trim).unwrap_or("json") {
        "" | "json" => Ok(Json(s).into_response()),
        "xlsx" => xlsx_download(&s),
        _ => Err(FieldError::new("format", "agreements.error.format").into()),
    }
}

/// The statement as an .xlsx download named after the agreement and month.
pub fn xlsx_download(s: &StatementView) -> Result<Response> {
    let bytes = super::statement_xlsx(s, i18n::current())?;
    let name = format!("{}-{}.xlsx", s.agreement.number, s.month);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename*=UTF-8''{}",
                    urlencoding::encode(&name)
                ),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// Close a month (finance or sales): the statement gets its number and sales in the month are
/// refused from then on; 409 when already closed.
#[utoipa::path(post, path = "/api/v1/property/consignment/{id}/settlements", tag = "property", params(("id" = i64, Path)), request_body = SettlementInput,
    responses((status = 201, body = SettlementView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn close_month(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<SettlementInput>,
) -> Result<Response> {
    Ok(created(
        super::close_month(&state, &actor, id, input).await?,
    ))
}

// ------------------------------------------------------------------ custody

/// Custody agreements of the customers the caller may see.
#[utoipa::path(get, path = "/api/v1/property/custody", tag = "property", params(AgreementFilter),
    responses((status = 200, body = Page<CustodySummary>), (status = 401, body = ErrorBody)))]
async fn list_custody(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(filter): QueryParams<AgreementFilter>,
) -> Result<Json<Page<CustodySummary>>> {
    let (items, total) = super::custodies(&state, &actor, &filter).await?;
    Ok(Json(Page::counted(items, Total::exact(total))))
}

/// Record a custody agreement (寄养协议): period, monthly fee, late-fee rate per day and payment
/// due day (the last two default to the policy's `[custody]`).
#[utoipa::path(post, path = "/api/v1/property/custody", tag = "property", request_body = CustodyInput,
    responses((status = 201, body = CustodyView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_custody(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<CustodyInput>,
) -> Result<Response> {
    Ok(created(super::create_custody(&state, &actor, input).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfParams {
    /// "YYYY-MM-DD": the date fees and late fees are computed as of (default today).
    pub as_of: Option<String>,
}

/// One custody agreement with its goods, payments and fee schedule (months, fee, paid, late
/// fee, balance) as of a date.
#[utoipa::path(get, path = "/api/v1/property/custody/{id}", tag = "property", params(("id" = i64, Path), AsOfParams),
    responses((status = 200, body = CustodyView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_custody(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    QueryParams(q): QueryParams<AsOfParams>,
) -> Result<Json<CustodyView>> {
    Ok(Json(super::custody(&state, &actor, id, &q.as_of).await?))
}

/// Edit the terms with the `version` read; 409 when stale.
#[utoipa::path(patch, path = "/api/v1/property/custody/{id}", tag = "property", params(("id" = i64, Path)), request_body = CustodyInput,
    responses((status = 200, body = CustodyView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_custody(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<CustodyInput>,
) -> Result<Json<CustodyView>> {
    Ok(Json(
        super::update_custody(&state, &actor, id, input).await?,
    ))
}

/// Check goods in (warehouse or sales): `item`, `spec`, `unit`, `quantity`, `moved_on`.
#[utoipa::path(post, path = "/api/v1/property/custody/{id}/check-ins", tag = "property", params(("id" = i64, Path)), request_body = CustodyGoodsInput,
    responses((status = 201, body = CustodyView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn check_in(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<CustodyGoodsInput>,
) -> Result<Response> {
    Ok(created(super::check_in(&state, &actor, id, input).await?))
}

/// Check goods out (warehouse or sales): `item_id`, `quantity`, `moved_on`; 422 naming
/// `quantity` when more than held.
#[utoipa::path(post, path = "/api/v1/property/custody/{id}/check-outs", tag = "property", params(("id" = i64, Path)), request_body = CustodyGoodsInput,
    responses((status = 201, body = CustodyView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn check_out(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<CustodyGoodsInput>,
) -> Result<Response> {
    Ok(created(super::check_out(&state, &actor, id, input).await?))
}

/// Record a payment of custody fees (finance or sales).
#[utoipa::path(post, path = "/api/v1/property/custody/{id}/payments", tag = "property", params(("id" = i64, Path)), request_body = PaymentInput,
    responses((status = 201, body = CustodyView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn pay(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<PaymentInput>,
) -> Result<Response> {
    Ok(created(super::pay(&state, &actor, id, input).await?))
}

/// End the agreement once every item is collected, with the `version` read.
#[utoipa::path(post, path = "/api/v1/property/custody/{id}/end", tag = "property", params(("id" = i64, Path)), request_body = VersionInput,
    responses((status = 200, body = CustodyView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn end_custody(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<VersionInput>,
) -> Result<Json<CustodyView>> {
    Ok(Json(super::end_custody(&state, &actor, id, input).await?))
}
