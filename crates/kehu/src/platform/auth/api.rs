//! JSON routes: session, own profile and tokens, users and teams (admin).
use crate::platform::list::Page;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::model::{Authorized, ManageUsers};
use super::{Actor, NewUser, TeamInput, TeamView, TokenView, UserPatch, UserView};
use crate::platform::error::{ErrorBody, Result};
use crate::platform::http::extract::JsonBody;
use crate::platform::http::{ClientIp, SESSION_COOKIE};
use crate::platform::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login, logout))
        .routes(routes!(me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(reset_password))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(unlock_user))
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team, update_team))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub user: UserView,
    /// Send as `X-CSRF-Token` on cookie-authenticated writes that are not JSON.
    pub csrf_token: String,
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure behind HTTPS.
pub fn session_cookie(state: &AppState, raw: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, raw))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies)
        .build()
}

/// Log in; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginInput,
    responses((status = 201, body = SessionView), (status = 401, body = ErrorBody), (status = 429, description = "too many failed attempts", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    JsonBody(input): JsonBody<LoginInput>,
) -> Result<Response> {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (actor, raw) = super::login(&state, &input.username, &input.password, &ip, ua).await?;
    let user = super::get_user(&state, actor.user_id).await?;
    let body = SessionView {
        user,
        csrf_token: actor.csrf_token.clone().unwrap_or_default(),
    };
    Ok((
        StatusCode::CREATED,
        jar.add(session_cookie(&state, raw)),
        Json(body),
    )
        .into_response())
}

/// Log out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, jar: CookieJar, actor: Actor) -> Result<Response> {
    if let Some(id) = &actor.session_id {
        super::logout(&state, id).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
    )
        .into_response())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, actor: Actor) -> Result<Json<UserView>> {
    Ok(Json(super::get_user(&state, actor.user_id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct MePatch {
    pub version: i64,
    pub display_name: Option<String>,
    /// `zh-CN` or `en`.
    pub language: Option<String>,
}

/// Change one's own display name or language.
#[utoipa::path(patch, path = "/api/v1/me", tag = "session", request_body = MePatch,
    responses((status = 200, body = UserView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_me(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(p): JsonBody<MePatch>,
) -> Result<Json<UserView>> {
    let patch = UserPatch {
        version: p.version,
        display_name: p.display_name,
        language: p.language,
        ..Default::default()
    };
    Ok(Json(
        super::update_user(&state, &actor.audit_actor(), actor.user_id, patch).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change one's own password (ends every session of the user).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "session", request_body = PasswordChange,
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(p): JsonBody<PasswordChange>,
) -> Result<StatusCode> {
    super::change_own_password(&state, &actor, &p.current_password, &p.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// All users (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Page<UserView>), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    _auth: Authorized<ManageUsers>,
) -> Result<Json<Page<UserView>>> {
    Ok(Json(Page::all(super::list_users(&state).await?)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: UserView,
    /// The generated password, shown this once (absent when one was given).
    pub password: Option<String>,
}

/// Add a user (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = CreatedUser), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    JsonBody(input): JsonBody<NewUser>,
) -> Result<Response> {
    let (user, password) = super::create_user(&state, &actor.audit_actor(), input).await?;
    Ok((StatusCode::CREATED, Json(CreatedUser { user, password })).into_response())
}

/// One user (admin).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(state): State<AppState>,
    _auth: Authorized<ManageUsers>,
    Path(id): Path<i64>,
) -> Result<Json<UserView>> {
    Ok(Json(super::get_user(&state, id).await?))
}

/// Edit roles, team, language, display name or active flag (admin).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
    JsonBody(p): JsonBody<UserPatch>,
) -> Result<Json<UserView>> {
    Ok(Json(
        super::update_user(&state, &actor.audit_actor(), id, p).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetPassword {
    /// Omitted: a password is generated and returned once.
    pub password: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ResetResult {
    pub password: Option<String>,
}

/// Reset a user's password (admin); ends the user's sessions.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-password", tag = "users", params(("id" = i64, Path)), request_body = ResetPassword,
    responses((status = 200, body = ResetResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reset_password(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
    JsonBody(p): JsonBody<ResetPassword>,
) -> Result<Json<ResetResult>> {
    let password = super::set_password(&state, &actor.audit_actor(), id, p.password).await?;
    Ok(Json(ResetResult { password }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct VersionReason {
    pub version: i64,
    pub reason: Option<String>,
}

/// Disable a user (admin): sessions end, tokens stop working.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "users", params(("id" = i64, Path)), request_body = VersionReason,
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn disable_user(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
    JsonBody(p): JsonBody<VersionReason>,
) -> Result<Json<UserView>> {
    set_active(&state, &actor, id, p, false).await
}

/// Re-enable a user (admin).
#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "users", params(("id" = i64, Path)), request_body = VersionReason,
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn enable_user(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
    JsonBody(p): JsonBody<VersionReason>,
) -> Result<Json<UserView>> {
    set_active(&state, &actor, id, p, true).await
}

/// How many failed logins a release of a lock-out cleared.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Unlocked {
    pub cleared: u64,
}

/// Release a user's login lock-out (admin): the user's failed logins are cleared (audited).
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = Unlocked), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn unlock_user(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
) -> Result<Json<Unlocked>> {
    let cleared = super::release_lockout(&state, &actor.audit_actor(), id).await?;
    Ok(Json(Unlocked { cleared }))
}

async fn set_active(
    state: &AppState,
    actor: &Actor,
    id: i64,
    p: VersionReason,
    active: bool,
) -> Result<Json<UserView>> {
    let patch = UserPatch {
        version: p.version,
        active: Some(active),
        reason: p.reason,
        ..Default::default()
    };
    Ok(Json(
        super::update_user(state, &actor.audit_actor(), id, patch).await?,
    ))
}

/// All teams (admin).
#[utoipa::path(get, path = "/api/v1/teams", tag = "users", responses((status = 200, body = Page<TeamView>), (status = 403, body = ErrorBody)))]
async fn list_teams(
    State(state): State<AppState>,
    _auth: Authorized<ManageUsers>,
) -> Result<Json<Page<TeamView>>> {
    Ok(Json(Page::all(super::list_teams(&state).await?)))
}

/// Add a team led by a sales manager (admin).
#[utoipa::path(post, path = "/api/v1/teams", tag = "users", request_body = TeamInput,
    responses((status = 201, body = TeamView), (status = 422, body = ErrorBody)))]
async fn create_team(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    JsonBody(input): JsonBody<TeamInput>,
) -> Result<Response> {
    let team = super::create_team(&state, &actor.audit_actor(), input).await?;
    Ok((StatusCode::CREATED, Json(team)).into_response())
}

/// One team (admin).
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = TeamView), (status = 404, body = ErrorBody)))]
async fn get_team(
    State(state): State<AppState>,
    _auth: Authorized<ManageUsers>,
    Path(id): Path<i64>,
) -> Result<Json<TeamView>> {
    Ok(Json(super::get_team(&state, id).await?))
}

/// Rename a team or change its manager (admin).
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "users", params(("id" = i64, Path)), request_body = TeamInput,
    responses((status = 200, body = TeamView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_team(
    State(state): State<AppState>,
    actor: Authorized<ManageUsers>,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<TeamInput>,
) -> Result<Json<TeamView>> {
    Ok(Json(
        super::update_team(&state, &actor.audit_actor(), id, input).await?,
    ))
}

/// One's own API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Page<TokenView>), (status = 401, body = ErrorBody)))]
async fn list_tokens(State(state): State<AppState>, actor: Actor) -> Result<Json<Page<TokenView>>> {
    Ok(Json(Page::all(
        super::list_tokens(&state, actor.user_id).await?,
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenInput {
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenView,
    /// The token itself, shown this once.
    pub secret: String,
}

/// Create an API token for oneself; the secret is returned once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenInput,
    responses((status = 201, body = CreatedToken), (status = 422, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<TokenInput>,
) -> Result<Response> {
    let (token, secret) =
        super::create_token(&state, &actor.audit_actor(), actor.user_id, &input.name).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })).into_response())
}

/// Revoke one of one's own tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 200, body = TokenView), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Json<TokenView>> {
    Ok(Json(
        super::revoke_token(&state, &actor.audit_actor(), actor.user_id, id).await?,
    ))
}
