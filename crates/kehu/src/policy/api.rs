//! The policy over HTTP: read the one in force, its versions, check a
//! document, and replace it (admin).
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Policy;
use super::store::{self, PolicyInForce};
use crate::platform::auth::Actor;
use crate::platform::auth::model::{Authorized, ManagePolicy};
use crate::platform::error::{ErrorBody, Result};
use crate::platform::http::extract::DocumentBody;
use crate::platform::i18n;
use crate::platform::list::Page;
use crate::platform::schema::policy_versions;
use crate::platform::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(current, replace))
        .routes(routes!(check))
        .routes(routes!(versions))
        .routes(routes!(version))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub version: i64,
    pub effective_from: DateTime<Utc>,
    /// The TOML document.
    pub body: String,
    /// The same document as JSON.
    #[schema(value_type = Object)]
    pub policy: serde_json::Value,
}

impl From<&PolicyInForce> for PolicyView {
    fn from(p: &PolicyInForce) -> Self {
        PolicyView {
            version: p.version,
            effective_from: p.effective_from,
            body: p.body.clone(),
            policy: serde_json::to_value(&p.policy).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version: i64,
    pub effective_from: DateTime<Utc>,
    pub comment: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub body: String,
}

impl From<&policy_versions::Model> for VersionView {
    fn from(m: &policy_versions::Model) -> Self {
        VersionView {
            version: m.version,
            effective_from: m.effective_from,
            comment: m.comment.clone(),
            created_by: m.created_by.clone(),
            created_at: m.created_at,
            body: m.body.clone(),
        }
    }
}

/// The policy in force.
#[utoipa::path(get, path = "/api/v1/policy", tag = "policy", responses((status = 200, body = PolicyView), (status = 401, body = ErrorBody)))]
async fn current(State(state): State<AppState>, _actor: Actor) -> Result<Json<PolicyView>> {
    let p = state.reload_policy().await?;
    Ok(Json(PolicyView::from(p.as_ref())))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PolicyInput {
    /// The whole TOML document.
    pub body: String,
    /// When it comes into force (default: now).
    pub effective_from: Option<DateTime<Utc>>,
    /// Why it changed (kept with the version and in the audit log).
    pub comment: String,
}

/// Replace the policy (admin): stored as a new version only if it validates;
/// otherwise 422 lists every problem with its line and the old policy stays.
#[utoipa::path(put, path = "/api/v1/policy", tag = "policy", request_body = PolicyInput,
    responses((status = 201, body = VersionView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace(
    State(state): State<AppState>,
    actor: Authorized<ManagePolicy>,
    DocumentBody(input): DocumentBody<PolicyInput>,
) -> Result<Response> {
    let row = store::apply(
        &state.db,
        &actor.audit_actor(),
        &input.body,
        input.effective_from,
        &input.comment,
        state.clock.now(),
    )
    .await?;
    state.reload_policy().await?;
    Ok((StatusCode::CREATED, Json(VersionView::from(&row))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PolicyCheckInput {
    pub body: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckIssue {
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckResult {
    pub valid: bool,
    pub issues: Vec<CheckIssue>,
}

/// Validate a policy document without applying it.
#[utoipa::path(post, path = "/api/v1/policy/check", tag = "policy", request_body = PolicyCheckInput,
    responses((status = 200, body = CheckResult)))]
async fn check(
    _actor: Actor,
    DocumentBody(input): DocumentBody<PolicyCheckInput>,
) -> Json<CheckResult> {
    let lang = i18n::current();
    let issues = match Policy::from_toml(&input.body) {
        Ok(_) => Vec::new(),
        Err(issues) => issues
            .iter()
            .map(|i| CheckIssue {
                line: i.line,
                field: i.field.clone(),
                message: i.message(lang.as_str()),
            })
            .collect(),
    };
    Json(CheckResult {
        valid: issues.is_empty(),
        issues,
    })
}

/// Every stored version, newest first.
#[utoipa::path(get, path = "/api/v1/policy/versions", tag = "policy", responses((status = 200, body = Page<VersionView>)))]
async fn versions(State(state): State<AppState>, _actor: Actor) -> Result<Json<Page<VersionView>>> {
    Ok(Json(Page::all(
        store::versions(&state.db)
            .await?
            .iter()
            .map(VersionView::from)
            .collect(),
    )))
}

/// One stored version.
#[utoipa::path(get, path = "/api/v1/policy/versions/{version}", tag = "policy", params(("version" = i64, Path)),
    responses((status = 200, body = VersionView), (status = 404, body = ErrorBody)))]
async fn version(
    State(state): State<AppState>,
    _actor: Actor,
    Path(v): Path<i64>,
) -> Result<Json<VersionView>> {
    Ok(Json(VersionView::from(
        &store::version(&state.db, v).await?,
    )))
}
