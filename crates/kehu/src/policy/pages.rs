//! The policy pages: the document in force, its versions, and (for admins)
//! a form to apply a new version.
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Datelike;
use serde::Deserialize;

use super::store;
use crate::platform::auth::model::{Authorized, ManagePolicy};
use crate::platform::auth::{Actor, Permission};
use crate::platform::error::{FieldError, Result};
use crate::platform::http::extract::DocumentForm;
use crate::platform::http::shell::{FormErrors, Shell, Task, render, see_other};
use crate::platform::i18n;
use crate::platform::schema::policy_versions;
use crate::platform::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/policy", get(policy_page).post(policy_apply))
        .route("/admin/policy/versions/{version}", get(version_page))
}

#[derive(Template)]
#[template(path = "platform/policy.html")]
struct PolicyPage {
    shell: Shell,
    version: i64,
    effective_from: String,
    body: String,
    versions: Vec<policy_versions::Model>,
    can_edit: bool,
    draft: String,
    draft_effective: String,
    draft_comment: String,
    errors: FormErrors,
}

async fn page(
    state: &AppState,
    actor: &Actor,
    draft: Option<(String, String, String)>,
    errors: FormErrors,
) -> Result<PolicyPage> {
    let p = state.reload_policy().await?;
    let shell = Shell::new("policy.title");
    let (draft, draft_effective, draft_comment) =
        draft.unwrap_or_else(|| (p.body.clone(), String::new(), String::new()));
    Ok(PolicyPage {
        version: p.version,
        effective_from: shell.time(&p.effective_from),
        body: p.body.clone(),
        versions: store::versions(&state.db).await?,
        can_edit: actor.can(Permission::ManagePolicy),
        draft,
        draft_effective,
        draft_comment,
        errors,
        shell,
    })
}

async fn policy_page(State(state): State<AppState>, actor: Actor) -> Result<Response> {
    render(&page(&state, &actor, None, FormErrors::default()).await?)
}

#[derive(Deserialize)]
struct ApplyForm {
    body: String,
    #[serde(default)]
    effective_from: String,
    #[serde(default)]
    comment: String,
}

async fn policy_apply(
    State(state): State<AppState>,
    actor: Authorized<ManagePolicy>,
    DocumentForm(f): DocumentForm<ApplyForm>,
) -> Result<Response> {
    let tz = state.policy().policy.timezone();
    // The form's datetime-local input is in the company's time zone.
    let effective = match f.effective_from.trim() {
        "" => Ok(None),
        s => super::parse_effective_from(s, tz)
            .map(Some)
            .ok_or_else(|| FieldError::new("effective_from", "error.datetime_format").into()),
    };
    let result = match effective {
        Ok(eff) => {
            store::apply(
                &state.db,
                &actor.audit_actor(),
                &f.body,
                eff,
                &f.comment,
                state.clock.now(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            state.reload_policy().await?;
            Ok(see_other("/admin/policy"))
        }
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            let p = page(
                &state,
                &actor,
                Some((f.body, f.effective_from, f.comment)),
                errors,
            )
            .await?;
            Ok((status, render(&p)?).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "platform/policy_version.html")]
struct VersionPage {
    shell: Shell,
    v: policy_versions::Model,
}

async fn version_page(
    State(state): State<AppState>,
    _actor: Actor,
    Path(v): Path<i64>,
) -> Result<Response> {
    render(&VersionPage {
        shell: Shell::new("policy.version_title"),
        v: store::version(&state.db, v).await?,
    })
}

/// Home-page tasks about the policy: a policy administrator is reminded
/// from November on when next year's holiday calendar is still missing.
pub fn tasks_for(state: &AppState, actor: &Actor) -> Vec<Task> {
    if !actor.can(Permission::ManagePolicy) {
        return Vec::new();
    }
    let p = state.policy();
    let today = state
        .clock
        .now()
        .with_timezone(&p.policy.timezone())
        .date_naive();
    let next_year = today.year() + 1;
    // Every State Council notice sets make-up workdays; without any for next
    // year its notice has not been entered yet (the shipped statutory
    // holidays alone miss the bridge days).
    let has_next = p
        .policy
        .calendar
        .workdays
        .iter()
        .any(|h| h.date.year() == next_year);
    if today.month() >= 11 && !has_next {
        let lang = i18n::current();
        vec![Task {
            title: i18n::tr(
                lang,
                "policy.task_calendar",
                &[("year", next_year.to_string())],
            ),
            detail: i18n::tr(lang, "policy.task_calendar_detail", &[]),
            href: "/admin/policy".into(),
            overdue: false,
        }]
    } else {
        Vec::new()
    }
}
