//! The due-item poller. Exactly one instance of a deployment runs it at a
//! time: it holds a lease row in the database and renews it while it works,
//! so several stateless instances on PostgreSQL never double-send reminders.
use chrono::Duration;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};

use super::error::Result;
use super::state::AppState;

const LEASE: &str = "poller";

/// Takes or renews the lease for `holder`; true when this instance holds it.
pub async fn acquire_lease(state: &AppState, holder: &str, ttl: Duration) -> Result<bool> {
    let now = state.clock.now();
    let txn = super::db::begin_write(&state.db).await?;
    // Insert, or take over only a lease that is ours or has expired.
    let stmt = Query::insert()
        .into_table("job_leases")
        .columns(["name", "holder", "expires_at"])
        .values_panic([LEASE.into(), holder.into(), (now + ttl).into()])
        .on_conflict(
            OnConflict::column("name")
                .update_columns(["holder", "expires_at"])
                .action_and_where(
                    Expr::col(("job_leases", "holder"))
                        .eq(holder)
                        .or(Expr::col(("job_leases", "expires_at")).lt(now)),
                )
                .to_owned(),
        )
        .to_owned();
    txn.execute(&stmt).await?;
    let row = txn
        .query_one(
            &Query::select()
                .column("holder")
                .from("job_leases")
                .and_where(Expr::col("name").eq(LEASE))
                .to_owned(),
        )
        .await?;
    txn.commit().await?;
    let current: Option<String> = match row {
        Some(r) => Some(r.try_get("", "holder")?),
        None => None,
    };
    Ok(current.as_deref() == Some(holder))
}

/// One pass of the poller: what is due now. Capabilities add their due-item
/// scans here; the platform's own work is housekeeping and policy refresh.
pub async fn run_once(state: &AppState) -> Result<()> {
    super::auth::prune(state).await?;
    // A failed backup is recorded, logged and retried at the next slot; it stops nothing else.
    match super::backup::run_scheduled(state).await {
        Ok(Some(taken)) => {
            tracing::info!(file = %taken.file.display(), bytes = taken.bytes, "scheduled backup written")
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "scheduled backup failed"),
    }
    super::capability::scan_due(state).await?;
    Ok(())
}

/// Runs forever: every instance refreshes its policy; the lease holder runs
/// the due-item pass.
pub async fn poller(state: AppState, every: std::time::Duration) {
    let holder = format!(
        "{}-{}",
        std::process::id(),
        super::auth::password::random_secret(6)
    );
    let ttl = Duration::seconds(i64::try_from(every.as_secs()).unwrap_or(30) * 3);
    loop {
        match state.reload_policy().await {
            Ok(p) => {
                metrics::counter!("kehu_policy_reloads_total", "outcome" => "ok").increment(1);
                metrics::gauge!("kehu_policy_version").set(p.version as f64);
            }
            Err(e) => {
                metrics::counter!("kehu_policy_reloads_total", "outcome" => "failed").increment(1);
                tracing::warn!(error = %e, "policy reload failed");
            }
        }
        match acquire_lease(&state, &holder, ttl).await {
            Ok(true) => {
                metrics::gauge!("kehu_poller_lease_held").set(1.0);
                let outcome = match run_once(&state).await {
                    Ok(()) => "ok",
                    Err(e) => {
                        tracing::warn!(error = %e, "poller pass failed");
                        "failed"
                    }
                };
                metrics::counter!("kehu_poller_passes_total", "outcome" => outcome).increment(1);
                metrics::gauge!("kehu_poller_last_pass_timestamp_seconds")
                    .set(state.clock.now().timestamp() as f64);
            }
            Ok(false) => metrics::gauge!("kehu_poller_lease_held").set(0.0),
            Err(e) => tracing::warn!(error = %e, "poller lease failed"),
        }
        tokio::time::sleep(every).await;
    }
}
