//! What a capability plugs into the platform. The platform builds its router,
//! poller pass, home page and customer page from a list of these, which the
//! composition root (`app.rs`) holds; so it never names a capability, and a
//! new capability edits nothing here.
use std::future::Future;
use std::pin::Pin;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use super::auth::Actor;
use super::error::Result;
use super::http::shell::Task;
use super::state::AppState;

/// A future borrowed from its arguments, as trait objects need it.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// One section of the customer page that another capability contributes
/// (e.g. the customer's property in the factory), rendered by that capability
/// in the caller's language.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The section's anchor on the page (`#property`).
    pub anchor: &'static str,
    /// The tab's title, translated.
    pub title: String,
    /// How many entries the tab names beside its title.
    pub count: usize,
    /// The section's HTML (the capability's own template, already escaped).
    pub html: String,
}

/// A capability's plugs. Every method has a default that plugs nothing, so
/// each capability implements only what it offers.
pub trait Capability: Send + Sync {
    /// JSON routes, with their OpenAPI descriptions.
    fn api(&self) -> OpenApiRouter<AppState> {
        OpenApiRouter::new()
    }

    /// Page routes.
    fn pages(&self) -> Router<AppState> {
        Router::new()
    }

    /// The poller's pass over this capability's due items (run by the lease
    /// holder only).
    fn scan_due<'a>(&'a self, _state: &'a AppState) -> Pending<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    /// What the signed-in user should do, for the home page.
    fn tasks<'a>(&'a self, _state: &'a AppState, _actor: &'a Actor) -> Pending<'a, Vec<Task>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Sections for the page of one customer the actor may see.
    fn customer_panels<'a>(
        &'a self,
        _state: &'a AppState,
        _actor: &'a Actor,
        _customer_id: i64,
        _can_edit: bool,
    ) -> Pending<'a, Vec<Panel>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// The capabilities of one build, in the order their routes, tasks and
/// panels appear.
pub type Capabilities = &'static [&'static dyn Capability];

/// Every capability's home-page tasks, in list order.
pub async fn tasks(state: &AppState, actor: &Actor) -> Result<Vec<Task>> {
    let mut all = Vec::new();
    for c in state.capabilities {
        all.extend(c.tasks(state, actor).await?);
    }
    Ok(all)
}

/// Every capability's sections of one customer's page, in list order.
pub async fn customer_panels(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
    can_edit: bool,
) -> Result<Vec<Panel>> {
    let mut all = Vec::new();
    for c in state.capabilities {
        all.extend(
            c.customer_panels(state, actor, customer_id, can_edit)
                .await?,
        );
    }
    Ok(all)
}

/// Every capability's due-item pass, in list order.
pub async fn scan_due(state: &AppState) -> Result<()> {
    for c in state.capabilities {
        c.scan_due(state).await?;
    }
    Ok(())
}
