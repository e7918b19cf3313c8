//! A page of a team's or a rep's customers sorted by name reads each
//! owner's customers in name order and merges them, as a page by time
//! does. Sales teams are regional and names start with their city, so in
//! the order of every customer a team's first names can lie a hundred
//! thousand rows in (an east team's after every 保定 and 北京 name): the
//! one name index walked them all, 260 ms for a manager's first page at
//! a million customers. The index carries what a search checks on the
//! row, so a walk with a name text reads only the index. That costs
//! creates: its entries land all over it, not at one end as by time
//! (at a million, 1,266 creates/s with it, 1,510 with only the key
//! columns, 1,650 without); without the columns the walks read rows, and
//! a manager's initials sorted by name took up to 776 ms instead of 30.
use sea_orm_migration::prelude::*;

use super::m0002_customers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(
            "ix_customers_owner_name_search",
            "customers",
            &["owner_id", "pinyin", "id", "name_text", "pinyin_text"],
        ))
        .await
    }
}
