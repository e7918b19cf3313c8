//! Search terms that answer a team's or a rep's search on the index alone:
//! every customer's terms are written again with its owner (`o:`), the users
//! it is shared with (`s:`), its list filters' values (`f:`), each character
//! of its names (`c:`) and the first letters of every reading (`y:`), in
//! place of the `i:`/`p:` readings
//! and the last-character `n:` term that prefix scans needed
//! (`customers::model::customer_terms`).
//!
//! The index is emptied and filled again in customer order, a batch per
//! statement: on SQLite the FTS5 table is created anew; on PostgreSQL the
//! table's indexes are dropped while it fills and built once at the end,
//! which is several times faster than inserting into them.
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::prelude::*;

use super::m0005_customer_search::{CREATE_INDEX, CREATE_VIEW, CREATE_VOCABULARY};
use crate::customers::model::{Filters, customer_terms};
use crate::customers::store::insert_terms;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Customers written per statement.
const BATCH: i64 = 5_000;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        write_every_customers_terms(m).await
    }
}

/// Empties the index and writes every customer's terms again from the rows,
/// by today's rules: what a migration calls when the rules change.
pub(super) async fn write_every_customers_terms(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let postgres = m.get_database_backend() == sea_orm::DbBackend::Postgres;
    let (empty, rebuild): (&[&str], &[&str]) = if postgres {
        (
            &[
                "TRUNCATE customer_terms",
                "DROP INDEX ix_terms_customer",
                "ALTER TABLE customer_terms DROP CONSTRAINT customer_terms_pkey",
            ],
            &[
                "ALTER TABLE customer_terms ADD PRIMARY KEY (term, customer_id)",
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
        "SELECT c.id, c.full_name, c.short_name, c.credit_code, c.owner_id, c.customer_type, c.stage, \
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
        let mut docs: Vec<(i64, Vec<String>)> = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("", "id")?;
            let full: String = row.try_get("", "full_name")?;
            let short: Option<String> = row.try_get("", "short_name")?;
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
            docs.push((id, terms));
        }
        let refs: Vec<(i64, &[String])> = docs.iter().map(|(i, t)| (*i, t.as_slice())).collect();
        insert_terms(db, &refs)
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
}
