//! Hot reads (an API token, a session, one customer) that answer most
//! requests. On PostgreSQL they go through the pool like every other query.
//! On SQLite they run on the calling thread through a small pool of
//! read-only connections: sqlx hands every SQLite query to a worker thread
//! and back, and at thousands of requests a second those two thread switches
//! per query cost more than the query itself. The statement is the same
//! sea-query statement either way; inline rows are typed by the entity's
//! column definitions and become models through the entity's own active
//! model, so both paths give the same models.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rusqlite::types::ValueRef;
use sea_orm::sea_query::ValueType;
use sea_orm::sea_query::{ColumnType, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    IdenStatic, Iterable, QueryResult, QuerySelect, QueryTrait, Select, Statement, TryGetable,
    TryIntoModel,
};

use super::db::Db;

/// Open read connections kept for reuse; more are opened when every one is
/// busy (at most one per thread that reads at the same moment).
const IDLE_CONNECTIONS: usize = 16;
/// How long a read waits for SQLite's WAL index during a checkpoint.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Statements whose result columns a connection keeps typed (a few dozen
/// are hot; `IN` lists of other lengths are new statements).
const TYPED_STATEMENTS: usize = 64;

/// How to type the columns of a result row: each prefix names the entity
/// whose column definitions type the columns that start with it (`""` for
/// a plain entity select). Other columns (counts, sub-selects) keep
/// SQLite's own type: integer as `i64`, text as `String`.
pub type RowTypes = [(&'static str, fn(&str) -> Option<ColumnType>)];

/// The column type of `name` in entity `E`, for [`RowTypes`].
pub fn column_type<E: EntityTrait>(name: &str) -> Option<ColumnType> {
    E::Column::from_str(name)
        .ok()
        .map(|c| c.def().get_column_type().clone())
}

/// The read path of an [`AppState`](super::state::AppState).
#[derive(Clone)]
pub struct Reads {
    db: Db,
    inline: Option<Arc<InlinePool>>,
}

impl Reads {
    /// Reads through `db`, inline when it is an SQLite database file.
    pub fn new(db: Db, database_url: &str) -> Reads {
        let inline = super::db::sqlite_file(database_url).map(|path| {
            Arc::new(InlinePool {
                path,
                idle: Mutex::new(Vec::new()),
            })
        });
        Reads { db, inline }
    }

    /// Reads through the pool only (to compare both paths in tests).
    pub fn pooled(db: Db) -> Reads {
        Reads { db, inline: None }
    }

    /// Whether reads run on the calling thread (SQLite database files).
    pub fn is_inline(&self) -> bool {
        self.inline.is_some()
    }

    /// The backend statements for [`Reads::query_one`] are built for.
    pub fn backend(&self) -> sea_orm::DbBackend {
        self.db.get_database_backend()
    }

    /// The first row of an entity select, as `.one(db)` would return it;
    /// `A` is the entity's active model.
    pub async fn one<A>(&self, select: Select<A::Entity>) -> Result<Option<Model<A>>, DbErr>
    where
        A: ActiveModelTrait + TryIntoModel<Model<A>>,
    {
        match &self.inline {
            None => select.one(&self.db).await,
            Some(pool) => {
                let stmt = select.limit(1).build(sea_orm::DbBackend::Sqlite);
                match pool
                    .query(&stmt, &[("", column_type::<A::Entity>)], 1)?
                    .pop()
                {
                    Some(row) => Ok(Some(row.model::<A>("")?)),
                    None => Ok(None),
                }
            }
        }
    }

    /// Every row of an entity select, as `.all(db)` would return them.
    pub async fn all<A>(&self, select: Select<A::Entity>) -> Result<Vec<Model<A>>, DbErr>
    where
        A: ActiveModelTrait + TryIntoModel<Model<A>>,
    {
        match &self.inline {
            None => select.all(&self.db).await,
            Some(pool) => {
                let stmt = select.build(sea_orm::DbBackend::Sqlite);
                pool.query(&stmt, &[("", column_type::<A::Entity>)], usize::MAX)?
                    .iter()
                    .map(|row| row.model::<A>(""))
                    .collect()
            }
        }
    }

    /// Every row of a statement built for this database's backend.
    pub async fn query_all(
        &self,
        stmt: Statement,
        types: &RowTypes,
    ) -> Result<Vec<ReadRow>, DbErr> {
        match &self.inline {
            None => Ok(self
                .db
                .query_all_raw(stmt)
                .await?
                .into_iter()
                .map(ReadRow::Pool)
                .collect()),
            Some(pool) => pool.query(&stmt, types, usize::MAX),
        }
    }

    /// The first row of a statement built for this database's backend.
    pub async fn query_one(
        &self,
        stmt: Statement,
        types: &RowTypes,
    ) -> Result<Option<ReadRow>, DbErr> {
        match &self.inline {
            None => Ok(self.db.query_one_raw(stmt).await?.map(ReadRow::Pool)),
            Some(pool) => Ok(pool.query(&stmt, types, 1)?.pop()),
        }
    }
}

type Model<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Model;

/// One result row, from the pool or read inline.
pub enum ReadRow {
    Pool(QueryResult),
    Inline(BTreeMap<Arc<str>, Value>),
}

impl ReadRow {
    /// The model of active model `A` from the columns named `prefix` + column.
    pub fn model<A>(&self, prefix: &str) -> Result<Model<A>, DbErr>
    where
        A: ActiveModelTrait + TryIntoModel<Model<A>>,
    {
        match self {
            ReadRow::Pool(row) => Model::<A>::from_query_result(row, prefix),
            ReadRow::Inline(values) => {
                let mut am = A::default();
                for col in <A::Entity as EntityTrait>::Column::iter() {
                    let name = if prefix.is_empty() {
                        std::borrow::Cow::Borrowed(col.as_str())
                    } else {
                        std::borrow::Cow::Owned(format!("{prefix}{}", col.as_str()))
                    };
                    let v = values
                        .get(name.as_ref())
                        .ok_or_else(|| DbErr::Type(format!("inline read: no column {name}")))?;
                    am.try_set(col, v.clone())?;
                }
                am.try_into_model()
            }
        }
    }

    /// The value of column `name`.
    pub fn get<T: TryGetable + ValueType>(&self, name: &str) -> Result<T, DbErr> {
        match self {
            ReadRow::Pool(row) => row.try_get("", name),
            ReadRow::Inline(values) => values
                .get(name)
                .cloned()
                .ok_or_else(|| DbErr::Type(format!("inline read: no column {name}")))
                .and_then(|v| {
                    T::try_from(v)
                        .map_err(|_| DbErr::Type(format!("inline read: column {name}: wrong type")))
                }),
        }
    }
}

struct InlinePool {
    path: PathBuf,
    idle: Mutex<Vec<InlineConn>>,
}

/// The result columns of one statement, named and typed.
type Columns = Arc<[(Arc<str>, Option<ColumnType>)]>;

/// A read connection and the result columns of the statements it ran:
/// typing a column looks its name up among the entity's columns, which at
/// 20,000 reads a second cost more than reading the row.
struct InlineConn {
    conn: rusqlite::Connection,
    columns: std::collections::HashMap<String, Columns>,
}

impl InlinePool {
    fn take(&self) -> Result<InlineConn, DbErr> {
        let pooled = match self.idle.lock() {
            Ok(mut idle) => idle.pop(),
            Err(poisoned) => poisoned.into_inner().pop(),
        };
        if let Some(conn) = pooled {
            return Ok(conn);
        }
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(conn_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(conn_err)?;
        conn.pragma_update(None, "mmap_size", super::db::MMAP_BYTES)
            .map_err(conn_err)?;
        Ok(InlineConn {
            conn,
            columns: std::collections::HashMap::new(),
        })
    }

    fn give_back(&self, conn: InlineConn) {
        let mut idle = match self.idle.lock() {
            Ok(idle) => idle,
            Err(poisoned) => poisoned.into_inner(),
        };
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(conn);
        }
    }

    /// At most `limit` rows of a statement.
    fn query(
        &self,
        stmt: &Statement,
        types: &RowTypes,
        limit: usize,
    ) -> Result<Vec<ReadRow>, DbErr> {
        let mut conn = self.take()?;
        let started = std::time::Instant::now();
        let result = run(&mut conn, stmt, types, limit);
        // What each read costs, to find a slow one (`KEHU_LOG=kehu::platform::reads=debug`):
        // the statement's text only, its values (customers' data) stay out of the log.
        tracing::debug!(
            micros = <u64 as TryFrom<u128>>::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            rows = result.as_ref().map_or(0, Vec::len),
            sql = %stmt.sql,
            "read"
        );
        // A connection that failed is dropped rather than reused.
        if result.is_ok() {
            self.give_back(conn);
        }
        result
    }
}

fn run(
    conn: &mut InlineConn,
    stmt: &Statement,
    types: &RowTypes,
    limit: usize,
) -> Result<Vec<ReadRow>, DbErr> {
    let mut prepared = conn.conn.prepare_cached(&stmt.sql).map_err(query_err)?;
    let params = match &stmt.values {
        Some(values) => values.0.iter().map(to_sql).collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    // The same SQL is always read with the same types.
    let columns = match conn.columns.get(&stmt.sql) {
        Some(columns) => columns.clone(),
        None => {
            let columns: Columns = prepared
                .column_names()
                .into_iter()
                .map(|name| (Arc::from(name), type_of(name, types)))
                .collect();
            if conn.columns.len() >= TYPED_STATEMENTS {
                conn.columns.clear();
            }
            conn.columns.insert(stmt.sql.clone(), columns.clone());
            columns
        }
    };
    let mut rows = prepared
        .query(rusqlite::params_from_iter(params))
        .map_err(query_err)?;
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(row) = rows.next().map_err(query_err)? else {
            break;
        };
        let mut values = BTreeMap::new();
        for (i, (name, ty)) in columns.iter().enumerate() {
            let raw = row.get_ref(i).map_err(query_err)?;
            values.insert(name.clone(), typed(name, ty.clone(), raw)?);
        }
        out.push(ReadRow::Inline(values));
    }
    Ok(out)
}

fn type_of(name: &str, types: &RowTypes) -> Option<ColumnType> {
    types
        .iter()
        .find_map(|(prefix, lookup)| name.strip_prefix(prefix).and_then(lookup))
}

/// A parameter as sqlx would bind it on SQLite.
fn to_sql(v: &Value) -> Result<rusqlite::types::Value, DbErr> {
    use rusqlite::types::Value as Sql;
    Ok(match v {
        Value::Bool(b) => b.map_or(Sql::Null, |b| Sql::Integer(i64::from(b))),
        Value::TinyInt(n) => n.map_or(Sql::Null, |n| Sql::Integer(i64::from(n))),
        Value::SmallInt(n) => n.map_or(Sql::Null, |n| Sql::Integer(i64::from(n))),
        Value::Int(n) => n.map_or(Sql::Null, |n| Sql::Integer(i64::from(n))),
        Value::BigInt(n) => n.map_or(Sql::Null, Sql::Integer),
        Value::TinyUnsigned(n) => n.map_or(Sql::Null, |n| Sql::Integer(i64::from(n))),
        Value::SmallUnsigned(n) => n.map_or(Sql::Null, |n| Sql::Integer(i64::from(n))),
        Value::Unsigned(n) => n.map_or(Sql::Null, |n| Sql::Integer(i64::from(n))),
        // LIMIT and OFFSET.
        Value::BigUnsigned(Some(n)) => Sql::Integer(
            <i64 as TryFrom<u64>>::try_from(*n)
                .map_err(|_| DbErr::Type(format!("inline read: parameter {n} out of range")))?,
        ),
        Value::BigUnsigned(None) => Sql::Null,
        Value::Double(n) => n.map_or(Sql::Null, Sql::Real),
        Value::String(s) => s.clone().map_or(Sql::Null, Sql::Text),
        Value::ChronoDate(d) => d.map_or(Sql::Null, |d| Sql::Text(d.format("%F").to_string())),
        Value::ChronoDateTimeUtc(t) => t.map_or(Sql::Null, |t| {
            Sql::Text(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
        }),
        other => {
            return Err(DbErr::Type(format!(
                "inline read: parameter type not supported: {other:?}"
            )));
        }
    })
}

/// A column value as the sqlx driver would decode it into the entity's type.
fn typed(name: &str, ty: Option<ColumnType>, raw: ValueRef<'_>) -> Result<Value, DbErr> {
    let bad = || DbErr::Type(format!("inline read: column {name}: unexpected {raw:?}"));
    let int = |raw: ValueRef<'_>| match raw {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(n) => Ok(Some(n)),
        _ => Err(bad()),
    };
    let text = |raw: ValueRef<'_>| match raw {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(|s| Some(s.to_owned()))
            .map_err(|_| bad()),
        _ => Err(bad()),
    };
    Ok(match ty {
        None => match raw {
            ValueRef::Integer(n) => Value::BigInt(Some(n)),
            ValueRef::Real(x) => Value::Double(Some(x)),
            ValueRef::Text(_) => Value::String(text(raw)?),
            ValueRef::Null => Value::String(None),
            ValueRef::Blob(b) => Value::Bytes(Some(b.to_vec())),
        },
        Some(ColumnType::BigInteger) => Value::BigInt(int(raw)?),
        Some(ColumnType::Integer) => Value::Int(
            int(raw)?
                .map(<i32 as TryFrom<i64>>::try_from)
                .transpose()
                .map_err(|_| bad())?,
        ),
        Some(ColumnType::Boolean) => Value::Bool(int(raw)?.map(|n| n != 0)),
        Some(ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_)) => {
            Value::String(text(raw)?)
        }
        Some(ColumnType::Date) => Value::ChronoDate(
            text(raw)?
                .map(|s| NaiveDate::parse_from_str(&s, "%F"))
                .transpose()
                .map_err(|_| bad())?,
        ),
        Some(ColumnType::TimestampWithTimeZone) => Value::ChronoDateTimeUtc(
            text(raw)?
                .map(|s| parse_utc(&s).ok_or_else(bad))
                .transpose()?,
        ),
        Some(ColumnType::Double) => Value::Double(match raw {
            ValueRef::Null => None,
            ValueRef::Real(x) => Some(x),
            // SQLite stores a whole REAL as an integer; the cast is exact below 2^53.
            #[allow(clippy::cast_precision_loss)]
            ValueRef::Integer(n) => Some(n as f64),
            _ => return Err(bad()),
        }),
        Some(other) => {
            return Err(DbErr::Type(format!(
                "inline read: column {name}: type {other:?} not supported"
            )));
        }
    })
}

/// A timestamp as sqlx writes it (RFC 3339), or as SQLite's own functions do.
fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%F %T%.f%:z") {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%F %T%.f")
        .ok()
        .map(|t| t.and_utc())
}

fn conn_err(e: rusqlite::Error) -> DbErr {
    DbErr::Conn(sea_orm::RuntimeErr::Internal(format!("inline read: {e}")))
}

fn query_err(e: rusqlite::Error) -> DbErr {
    DbErr::Query(sea_orm::RuntimeErr::Internal(format!("inline read: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_as_sqlx_writes_them() {
        let t = parse_utc("2026-11-22T23:54:40.784146+00:00");
        assert_eq!(
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)),
            Some("2026-11-22T23:54:40.784146+00:00".to_owned())
        );
        assert!(parse_utc("2026-11-22 08:00:00+08:00").is_some());
        assert!(parse_utc("2026-11-22 00:00:00").is_some());
        assert!(parse_utc("yesterday").is_none());
    }
}
