//! Every customer's search terms written again, now with the `a:` terms
//! (the first one to three characters of each name), so that the names
//! that start with what was typed rank before the other matches
//! (`customers::model::name_start_term`). The index is rewritten as
//! migration m0010 does it.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        super::m0010_customer_search_by_owner::write_again(m).await
    }
}
