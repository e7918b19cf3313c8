//! Search terms that answer a team's or a rep's search on the index alone
//! (owner, shares, list filters, characters, pinyin starts): written by
//! migration m0010, which writes every customer's terms again under the
//! layout that followed. This step is kept, empty, so that the migration
//! history stays the same on every database.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
