//! Kehu (客户): customer management for Chinese manufacturers and
//! distributors. The library holds all business logic; the `kehu` binary
//! only parses arguments and calls into it.

rust_i18n::i18n!("locales", fallback = "zh-CN");

pub mod app;
pub mod bench;
pub mod customers;
pub mod demo;
#[path = "../migrations/mod.rs"]
pub mod migrations;
pub mod platform;
pub mod policy;
pub mod property;
pub mod testing;

pub use app::serve;
pub use platform::app::App;
