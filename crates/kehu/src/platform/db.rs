//! Connecting to SQLite or PostgreSQL (picked from the URL), migrating, and
//! opening write transactions that behave the same on both engines.
use std::path::Path;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::migrations::Migrator;

pub type Db = DatabaseConnection;

/// The SQLite URL for a data directory (`<data-dir>/kehu.db`), created if missing.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("kehu.db").display())
}

/// Opens a pool. SQLite gets WAL (readers never block the writer), full sync
/// (an acknowledged commit survives a crash), foreign keys, journals in memory and a busy timeout
/// so that a second process (the CLI while the server runs) waits instead of failing.
pub async fn connect(url: &str) -> Result<Db, DbErr> {
    let mut opts = options(url);
    if url.starts_with("sqlite:") {
        opts.max_connections(8).min_connections(1);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                // Statement and savepoint journals (every multi-row insert in
                // a transaction, every group-commit batch) in memory: in a
                // temporary file each first change of a page costs a write
                // call, and the journal is thrown away at commit anyway.
                .pragma("temp_store", "memory")
        });
    } else {
        opts.max_connections(20).min_connections(1);
    }
    Database::connect(opts).await
}

/// Opens the one connection of a PostgreSQL writer that runs on a runtime
/// of its own (see `group_commit`).
pub async fn connect_writer(url: &str) -> Result<Db, DbErr> {
    let mut opts = options(url);
    opts.max_connections(1).min_connections(1);
    Database::connect(opts).await
}

/// What every pool shares: no statement logging (statements carry
/// customers' data) and timeouts that turn a lost server into an error.
fn options(url: &str) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    opts
}

/// Applies every pending migration; safe to call on every start.
pub async fn migrate(db: &Db) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Begins a transaction that will write. On SQLite it takes the database
/// write lock at once (`BEGIN IMMEDIATE`), so two writers queue on the busy
/// timeout instead of one failing with SQLITE_BUSY when it upgrades a read
/// lock. PostgreSQL needs nothing: row locks order its writers.
pub async fn begin_write(db: &Db) -> Result<DatabaseTransaction, DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await
    } else {
        db.begin().await
    }
}

/// SQLite's page cache during a bulk write, in KiB (a negative `cache_size`).
/// A 100,000-customer import touches a few hundred MiB of table and index
/// pages; with the default 2 MiB cache SQLite writes the same pages to the WAL
/// again and again before the commit.
const BULK_CACHE_KIB: i64 = 256 * 1024;
/// SQLite's default page cache, in KiB.
const DEFAULT_CACHE_KIB: i64 = 2000;

/// Prepares a write transaction for a bulk write (imports): on SQLite, a
/// large page cache for its connection. Call [`end_bulk`] before committing,
/// so the pooled connection gives the memory back. PostgreSQL needs nothing.
pub async fn begin_bulk(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Sqlite {
        txn.execute_unprepared(&format!("PRAGMA cache_size = -{BULK_CACHE_KIB}"))
            .await?;
    }
    Ok(())
}

/// Gives back what [`begin_bulk`] took.
pub async fn end_bulk(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Sqlite {
        txn.execute_unprepared(&format!("PRAGMA cache_size = -{DEFAULT_CACHE_KIB}"))
            .await?;
    }
    Ok(())
}

/// Whether an error is a unique-constraint violation (the same on both engines).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
