//! Backups and restores (SPEC §10; seed 003 7.2.3 定期备份).
//!
//! A backup is taken online while writes go on: on SQLite `VACUUM INTO` copies one read
//! snapshot into a new database file (readers never block the writer in WAL mode); on
//! PostgreSQL `pg_dump` writes a custom-format archive from one snapshot. Attachments live in
//! the database, so a backup holds everything. Files are written under a `.partial` name,
//! synced, then renamed, so a crash never leaves a half-written file under the final name.
//!
//! A restore checks the file before it is used: SQLite's integrity and foreign-key checks, a
//! Kehu schema this binary knows, and the audit hash chain. It only fills an empty place (a
//! data directory without a database, or a PostgreSQL database without tables), so it can
//! never overwrite live data. The poller takes the scheduled backups of the policy's
//! `[backup]` section and keeps the newest `keep` of them.
use std::path::{Path, PathBuf};
use std::process::Stdio;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::sea_query::{Alias, Expr, Func, Query};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, Statement};

use super::audit::{self, AuditActor, AuditEntry};
use super::config::Config;
use super::datadir::{self, DataDirLock};
use super::db::{self, Db, SchemaState};
use super::i18n::{Lang, tr};
use super::state::AppState;

/// A backup written.
#[derive(Debug, Clone)]
pub struct Taken {
    pub file: PathBuf,
    pub bytes: u64,
}

/// A database restored from a backup.
#[derive(Debug, Clone)]
pub struct Restored {
    /// What was restored into, as messages name it.
    pub database: String,
    /// Audit entries whose chain was verified.
    pub audit_entries: u64,
}

fn msg(key: &str, args: &[(&str, String)]) -> anyhow::Error {
    anyhow::anyhow!(tr(Lang::from_env(), key, args))
}

/// What a file is, read from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Sqlite,
    PgDump,
}

fn file_kind(path: &Path) -> anyhow::Result<FileKind> {
    use std::io::Read;
    let shown = path.display().to_string();
    let mut head = [0_u8; 16];
    let mut f = std::fs::File::open(path).map_err(|e| {
        msg(
            "ops.cannot_read",
            &[("file", shown.clone()), ("error", e.to_string())],
        )
    })?;
    let n = f.read(&mut head).unwrap_or(0);
    if n == 16 && &head == b"SQLite format 3\0" {
        Ok(FileKind::Sqlite)
    } else if n >= 5 && &head[..5] == b"PGDMP" {
        Ok(FileKind::PgDump)
    } else {
        Err(msg("ops.not_a_backup", &[("file", shown)]))
    }
}

/// The file name a backup is written under first.
fn partial_of(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    file.with_file_name(name)
}

/// Makes a finished file durable and gives it its name: sync the file, rename, sync the directory.
fn finish_file(partial: &Path, file: &Path) -> std::io::Result<u64> {
    let f = std::fs::File::open(partial)?;
    f.sync_all()?;
    let bytes = f.metadata()?.len();
    drop(f);
    std::fs::rename(partial, file)?;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(bytes)
}

/// Takes a backup into `file` (which must not exist, in a directory that does), records the
/// run and audits it.
pub async fn take(state: &AppState, actor: &AuditActor, file: &Path) -> anyhow::Result<Taken> {
    take_for(state, actor, file, None).await
}

async fn take_for(
    state: &AppState,
    actor: &AuditActor,
    file: &Path,
    slot: Option<DateTime<Utc>>,
) -> anyhow::Result<Taken> {
    let started = state.clock.now();
    let result = write_backup(state, file).await;
    if result.is_err() {
        // Whatever was written is not a backup.
        let _ = std::fs::remove_file(partial_of(file));
    }
    let outcome = match &result {
        Ok(t) => Ok(t.bytes),
        Err(e) => Err(format!("{e:#}")),
    };
    record_run(state, actor, slot, started, file, outcome).await?;
    let label = if result.is_ok() { "ok" } else { "failed" };
    metrics::counter!("kehu_backups_total", "outcome" => label).increment(1);
    if result.is_ok() {
        metrics::gauge!("kehu_backup_last_success_timestamp_seconds")
            .set(state.clock.now().timestamp() as f64);
    }
    result
}

