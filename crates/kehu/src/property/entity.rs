//! sea-orm entities of customer property (migrations/m0003_property.rs).

pub mod notices {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "property_notices")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub number: String,
        pub customer_id: i64,
        pub order_no: Option<String>,
        pub expected_on: Date,
        /// open, received, cancelled
        pub status: String,
        pub notes: Option<String>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub version: i64,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod notice_lines {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "property_notice_lines")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub notice_id: i64,
        pub line_no: i32,
        pub kind: String,
        pub item_name: String,
        pub spec: Option<String>,
        pub quantity: i64,
        pub unit: String,
        pub received_qty: i64,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod items {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "property_items")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub customer_id: i64,
        pub notice_line_id: Option<i64>,
        pub kind: String,
        pub item_name: String,
        pub spec: Option<String>,
        pub lot_no: Option<String>,
        pub serial_no: Option<String>,
        pub unit: String,
        pub received_qty: i64,
        pub balance: i64,
        pub state: String,
        pub register_no: Option<String>,
        pub verdict: Option<String>,
        pub verification_note: Option<String>,
        pub verification_report_id: Option<i64>,
        pub verified_by: Option<String>,
        pub verified_at: Option<DateTimeUtc>,
        pub registered_by: Option<String>,
        pub registered_at: Option<DateTimeUtc>,
        pub calibration_due_on: Option<Date>,
        pub maintenance_due_on: Option<Date>,
        pub usage_count: i64,
        pub rated_life: Option<i64>,
        pub last_used_at: DateTimeUtc,
        pub idle_reported_at: Option<DateTimeUtc>,
        pub received_by: String,
        pub received_at: DateTimeUtc,
        pub end_kind: Option<String>,
        pub ended_at: Option<DateTimeUtc>,
        pub policy_version: i32,
        pub updated_at: DateTimeUtc,
        pub version: i64,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod movements {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "property_movements")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub item_id: i64,
        pub kind: String,
        pub quantity: i64,
        pub from_location: Option<String>,
        pub to_location: Option<String>,
        pub order_no: Option<String>,
        pub order_customer_id: Option<i64>,
        pub document_id: Option<i64>,
        pub reason: Option<String>,
        pub actor: String,
        pub at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod documents {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "property_documents")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub customer_id: i64,
        pub item_id: i64,
        /// instruction, consent
        pub kind: String,
        pub instruction: Option<String>,
        pub order_no: Option<String>,
        pub attachment_id: i64,
        pub note: Option<String>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod abnormalities {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "property_abnormalities")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub number: String,
        pub item_id: i64,
        pub kind: String,
        pub description: String,
        pub quantity: i64,
        /// open, notified, instructed, closed
        pub status: String,
        pub raised_by: String,
        pub raised_at: DateTimeUtc,
        pub notified_by: Option<String>,
        pub notified_at: Option<DateTimeUtc>,
        pub notification: Option<String>,
        pub instruction: Option<String>,
        pub instruction_document_id: Option<i64>,
        pub instructed_by: Option<String>,
        pub instructed_at: Option<DateTimeUtc>,
        pub closed_at: Option<DateTimeUtc>,
        pub version: i64,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod care {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "property_care")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub item_id: i64,
        /// calibration, maintenance, usage
        pub kind: String,
        pub done_on: Date,
        /// pass, fail
        pub result: String,
        pub usage_count: Option<i64>,
        pub next_due_on: Option<Date>,
        pub note: Option<String>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod counts {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "property_counts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub item_id: i64,
        pub location: String,
        pub book_qty: i64,
        pub counted_qty: i64,
        /// pending, approved, rejected
        pub status: String,
        pub counted_by: String,
        pub counted_at: DateTimeUtc,
        pub decided_by: Option<String>,
        pub decided_at: Option<DateTimeUtc>,
        pub reason: Option<String>,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}
