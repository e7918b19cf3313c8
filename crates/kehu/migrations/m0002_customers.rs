//! The customer archive (SPEC §1): customers, their search terms, sharing,
//! owner history, contacts, interactions, visit plans and attachments.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub(super) fn create(name: &'static str) -> TableCreateStatement {
    Table::create().table(name).if_not_exists().to_owned()
}

pub(super) fn index(
    name: &'static str,
    table: &'static str,
    cols: &[&'static str],
) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table).if_not_exists();
    for c in cols {
        idx.col(*c);
    }
    idx.to_owned()
}

pub(super) fn fk(
    name: &'static str,
    from: (&'static str, &'static str),
    to: (&'static str, &'static str),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            create("customers")
                .col(big_pk_auto("id"))
                .col(string_uniq("code"))
                .col(string("full_name"))
                .col(string_null("short_name"))
                .col(string("mnemonic"))
                .col(string("pinyin"))
                .col(string("name_norm"))
                .col(string_null("credit_code"))
                .col(string("customer_type"))
                .col(string_null("industry"))
                .col(string_null("region"))
                .col(string_null("address"))
                .col(string_null("legal_representative"))
                .col(big_integer_null("registered_capital_fen"))
                .col(text_null("business_scope"))
                .col(string_null("scale"))
                .col(string("stage"))
                .col(string_null("source"))
                .col(date_null("first_contact_date"))
                .col(date_null("cooperation_start_date"))
                .col(big_integer("owner_id"))
                .col(string("tags"))
                .col(text_null("notes"))
                .col(string_null("grade"))
                .col(timestamp_with_time_zone("basic_due_at"))
                .col(timestamp_with_time_zone("full_due_at"))
                .col(boolean("basic_complete"))
                .col(boolean("full_complete"))
                .col(integer("completeness"))
                .col(integer("policy_version"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(big_integer("version"))
                .foreign_key(&mut fk(
                    "fk_customers_owner",
                    ("customers", "owner_id"),
                    ("users", "id"),
                ))
                .to_owned(),
        )
        .await?;
        // A unique index on a nullable column: many customers may lack a
        // credit code, none may share one (the same on both engines).
        m.create_index(
            index("ux_customers_credit_code", "customers", &["credit_code"])
                .unique()
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("ix_customers_owner", &["owner_id"][..]),
            ("ix_customers_name_norm", &["name_norm"]),
            ("ix_customers_mnemonic", &["mnemonic"]),
            ("ix_customers_updated", &["updated_at"]),
            ("ix_customers_full_due", &["full_complete", "full_due_at"]),
        ] {
            m.create_index(index(name, "customers", cols)).await?;
        }
        // Search terms: name bigrams (n:), pinyin initials (i:) and full
        // pinyin (p:) variants, phone digits (t:). Lookups are index range
        // scans on `term`, so search stays fast at a million customers.
        m.create_table(
            create("customer_terms")
                .col(string("term"))
                .col(big_integer("customer_id"))
                .primary_key(Index::create().col("term").col("customer_id"))
                .foreign_key(
                    &mut fk(
                        "fk_terms_customer",
                        ("customer_terms", "customer_id"),
                        ("customers", "id"),
                    )
                    .on_delete(ForeignKeyAction::Cascade)
                    .to_owned(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_terms_customer",
            "customer_terms",
            &["customer_id"],
        ))
        .await?;
        m.create_table(
            create("customer_shares")
                .col(big_integer("customer_id"))
                .col(big_integer("user_id"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("customer_id").col("user_id"))
                .foreign_key(
                    &mut fk(
                        "fk_shares_customer",
                        ("customer_shares", "customer_id"),
                        ("customers", "id"),
                    )
                    .on_delete(ForeignKeyAction::Cascade)
                    .to_owned(),
                )
                .foreign_key(&mut fk(
                    "fk_shares_user",
                    ("customer_shares", "user_id"),
                    ("users", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_shares_user", "customer_shares", &["user_id"]))
            .await?;
        m.create_table(
            create("customer_owner_history")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(big_integer("owner_id"))
                .col(timestamp_with_time_zone("from_at"))
                .col(timestamp_with_time_zone_null("to_at"))
                .col(string_null("reason"))
                .col(string("changed_by"))
                .foreign_key(&mut fk(
                    "fk_owner_hist_customer",
                    ("customer_owner_history", "customer_id"),
                    ("customers", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_owner_hist_customer",
            "customer_owner_history",
            &["customer_id"],
        ))
        .await?;
        m.create_table(
            create("contacts")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string("name"))
                .col(string_null("title"))
                .col(string("phones"))
                .col(string_null("email"))
                .col(string_null("wechat"))
                .col(date_null("birthday"))
                .col(string_null("decision_role"))
                .col(text_null("notes"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(big_integer("version"))
                .foreign_key(&mut fk(
                    "fk_contacts_customer",
                    ("contacts", "customer_id"),
                    ("customers", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_contacts_customer", "contacts", &["customer_id"]))
            .await?;
        m.create_table(
            create("interactions")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string("kind"))
                .col(date("occurred_on"))
                .col(string_null("participants"))
                .col(text("summary"))
                .col(string_null("next_step"))
                .col(date_null("next_step_on"))
                .col(big_integer("created_by_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk(
                    "fk_interactions_customer",
                    ("interactions", "customer_id"),
                    ("customers", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_interactions_customer",
            "interactions",
            &["customer_id", "occurred_on"],
        ))
        .await?;
        m.create_table(
            create("visit_plans")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(date("planned_on"))
                .col(string("purpose"))
                .col(big_integer("assignee_id"))
                .col(string("status"))
                .col(big_integer_null("interaction_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(big_integer("version"))
                .foreign_key(&mut fk(
                    "fk_visit_plans_customer",
                    ("visit_plans", "customer_id"),
                    ("customers", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_visit_plans_customer",
            "visit_plans",
            &["customer_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_visit_plans_assignee",
            "visit_plans",
            &["assignee_id", "status", "planned_on"],
        ))
        .await?;
        m.create_table(
            create("attachments")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string("kind"))
                .col(string("filename"))
                .col(string("content_type"))
                .col(big_integer("size"))
                .col(string("sha256"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk(
                    "fk_attachments_customer",
                    ("attachments", "customer_id"),
                    ("customers", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_attachments_customer",
            "attachments",
            &["customer_id"],
        ))
        .await?;
        // Contents live in the database so every instance on PostgreSQL
        // serves them; identical files are stored once.
        m.create_table(
            create("attachment_blobs")
                .col(string("sha256").primary_key())
                .col(blob("data"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "attachment_blobs",
            "attachments",
            "visit_plans",
            "interactions",
            "contacts",
            "customer_owner_history",
            "customer_shares",
            "customer_terms",
            "customers",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
