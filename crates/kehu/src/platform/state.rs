//! What every request handler and service function reaches: the database,
//! the configuration, the policy in force and the clock.
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use metrics_exporter_prometheus::PrometheusHandle;

use super::capability::Capabilities;
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
    /// What capabilities start on first use (e.g. a group-commit queue).
    slots: Slots,
    /// The capabilities this instance serves (the composition root's list).
    pub capabilities: Capabilities,
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
        capabilities: Capabilities,
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
            slots: Slots::default(),
            capabilities,
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

    /// The instance's value of type `T`, started by `start` on first use.
    /// Two first uses may race; the loser's value is dropped unused.
    pub fn slot<T: Any + Send + Sync>(&self, start: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        let key = TypeId::of::<T>();
        let found = match self.slots.0.read() {
            Ok(m) => m.get(&key).cloned(),
            Err(poisoned) => poisoned.into_inner().get(&key).cloned(),
        };
        let value = match found {
            Some(v) => v,
            None => {
                let fresh: Arc<dyn Any + Send + Sync> = Arc::new(start()?);
                let mut m = match self.slots.0.write() {
                    Ok(m) => m,
                    Err(poisoned) => poisoned.into_inner(),
                };
                m.entry(key).or_insert(fresh).clone()
            }
        };
        value.downcast::<T>().map_err(|_| {
            super::error::Error::Internal(anyhow::anyhow!("state slot of a wrong type"))
        })
    }
}

/// Values keyed by their type, one of each per instance.
#[derive(Default)]
struct Slots(RwLock<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);