async fn write_backup(state: &AppState, file: &Path) -> anyhow::Result<Taken> {
    let shown = file.display().to_string();
    if file.exists() {
        return Err(msg("ops.backup_exists", &[("file", shown)]));
    }
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(msg(
            "ops.backup_dir_missing",
            &[("dir", dir.display().to_string())],
        ));
    }
    let partial = partial_of(file);
    let _ = std::fs::remove_file(&partial);
    match state.db.get_database_backend() {
        DbBackend::Postgres => {
            let url = state.config.database_url();
            let out = partial.as_os_str().to_owned();
            pg_tool(
                "pg_dump",
                &url,
                &[
                    "--format=custom".into(),
                    "--no-owner".into(),
                    "--no-privileges".into(),
                    "--file".into(),
                    out,
                ],
            )
            .await?;
        }
        _ => {
            // One read transaction: a consistent snapshot while writers go on.
            let target = partial.display().to_string().replace('\'', "''");
            state
                .db
                .execute_unprepared(&format!("VACUUM INTO '{target}'"))
                .await
                .map_err(|e| {
                    msg(
                        "ops.backup_failed",
                        &[("file", shown.clone()), ("error", e.to_string())],
                    )
                })?;
        }
    }
    let bytes = finish_file(&partial, file).map_err(|e| {
        msg(
            "ops.backup_failed",
            &[("file", shown.clone()), ("error", e.to_string())],
        )
    })?;
    Ok(Taken {
        file: file.to_path_buf(),
        bytes,
    })
}

/// Runs `pg_dump` or `pg_restore` against `url`: the password goes in the child's
/// environment, never on its command line (where other local users could read it).
async fn pg_tool(
    program: &str,
    url: &str,
    args: &[std::ffi::OsString],
) -> anyhow::Result<std::process::Output> {
    let (bare, password) = db::split_password(url);
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(format!("--dbname={bare}"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(pw) = password {
        cmd.env("PGPASSWORD", pw);
    }
    let out = cmd.output().await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            msg("ops.pg_tool_missing", &[("program", program.to_owned())])
        } else {
            msg(
                "ops.pg_tool_failed",
                &[("program", program.to_owned()), ("error", e.to_string())],
            )
        }
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(msg(
            "ops.pg_tool_failed",
            &[("program", program.to_owned()), ("error", tail.join("\n"))],
        ));
    }
    Ok(out)
}

