//! Customer property (客供品 / 顾客财产, SPEC §4): consignment and custody agreements.
pub mod agreements;
