//! Group commit: writes of one kind that arrive while the previous batch is
//! being committed share the next transaction, its audit-chain update and
//! its fsync. A durable commit costs milliseconds on SQLite (full sync) and
//! PostgreSQL alike; one per request caps creates at a few hundred a second,
//! one per batch does not. Every caller still gets its answer only after the
//! commit that holds its write, so an acknowledged write survives a crash.
//!
//! A batch is written by one call of the write function. When that fails,
//! the transaction is rolled back and each item is written again alone in a
//! savepoint of a new one, so only the item at fault gets the error and the
//! others still commit.
use std::sync::Arc;

use sea_orm::{DatabaseTransaction, DbBackend, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use super::db::{self, Db};
use super::error::{Error, Result};

/// Writes a batch in the transaction given; returns one output per item, in order.
pub type WriteFn<I, O> = Arc<
    dyn for<'a> Fn(
            &'a DatabaseTransaction,
            Vec<I>,
        ) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<O>>> + Send + 'a>>
        + Send
        + Sync,
>;

type Job<I, O> = (I, oneshot::Sender<Result<O>>);

/// A queue of writes of one kind, committed in batches.
pub struct GroupCommit<I, O> {
    tx: mpsc::UnboundedSender<Job<I, O>>,
}

impl<I, O> GroupCommit<I, O>
where
    I: Clone + Send + 'static,
    O: Send + 'static,
{
    /// Starts the queue's writer; it ends when the queue is dropped. The
    /// writer has a thread and runtime of its own: on the request runtime
    /// each of its statements would wait behind the queued requests before
    /// it could issue the next, and the whole queue waits on the writer.
    /// On PostgreSQL it also has a connection of its own, opened on its
    /// runtime from `database_url`: a pooled connection's socket belongs to
    /// the request runtime, whose busy workers would notice each answer late.
    pub fn start(
        db: Db,
        database_url: &str,
        max_batch: usize,
        write: WriteFn<I, O>,
    ) -> Result<GroupCommit<I, O>> {
        let own_url =
            (db.get_database_backend() == DbBackend::Postgres).then(|| database_url.to_owned());
        let (tx, mut rx) = mpsc::unbounded_channel::<Job<I, O>>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(anyhow::anyhow!("group commit runtime: {e}")))?;
        std::thread::Builder::new()
            .name("kehu-group-commit".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let db = match own_url {
                        Some(url) => match db::connect_writer(&url).await {
                            Ok(own) => own,
                            Err(e) => {
                                tracing::warn!(
                                    "group commit: own connection failed ({e}); using the pool"
                                );
                                db
                            }
                        },
                        None => db,
                    };
                    let mut jobs = Vec::with_capacity(max_batch);
                    while rx.recv_many(&mut jobs, max_batch.max(1)).await > 0 {
                        let batch = std::mem::take(&mut jobs);
                        // Its own task: a panic in a write loses that batch
                        // (its callers get an error), not the queue.
                        let _ = tokio::spawn(write_batch(db.clone(), write.clone(), batch)).await;
                    }
                });
            })
            .map_err(|e| Error::Internal(anyhow::anyhow!("group commit thread: {e}")))?;
        Ok(GroupCommit { tx })
    }

    /// Queues one write and waits for the commit that holds it.
    pub async fn submit(&self, item: I) -> Result<O> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((item, reply))
            .map_err(|_| Error::Internal(anyhow::anyhow!("the write queue has stopped")))?;
        answer
            .await
            .map_err(|_| Error::Internal(anyhow::anyhow!("the write was abandoned")))?
    }
}

async fn write_batch<I: Clone, O>(db: Db, write: WriteFn<I, O>, jobs: Vec<Job<I, O>>) {
    let (items, replies): (Vec<I>, Vec<_>) = jobs.into_iter().unzip();
    // Together first, without a savepoint (its journal and statements cost
    // more than the rare retry).
    let first = match db::begin_write(&db).await {
        Ok(txn) => match write(&txn, items.clone()).await {
            Ok(outs) if outs.len() == replies.len() => Ok((txn, outs)),
            other => {
                let _ = txn.rollback().await;
                Err(other.err().unwrap_or_else(wrong_count))
            }
        },
        Err(e) => Err(failed("begin", &e)),
    };
    let (txn, written) = match first {
        Ok((txn, outs)) => (txn, replies.into_iter().zip(outs).collect::<Vec<_>>()),
        Err(e) if items.len() == 1 => {
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(e));
            }
            return;
        }
        Err(_) => {
            // Someone's write failed: each again on its own, so only it
            // gets its error and the others still commit.
            let txn = match db::begin_write(&db).await {
                Ok(t) => t,
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(failed("begin", &e)));
                    }
                    return;
                }
            };
            let mut written = Vec::with_capacity(replies.len());
            for (item, reply) in items.into_iter().zip(replies) {
                match in_savepoint(&txn, &write, vec![item]).await {
                    Ok(mut outs) if outs.len() == 1 => {
                        if let Some(out) = outs.pop() {
                            written.push((reply, out));
                        }
                    }
                    Ok(_) => {
                        let _ = reply.send(Err(wrong_count()));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            (txn, written)
        }
    };
    match txn.commit().await {
        Ok(()) => {
            for (reply, out) in written {
                let _ = reply.send(Ok(out));
            }
        }
        Err(e) => {
            for (reply, _) in written {
                let _ = reply.send(Err(failed("commit", &e)));
            }
        }
    }
}

fn wrong_count() -> Error {
    Error::Internal(anyhow::anyhow!(
        "a batch write returned the wrong number of results"
    ))
}

async fn in_savepoint<I, O>(
    txn: &DatabaseTransaction,
    write: &WriteFn<I, O>,
    items: Vec<I>,
) -> Result<Vec<O>> {
    let sp = txn.begin().await?;
    match write(&sp, items).await {
        Ok(outs) => {
            sp.commit().await?;
            Ok(outs)
        }
        Err(e) => {
            sp.rollback().await?;
            Err(e)
        }
    }
}

fn failed(step: &str, e: &sea_orm::DbErr) -> Error {
    Error::Internal(anyhow::anyhow!("group commit: {step} failed: {e}"))
}