async fn record_run(
    state: &AppState,
    actor: &AuditActor,
    slot: Option<DateTime<Utc>>,
    started: DateTime<Utc>,
    file: &Path,
    outcome: Result<u64, String>,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let file = file.display().to_string();
    let (ok, bytes, message) = match &outcome {
        Ok(b) => (true, i64::try_from(*b).unwrap_or(i64::MAX), None),
        Err(m) => (false, 0, Some(m.clone())),
    };
    let txn = db::begin_write(&state.db).await?;
    let insert = Query::insert()
        .into_table(Alias::new("backup_runs"))
        .columns(
            [
                "slot_at",
                "started_at",
                "finished_at",
                "actor",
                "file",
                "bytes",
                "ok",
                "message",
            ]
            .map(Alias::new),
        )
        .values([
            slot.into(),
            started.into(),
            now.into(),
            actor.name.clone().into(),
            file.clone().into(),
            bytes.into(),
            ok.into(),
            message.clone().into(),
        ])?
        .returning_col(Alias::new("id"))
        .to_owned();
    let id: i64 = match txn.query_one(&insert).await? {
        Some(row) => row.try_get("", "id")?,
        None => 0,
    };
    let mut entry = AuditEntry::new(now, actor, "backup", "backup", id)
        .change("file", serde_json::Value::Null, file)
        .change("ok", serde_json::Value::Null, ok);
    entry = match message {
        Some(m) => entry.change("error", serde_json::Value::Null, m),
        None => entry.change("bytes", serde_json::Value::Null, bytes),
    };
    audit::record(&txn, entry).await?;
    txn.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- restore

/// Restores `file` into the empty place `config` names, after checking it; on any failure
/// nothing is left behind.
pub async fn restore(config: &Config, file: &Path) -> anyhow::Result<Restored> {
    let kind = file_kind(file)?;
    let url = config.database_url();
    match (db::sqlite_file(&url), kind) {
        (Some(target), FileKind::Sqlite) => restore_sqlite(config, file, &target).await,
        (None, FileKind::PgDump) => restore_postgres(config, file).await,
        (Some(_), FileKind::PgDump) => Err(msg("ops.restore_needs_postgres", &[])),
        (None, FileKind::Sqlite) => Err(msg("ops.restore_needs_sqlite", &[])),
    }
}

/// The files SQLite may keep beside a database.
fn with_sidecars(file: &Path) -> [PathBuf; 4] {
    let side = |suffix: &str| {
        let mut name = file.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        file.with_file_name(name)
    };
    [
        file.to_path_buf(),
        side("-wal"),
        side("-shm"),
        side("-journal"),
    ]
}

async fn restore_sqlite(config: &Config, file: &Path, target: &Path) -> anyhow::Result<Restored> {
    let name = datadir::database_name(config);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let new_dir = !dir.exists();
    std::fs::create_dir_all(&dir).map_err(|e| {
        msg(
            "ops.cannot_create_dir",
            &[("dir", dir.display().to_string()), ("error", e.to_string())],
        )
    })?;
    // No server may open the database while it is being put in place.
    let lock = DataDirLock::acquire(&dir)?;
    if with_sidecars(target).iter().any(|f| f.exists()) {
        return Err(msg("ops.restore_target_exists", &[("database", name)]));
    }
    let mut staging_name = target.file_name().unwrap_or_default().to_os_string();
    staging_name.push(".restoring");
    let staging = target.with_file_name(staging_name);
    let clean = || {
        for f in with_sidecars(&staging) {
            let _ = std::fs::remove_file(f);
        }
    };
    clean();
    let result = async {
        std::fs::copy(file, &staging).map_err(|e| {
            msg(
                "ops.cannot_read",
                &[
                    ("file", file.display().to_string()),
                    ("error", e.to_string()),
                ],
            )
        })?;
        let entries = check_sqlite_copy(&staging, file).await?;
        finish_file(&staging, target)?;
        Ok(entries)
    }
    .await;
    match result {
        Ok(entries) => Ok(Restored {
            database: name,
            audit_entries: entries,
        }),
        Err(e) => {
            clean();
            // A refused restore leaves no trace, not even the directory it made.
            if new_dir {
                drop(lock);
                let _ = std::fs::remove_file(dir.join(datadir::LOCK_FILE));
                let _ = std::fs::remove_dir(&dir);
            }
            Err(e)
        }
    }
}

/// Checks a copied SQLite backup in place (and brings its schema up to this version):
/// integrity, foreign keys, a Kehu schema, the audit chain. Returns the audit entries checked.
async fn check_sqlite_copy(staging: &Path, original: &Path) -> anyhow::Result<u64> {
    let shown = original.display().to_string();
    let mut opts = ConnectOptions::new(format!("sqlite://{}?mode=rw", staging.display()));
    opts.max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let damaged = |e: anyhow::Error| match e.downcast_ref::<sea_orm::DbErr>() {
        Some(db) => msg(
            "ops.backup_damaged",
            &[("file", shown.clone()), ("detail", db.to_string())],
        ),
        None => e,
    };
    let conn = Database::connect(opts)
        .await
        .map_err(|e| damaged(e.into()))?;
    let result = async {
        // A copy of a live file may be in WAL mode: make it a single file again.
        conn.execute_unprepared("PRAGMA journal_mode = DELETE")
            .await?;
        let rows = conn
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA integrity_check",
            ))
            .await?;
        let mut problems = Vec::new();
        for r in rows {
            let line: String = r.try_get_by_index(0)?;
            if line != "ok" {
                problems.push(line);
            }
        }
        if !problems.is_empty() {
            problems.truncate(5);
            return Err(msg(
                "ops.backup_damaged",
                &[("file", shown.clone()), ("detail", problems.join("; "))],
            ));
        }
        let orphans = conn
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA foreign_key_check",
            ))
            .await?;
        if !orphans.is_empty() {
            return Err(msg(
                "ops.backup_damaged",
                &[
                    ("file", shown.clone()),
                    (
                        "detail",
                        format!("{} foreign key violation(s)", orphans.len()),
                    ),
                ],
            ));
        }
        check_restored(&conn, &shown).await
    }
    .await;
    // Whatever the database engine could not read is damage, named as such.
    let result = result.map_err(damaged);
    let _ = conn.close().await;
    result
}

