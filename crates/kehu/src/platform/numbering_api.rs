//! Numbering over HTTP: what the next number of a document kind will be.
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::Actor;
use super::error::{ErrorBody, Result};
use super::numbering;
use super::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preview))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NumberPreview {
    pub kind: String,
    pub format: String,
    /// The number the next document of this kind will get (nothing is reserved).
    pub next: String,
}

/// Preview the next document number of a kind (formats are policy).
#[utoipa::path(get, path = "/api/v1/numbering/{kind}", tag = "policy", params(("kind" = String, Path)),
    responses((status = 200, body = NumberPreview), (status = 422, body = ErrorBody)))]
async fn preview(
    State(state): State<AppState>,
    _actor: Actor,
    Path(kind): Path<String>,
) -> Result<Json<NumberPreview>> {
    let p = state.policy();
    let today = state
        .clock
        .now()
        .with_timezone(&p.policy.timezone())
        .date_naive();
    let next = numbering::preview(&state.db, &p.policy, &kind, today).await?;
    let format = p
        .policy
        .numbering
        .formats
        .get(&kind)
        .cloned()
        .unwrap_or_default();
    Ok(Json(NumberPreview { kind, format, next }))
}
