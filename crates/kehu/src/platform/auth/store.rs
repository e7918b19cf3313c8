//! Queries for users, teams, sessions, tokens and login attempts.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::platform::error::Result;
use crate::platform::reads::{Reads, column_type};
use crate::platform::schema::{api_tokens, login_attempts, sessions, teams, users};

pub async fn user_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<users::Model>> {
    Ok(users::Entity::find_by_id(id).one(db).await?)
}

/// Reads a user inside a write transaction, locking the row until commit
/// (PostgreSQL), so optimistic version checks cannot both pass.
pub async fn user_for_update(db: &impl ConnectionTrait, id: i64) -> Result<Option<users::Model>> {
    Ok(users::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?)
}

pub async fn team_for_update(db: &impl ConnectionTrait, id: i64) -> Result<Option<teams::Model>> {
    Ok(teams::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?)
}

pub async fn user_by_name(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::Username.eq(username))
        .one(db)
        .await?)
}

pub async fn all_users(db: &impl ConnectionTrait) -> Result<Vec<users::Model>> {
    Ok(users::Entity::find()
        .order_by_asc(users::Column::Username)
        .all(db)
        .await?)
}

/// Active users holding `admin`, to keep at least one.
pub async fn active_admin_count(db: &impl ConnectionTrait) -> Result<usize> {
    let users = users::Entity::find()
        .filter(users::Column::Active.eq(true))
        .filter(users::Column::Roles.like("%admin%"))
        .all(db)
        .await?;
    Ok(users
        .iter()
        .filter(|u| super::model::parse_roles(&u.roles).contains(&super::Role::Admin))
        .count())
}

pub async fn team_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<teams::Model>> {
    Ok(teams::Entity::find_by_id(id).one(db).await?)
}

pub async fn all_teams(db: &impl ConnectionTrait) -> Result<Vec<teams::Model>> {
    Ok(teams::Entity::find()
        .order_by_asc(teams::Column::Name)
        .all(db)
        .await?)
}

/// A session, on every page request (a hot read).
pub async fn session_by_id(reads: &Reads, id: &str) -> Result<Option<sessions::Model>> {
    Ok(reads
        .one::<sessions::ActiveModel>(sessions::Entity::find_by_id(id.to_owned()))
        .await?)
}

/// A user, on every page request (a hot read).
pub async fn user_by_id_read(reads: &Reads, id: i64) -> Result<Option<users::Model>> {
    Ok(reads
        .one::<users::ActiveModel>(users::Entity::find_by_id(id))
        .await?)
}

pub async fn delete_sessions_of(db: &impl ConnectionTrait, user_id: i64) -> Result<()> {
    sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn delete_expired_sessions(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64> {
    Ok(sessions::Entity::delete_many()
        .filter(sessions::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn touch_session(db: &impl ConnectionTrait, id: &str, now: DateTime<Utc>) -> Result<()> {
    sessions::Entity::update_many()
        .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
        .filter(sessions::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn token_by_hash(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<api_tokens::Model>> {
    Ok(api_tokens::Entity::find()
        .filter(api_tokens::Column::TokenHash.eq(hash))
        .one(db)
        .await?)
}

/// A token and its user in one query (what every bearer request needs).
/// A token and its user, on every API request (a hot read).
pub async fn token_with_user(
    reads: &Reads,
    hash: &str,
) -> Result<Option<(api_tokens::Model, users::Model)>> {
    let backend = reads.backend();
    let p = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        "SELECT t.id AS t_id, t.user_id AS t_user_id, t.name AS t_name, \
         t.token_hash AS t_token_hash, t.prefix AS t_prefix, t.created_at AS t_created_at, \
         t.last_used_at AS t_last_used_at, t.expires_at AS t_expires_at, \
         t.revoked_at AS t_revoked_at, u.id AS u_id, u.username AS u_username, \
         u.display_name AS u_display_name, u.password_hash AS u_password_hash, \
         u.roles AS u_roles, u.team_id AS u_team_id, u.language AS u_language, \
         u.active AS u_active, u.created_at AS u_created_at, u.updated_at AS u_updated_at, \
         u.version AS u_version \
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = {p}"
    );
    let row = reads
        .query_one(
            sea_orm::Statement::from_sql_and_values(backend, sql, [hash.into()]),
            &[
                ("t_", column_type::<api_tokens::Entity>),
                ("u_", column_type::<users::Entity>),
            ],
        )
        .await?;
    Ok(match row {
        Some(r) => Some((
            r.model::<api_tokens::ActiveModel>("t_")?,
            r.model::<users::ActiveModel>("u_")?,
        )),
        None => None,
    })
}

pub async fn tokens_of(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<api_tokens::Model>> {
    Ok(api_tokens::Entity::find()
        .filter(api_tokens::Column::UserId.eq(user_id))
        .order_by_desc(api_tokens::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn touch_token(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<()> {
    api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::LastUsedAt, Expr::value(now))
        .filter(api_tokens::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Failed attempts for a username since `since` and after its last success.
pub async fn recent_user_failures(
    db: &impl ConnectionTrait,
    username: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>> {
    let rows = login_attempts::Entity::find()
        .filter(login_attempts::Column::Username.eq(username))
        .filter(login_attempts::Column::At.gte(since))
        .order_by_desc(login_attempts::Column::At)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .take_while(|r| !r.success)
        .map(|r| r.at)
        .collect())
}

/// Failed attempts from an address since `since` (a success does not reset
/// them: an attacker could log into an account of their own).
pub async fn recent_ip_failures(
    db: &impl ConnectionTrait,
    ip: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>> {
    Ok(login_attempts::Entity::find()
        .filter(login_attempts::Column::Ip.eq(ip))
        .filter(login_attempts::Column::At.gte(since))
        .filter(login_attempts::Column::Success.eq(false))
        .order_by_desc(login_attempts::Column::At)
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.at)
        .collect())
}

/// Forgets a user's failed logins (releasing a lock-out); returns how many there were.
pub async fn delete_user_failures(db: &impl ConnectionTrait, username: &str) -> Result<u64> {
    Ok(login_attempts::Entity::delete_many()
        .filter(login_attempts::Column::Username.eq(username))
        .filter(login_attempts::Column::Success.eq(false))
        .exec(db)
        .await?
        .rows_affected)
}

/// Revokes every live token of a user (when the user is disabled); returns their ids.
pub async fn revoke_tokens_of(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let live: Vec<i64> = api_tokens::Entity::find()
        .filter(api_tokens::Column::UserId.eq(user_id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    if !live.is_empty() {
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::RevokedAt, Expr::value(now))
            .filter(api_tokens::Column::Id.is_in(live.clone()))
            .exec(db)
            .await?;
    }
    Ok(live)
}

pub async fn prune_login_attempts(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64> {
    Ok(login_attempts::Entity::delete_many()
        .filter(login_attempts::Column::At.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn user_count(db: &impl ConnectionTrait) -> Result<u64> {
    Ok(users::Entity::find().count(db).await?)
}
