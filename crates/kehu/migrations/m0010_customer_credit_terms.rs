//! Digits typed in the search box are looked up as the start of a credit
//! code in the index (`k:` terms, `customers::model::credit_term`), as they
//! are as the start of a phone, so that a team's or a rep's search for them
//! is counted on the index: every customer's terms are written again.
use sea_orm_migration::prelude::*;

use super::m0009_customer_search_scope::write_every_customers_terms;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        write_every_customers_terms(m).await
    }
}
