//! The composition root: the one list of capabilities this build serves.
//! The platform builds the router, the poller's due-item pass, the home
//! page's tasks and the customer page's sections from it; adding a
//! capability means adding it here (ARCHITECTURE.md has the checklist).
use crate::platform::app::App;
use crate::platform::capability::Capabilities;
use crate::platform::clock::Clock;
use crate::platform::config::Config;

pub use crate::platform::app::{describe, serve};

/// Every capability, in the order their routes, tasks and panels appear.
pub static CAPABILITIES: Capabilities = &[
    &crate::customers::Customers,
    &crate::property::Property,
    &crate::property::agreements::Agreements,
];

/// Prepares a server: connects, migrates, applies the configured policy and
/// creates the first admin (see [`App::prepare`]).
pub async fn prepare(
    config: Config,
    clock: Clock,
    admin_password: Option<String>,
) -> anyhow::Result<App> {
    App::prepare(CAPABILITIES, config, clock, admin_password).await
}

/// Opens an existing database for a one-shot command (see [`App::open`]).
pub async fn open(config: Config, clock: Clock) -> anyhow::Result<App> {
    App::open(CAPABILITIES, config, clock).await
}

/// The OpenAPI document of the whole API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    crate::platform::http::openapi(CAPABILITIES)
}
