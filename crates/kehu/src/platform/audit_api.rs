//! The audit log over HTTP: the JSON list, chain verification, and the admin page.
use crate::platform::http::extract::QueryParams;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::audit::{self, AuditFilter, VerifyReport};
use super::auth::model::{Authorized, ViewAudit};
use super::error::{ErrorBody, Result};
use super::http::shell::{Shell, render};
use super::schema::audit_log;
use super::state::AppState;
use crate::platform::list::{Page, PageParams};

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
    let paging = super::list::Paging::new(Some(1u64), Some(limit));
    let (rows, _) = super::audit::list(db, &filter, paging).await?;
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
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditFilter, PageParams),
    responses((status = 200, body = Page<AuditView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _auth: Authorized<ViewAudit>,
    QueryParams(filter): QueryParams<AuditFilter>,
    QueryParams(paging): QueryParams<PageParams>,
) -> Result<Json<Page<AuditView>>> {
    let paging = paging.paging();
    let (items, total) = audit::list(&state.db, &filter, paging).await?;
    Ok(Json(Page::counted(
        items.iter().map(AuditView::from).collect(),
        super::list::Total::exact(total),
    )))
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
    QueryParams(paging): QueryParams<PageParams>,
) -> Result<Response> {
    let paging = paging.paging();
    let (items, total) = audit::list(&state.db, &filter, paging).await?;
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
        page: paging.page,
        pages: paging.pages(total),
        query,
    })
}
