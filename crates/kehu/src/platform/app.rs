//! Starting Kehu: connect, migrate, load the policy, make sure an admin
//! exists, and serve.
use std::net::SocketAddr;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use super::auth::{self, FirstAdmin};
use super::capability::Capabilities;
use super::clock::Clock;
use super::config::Config;
use super::datadir::{self, DataDirLock};
use super::db;
use super::error::Result;
use super::state::AppState;
use crate::policy::store as policy_store;

/// A prepared instance: state ready, router built, not yet listening.
pub struct App {
    pub state: AppState,
    pub first_admin: FirstAdmin,
    /// On SQLite, the data directory's lock, held as long as the app lives.
    _lock: Option<DataDirLock>,
}

/// The process-wide metrics recorder (a recorder can be installed only once,
/// and tests start several apps in one process).
fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Histogram buckets (seconds) so latencies aggregate across instances.
            let buckets = [
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            PrometheusBuilder::new()
                .set_buckets(&buckets)
                .ok()?
                .install_recorder()
                .ok()
        })
        .clone()
}

impl App {
    /// Connects (creating the SQLite database's directory and taking its lock, so a second
    /// server on it is refused), migrates, applies the configured policy file if it changed,
    /// and creates `admin` on the first start. For `serve`; other commands use [`App::open`].
    pub async fn prepare(
        capabilities: Capabilities,
        config: Config,
        clock: Clock,
        admin_password: Option<String>,
    ) -> anyhow::Result<App> {
        let url = config.database_url();
        let lock = match db::sqlite_file(&url) {
            Some(file) => {
                let dir = match file.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => std::path::PathBuf::from("."),
                };
                std::fs::create_dir_all(&dir)?;
                Some(DataDirLock::acquire(&dir)?)
            }
            None => None,
        };
        let conn = db::connect(&url).await?;
        db::migrate(&conn).await?;
        let policy_file = config.policy.clone();
        let state = AppState::new(conn, config, clock, metrics_handle(), capabilities).await?;
        if let Some(path) = policy_file {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("cannot read policy file {}: {e}", path.display()))?;
            let text = crate::policy::without_show_header(&text).to_owned();
            if text != state.policy().body {
                // Field messages in the operator's language (KEHU_LANG), like the rest.
                super::i18n::with_lang(
                    super::i18n::Lang::from_env(),
                    policy_store::apply(
                        &state.db,
                        &super::audit::AuditActor::system(),
                        &text,
                        None,
                        &format!("applied from {} at start", path.display()),
                        state.clock.now(),
                    ),
                )
                .await
                .map_err(|e| anyhow::anyhow!("policy file {}: {}", path.display(), describe(&e)))?;
                state.reload_policy().await?;
            }
        }
        let first_admin = auth::ensure_first_admin(&state, admin_password).await?;
        Ok(App {
            state,
            first_admin,
            _lock: lock,
        })
    }

    /// Opens an existing Kehu database for a one-shot command: creates nothing, migrates
    /// nothing, and refuses a data directory or database that holds no Kehu database.
    pub async fn open(
        capabilities: Capabilities,
        config: Config,
        clock: Clock,
    ) -> anyhow::Result<App> {
        let conn = datadir::connect_existing(&config).await?;
        let state = AppState::new(conn, config, clock, metrics_handle(), capabilities).await?;
        Ok(App {
            state,
            first_admin: FirstAdmin::Exists,
            _lock: None,
        })
    }

    pub fn router(&self) -> axum::Router {
        super::http::router(self.state.clone())
    }
}

/// An error with its field messages, for the terminal.
pub fn describe(e: &super::error::Error) -> String {
    let lang = super::i18n::Lang::from_env();
    let mut s = e.message(lang);
    if let super::error::Error::Invalid(fs) = e {
        for f in fs {
            s.push_str(&format!("\n  {}: {}", f.field, f.message(lang)));
        }
    }
    s
}

/// Serves until the process is stopped; the poller runs beside the server.
pub async fn serve(app: App, listener: TcpListener) -> Result<()> {
    // A panic is logged once, through the log like everything else; the
    // request that panicked is answered 500 by the router.
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "panic");
    }));
    let router = app.router();
    tokio::spawn(super::jobs::poller(
        app.state.clone(),
        std::time::Duration::from_secs(30),
    ));
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| super::error::Error::Internal(e.into()))
}

/// Ctrl-C or SIGTERM (systemd, container stop) ends the server after the
/// requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
