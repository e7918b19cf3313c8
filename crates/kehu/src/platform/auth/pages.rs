//! Pages: login and logout, the user's profile and tokens, and the admin
//! pages for users and teams.
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;

use super::api::session_cookie;
use super::model::{Authorized, ManageUsers};
use super::{Actor, NewUser, Role, TeamInput, TeamView, TokenView, UserPatch, UserView};
use crate::platform::error::{Error, Result};
use crate::platform::http::extract::{FormBody, QueryParams};
use crate::platform::http::shell::{FormErrors, Shell, render, safe_next, see_other};
use crate::platform::http::{ClientIp, SESSION_COOKIE};
use crate::platform::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/me", get(profile_page).post(profile_submit))
        .route("/me/password", post(password_submit))
        .route("/me/tokens", get(tokens_page).post(token_create))
        .route("/me/tokens/{id}/revoke", post(token_revoke))
        .route("/admin/users", get(users_page))
        .route("/admin/users/new", get(user_new_page).post(user_create))
        .route("/admin/users/{id}", get(user_edit_page).post(user_update))
        .route("/admin/users/{id}/password", post(user_reset_password))
        .route("/admin/users/{id}/unlock", post(user_unlock))
        .route("/admin/teams", get(teams_page).post(team_create))
        .route("/admin/teams/{id}", get(team_edit_page).post(team_update))
}

// ------------------------------------------------------------------ login

