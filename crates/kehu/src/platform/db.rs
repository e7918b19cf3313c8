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
                .pragma("mmap_size", MMAP_BYTES.to_string())
        });
    } else {
        opts.max_connections(20).min_connections(1);
    }
    Database::connect(opts).await
}

/// How much of an SQLite database file is read through a memory map rather
/// than a read call per page: SQLite's own page cache holds 2 MiB per
/// connection, so a search reading rows by id at a million customers
/// (3.4 GB) spent a third of its time copying pages in `pread` (measured
/// with `perf`). The file's pages stay the operating system's cache, shared
/// by every connection. SQLite caps this at its compiled limit, which
/// `.cargo/config.toml` raises past 2 GiB.
pub const MMAP_BYTES: i64 = 1 << 40;

/// PostgreSQL's settings for Kehu's short statements: no JIT compilation,
/// which the planner starts for any plan it guesses costly and which cost
/// a search 25–60 ms before its first row (measured at a million
/// customers), far more than the statements it compiles save.
fn postgres_settings(opts: &mut ConnectOptions) {
    opts.map_sqlx_postgres_opts(|o| o.options([("jit", "off")]));
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
    if !url.starts_with("sqlite:") {
        postgres_settings(&mut opts);
    }
    opts
}

/// Applies every pending migration; safe to call on every start.
///
/// On PostgreSQL an upgrade that applied any is followed by `VACUUM
/// (ANALYZE)`: a migration may write a table again (m0013 wrote 13 million
/// search terms at a million customers), and until its visibility map is
/// set every index-only scan reads the rows too: searches 2–3× slower at
/// p50 and 150 ms to a second at p99, until autovacuum came. The vacuum
/// took 9 s there.
pub async fn migrate(db: &Db) -> Result<(), DbErr> {
    let applied = Migrator::get_pending_migrations(db).await?.len();
    Migrator::up(db, None).await?;
    if applied > 0 && db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("VACUUM (ANALYZE)").await?;
        return Ok(());
    }
    refresh_statistics(db).await
}

/// Rows SQLite's `ANALYZE` samples per index: enough to tell a unique code
/// from an owner shared by 50,000 customers, and 50 ms at a million.
const ANALYSIS_LIMIT: u32 = 1000;

/// Tells the query planner how the data is spread, after a start and after
/// bulk writes (demo data, imports). Without it SQLite guesses, and guesses
/// an index on an owner's tens of thousands of customers as good as the
/// unique customer code; PostgreSQL's autovacuum gets there, later.
pub async fn refresh_statistics(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared(&format!("PRAGMA analysis_limit = {ANALYSIS_LIMIT}"))
            .await?;
    }
    db.execute_unprepared("ANALYZE").await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared(FORGET_SHADOW_STATISTICS).await?;
        // Loads the statistics left into this connection's planner.
        db.execute_unprepared("ANALYZE sqlite_schema").await?;
    }
    Ok(())
}

/// After a bulk write (demo data, an import) of `tables`: on PostgreSQL
/// they are vacuumed as well as analysed. Until a table's visibility map
/// is set, PostgreSQL reads each index entry's row as well, so the term
/// index and the list's covering indexes lose their index-only scans:
/// after `kehu demo` of 1,000,000 customers searches took 20–45 ms at
/// p50, 4–14 ms once vacuumed, and autovacuum may be off or come late.
pub async fn refresh_after_bulk_write(db: &Db, tables: &[&str]) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres || tables.is_empty() {
        return refresh_statistics(db).await;
    }
    let list: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    db.execute_unprepared(&format!("VACUUM (ANALYZE) {}", list.join(", ")))
        .await?;
    Ok(())
}

/// Removes the statistics of virtual tables' shadow tables (FTS5's
/// `customer_search_data`…). FTS5 prepares its own statements once per
/// connection; told by `ANALYZE` on a new database that its page table
/// holds 2 rows, the planner removed each merged segment with
/// `DELETE … WHERE id BETWEEN` as a scan of the whole table, run several
/// times per commit: creates and bulk writes slowed twelvefold by 260,000
/// customers. Without statistics the planner reads a rowid range by key.
const FORGET_SHADOW_STATISTICS: &str = "DELETE FROM sqlite_stat1 WHERE tbl IN (\
     SELECT s.name FROM sqlite_schema s JOIN sqlite_schema v \
     ON v.type = 'table' AND v.sql LIKE 'CREATE VIRTUAL TABLE%' \
     AND substr(s.name, 1, length(v.name) + 1) = v.name || '_' \
     WHERE s.type = 'table')";

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

