//! What every capability leans on: database, users and sessions, audit,
//! numbering, calendar, HTTP conventions, languages and configuration.
pub mod app;
pub mod audit;
pub mod audit_api;
pub mod auth;
pub mod backup;
pub mod calendar;
pub mod capability;
pub mod clock;
pub mod config;
pub mod datadir;
pub mod db;
pub mod error;
pub mod group_commit;
pub mod history;
pub mod http;
pub mod i18n;
pub mod input;
pub mod jobs;
pub mod list;
pub mod number_format;
pub mod numbering;
pub mod numbering_api;
pub mod reads;
pub mod schema;
pub mod sheet;
pub mod state;