#[derive(Template)]
#[template(path = "platform/login.html")]
struct LoginPage {
    shell: Shell,
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(
    actor: Option<Actor>,
    QueryParams(q): QueryParams<NextQuery>,
) -> Result<Response> {
    let next = safe_next(q.next.as_deref());
    if actor.is_some() {
        return Ok(see_other(&next));
    }
    render(&LoginPage {
        shell: Shell::new("login.title"),
        username: String::new(),
        next,
        error: None,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    FormBody(f): FormBody<LoginForm>,
) -> Result<Response> {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let next = safe_next(f.next.as_deref());
    match super::login(&state, &f.username, &f.password, &ip, ua).await {
        Ok((_, raw)) => {
            Ok((jar.add(session_cookie(&state, raw)), see_other(&next)).into_response())
        }
        Err(e) => {
            let status = e.status();
            let mut headers = Response::default();
            e.add_headers(&mut headers);
            let errors = FormErrors::from_error(e)?;
            let page = LoginPage {
                shell: Shell::new("login.title"),
                username: f.username,
                next,
                error: errors.general,
            };
            Ok((status, headers.headers().clone(), render(&page)?).into_response())
        }
    }
}

async fn logout(State(state): State<AppState>, jar: CookieJar, actor: Actor) -> Result<Response> {
    if let Some(id) = &actor.session_id {
        super::logout(&state, id).await?;
    }
    Ok((
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        see_other("/login"),
    )
        .into_response())
}

// ------------------------------------------------------------------ profile

#[derive(Template)]
#[template(path = "platform/profile.html")]
struct ProfilePage {
    shell: Shell,
    user: UserView,
    errors: FormErrors,
    saved: bool,
}

#[derive(Deserialize)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn profile_page(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(q): QueryParams<SavedQuery>,
) -> Result<Response> {
    render(&ProfilePage {
        shell: Shell::new("profile.title"),
        user: super::get_user(&state, actor.user_id).await?,
        errors: FormErrors::default(),
        saved: q.saved.is_some(),
    })
}

#[derive(Deserialize)]
struct ProfileForm {
    version: i64,
    display_name: String,
    language: String,
}

async fn profile_submit(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(f): FormBody<ProfileForm>,
) -> Result<Response> {
    let patch = UserPatch {
        version: f.version,
        display_name: Some(f.display_name),
        language: Some(f.language),
        ..Default::default()
    };
    match super::update_user(&state, &actor.audit_actor(), actor.user_id, patch).await {
        Ok(_) => Ok(see_other("/me?saved=1")),
        Err(e) => profile_with_errors(&state, &actor, e).await,
    }
}

async fn profile_with_errors(state: &AppState, actor: &Actor, e: Error) -> Result<Response> {
    let status = e.status();
    let errors = FormErrors::from_error(e)?;
    let page = ProfilePage {
        shell: Shell::new("profile.title"),
        user: super::get_user(state, actor.user_id).await?,
        errors,
        saved: false,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

async fn password_submit(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(f): FormBody<PasswordForm>,
) -> Result<Response> {
    match super::change_own_password(&state, &actor, &f.current_password, &f.new_password).await {
        // Every session ended with the change, this one too.
        Ok(()) => Ok(see_other("/login")),
        Err(e) => profile_with_errors(&state, &actor, e).await,
    }
}

// ------------------------------------------------------------------ tokens

#[derive(Template)]
#[template(path = "platform/tokens.html")]
struct TokensPage {
    shell: Shell,
    tokens: Vec<TokenView>,
    created: Option<(String, String)>,
    errors: FormErrors,
}

async fn tokens_page(State(state): State<AppState>, actor: Actor) -> Result<Response> {
    render(&TokensPage {
        shell: Shell::new("tokens.title"),
        tokens: super::list_tokens(&state, actor.user_id).await?,
        created: None,
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
}

async fn token_create(
    State(state): State<AppState>,
    actor: Actor,
    FormBody(f): FormBody<TokenForm>,
) -> Result<Response> {
    let (created, errors) =
        match super::create_token(&state, &actor.audit_actor(), actor.user_id, &f.name).await {
            Ok((t, secret)) => (Some((t.name, secret)), FormErrors::default()),
            Err(e) => (None, FormErrors::from_error(e)?),
        };
    // The secret is shown on this response only; reloading does not show it again.
    let page = TokensPage {
        shell: Shell::new("tokens.title"),
        tokens: super::list_tokens(&state, actor.user_id).await?,
        created,
        errors,
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], render(&page)?).into_response())
}

async fn token_revoke(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response> {
    super::revoke_token(&state, &actor.audit_actor(), actor.user_id, id).await?;
    Ok(see_other("/me/tokens"))
}

// ------------------------------------------------------------------ users (admin)

#[derive(Template)]
#[template(path = "platform/users.html")]
struct UsersPage {
    shell: Shell,
    users: Vec<UserView>,
    teams: Vec<TeamView>,
}

impl UsersPage {
    fn team_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.teams.iter().find(|t| t.id == id))
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }
    fn role_labels(&self, roles: &[Role]) -> String {
        roles
            .iter()
            .map(|r| self.shell.t(&r.label_key()))
            .collect::<Vec<_>>()
            .join("、")
    }
}

async fn users_page(
    State(state): State<AppState>,
    _actor: Authorized<ManageUsers>,
) -> Result<Response> {
    render(&UsersPage {
        shell: Shell::new("users.title"),
        users: super::list_users(&state).await?,
        teams: super::list_teams(&state).await?,
    })
}

/// One role checkbox of the user form.
struct RoleChoice {
    value: &'static str,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "platform/user_form.html")]
struct UserFormPage {
    shell: Shell,
    user: Option<UserView>,
    username: String,
    display_name: String,
    language: String,
    team_id: Option<i64>,
    roles: Vec<RoleChoice>,
    teams: Vec<TeamView>,
    errors: FormErrors,
    /// A password generated on create or reset, shown once.
    generated_password: Option<String>,
    saved: bool,
    /// When the user's login lock-out ends, shown in the viewer's time zone, if locked now.
    locked_until: Option<String>,
}

impl UserFormPage {
    /// The edit page of a user as stored, with the user's login lock-out if locked now.
    async fn of(state: &AppState, user: UserView) -> Result<UserFormPage> {
        let shell = Shell::new("users.edit");
        let roles: Vec<String> = user.roles.iter().map(|r| r.as_str().to_owned()).collect();
        let tz = state.policy().policy.timezone();
        let locked_until = super::locked_until(state, &user.username)
            .await?
            .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string());
        Ok(UserFormPage {
            roles: role_choices(&shell, &roles),
            shell,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            language: user.language.clone(),
            team_id: user.team_id,
            user: Some(user),
            teams: super::list_teams(state).await?,
            errors: FormErrors::default(),
            generated_password: None,
            saved: false,
            locked_until,
        })
    }
}

fn role_choices(shell: &Shell, selected: &[String]) -> Vec<RoleChoice> {
    Role::ALL
        .iter()
        .map(|r| RoleChoice {
            value: r.as_str(),
            label: shell.t(&r.label_key()),
            checked: selected.iter().any(|s| s == r.as_str()),
        })
        .collect()
}

async fn user_new_page(
    State(state): State<AppState>,
    _actor: Authorized<ManageUsers>,
) -> Result<Response> {
    let shell = Shell::new("users.new");
    let roles = role_choices(&shell, &["sales_rep".to_owned()]);
    render(&UserFormPage {
        language: state.policy().policy.locale.default_language.clone(),
        shell,
        user: None,
        username: String::new(),
        display_name: String::new(),
        team_id: None,
        roles,
        teams: super::list_teams(&state).await?,
        errors: FormErrors::default(),
        generated_password: None,
        saved: false,
        locked_until: None,
    })
}

#[derive(Deserialize)]
struct UserForm {
    #[serde(default)]
    username: String,
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    team_id: String,
    language: String,
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    reason: String,
}

fn parse_team(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

async fn user_create(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    FormBody(f): FormBody<UserForm>,
) -> Result<Response> {
    let input = NewUser {
        username: f.username.clone(),
        display_name: f.display_name.clone(),
        password: Some(f.password.clone()).filter(|p| !p.is_empty()),
        roles: f.roles.clone(),
        team_id: parse_team(&f.team_id),
        language: Some(f.language.clone()),
    };
    match super::create_user(&state, &actor.audit_actor(), input).await {
        Ok((user, generated)) => {
            let page = UserFormPage {
                generated_password: generated,
                saved: true,
                ..UserFormPage::of(&state, user).await?
            };
            Ok(([(header::CACHE_CONTROL, "no-store")], render(&page)?).into_response())
        }
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            let shell = Shell::new("users.new");
            let page = UserFormPage {
                roles: role_choices(&shell, &f.roles),
                shell,
                user: None,
                username: f.username,
                display_name: f.display_name,
                language: f.language,
                team_id: parse_team(&f.team_id),
                teams: super::list_teams(&state).await?,
                errors,
                generated_password: None,
                saved: false,
                locked_until: None,
            };
            Ok((status, render(&page)?).into_response())
        }
    }
}

async fn user_edit_page(
    State(state): State<AppState>,
    _actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
    QueryParams(q): QueryParams<SavedQuery>,
) -> Result<Response> {
    let user = super::get_user(&state, id).await?;
    render(&UserFormPage {
        saved: q.saved.is_some(),
        ..UserFormPage::of(&state, user).await?
    })
}

async fn user_update(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
    FormBody(f): FormBody<UserForm>,
) -> Result<Response> {
    let patch = UserPatch {
        version: f.version.unwrap_or_default(),
        display_name: Some(f.display_name.clone()),
        roles: Some(f.roles.clone()),
        team_id: Some(parse_team(&f.team_id)),
        language: Some(f.language.clone()),
        active: Some(f.active.is_some()),
        reason: Some(f.reason.clone()),
    };
    match super::update_user(&state, &actor.audit_actor(), id, patch).await {
        Ok(_) => Ok(see_other(&format!("/admin/users/{id}?saved=1"))),
        Err(e) => {
            let status = e.status();
            let errors = FormErrors::from_error(e)?;
            let user = super::get_user(&state, id).await?;
            let base = UserFormPage::of(&state, user).await?;
            let page = UserFormPage {
                roles: role_choices(&base.shell, &f.roles),
                display_name: f.display_name,
                language: f.language,
                team_id: parse_team(&f.team_id),
                errors,
                ..base
            };
            Ok((status, render(&page)?).into_response())
        }
    }
}

async fn user_reset_password(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
) -> Result<Response> {
    let generated = super::set_password(&state, &actor.audit_actor(), id, None).await?;
    let user = super::get_user(&state, id).await?;
    let page = UserFormPage {
        generated_password: generated,
        ..UserFormPage::of(&state, user).await?
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], render(&page)?).into_response())
}

async fn user_unlock(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
) -> Result<Response> {
    super::release_lockout(&state, &actor.audit_actor(), id).await?;
    Ok(see_other(&format!("/admin/users/{id}?saved=1")))
}

// ------------------------------------------------------------------ teams (admin)

#[derive(Template)]
#[template(path = "platform/teams.html")]
struct TeamsPage {
    shell: Shell,
    teams: Vec<TeamView>,
    managers: Vec<UserView>,
    edit: Option<TeamView>,
    name: String,
    manager_id: Option<i64>,
    errors: FormErrors,
}

impl TeamsPage {
    fn manager_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.managers.iter().find(|u| u.id == id))
            .map(|u| format!("{} ({})", u.display_name, u.username))
            .unwrap_or_default()
    }
}