/// The pool's connections, open and idle, for `/metrics`.
pub fn pool_usage(db: &Db) -> (u32, usize) {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    }
}

/// A database URL split into the URL without its password and the password (percent-decoded),
/// so the password can travel to `pg_dump` in its environment instead of its command line,
/// and never appears in a message.
pub fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    match userinfo.split_once(':') {
        Some((user, password)) => {
            let password = urlencoding::decode(password)
                .map(|p| p.into_owned())
                .unwrap_or_else(|_| password.to_owned());
            (format!("{scheme}://{user}@{host}{path}"), Some(password))
        }
        None => (url.to_owned(), None),
    }
}

/// The URL as it may be shown: the password replaced by `***`.
pub fn redacted(url: &str) -> String {
    match split_password(url) {
        (bare, Some(_)) => match bare.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('@') {
                Some((user, host)) => format!("{scheme}://{user}:***@{host}"),
                None => bare,
            },
            None => bare,
        },
        (bare, None) => bare,
    }
}

/// The file of a SQLite URL (`sqlite://path?…` or `sqlite:path`), `None` for another engine
/// or an in-memory database (whose every connection is a different database).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    let memory = path.contains(":memory:") || url.contains("mode=memory");
    (!path.is_empty() && !memory).then(|| std::path::PathBuf::from(path))
}

/// Whether a database holds a Kehu schema, and how it relates to this binary's migrations.
#[derive(Debug, PartialEq, Eq)]
pub enum SchemaState {
    /// No Kehu tables at all.
    Empty,
    /// Every migration this binary knows is applied.
    Current,
    /// Older: these migrations are still to apply (`kehu migrate`).
    Behind(Vec<String>),
    /// Written by a newer Kehu: migrations this binary does not know.
    Ahead(Vec<String>),
}

/// Reads the applied migrations, without changing anything.
pub async fn schema_state(db: &Db) -> Result<SchemaState, DbErr> {
    use sea_orm::sea_query::{Alias, Query};
    let exists = match db.get_database_backend() {
        DbBackend::Postgres => db
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Postgres,
                "SELECT 1 AS one FROM pg_tables WHERE schemaname = current_schema() \
                 AND tablename = 'seaql_migrations'",
            ))
            .await?
            .is_some(),
        _ => db
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "SELECT 1 AS one FROM sqlite_master WHERE type = 'table' \
                 AND name = 'seaql_migrations'",
            ))
            .await?
            .is_some(),
    };
    if !exists {
        return Ok(SchemaState::Empty);
    }
    let rows = db
        .query_all(
            &Query::select()
                .column(Alias::new("version"))
                .from(Alias::new("seaql_migrations"))
                .to_owned(),
        )
        .await?;
    let mut applied = Vec::with_capacity(rows.len());
    for r in rows {
        applied.push(r.try_get::<String>("", "version")?);
    }
    if applied.is_empty() {
        return Ok(SchemaState::Empty);
    }
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let unknown: Vec<String> = applied
        .iter()
        .filter(|a| !known.contains(a))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Ok(SchemaState::Ahead(unknown));
    }
    let pending: Vec<String> = known.into_iter().filter(|k| !applied.contains(k)).collect();
    Ok(if pending.is_empty() {
        SchemaState::Current
    } else {
        SchemaState::Behind(pending)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_split_off_and_redacted() {
        let (bare, pw) =
            split_password("postgres://kehu:p%40ss:w@db.local:5432/kehu?sslmode=require");
        assert_eq!(bare, "postgres://kehu@db.local:5432/kehu?sslmode=require");
        assert_eq!(pw.as_deref(), Some("p@ss:w"));
        assert_eq!(
            redacted("postgres://kehu:secret@db/kehu"),
            "postgres://kehu:***@db/kehu"
        );
        assert_eq!(
            redacted("postgres://kehu@db/kehu"),
            "postgres://kehu@db/kehu"
        );
        assert_eq!(
            split_password("postgres:///kehu?host=/run/postgresql").1,
            None
        );
    }

    #[test]
    fn sqlite_files_are_read_from_urls() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/kehu/kehu.db?mode=rwc"),
            Some(std::path::PathBuf::from("/var/lib/kehu/kehu.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:data/kehu.db"),
            Some(std::path::PathBuf::from("data/kehu.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(
            sqlite_file("sqlite://shared?mode=memory&cache=shared"),
            None
        );
        assert_eq!(sqlite_file("postgres://x/y"), None);
    }
}
