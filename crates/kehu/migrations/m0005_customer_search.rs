//! Customer search terms on SQLite move from the `customer_terms` table into an
//! FTS5 index. Each customer wrote about 24 (term, customer) rows, each a random
//! insert into a B-tree: the single writer's main cost in creates and imports.
//! FTS5 keeps one document per customer and writes its index in term order.
//!
//! Reads do not change: `customer_terms` becomes a view over the index's
//! vocabulary table, with the same columns, so every term query (exact, prefix
//! range, `IN` list) is the same SQL on both engines. PostgreSQL keeps its table
//! but drops its foreign key: the terms are derived from the customer (rewritten
//! with it, and customers are never deleted), and the key's check, run once per
//! term row, was a fifth of a 100,000-customer import there.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One document per customer (rowid = customer id), its terms separated by
/// spaces. Terms are lowercase letters and digits (any script) behind a
/// one-letter kind and a colon, so the `ascii` tokenizer with `:` as a token
/// character keeps each term one token. Contentless with deletes, and no
/// positions (`detail=none`): only which customers hold a term is ever asked.
pub(super) const CREATE_INDEX: &str = "CREATE VIRTUAL TABLE customer_search USING fts5(\
     terms, content='', contentless_delete=1, detail=none, \
     tokenize=\"ascii tokenchars ':'\")";
pub(super) const CREATE_VOCABULARY: &str =
    "CREATE VIRTUAL TABLE customer_search_terms USING fts5vocab(customer_search, instance)";
pub(super) const CREATE_VIEW: &str = "CREATE VIEW customer_terms (term, customer_id) AS \
     SELECT term, doc FROM customer_search_terms";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too (not the default there): a stop
    /// between dropping the table and creating the view must leave the old
    /// layout, which the next start migrates again.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != sea_orm::DbBackend::Sqlite {
            return m
                .drop_foreign_key(
                    ForeignKey::drop()
                        .name("fk_terms_customer")
                        .table("customer_terms")
                        .to_owned(),
                )
                .await;
        }
        let db = m.get_connection();
        db.execute_unprepared(CREATE_INDEX).await?;
        db.execute_unprepared(CREATE_VOCABULARY).await?;
        db.execute_unprepared(
            "INSERT INTO customer_search (rowid, terms) \
             SELECT customer_id, group_concat(term, ' ') FROM customer_terms GROUP BY customer_id",
        )
        .await?;
        db.execute_unprepared("DROP TABLE customer_terms").await?;
        db.execute_unprepared(CREATE_VIEW).await?;
        Ok(())
    }
}
