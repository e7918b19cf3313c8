//! Platform tables: users, teams, sessions, tokens, login attempts, audit log,
//! policy versions, numbering sequences and job leases.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn create(name: &'static str) -> TableCreateStatement {
    Table::create().table(name).if_not_exists().to_owned()
}

fn index(
    name: &'static str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table).if_not_exists();
    for c in cols {
        idx.col(*c);
    }
    if unique {
        idx.unique();
    }
    idx.to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Dropped by m0006: `db::begin_write` takes SQLite's write lock at
        // the start of a transaction instead.
        m.create_table(
            create("write_lock")
                .col(integer("id").primary_key())
                .col(big_integer("n"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            create("teams")
                .col(big_pk_auto("id"))
                .col(string_uniq("name"))
                .col(big_integer_null("manager_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(big_integer("version"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            create("users")
                .col(big_pk_auto("id"))
                .col(string_uniq("username"))
                .col(string("display_name"))
                .col(string("password_hash"))
                .col(string("roles"))
                .col(big_integer_null("team_id"))
                .col(string("language"))
                .col(boolean("active"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(big_integer("version"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_users_team")
                        .from("users", "team_id")
                        .to("teams", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            create("sessions")
                .col(string("id").primary_key())
                .col(big_integer("user_id"))
                .col(string("csrf_token"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("last_seen_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(string("ip"))
                .col(string("user_agent"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_sessions_user")
                        .from("sessions", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_sessions_user", "sessions", &["user_id"], false))
            .await?;
        m.create_table(
            create("api_tokens")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(string("name"))
                .col(string_uniq("token_hash"))
                .col(string("prefix"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("last_used_at"))
                .col(timestamp_with_time_zone_null("expires_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_api_tokens_user")
                        .from("api_tokens", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_api_tokens_user",
            "api_tokens",
            &["user_id"],
            false,
        ))
        .await?;
        m.create_table(
            create("login_attempts")
                .col(big_pk_auto("id"))
                .col(string("username"))
                .col(string("ip"))
                .col(timestamp_with_time_zone("at"))
                .col(boolean("success"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_login_attempts_user",
            "login_attempts",
            &["username", "at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_login_attempts_ip",
            "login_attempts",
            &["ip", "at"],
            false,
        ))
        .await?;
        m.create_table(
            create("audit_head")
                .col(integer("id").primary_key())
                .col(big_integer("seq"))
                .col(string("hash"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            create("audit_log")
                .col(big_pk_auto("id"))
                .col(big_integer_uniq("seq"))
                .col(timestamp_with_time_zone("at"))
                .col(big_integer_null("actor_id"))
                .col(string("actor_name"))
                .col(string("action"))
                .col(string("entity_type"))
                .col(string("entity_id"))
                .col(text("changes"))
                .col(text_null("reason"))
                .col(string("prev_hash"))
                .col(string("hash"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_audit_entity",
            "audit_log",
            &["entity_type", "entity_id"],
            false,
        ))
        .await?;
        m.create_index(index("ix_audit_at", "audit_log", &["at"], false))
            .await?;
        m.create_index(index("ix_audit_actor", "audit_log", &["actor_id"], false))
            .await?;
        m.create_table(
            create("policy_versions")
                .col(big_pk_auto("id"))
                .col(big_integer_uniq("version"))
                .col(timestamp_with_time_zone("effective_from"))
                .col(text("body"))
                .col(string("comment"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            create("number_sequences")
                .col(string("kind"))
                .col(string("period"))
                .col(big_integer("last_value"))
                .primary_key(Index::create().col("kind").col("period"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            create("job_leases")
                .col(string("name").primary_key())
                .col(string("holder"))
                .col(timestamp_with_time_zone("expires_at"))
                .to_owned(),
        )
        .await?;
        // Seed rows the mechanisms rely on.
        let db = m.get_connection();
        db.execute_unprepared("INSERT INTO write_lock (id, n) VALUES (1, 0)")
            .await?;
        db.execute_unprepared(&format!(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{}')",
            crate::platform::audit::GENESIS_HASH
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "job_leases",
            "number_sequences",
            "policy_versions",
            "audit_log",
            "audit_head",
            "login_attempts",
            "api_tokens",
            "sessions",
            "users",
            "teams",
            "write_lock",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
