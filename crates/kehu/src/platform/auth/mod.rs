//! Users, teams, sessions and API tokens.
pub mod api;
pub mod model;
pub mod pages;
pub mod password;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set, TransactionTrait};
use serde::{Deserialize, Serialize};

pub use model::{Actor, Permission, Role};
use model::{format_roles, parse_roles};
use password::{generate_password, hash_password, random_secret, sha256_hex, verify_password};

use super::audit::{self, AuditActor, AuditEntry};
use super::db;
use super::error::{Error, FieldError, Fields, Result};
use super::schema::{api_tokens, login_attempts, sessions, teams, users};
use super::state::AppState;

/// A user as the API and the audit log show it (never the password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub team_id: Option<i64>,
    pub language: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<&users::Model> for UserView {
    fn from(u: &users::Model) -> Self {
        UserView {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            roles: parse_roles(&u.roles),
            team_id: u.team_id,
            language: u.language.clone(),
            active: u.active,
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

fn snapshot<T: Serialize>(v: &T) -> serde_json::Value {
    let mut j = serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
    if let Some(o) = j.as_object_mut() {
        // Bookkeeping fields change on every write; the audit shows real changes.
        o.remove("updated_at");
        o.remove("version");
    }
    j
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    /// Omitted: a password is generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
    pub roles: Vec<String>,
    #[serde(default)]
    pub team_id: Option<i64>,
    #[serde(default)]
    pub language: Option<String>,
}

/// Creates a user; returns it and the generated password, if one was generated.
pub async fn create_user(
    state: &AppState,
    actor: &AuditActor,
    input: NewUser,
) -> Result<(UserView, Option<String>)> {
    let policy = state.policy();
    let rules = model::PasswordRules::of(&policy.policy.security);
    let username = input.username.trim().to_owned();
    let mut f = Fields::default();
    f.check(model::validate_username("username", &username));
    let roles = match model::roles_from_names("roles", &input.roles) {
        Ok(r) => r,
        Err(e) => {
            f.push(e);
            Vec::new()
        }
    };
    let language = input
        .language
        .clone()
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| policy.policy.locale.default_language.clone());
    f.check(model::validate_language("language", &language));
    if let Some(p) = &input.password {
        f.check(model::validate_password("password", p, &username, rules));
    }
    if let Some(team) = input.team_id
        && store::team_by_id(&state.db, team).await?.is_none()
    {
        f.push(FieldError::new("team_id", "error.team_unknown"));
    }
    f.finish()?;
    let (password, generated) = match input.password {
        Some(p) => (p, None),
        None => {
            let p = generate_password();
            (p.clone(), Some(p))
        }
    };
    let hash = hash_password(password).await?;
    let now = state.clock.now();
    let display_name = if input.display_name.trim().is_empty() {
        username.clone()
    } else {
        input.display_name.trim().to_owned()
    };
    let txn = db::begin_write(&state.db).await?;
    if store::user_by_name(&txn, &username).await?.is_some() {
        return Err(Error::Invalid(vec![FieldError::new(
            "username",
            "error.username_taken",
        )]));
    }
    let user = users::ActiveModel {
        username: Set(username),
        display_name: Set(display_name),
        password_hash: Set(hash),
        roles: Set(format_roles(&roles)),
        team_id: Set(input.team_id),
        language: Set(language),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let view = UserView::from(&user);
    audit::record(
        &txn,
        AuditEntry::new(now, actor, "create", "user", user.id)
            .diff(&serde_json::Value::Null, &snapshot(&view)),
    )
    .await?;
    lead_if_leaderless(&txn, actor, &user, now).await?;
    txn.commit().await?;
    Ok((view, generated))
}

/// A sales manager in a team that has no manager leads it (audited as a
/// change of the team). Without this a manager added with its team would see
/// none of the team's customers.
async fn lead_if_leaderless(
    txn: &sea_orm::DatabaseTransaction,
    actor: &AuditActor,
    user: &users::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(team_id) = user.team_id else {
        return Ok(());
    };
    if !user.active || !parse_roles(&user.roles).contains(&Role::SalesManager) {
        return Ok(());
    }
    let Some(team) = store::team_for_update(txn, team_id).await? else {
        return Ok(());
    };
    if team.manager_id.is_some() {
        return Ok(());
    }
    let before = TeamView::from(&team);
    let version = team.version;
    let mut am = team.into_active_model();
    am.manager_id = Set(Some(user.id));
    am.updated_at = Set(now);
    am.version = Set(version + 1);
    let team = am.update(txn).await?;
    let after = TeamView::from(&team);
    audit::record(
        txn,
        AuditEntry::new(now, actor, "update", "team", team_id)
            .diff(&snapshot(&before), &snapshot(&after)),
    )
    .await?;
    Ok(())
}

/// A partial update; `version` is the one the caller read.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct UserPatch {
    pub version: i64,
    pub display_name: Option<String>,
    pub roles: Option<Vec<String>>,
    /// `null` removes the user from its team.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<i64>>,
    pub language: Option<String>,
    pub active: Option<bool>,
    /// Why (shown in the audit log).
    pub reason: Option<String>,
}

/// Distinguishes an absent field from an explicit `null`.
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

pub async fn update_user(
    state: &AppState,
    actor: &AuditActor,
    id: i64,
    patch: UserPatch,
) -> Result<UserView> {
    let mut f = Fields::default();
    let roles = match &patch.roles {
        Some(names) => match model::roles_from_names("roles", names) {
            Ok(r) => Some(r),
            Err(e) => {
                f.push(e);
                None
            }
        },
        None => None,
    };
    if let Some(l) = &patch.language {
        f.check(model::validate_language("language", l));
    }
    if let Some(name) = &patch.display_name
        && name.trim().is_empty()
    {
        f.push(FieldError::new("display_name", "error.required"));
    }
    if let Some(Some(team)) = patch.team_id
        && store::team_by_id(&state.db, team).await?.is_none()
    {
        f.push(FieldError::new("team_id", "error.team_unknown"));
    }
    f.finish()?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let user = store::user_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    if user.version != patch.version {
        return Err(Error::StaleVersion);
    }
    let before = UserView::from(&user);
    let was_admin = before.active && before.roles.contains(&Role::Admin);
    let mut am = user.into_active_model();
    if let Some(n) = patch.display_name {
        am.display_name = Set(n.trim().to_owned());
    }
    if let Some(r) = &roles {
        am.roles = Set(format_roles(r));
    }
    if let Some(t) = patch.team_id {
        am.team_id = Set(t);
    }
    if let Some(l) = patch.language {
        am.language = Set(l);
    }
    if let Some(a) = patch.active {
        am.active = Set(a);
    }
    am.updated_at = Set(now);
    am.version = Set(before.version + 1);
    let user = am.update(&txn).await?;
    let after = UserView::from(&user);
    let is_admin = after.active && after.roles.contains(&Role::Admin);
    if was_admin && !is_admin && store::active_admin_count(&txn).await? == 0 {
        return Err(Error::Conflict("error.last_admin".into(), vec![]));
    }
    if !after.active {
        store::delete_sessions_of(&txn, id).await?;
    }
    // Disabling ends access for good: re-enabling later must not bring old tokens back.
    let revoked = if before.active && !after.active {
        store::revoke_tokens_of(&txn, id, now).await?
    } else {
        Vec::new()
    };
    let entry = AuditEntry::new(now, actor, "update", "user", id)
        .diff(&snapshot(&before), &snapshot(&after))
        .reason(patch.reason.clone());
    audit::record(&txn, entry).await?;
    for token_id in revoked {
        let entry = AuditEntry::new(now, actor, "revoke", "api_token", token_id)
            .change("revoked_at", serde_json::Value::Null, now.to_rfc3339())
            .reason(patch.reason.clone());
        audit::record(&txn, entry).await?;
    }
    lead_if_leaderless(&txn, actor, &user, now).await?;
    txn.commit().await?;
    Ok(after)
}

/// Sets a new password (generated when `None`, and returned once) and ends
/// the user's sessions.
pub async fn set_password(
    state: &AppState,
    actor: &AuditActor,
    id: i64,
    new_password: Option<String>,
) -> Result<Option<String>> {
    set_password_as(state, actor, id, new_password, "password").await
}

/// [`set_password`], naming the new password's input `field` in errors.
async fn set_password_as(
    state: &AppState,
    actor: &AuditActor,
    id: i64,
    new_password: Option<String>,
    field: &str,
) -> Result<Option<String>> {
    let rules = model::PasswordRules::of(&state.policy().policy.security);
    let user = store::user_by_id(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    if let Some(p) = &new_password {
        model::validate_password(field, p, &user.username, rules)?;
        if verify_password(p.clone(), user.password_hash.clone()).await? {
            return Err(FieldError::new(field, "error.password_same").into());
        }
    }
    let (password, generated) = match new_password {
        Some(p) => (p, None),
        None => {
            let p = generate_password();
            (p.clone(), Some(p))
        }
    };
    let hash = hash_password(password).await?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let user = store::user_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    let version = user.version;
    let mut am = user.into_active_model();
    am.password_hash = Set(hash);
    am.updated_at = Set(now);
    am.version = Set(version + 1);
    am.update(&txn).await?;
    store::delete_sessions_of(&txn, id).await?;
    // The audit shows that the password changed, never the password or its hash.
    audit::record(
        &txn,
        AuditEntry::new(now, actor, "set_password", "user", id).change("password", "***", "***"),
    )
    .await?;
    txn.commit().await?;
    Ok(generated)
}

/// Changes one's own password after checking the current one.
pub async fn change_own_password(
    state: &AppState,
    actor: &Actor,
    current: &str,
    new_password: &str,
) -> Result<()> {
    let user = store::user_by_id(&state.db, actor.user_id)
        .await?
        .ok_or(Error::NotFound)?;
    if !verify_password(current.to_owned(), user.password_hash).await? {
        return Err(FieldError::new("current_password", "error.password_wrong").into());
    }
    set_password_as(
        state,
        &actor.audit_actor(),
        actor.user_id,
        Some(new_password.to_owned()),
        "new_password",
    )
    .await?;
    Ok(())
}

/// Stores one's own language preference (audited like any user change).
pub async fn set_own_language(state: &AppState, actor: &Actor, lang: &str) -> Result<()> {
    let user = store::user_by_id(&state.db, actor.user_id)
        .await?
        .ok_or(Error::NotFound)?;
    if user.language == lang {
        return Ok(());
    }
    update_user(
        state,
        &actor.audit_actor(),
        actor.user_id,
        UserPatch {
            version: user.version,
            language: Some(lang.to_owned()),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

pub async fn list_users(state: &AppState) -> Result<Vec<UserView>> {
    Ok(store::all_users(&state.db)
        .await?
        .iter()
        .map(UserView::from)
        .collect())
}

pub async fn get_user(state: &AppState, id: i64) -> Result<UserView> {
    store::user_by_id(&state.db, id)
        .await?
        .as_ref()
        .map(UserView::from)
        .ok_or(Error::NotFound)
}

pub async fn get_user_by_name(state: &AppState, username: &str) -> Result<UserView> {
    store::user_by_name(&state.db, username)
        .await?
        .as_ref()
        .map(UserView::from)
        .ok_or(Error::NotFound)
}

// ---------------------------------------------------------------- teams

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub manager_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<&teams::Model> for TeamView {
    fn from(t: &teams::Model) -> Self {
        TeamView {
            id: t.id,
            name: t.name.clone(),
            manager_id: t.manager_id,
            created_at: t.created_at,
            updated_at: t.updated_at,
            version: t.version,
        }
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TeamInput {
    pub name: String,
    /// The sales manager who leads the team.
    pub manager_id: Option<i64>,
    /// Required when editing: the version that was read.
    #[serde(default)]
    pub version: Option<i64>,
}

async fn check_team_input(state: &AppState, input: &TeamInput) -> Result<()> {
    let mut f = Fields::default();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        f.push(FieldError::new("name", "error.team_name"));
    }
    if let Some(m) = input.manager_id {
        match store::user_by_id(&state.db, m).await? {
            Some(u) if u.active && parse_roles(&u.roles).contains(&Role::SalesManager) => {}
            _ => f.push(FieldError::new("manager_id", "error.team_manager")),
        }
    }
    f.finish()
}

pub async fn create_team(
    state: &AppState,
    actor: &AuditActor,
    input: TeamInput,
) -> Result<TeamView> {
    check_team_input(state, &input).await?;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let team = teams::ActiveModel {
        name: Set(input.name.trim().to_owned()),
        manager_id: Set(input.manager_id),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            Error::Invalid(vec![FieldError::new("name", "error.team_name_taken")])
        } else {
            e.into()
        }
    })?;
    let view = TeamView::from(&team);
    audit::record(
        &txn,
        AuditEntry::new(now, actor, "create", "team", team.id)
            .diff(&serde_json::Value::Null, &snapshot(&view)),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

pub async fn update_team(
    state: &AppState,
    actor: &AuditActor,
    id: i64,
    input: TeamInput,
) -> Result<TeamView> {
    check_team_input(state, &input).await?;
    let Some(version) = input.version else {
        return Err(FieldError::new("version", "error.required").into());
    };
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let team = store::team_for_update(&txn, id)
        .await?
        .ok_or(Error::NotFound)?;
    if team.version != version {
        return Err(Error::StaleVersion);
    }
    let before = TeamView::from(&team);
    let mut am = team.into_active_model();
    am.name = Set(input.name.trim().to_owned());
    am.manager_id = Set(input.manager_id);
    am.updated_at = Set(now);
    am.version = Set(version + 1);
    let team = am.update(&txn).await.map_err(|e| {
        if db::is_unique_violation(&e) {
            Error::Invalid(vec![FieldError::new("name", "error.team_name_taken")])
        } else {
            e.into()
        }
    })?;
    let after = TeamView::from(&team);
    audit::record(
        &txn,
        AuditEntry::new(now, actor, "update", "team", id)
            .diff(&snapshot(&before), &snapshot(&after)),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

pub async fn list_teams(state: &AppState) -> Result<Vec<TeamView>> {
    Ok(store::all_teams(&state.db)
        .await?
        .iter()
        .map(TeamView::from)
        .collect())
}

pub async fn get_team(state: &AppState, id: i64) -> Result<TeamView> {
    store::team_by_id(&state.db, id)
        .await?
        .as_ref()
        .map(TeamView::from)
        .ok_or(Error::NotFound)
}

// ---------------------------------------------------------------- sessions

fn actor_from(user: &users::Model, session: Option<&sessions::Model>) -> Actor {
    Actor {
        user_id: user.id,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        roles: parse_roles(&user.roles),
        team_id: user.team_id,
        language: user.language.clone(),
        csrf_token: session.map(|s| s.csrf_token.clone()),
        session_id: session.map(|s| s.id.clone()),
    }
}

/// The login attempts of each address that is over its failure limit take
/// turns, so answering its failures late slows the address down instead of
/// letting it try in parallel.
#[derive(Default)]
pub struct AddressGates(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl AddressGates {
    fn gate(&self, ip: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Forget the gates nobody waits at, so the map stays small.
        if gates.len() > 1024 {
            gates.retain(|_, g| Arc::strong_count(g) > 1);
        }
        gates.entry(ip.to_owned()).or_default().clone()
    }
}

/// When the user's login lock-out ends, if the user is locked out now: while the policy's
/// `login_max_failures` failures fall within its window and the last one is younger than
/// the lock-out.
pub async fn locked_until(state: &AppState, username: &str) -> Result<Option<DateTime<Utc>>> {
    let sec = &state.policy().policy.security;
    let now = state.clock.now();
    let window = sec.login_window();
    let lockout = sec.login_lockout();
    let max = usize::try_from(sec.login_max_failures).unwrap_or(5);
    let since = now - window.max(lockout);
    let user_failures = store::recent_user_failures(&state.db, username.trim(), since).await?;
    if let Some(newest) = user_failures.first().copied()
        && let Some(nth) = max
            .checked_sub(1)
            .and_then(|i| user_failures.get(i))
            .copied()
        && newest - nth <= window
        && now < newest + lockout
    {
        return Ok(Some(newest + lockout));
    }
    Ok(None)
}

/// Releases a user's login lock-out (an administrator, after checking who is calling): the
/// user's failed attempts are cleared, audited with their count.
pub async fn release_lockout(state: &AppState, actor: &AuditActor, id: i64) -> Result<u64> {
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let user = store::user_by_id(&txn, id).await?.ok_or(Error::NotFound)?;
    let cleared = store::delete_user_failures(&txn, &user.username).await?;
    audit::record(
        &txn,
        AuditEntry::new(now, actor, "unlock", "user", id).change("failed_logins", cleared, 0),
    )
    .await?;
    txn.commit().await?;
    Ok(cleared)
}

/// Logs in: refuses while the user is over the policy's failure limit,
/// slows down an address that is over its own (see [`AddressGates`]),
/// records every attempt, and opens a session. Returns the
/// actor and the raw session token for the cookie.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    ip: &str,
    user_agent: &str,
) -> Result<(Actor, String)> {
    let policy = state.policy();
    let sec = &policy.policy.security;
    let now = state.clock.now();
    let username = username.trim();
    let window = Duration::minutes(i64::from(sec.login_window_minutes));
    let max_ip = usize::try_from(sec.login_max_failures_per_address).unwrap_or(20);
    if let Some(until) = locked_until(state, username).await? {
        let seconds = (until - now).num_seconds().max(1);
        return Err(Error::RateLimited { seconds });
    }
    // An address is never locked (an office shares one): past its limit, its
    // attempts go one at a time and each failure is answered late.
    let ip_failures = store::recent_ip_failures(&state.db, ip, now - window).await?;
    let delay = model::address_delay(
        ip_failures.len(),
        max_ip,
        sec.login_address_delay_seconds,
        sec.login_address_delay_max_seconds,
    );
    let _turn = if delay > 0 {
        let wait =
            std::time::Duration::from_secs(u64::from(sec.login_address_delay_max_seconds) * 2);
        match tokio::time::timeout(wait, state.login_gates.gate(ip).lock_owned()).await {
            Ok(turn) => Some(turn),
            Err(_) => {
                return Err(Error::RateLimited {
                    seconds: i64::from(sec.login_address_delay_max_seconds),
                });
            }
        }
    } else {
        None
    };
    let user = store::user_by_name(&state.db, username).await?;
    let ok = match &user {
        Some(u) if u.active => {
            verify_password(password.to_owned(), u.password_hash.clone()).await?
        }
        _ => {
            // Same work for unknown users, so timing does not reveal which names exist.
            let _ = hash_password(password.to_owned()).await;
            false
        }
    };
    let txn = state.db.begin().await?;
    login_attempts::ActiveModel {
        username: Set(username.chars().take(64).collect()),
        ip: Set(ip.to_owned()),
        at: Set(now),
        success: Set(ok),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let (Some(user), true) = (user, ok) else {
        txn.commit().await?;
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_secs(u64::from(delay))).await;
        }
        return Err(Error::BadCredentials);
    };
    let raw = random_secret(32);
    let session = sessions::ActiveModel {
        id: Set(sha256_hex(&raw)),
        user_id: Set(user.id),
        csrf_token: Set(random_secret(24)),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + Duration::hours(i64::from(sec.session_hours))),
        ip: Set(ip.to_owned()),
        user_agent: Set(user_agent.chars().take(200).collect()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok((actor_from(&user, Some(&session)), raw))
}

pub async fn logout(state: &AppState, session_id: &str) -> Result<()> {
    use sea_orm::EntityTrait;
    sessions::Entity::delete_by_id(session_id.to_owned())
        .exec(&state.db)
        .await?;
    Ok(())
}

/// The actor of a session cookie, if the session is live. Expired or idle
/// sessions are deleted.
pub async fn resolve_session(state: &AppState, raw: &str) -> Result<Option<Actor>> {
    let id = sha256_hex(raw);
    let Some(session) = store::session_by_id(&state.reads, &id).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle = Duration::minutes(i64::from(
        state.policy().policy.security.session_idle_minutes,
    ));
    if now >= session.expires_at || now - session.last_seen_at > idle {
        logout(state, &id).await?;
        return Ok(None);
    }
    let Some(user) = store::user_by_id_read(&state.reads, session.user_id).await? else {
        return Ok(None);
    };
    if !user.active {
        return Ok(None);
    }
    // Writing on every request would serialise readers behind the writer.
    if now - session.last_seen_at > Duration::seconds(60) {
        store::touch_session(&state.db, &id, now).await?;
    }
    Ok(Some(actor_from(&user, Some(&session))))
}

/// The actor of an `Authorization: Bearer` token, if live.
pub async fn resolve_token(state: &AppState, raw: &str) -> Result<Option<Actor>> {
    let Some((token, user)) = store::token_with_user(&state.reads, &sha256_hex(raw)).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    if token.revoked_at.is_some() || token.expires_at.is_some_and(|e| now >= e) {
        return Ok(None);
    }
    if !user.active {
        return Ok(None);
    }
    if token
        .last_used_at
        .is_none_or(|t| now - t > Duration::seconds(60))
    {
        store::touch_token(&state.db, token.id, now).await?;
    }
    Ok(Some(actor_from(&user, None)))
}

// ---------------------------------------------------------------- tokens

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    /// The first characters, to recognise a token without revealing it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&api_tokens::Model> for TokenView {
    fn from(t: &api_tokens::Model) -> Self {
        TokenView {
            id: t.id,
            name: t.name.clone(),
            prefix: t.prefix.clone(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// Creates a token for `user_id`; the raw token is returned once and only
/// its hash is kept.
pub async fn create_token(
    state: &AppState,
    actor: &AuditActor,
    user_id: i64,
    name: &str,
) -> Result<(TokenView, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(FieldError::new("name", "error.token_name").into());
    }
    let days = state.policy().policy.security.api_token_days;
    let now = state.clock.now();
    let raw = format!("kehu_{}", random_secret(32));
    let txn = db::begin_write(&state.db).await?;
    let user = store::user_by_id(&txn, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    if !user.active {
        return Err(Error::Conflict("error.user_disabled".into(), vec![]));
    }
    let token = api_tokens::ActiveModel {
        user_id: Set(user_id),
        name: Set(name.to_owned()),
        token_hash: Set(sha256_hex(&raw)),
        prefix: Set(raw.chars().take(12).collect()),
        created_at: Set(now),
        last_used_at: Set(None),
        expires_at: Set((days > 0).then(|| now + Duration::days(i64::from(days)))),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let view = TokenView::from(&token);
    audit::record(
        &txn,
        AuditEntry::new(now, actor, "create", "api_token", token.id)
            .change("name", serde_json::Value::Null, name)
            .change("user", serde_json::Value::Null, user.username),
    )
    .await?;
    txn.commit().await?;
    Ok((view, raw))
}

pub async fn list_tokens(state: &AppState, user_id: i64) -> Result<Vec<TokenView>> {
    Ok(store::tokens_of(&state.db, user_id)
        .await?
        .iter()
        .map(TokenView::from)
        .collect())
}

/// Revokes one of `user_id`'s tokens; another user's token is "not found".
pub async fn revoke_token(
    state: &AppState,
    actor: &AuditActor,
    user_id: i64,
    token_id: i64,
) -> Result<TokenView> {
    use sea_orm::EntityTrait;
    let now = state.clock.now();
    let txn = db::begin_write(&state.db).await?;
    let token = api_tokens::Entity::find_by_id(token_id)
        .one(&txn)
        .await?
        .filter(|t| t.user_id == user_id)
        .ok_or(Error::NotFound)?;
    if token.revoked_at.is_some() {
        return Ok(TokenView::from(&token));
    }
    let mut am = token.into_active_model();
    am.revoked_at = Set(Some(now));
    let token = am.update(&txn).await?;
    audit::record(
        &txn,
        AuditEntry::new(now, actor, "revoke", "api_token", token_id).change(
            "revoked_at",
            serde_json::Value::Null,
            now.to_rfc3339(),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(TokenView::from(&token))
}

/// What the first start did about the `admin` user.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstAdmin {
    /// Users exist already.
    Exists,
    /// Created with the password given (e.g. `KEHU_ADMIN_PASSWORD`).
    Created,
    /// Created with this generated password, to be printed once.
    Generated(String),
}

/// On the very first start: creates `admin` with the given password or a
/// generated one.
pub async fn ensure_first_admin(state: &AppState, password: Option<String>) -> Result<FirstAdmin> {
    if store::user_count(&state.db).await? > 0 {
        return Ok(FirstAdmin::Exists);
    }
    let (_, generated) = create_user(
        state,
        &AuditActor::system(),
        NewUser {
            username: "admin".into(),
            display_name: "管理员".into(),
            password,
            roles: vec!["admin".into()],
            team_id: None,
            language: None,
        },
    )
    .await?;
    Ok(match generated {
        Some(p) => FirstAdmin::Generated(p),
        None => FirstAdmin::Created,
    })
}

/// Housekeeping run by the poller: expired sessions and old login attempts.
pub async fn prune(state: &AppState) -> Result<()> {
    let now = state.clock.now();
    store::delete_expired_sessions(&state.db, now).await?;
    store::prune_login_attempts(&state.db, now - Duration::days(30)).await?;
    Ok(())
}
