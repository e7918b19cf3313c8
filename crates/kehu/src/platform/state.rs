//! What every request handler and service function reaches: the database,
//! the configuration, the policy in force and the clock.
use std::sync::{Arc, OnceLock, RwLock};

use metrics_exporter_prometheus::PrometheusHandle;

use super::clock::Clock;
use super::config::Config;
use super::db::Db;
use super::error::Result;
use super::reads::Reads;
use crate::policy::store::{self as policy_store, PolicyInForce};

/// Cheap to clone (one reference count): axum clones it for every
/// extractor of every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What an [`AppState`] shares.
pub struct Shared {
    pub db: Db,
    /// The hot reads (tokens, sessions, one customer): inline on SQLite.
    pub reads: Reads,
    pub config: Arc<Config>,
    pub clock: Clock,
    policy: RwLock<Arc<PolicyInForce>>,
    pub metrics: Option<PrometheusHandle>,
    /// Turns of the login attempts of addresses over their failure limit.
    pub(crate) login_gates: super::auth::AddressGates,
    /// Customer creates, committed in groups (started on first use).
    pub(crate) customer_creates: OnceLock<crate::customers::CreateQueue>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Loads the policy in force (creating version 1 on a new database).
    pub async fn new(
        db: Db,
        config: Config,
        clock: Clock,
        metrics: Option<PrometheusHandle>,
    ) -> Result<AppState> {
        let policy = policy_store::load_in_force(&db, clock.now()).await?;
        let reads = Reads::new(db.clone(), &config.database_url());
        Ok(AppState(Arc::new(Shared {
            reads,
            db,
            config: Arc::new(config),
            clock,
            policy: RwLock::new(Arc::new(policy)),
            metrics,
            login_gates: Default::default(),
            customer_creates: OnceLock::new(),
        })))
    }

    /// The policy in force now (cheap: an `Arc` clone).
    pub fn policy(&self) -> Arc<PolicyInForce> {
        match self.policy.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the policy in force: after `apply`, when a future version's
    /// date arrives, or when another instance applied one.
    pub async fn reload_policy(&self) -> Result<Arc<PolicyInForce>> {
        let fresh = Arc::new(policy_store::load_in_force(&self.db, self.clock.now()).await?);
        match self.policy.write() {
            Ok(mut p) => *p = fresh.clone(),
            Err(poisoned) => *poisoned.into_inner() = fresh.clone(),
        }
        Ok(fresh)
    }
}