async fn managers(state: &AppState) -> Result<Vec<UserView>> {
    Ok(super::list_users(state)
        .await?
        .into_iter()
        .filter(|u| u.active && u.roles.contains(&Role::SalesManager))
        .collect())
}

async fn teams_page(
    State(state): State<AppState>,
    _actor: Authorized<ManageUsers>,
) -> Result<Response> {
    render(&TeamsPage {
        shell: Shell::new("teams.title"),
        teams: super::list_teams(&state).await?,
        managers: managers(&state).await?,
        edit: None,
        name: String::new(),
        manager_id: None,
        errors: FormErrors::default(),
    })
}

async fn team_edit_page(
    State(state): State<AppState>,
    _actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
) -> Result<Response> {
    let team = super::get_team(&state, id).await?;
    render(&TeamsPage {
        shell: Shell::new("teams.title"),
        teams: super::list_teams(&state).await?,
        managers: managers(&state).await?,
        name: team.name.clone(),
        manager_id: team.manager_id,
        edit: Some(team),
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize)]
struct TeamForm {
    name: String,
    #[serde(default)]
    manager_id: String,
    #[serde(default)]
    version: Option<i64>,
}

async fn team_create(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    FormBody(f): FormBody<TeamForm>,
) -> Result<Response> {
    let input = TeamInput {
        name: f.name.clone(),
        manager_id: parse_team(&f.manager_id),
        version: None,
    };
    match super::create_team(&state, &actor.audit_actor(), input).await {
        Ok(_) => Ok(see_other("/admin/teams")),
        Err(e) => team_form_error(&state, None, f, e).await,
    }
}

async fn team_update(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
    FormBody(f): FormBody<TeamForm>,
) -> Result<Response> {
    let input = TeamInput {
        name: f.name.clone(),
        manager_id: parse_team(&f.manager_id),
        version: f.version,
    };
    match super::update_team(&state, &actor.audit_actor(), id, input).await {
        Ok(_) => Ok(see_other("/admin/teams")),
        Err(e) => team_form_error(&state, Some(id), f, e).await,
    }
}

async fn team_form_error(
    state: &AppState,
    id: Option<i64>,
    f: TeamForm,
    e: Error,
) -> Result<Response> {
    let status = e.status();
    let errors = FormErrors::from_error(e)?;
    let edit = match id {
        Some(id) => Some(super::get_team(state, id).await?),
        None => None,
    };
    let page = TeamsPage {
        shell: Shell::new("teams.title"),
        teams: super::list_teams(state).await?,
        managers: managers(state).await?,
        edit,
        name: f.name,
        manager_id: parse_team(&f.manager_id),
        errors,
    };
    Ok((status, render(&page)?).into_response())
}
