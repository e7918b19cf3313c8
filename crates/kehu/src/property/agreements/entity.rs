//! sea-orm entities of consignment and custody agreements (migrations/m0004_property_agreements.rs).

pub mod consignment_agreements {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consignment_agreements")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub number: String,
        pub customer_id: i64,
        pub start_date: Date,
        pub end_date: Date,
        /// Decimal text, e.g. "0.6".
        pub cost_ratio: String,
        /// Decimal text, e.g. "0.1".
        pub consignment_ratio: String,
        pub notes: Option<String>,
        /// `active` or `ended` (see `model::Status`).
        pub status: String,
        pub ended_at: Option<DateTimeUtc>,
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

pub mod consignment_items {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consignment_items")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub agreement_id: i64,
        pub name: String,
        /// "" when the item has no specification.
        pub spec: String,
        pub unit: String,
        pub unit_price_fen: Option<i64>,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod consignment_movements {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consignment_movements")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub agreement_id: i64,
        pub item_id: i64,
        /// `receipt`, `sale` or `return`.
        pub kind: String,
        /// Thousandths of the item's unit, always positive.
        pub quantity_milli: i64,
        /// The sale amount (sales only).
        pub amount_fen: Option<i64>,
        /// The commission, computed when the sale was recorded (sales only).
        pub commission_fen: Option<i64>,
        pub occurred_at: DateTimeUtc,
        pub notes: Option<String>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod consignment_settlements {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consignment_settlements")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub agreement_id: i64,
        /// "YYYY-MM".
        pub month: String,
        pub number: String,
        pub sales_count: i64,
        pub sales_fen: i64,
        pub commission_fen: i64,
        pub due_fen: i64,
        pub policy_version: i32,
        pub closed_by: String,
        pub closed_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod custody_agreements {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "custody_agreements")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub number: String,
        pub customer_id: i64,
        pub start_date: Date,
        pub end_date: Date,
        pub monthly_fee_fen: i64,
        /// Decimal text per day, e.g. "0.0005".
        pub late_fee_rate: String,
        pub payment_due_day: i32,
        pub notes: Option<String>,
        pub status: String,
        pub ended_at: Option<DateTimeUtc>,
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

pub mod custody_items {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "custody_items")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub agreement_id: i64,
        pub name: String,
        pub spec: String,
        pub unit: String,
        /// Declared value per unit, if the customer gave one.
        pub unit_price_fen: Option<i64>,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod custody_movements {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "custody_movements")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub agreement_id: i64,
        pub item_id: i64,
        /// `in` or `out`.
        pub kind: String,
        pub quantity_milli: i64,
        pub moved_on: Date,
        pub notes: Option<String>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod custody_payments {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "custody_payments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub agreement_id: i64,
        pub paid_on: Date,
        pub amount_fen: i64,
        pub reference: Option<String>,
        pub notes: Option<String>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}
