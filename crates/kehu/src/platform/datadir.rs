//! The data directory and the database a command opens. Only `serve`, `migrate` and `restore`
//! may create a database; every other command opens one that exists and holds Kehu, or stops
//! with a message naming what it looked at, so a mistyped `--data-dir` creates nothing and
//! never reports on an empty database as if it were the real one. One `kehu serve` at a time
//! uses a SQLite data directory: it holds a lock file there.
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::config::Config;
use super::db::{self, Db, SchemaState};
use super::i18n::{Lang, tr};

/// The lock file of a SQLite data directory.
pub const LOCK_FILE: &str = "kehu.lock";

fn msg(key: &str, args: &[(&str, String)]) -> anyhow::Error {
    anyhow::anyhow!(tr(Lang::from_env(), key, args))
}

/// What the configuration points at, as the messages name it: the data directory's database
/// file, or the PostgreSQL URL without its password.
pub fn database_name(config: &Config) -> String {
    let url = config.database_url();
    match db::sqlite_file(&url) {
        Some(file) => file.display().to_string(),
        None => db::redacted(&url),
    }
}

/// Held while `kehu serve` (or `kehu restore`) uses a SQLite data directory; released when
/// dropped or when the process ends, however it ends.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock of `dir` (which must exist), or says which process holds it.
    pub fn acquire(dir: &Path) -> anyhow::Result<DataDirLock> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                msg(
                    "ops.lock_open",
                    &[
                        ("file", path.display().to_string()),
                        ("error", e.to_string()),
                    ],
                )
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(msg(
                    "ops.data_dir_in_use",
                    &[
                        ("dir", dir.display().to_string()),
                        ("pid", holder.trim().to_owned()),
                    ],
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(msg(
                    "ops.lock_open",
                    &[
                        ("file", path.display().to_string()),
                        ("error", e.to_string()),
                    ],
                ));
            }
        }
        // The holder's process id, for the message a second server gets.
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(DataDirLock { _file: file })
    }
}

/// Opens the database of `config` for a command that must not create one: the SQLite file
/// must exist, and the database must hold Kehu at this binary's version.
pub async fn connect_existing(config: &Config) -> anyhow::Result<Db> {
    let url = config.database_url();
    let name = database_name(config);
    let db = if let Some(file) = db::sqlite_file(&url) {
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        if config.database_url.is_none() && !dir.is_dir() {
            return Err(msg(
                "ops.data_dir_missing",
                &[("dir", config.data_dir.display().to_string())],
            ));
        }
        if !file.is_file() {
            return Err(msg("ops.no_database", &[("database", name)]));
        }
        // `mode=rw`: never create the file, whatever the URL asked.
        db::connect(&format!("sqlite://{}?mode=rw", file.display())).await?
    } else {
        db::connect(&url).await.map_err(|e| {
            msg(
                "ops.cannot_connect",
                &[("database", name.clone()), ("error", e.to_string())],
            )
        })?
    };
    match db::schema_state(&db).await? {
        SchemaState::Current => Ok(db),
        SchemaState::Empty => Err(msg("ops.no_database", &[("database", name)])),
        SchemaState::Behind(pending) => Err(msg(
            "ops.needs_migrate",
            &[("database", name), ("pending", pending.join(", "))],
        )),
        SchemaState::Ahead(unknown) => Err(msg(
            "ops.newer_database",
            &[("database", name), ("unknown", unknown.join(", "))],
        )),
    }
}

/// The directory scheduled backups go to: the policy's, inside the data directory when relative.
pub fn in_data_dir(config: &Config, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        config.data_dir.join(p)
    }
}
