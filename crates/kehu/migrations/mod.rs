//! One migration tree for SQLite and PostgreSQL, written with sea-query so both
//! engines get the same schema.
use sea_orm_migration::prelude::*;

/// A migration that writes every customer's search terms again, as
/// migration m0010 does (`write_again`): for a change of what the terms are.
macro_rules! terms_written_again {
    () => {
        #[derive(DeriveMigrationName)]
        pub struct Migration;

        #[sea_orm_migration::async_trait::async_trait]
        impl MigrationTrait for Migration {
            fn use_transaction(&self) -> Option<bool> {
                Some(true)
            }

            async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
                super::m0010_customer_search_by_owner::write_again(m).await
            }
        }
    };
}

mod m0001_platform;
mod m0002_customers;
mod m0003_property;
mod m0004_property_agreements;
mod m0005_customer_search;
mod m0006_drop_write_lock;
mod m0007_backup_runs;
mod m0008_customer_search_columns;
mod m0009_customer_search_scope;
mod m0010_customer_search_by_owner;
mod m0011_customer_search_name_starts;
mod m0012_customer_owner_name_index;
mod m0013_customer_search_runs_of_four;
mod m0014_customer_search_name_order;

pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_platform::Migration),
            Box::new(m0002_customers::Migration),
            Box::new(m0003_property::Migration),
            Box::new(m0004_property_agreements::Migration),
            Box::new(m0005_customer_search::Migration),
            Box::new(m0006_drop_write_lock::Migration),
            Box::new(m0007_backup_runs::Migration),
            Box::new(m0008_customer_search_columns::Migration),
            Box::new(m0009_customer_search_scope::Migration),
            Box::new(m0010_customer_search_by_owner::Migration),
            Box::new(m0011_customer_search_name_starts::Migration),
            Box::new(m0012_customer_owner_name_index::Migration),
            Box::new(m0013_customer_search_runs_of_four::Migration),
            Box::new(m0014_customer_search_name_order::Migration),
        ]
    }
}
