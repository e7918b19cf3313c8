//! Search at a million customers: each customer row carries what a search
//! checks on it (`name_text`, `pinyin_text`: `customers::model::search_columns`),
//! so that a common word walks the sort index and tests rows instead of
//! building its whole set of matches from the term index, and the list's
//! indexes carry those columns, so that the walk and the capped count read
//! only the index. A name sort gets an index of its own.
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{prelude::*, schema::*};

use super::m0002_customers::index;
use crate::customers::model::search_columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Customers filled per statement.
const BATCH: i64 = 5_000;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["name_text", "pinyin_text"] {
            m.alter_table(
                Table::alter()
                    .table("customers")
                    .add_column(text(col).default(""))
                    .to_owned(),
            )
            .await?;
        }
        fill(m.get_connection()).await?;
        for name in ["ix_customers_updated", "ix_customers_owner"] {
            m.drop_index(Index::drop().name(name).table("customers").to_owned())
                .await?;
        }
        let text_cols = ["id", "name_text", "pinyin_text"];
        for (name, lead) in [
            ("ix_customers_updated_search", &["updated_at"][..]),
            ("ix_customers_owner_search", &["owner_id", "updated_at"]),
        ] {
            let cols: Vec<&'static str> = lead.iter().chain(&text_cols).copied().collect();
            m.create_index(index(name, "customers", &cols)).await?;
        }
        m.create_index(index("ix_customers_pinyin", "customers", &["pinyin", "id"]))
            .await
    }
}

/// Computes the columns of every existing customer, a batch per statement.
async fn fill(db: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let (select, update) = if backend == sea_orm::DbBackend::Postgres {
        (
            "SELECT id, full_name, short_name FROM customers WHERE id > $1 ORDER BY id LIMIT $2",
            "UPDATE customers SET name_text = u.n, pinyin_text = u.p \
             FROM json_to_recordset($1::json) AS u(i bigint, n text, p text) WHERE customers.id = u.i",
        )
    } else {
        (
            "SELECT id, full_name, short_name FROM customers WHERE id > ?1 ORDER BY id LIMIT ?2",
            "UPDATE customers SET name_text = json_extract(value, '$.n'), \
             pinyin_text = json_extract(value, '$.p') \
             FROM json_each(?1) WHERE customers.id = json_extract(value, '$.i')",
        )
    };
    let mut after = 0i64;
    loop {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                select,
                [after.into(), BATCH.into()],
            ))
            .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.try_get("", "id")?;
        let mut batch = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("", "id")?;
            let full: String = row.try_get("", "full_name")?;
            let short: Option<String> = row.try_get("", "short_name")?;
            let cols = search_columns(&full, short.as_deref());
            batch.push(serde_json::json!({"i": id, "n": cols.name_text, "p": cols.pinyin_text}));
        }
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            update,
            [serde_json::Value::Array(batch).to_string().into()],
        ))
        .await?;
    }
}
