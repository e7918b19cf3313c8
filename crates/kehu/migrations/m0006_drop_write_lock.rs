//! Drops `write_lock`, a one-row table every SQLite write transaction once
//! updated first to hold the write lock from its start. `db::begin_write`
//! takes the lock with `BEGIN IMMEDIATE` instead, and nothing touches the row.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("write_lock").if_exists().to_owned())
            .await
    }
}
