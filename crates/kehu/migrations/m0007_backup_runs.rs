//! `backup_runs`: every backup taken, by command or by schedule, with its outcome; the
//! schedule reads the newest slot from it, so several instances never back up the same slot twice.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("backup_runs")
                .if_not_exists()
                .col(big_pk_auto("id"))
                // The scheduled time this run was for; none for a backup taken by command.
                .col(timestamp_with_time_zone_null("slot_at"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone("finished_at"))
                .col(string("actor"))
                .col(text("file"))
                .col(big_integer("bytes"))
                .col(boolean("ok"))
                .col(text_null("message"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("backup_runs").if_exists().to_owned())
            .await
    }
}