/// What both engines check once the backup's tables are readable: a Kehu schema this binary
/// knows (migrated to this version when older) and an intact audit chain.
async fn check_restored(conn: &Db, shown: &str) -> anyhow::Result<u64> {
    match db::schema_state(conn).await? {
        SchemaState::Current => {}
        SchemaState::Behind(_) => db::migrate(conn).await?,
        SchemaState::Empty => {
            return Err(msg("ops.not_a_backup", &[("file", shown.to_owned())]));
        }
        SchemaState::Ahead(unknown) => {
            return Err(msg(
                "ops.backup_newer",
                &[("file", shown.to_owned()), ("unknown", unknown.join(", "))],
            ));
        }
    }
    let report = audit::verify(conn).await?;
    if let Some(b) = report.broken {
        return Err(msg(
            "ops.backup_audit_broken",
            &[
                ("file", shown.to_owned()),
                ("seq", b.seq.to_string()),
                ("reason", b.reason),
            ],
        ));
    }
    Ok(report.entries)
}

async fn restore_postgres(config: &Config, file: &Path) -> anyhow::Result<Restored> {
    let url = config.database_url();
    let name = datadir::database_name(config);
    let shown = file.display().to_string();
    // A damaged archive fails to list.
    pg_tool(
        "pg_restore",
        &url,
        &["--list".into(), file.as_os_str().into()],
    )
    .await
    .map_err(|e| {
        msg(
            "ops.backup_damaged",
            &[("file", shown.clone()), ("detail", format!("{e:#}"))],
        )
    })?;
    let conn = db::connect(&url).await.map_err(|e| {
        msg(
            "ops.cannot_connect",
            &[("database", name.clone()), ("error", e.to_string())],
        )
    })?;
    if !pg_relations(&conn).await?.is_empty() {
        conn.close().await?;
        return Err(msg("ops.restore_target_not_empty", &[("database", name)]));
    }
    let result = async {
        pg_tool(
            "pg_restore",
            &url,
            &[
                "--no-owner".into(),
                "--no-privileges".into(),
                "--exit-on-error".into(),
                "--single-transaction".into(),
                file.as_os_str().into(),
            ],
        )
        .await?;
        check_restored(&conn, &shown).await
    }
    .await;
    let result = match result {
        Ok(entries) => Ok(Restored {
            database: name,
            audit_entries: entries,
        }),
        Err(e) => {
            // The database was empty before: make it so again.
            for (kind, relation) in pg_relations(&conn).await? {
                let sql = format!("DROP {kind} IF EXISTS \"{relation}\" CASCADE");
                conn.execute_unprepared(&sql).await?;
            }
            Err(e)
        }
    };
    conn.close().await?;
    result
}

/// The tables, views and sequences of the connection's schema, as `(kind, name)`.
async fn pg_relations(conn: &Db) -> anyhow::Result<Vec<(&'static str, String)>> {
    let rows = conn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname AS name, c.relkind::text AS kind FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'S', 'm', 'p') \
             ORDER BY c.relkind DESC",
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let name: String = r.try_get("", "name")?;
        let kind: String = r.try_get("", "kind")?;
        let kind = match kind.as_str() {
            "v" => "VIEW",
            "m" => "MATERIALIZED VIEW",
            "S" => "SEQUENCE",
            _ => "TABLE",
        };
        out.push((kind, name.replace('"', "\"\"")));
    }
    Ok(out)
}

// ---------------------------------------------------------------- schedule

