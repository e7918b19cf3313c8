//! The audit log over HTTP: the JSON list, chain verification, and the admin page.
use crate::platform::http::extract::QueryParams;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::audit::{self, AuditFilter, VerifyReport};
use super::auth::model::{Authorized, ViewAudit};
use super::error::{ErrorBody, Result};
use super::http::shell::{Shell, render};
use super::schema::audit_log;
use super::state::AppState;
use crate::platform::auth::api::Page;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// `{field: [old, new]}`
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    pub reason: Option<String>,
    pub hash: String,
}

impl From<&audit_log::Model> for AuditView {
    fn from(m: &audit_log::Model) -> Self {
        AuditView {
            seq: m.seq,
            at: m.at,
            actor_id: m.actor_id,
            actor_name: m.actor_name.clone(),
            action: m.action.clone(),
            entity_type: m.entity_type.clone(),
            entity_id: m.entity_id.clone(),
            changes: serde_json::from_str(&m.changes).unwrap_or(serde_json::Value::Null),
            reason: m.reason.clone(),
            hash: m.hash.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct Paging {
    /// 1-based page number.
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    pub page: Option<u64>,
    /// Items per page (at most 200).
    #[serde(
        default,
        deserialize_with = "crate::platform::http::extract::blank::opt"
    )]
    pub per_page: Option<u64>,
}

impl Paging {
    pub fn resolve(&self) -> (u64, u64) {
        (
            self.page.unwrap_or(1).max(1),
            self.per_page.unwrap_or(50).clamp(1, 200),
        )
    }
}

/// The history of one record (its audit entries), newest first, for the
/// record's page; the caller has checked that the actor may see the record.
pub async fn history_of(
    db: &crate::platform::db::Db,
    entity_type: &str,
    id: i64,
    limit: u64,
) -> Result<Vec<AuditView>, sea_orm::DbErr> {
    let filter = super::audit::AuditFilter {
        entity_type: Some(entity_type.into()),
        entity_id: Some(id.to_string()),
        ..Default::default()
    };
    let (rows, _) = super::audit::list(db, &filter, 1, limit).await?;
    Ok(rows.iter().map(AuditView::from).collect())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(verify))
}

pub fn page_routes() -> Router<AppState> {
    Router::new().route("/admin/audit", get(audit_page))
}

/// Audit entries, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditFilter, Paging),
    responses((status = 200, body = Page<AuditView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _auth: Authorized<ViewAudit>,
    QueryParams(filter): QueryParams<AuditFilter>,
    QueryParams(paging): QueryParams<Paging>,
) -> Result<Json<Page<AuditView>>> {
    let (page, per_page) = paging.resolve();
    let (items, total) = audit::list(&state.db, &filter, page, per_page).await?;
    Ok(Json(Page {
        items: items.iter().map(AuditView::from).collect(),
        total,
    }))
}

/// Walks the hash chain and reports the first broken link.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = VerifyReport), (status = 403, body = ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    _auth: Authorized<ViewAudit>,
) -> Result<Json<VerifyReport>> {
    Ok(Json(audit::verify(&state.db).await?))
}

#[derive(Template)]
#[template(path = "platform/audit.html")]
struct AuditPage {
    shell: Shell,
    filter: AuditFilter,
    entries: Vec<AuditView>,
    total: u64,
    page: u64,
    pages: u64,
    query: String,
}

impl AuditPage {
    fn changes_text(&self, v: &serde_json::Value) -> Vec<(String, String, String)> {
        let show = |v: &serde_json::Value| match v {
            serde_json::Value::Null => "—".to_owned(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, pair)| {
                        let old = pair.get(0).map(show).unwrap_or_default();
                        let new = pair.get(1).map(show).unwrap_or_default();
                        (k.clone(), old, new)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    fn opt<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().unwrap_or("")
    }
    fn date(&self, d: &Option<chrono::NaiveDate>) -> String {
        d.map(|d| d.to_string()).unwrap_or_default()
    }
}

async fn audit_page(
    State(state): State<AppState>,
    _auth: Authorized<ViewAudit>,
    QueryParams(filter): QueryParams<AuditFilter>,
    QueryParams(paging): QueryParams<Paging>,
) -> Result<Response> {
    let (page, per_page) = paging.resolve();
    let (items, total) = audit::list(&state.db, &filter, page, per_page).await?;
    let query = serde_urlencoded::to_string([
        (
            "entity_type",
            filter.entity_type.clone().unwrap_or_default(),
        ),
        ("entity_id", filter.entity_id.clone().unwrap_or_default()),
        ("actor", filter.actor.clone().unwrap_or_default()),
        ("action", filter.action.clone().unwrap_or_default()),
        (
            "from",
            filter.from.map(|d| d.to_string()).unwrap_or_default(),
        ),
        ("to", filter.to.map(|d| d.to_string()).unwrap_or_default()),
    ])
    .unwrap_or_default();
    render(&AuditPage {
        shell: Shell::new("audit.title"),
        filter,
        entries: items.iter().map(AuditView::from).collect(),
        total,
        page,
        pages: total.div_ceil(per_page).max(1),
        query,
    })
}
