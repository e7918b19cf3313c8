//! sea-orm entities of the customer archive (migrations/m0002_customers.rs).

pub mod customers {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customers")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub code: String,
        pub full_name: String,
        pub short_name: Option<String>,
        pub mnemonic: String,
        pub pinyin: String,
        pub name_norm: String,
        /// What a search checks on a row it walks (`model::search_columns`).
        pub name_text: String,
        pub pinyin_text: String,
        pub credit_code: Option<String>,
        pub customer_type: String,
        pub industry: Option<String>,
        pub region: Option<String>,
        pub address: Option<String>,
        pub legal_representative: Option<String>,
        pub registered_capital_fen: Option<i64>,
        pub business_scope: Option<String>,
        pub scale: Option<String>,
        pub stage: String,
        pub source: Option<String>,
        pub first_contact_date: Option<Date>,
        pub cooperation_start_date: Option<Date>,
        pub owner_id: i64,
        /// Tags joined as `,a,b,` so one LIKE '%,a,%' finds a tag exactly.
        pub tags: String,
        pub notes: Option<String>,
        pub grade: Option<String>,
        pub basic_due_at: DateTimeUtc,
        pub full_due_at: DateTimeUtc,
        pub basic_complete: bool,
        pub full_complete: bool,
        pub completeness: i32,
        pub policy_version: i32,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub version: i64,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

/// Search terms, one row per (term, customer). Read-only on SQLite, where it
/// is a view over the FTS5 index (migrations m0005, m0010); written through
/// `store::insert_terms` and `store::set_terms` on both engines. On
/// PostgreSQL the table also holds the owner, in its key (term, owner,
/// customer), which only `store::TermQuery` reads.
pub mod customer_terms {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customer_terms")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub term: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub customer_id: i64,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod customer_shares {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customer_shares")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub customer_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod customer_owner_history {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customer_owner_history")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub customer_id: i64,
        pub owner_id: i64,
        pub from_at: DateTimeUtc,
        pub to_at: Option<DateTimeUtc>,
        pub reason: Option<String>,
        pub changed_by: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod contacts {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "contacts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub customer_id: i64,
        pub name: String,
        pub title: Option<String>,
        /// Canonical phone numbers joined by ", ".
        pub phones: String,
        pub email: Option<String>,
        pub wechat: Option<String>,
        pub birthday: Option<Date>,
        pub decision_role: Option<String>,
        pub notes: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub version: i64,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod interactions {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "interactions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub customer_id: i64,
        pub kind: String,
        pub occurred_on: Date,
        pub participants: Option<String>,
        pub summary: String,
        pub next_step: Option<String>,
        pub next_step_on: Option<Date>,
        pub created_by_id: i64,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod visit_plans {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "visit_plans")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub customer_id: i64,
        pub planned_on: Date,
        pub purpose: String,
        pub assignee_id: i64,
        pub status: String,
        pub interaction_id: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub version: i64,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod attachments {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "attachments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub customer_id: i64,
        pub kind: String,
        pub filename: String,
        pub content_type: String,
        pub size: i64,
        pub sha256: String,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}
