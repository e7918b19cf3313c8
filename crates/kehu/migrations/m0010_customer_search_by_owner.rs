//! Every customer's search terms written again, under the index layout in
//! which a team's or a rep's search reads only its own customers' entries
//! (`customers::store::TermQuery`):
//! - SQLite: each document's key is its owner in the high 32 bits and the
//!   customer in the low (`customers::store::doc_key`), so that an owner's
//!   customers are one key range of the FTS5 index;
//! - PostgreSQL: `customer_terms` gains the owner, and its key becomes
//!   (term, owner, customer).
//!
//! The terms are today's (`customers::model::customer_terms`): names'
//! characters and runs of two and three, pinyin starts, phones, the credit code's first
//! seven and eight characters (`k:`, so that digits typed find a credit
//! code on the index), owner, shares and list filters.
//!
//! The index is emptied and filled again in customer order, a batch per
//! statement: on SQLite the FTS5 table is created anew; on PostgreSQL the
//! table's indexes are dropped while it fills and built once at the end,
//! which is several times faster than inserting into them.
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::prelude::*;

use super::m0005_customer_search::{CREATE_INDEX, CREATE_VOCABULARY};
use crate::customers::model::{Filters, customer_terms};
use crate::customers::store::insert_terms;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Customers written per statement.
const BATCH: i64 = 5_000;

/// The terms as (term, customer) rows on SQLite, the customer read from
/// the low 32 bits of the document's key.
const CREATE_VIEW: &str = "CREATE VIEW customer_terms (term, customer_id) AS \
     SELECT term, doc & 4294967295 FROM customer_search_terms";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        write_again(m).await
    }
}

/// Empties the index and writes every customer's terms again, today's
/// (migrations m0011 and m0013 run it again when the terms gain a kind).
pub(super) async fn write_again(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let postgres = m.get_database_backend() == sea_orm::DbBackend::Postgres;
    let (empty, rebuild): (&[&str], &[&str]) = if postgres {
        (
            &[
                "TRUNCATE customer_terms",
                "DROP INDEX ix_terms_customer",
                "ALTER TABLE customer_terms DROP CONSTRAINT customer_terms_pkey",
                // (Present when the step runs again, as a test runs it.)
                "ALTER TABLE customer_terms ADD COLUMN IF NOT EXISTS owner_id BIGINT NOT NULL",
            ],
            &[
                "ALTER TABLE customer_terms ADD PRIMARY KEY (term, owner_id, customer_id)",
                "CREATE INDEX ix_terms_customer ON customer_terms (customer_id)",
            ],
        )
    } else {
        (
            &[
                // A pooled connection that has not read since migration
                // m0005 still holds the schema in which `customer_terms`
                // was a table, and SQLite parses a DROP against that
                // ("use DROP TABLE"); a read first reloads it.
                "SELECT COUNT(*) FROM sqlite_schema",
                "DROP VIEW customer_terms",
                "DROP TABLE customer_search_terms",
                "DROP TABLE customer_search",
                CREATE_INDEX,
            ],
            &[CREATE_VOCABULARY, CREATE_VIEW],
        )
    };
    for sql in empty {
        db.execute_unprepared(sql).await?;
    }
    fill(db).await?;
    for sql in rebuild {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// Writes every customer's terms, a batch per statement.
async fn fill(db: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let (p1, p2) = if backend == sea_orm::DbBackend::Postgres {
        ("$1", "$2")
    } else {
        ("?1", "?2")
    };
    let (phones, shares) = if backend == sea_orm::DbBackend::Postgres {
        ("string_agg(phones, ', ')", "string_agg(user_id::text, ',')")
    } else {
        ("group_concat(phones, ', ')", "group_concat(user_id, ',')")
    };
    let sql = format!(
        "SELECT c.id, c.full_name, c.short_name, c.pinyin, c.credit_code, c.owner_id, c.customer_type, c.stage, \
         c.region, c.industry, c.grade, c.tags, \
         (SELECT {phones} FROM contacts WHERE customer_id = c.id) AS phones, \
         (SELECT {shares} FROM customer_shares WHERE customer_id = c.id) AS shares \
         FROM customers c WHERE c.id > {p1} ORDER BY c.id LIMIT {p2}"
    );
    let mut after = 0i64;
    loop {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql.clone(),
                [after.into(), BATCH.into()],
            ))
            .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.try_get("", "id")?;
        let mut docs: Vec<(i64, i64, Vec<String>)> = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("", "id")?;
            let full: String = row.try_get("", "full_name")?;
            let short: Option<String> = row.try_get("", "short_name")?;
            let name_key: String = row.try_get("", "pinyin")?;
            let credit: Option<String> = row.try_get("", "credit_code")?;
            let owner: i64 = row.try_get("", "owner_id")?;
            let phones: Option<String> = row.try_get("", "phones")?;
            let shares: Option<String> = row.try_get("", "shares")?;
            let shared: Vec<i64> = shares
                .iter()
                .flat_map(|s| s.split(','))
                .filter_map(|u| u.trim().parse().ok())
                .collect();
            let phones = phones.unwrap_or_default();
            let text = |col: &str| row.try_get::<Option<String>>("", col);
            let (customer_type, stage) = (text("customer_type")?, text("stage")?);
            let (region, industry) = (text("region")?, text("industry")?);
            let (grade, tags) = (text("grade")?, text("tags")?);
            let terms = customer_terms(
                &full,
                short.as_deref(),
                &name_key,
                credit.as_deref(),
                phones.split(", ").filter(|p| !p.is_empty()),
                owner,
                &shared,
                Filters {
                    customer_type: customer_type.as_deref().unwrap_or(""),
                    stage: stage.as_deref().unwrap_or(""),
                    region: region.as_deref(),
                    industry: industry.as_deref(),
                    grade: grade.as_deref(),
                    tags: tags.as_deref().unwrap_or(""),
                },
            );
            docs.push((id, owner, terms));
        }
        let refs: Vec<(i64, i64, &[String])> = docs
            .iter()
            .map(|(i, o, t)| (*i, *o, t.as_slice()))
            .collect();
        insert_terms(db, &refs)
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
}