/// The policy's newest backup time at or before `now`, if the schedule is on. A slot missed
/// while no server ran is taken at the next pass (as anacron would).
pub fn due_slot(state: &AppState, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let p = state.policy();
    let b = &p.policy.backup;
    if !b.enabled {
        return None;
    }
    let tz = p.policy.timezone();
    let local = now.with_timezone(&tz);
    let mut at = local.date_naive().and_time(b.time_of_day()?);
    if at > local.naive_local() {
        at -= Duration::days(1);
    }
    Some(tz.from_local_datetime(&at).single()?.with_timezone(&Utc))
}

/// One pass of the schedule (the poller's): takes the backup of the newest slot not yet
/// taken or tried, then keeps the newest `keep` scheduled backups.
pub async fn run_scheduled(state: &AppState) -> anyhow::Result<Option<Taken>> {
    let now = state.clock.now();
    let Some(slot) = due_slot(state, now) else {
        return Ok(None);
    };
    let last: Option<DateTime<Utc>> = state
        .db
        .query_one(
            &Query::select()
                .expr_as(
                    Func::max(Expr::col(Alias::new("slot_at"))),
                    Alias::new("last"),
                )
                .from(Alias::new("backup_runs"))
                .to_owned(),
        )
        .await?
        .and_then(|r| r.try_get::<Option<DateTime<Utc>>>("", "last").ok())
        .flatten();
    if last.is_some_and(|l| l >= slot) {
        return Ok(None);
    }
    let p = state.policy();
    let dir = datadir::in_data_dir(&state.config, &p.policy.backup.directory);
    std::fs::create_dir_all(&dir).map_err(|e| {
        msg(
            "ops.cannot_create_dir",
            &[("dir", dir.display().to_string()), ("error", e.to_string())],
        )
    })?;
    let ext = match state.db.get_database_backend() {
        DbBackend::Postgres => "pgdump",
        _ => "db",
    };
    let local = slot.with_timezone(&p.policy.timezone());
    let file = dir.join(format!("kehu-{}.{ext}", local.format("%Y%m%d-%H%M")));
    let taken = take_for(state, &AuditActor::system(), &file, Some(slot)).await?;
    prune(&dir, p.policy.backup.keep)?;
    Ok(Some(taken))
}

/// Whether a file name is a scheduled backup's: `kehu-YYYYMMDD-HHMM.db` or `.pgdump`.
fn is_scheduled_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("kehu-") else {
        return false;
    };
    let stamp = rest
        .strip_suffix(".db")
        .or_else(|| rest.strip_suffix(".pgdump"));
    stamp.is_some_and(|s| {
        s.len() == 13
            && s.char_indices()
                .all(|(i, c)| if i == 8 { c == '-' } else { c.is_ascii_digit() })
    })
}

/// Removes scheduled backups beyond the newest `keep` (names sort by their time); other files
/// in the directory are never touched.
fn prune(dir: &Path, keep: u32) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            is_scheduled_name(&name).then(|| (name[5..18].to_owned(), e.path()))
        })
        .collect();
    found.sort();
    let keep = usize::try_from(keep).unwrap_or(usize::MAX);
    let excess = found.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for (_, path) in found.into_iter().take(excess) {
        std::fs::remove_file(&path)?;
        removed.push(path);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scheduled_backup_names_are_pruned() {
        assert!(is_scheduled_name("kehu-20261203-0200.db"));
        assert!(is_scheduled_name("kehu-20261203-0200.pgdump"));
        assert!(!is_scheduled_name("kehu-20261203-0200.db.partial"));
        assert!(!is_scheduled_name("kehu.db"));
        assert!(!is_scheduled_name("kehu-before-upgrade.db"));
        let dir = tempfile::tempdir().expect("temp dir");
        for n in [
            "kehu-20261201-0200.db",
            "kehu-20261202-0200.db",
            "kehu-20261203-0200.db",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(n), b"x").expect("write");
        }
        let removed = prune(dir.path(), 2).expect("prune");
        assert_eq!(removed, vec![dir.path().join("kehu-20261201-0200.db")]);
        assert!(dir.path().join("notes.txt").exists());
        assert!(dir.path().join("kehu-20261203-0200.db").exists());
    }
}
