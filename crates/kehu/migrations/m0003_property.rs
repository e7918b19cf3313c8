//! Customer property (SPEC §4): advance notices, items (lots or single
//! pieces) with their register numbers, the movement ledger, abnormalities,
//! customer documents (instructions, consents), care records and counts.
use sea_orm_migration::{prelude::*, schema::*};

use super::m0002_customers::{create, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            create("property_notices")
                .col(big_pk_auto("id"))
                .col(string_uniq("number"))
                .col(big_integer("customer_id"))
                .col(string_null("order_no"))
                .col(date("expected_on"))
                .col(string("status"))
                .col(text_null("notes"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(big_integer("version"))
                .foreign_key(&mut fk(
                    "fk_pnotices_customer",
                    ("property_notices", "customer_id"),
                    ("customers", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_pnotices_customer",
            "property_notices",
            &["customer_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_pnotices_status",
            "property_notices",
            &["status", "expected_on"],
        ))
        .await?;
        m.create_table(
            create("property_notice_lines")
                .col(big_pk_auto("id"))
                .col(big_integer("notice_id"))
                .col(integer("line_no"))
                .col(string("kind"))
                .col(string("item_name"))
                .col(string_null("spec"))
                .col(big_integer("quantity"))
                .col(string("unit"))
                .col(big_integer("received_qty"))
                .foreign_key(&mut fk(
                    "fk_plines_notice",
                    ("property_notice_lines", "notice_id"),
                    ("property_notices", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_plines_notice",
            "property_notice_lines",
            &["notice_id"],
        ))
        .await?;
        m.create_table(
            create("property_items")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(big_integer_null("notice_line_id"))
                .col(string("kind"))
                .col(string("item_name"))
                .col(string_null("spec"))
                .col(string_null("lot_no"))
                .col(string_null("serial_no"))
                .col(string("unit"))
                .col(big_integer("received_qty"))
                // The register's quantity: always the sum of the ledger.
                .col(big_integer("balance"))
                .col(string("state"))
                .col(string_null("register_no"))
                .col(string_null("verdict"))
                .col(text_null("verification_note"))
                .col(big_integer_null("verification_report_id"))
                .col(string_null("verified_by"))
                .col(timestamp_with_time_zone_null("verified_at"))
                .col(string_null("registered_by"))
                .col(timestamp_with_time_zone_null("registered_at"))
                .col(date_null("calibration_due_on"))
                .col(date_null("maintenance_due_on"))
                .col(big_integer("usage_count"))
                .col(big_integer_null("rated_life"))
                .col(timestamp_with_time_zone("last_used_at"))
                .col(timestamp_with_time_zone_null("idle_reported_at"))
                .col(string("received_by"))
                .col(timestamp_with_time_zone("received_at"))
                .col(string_null("end_kind"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(integer("policy_version"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(big_integer("version"))
                .foreign_key(&mut fk(
                    "fk_pitems_customer",
                    ("property_items", "customer_id"),
                    ("customers", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ux_pitems_register_no", "property_items", &["register_no"])
                .unique()
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("ix_pitems_customer", &["customer_id", "state"][..]),
            ("ix_pitems_fifo", &["customer_id", "kind", "item_name"]),
            ("ix_pitems_state", &["state", "last_used_at"]),
            ("ix_pitems_lot", &["lot_no"]),
            ("ix_pitems_serial", &["serial_no"]),
        ] {
            m.create_index(index(name, "property_items", cols)).await?;
        }
        m.create_table(
            create("property_movements")
                .col(big_pk_auto("id"))
                .col(big_integer("item_id"))
                .col(string("kind"))
                .col(big_integer("quantity"))
                .col(string_null("from_location"))
                .col(string_null("to_location"))
                .col(string_null("order_no"))
                .col(big_integer_null("order_customer_id"))
                .col(big_integer_null("document_id"))
                .col(text_null("reason"))
                .col(string("actor"))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(&mut fk(
                    "fk_pmoves_item",
                    ("property_movements", "item_id"),
                    ("property_items", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_pmoves_item", "property_movements", &["item_id"]))
            .await?;
        m.create_table(
            create("property_documents")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(big_integer("item_id"))
                .col(string("kind"))
                .col(string_null("instruction"))
                .col(string_null("order_no"))
                .col(big_integer("attachment_id"))
                .col(text_null("note"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk(
                    "fk_pdocs_item",
                    ("property_documents", "item_id"),
                    ("property_items", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_pdocs_item", "property_documents", &["item_id"]))
            .await?;
        m.create_table(
            create("property_abnormalities")
                .col(big_pk_auto("id"))
                .col(string_uniq("number"))
                .col(big_integer("item_id"))
                .col(string("kind"))
                .col(text("description"))
                .col(big_integer("quantity"))
                .col(string("status"))
                .col(string("raised_by"))
                .col(timestamp_with_time_zone("raised_at"))
                .col(string_null("notified_by"))
                .col(timestamp_with_time_zone_null("notified_at"))
                .col(text_null("notification"))
                .col(string_null("instruction"))
                .col(big_integer_null("instruction_document_id"))
                .col(string_null("instructed_by"))
                .col(timestamp_with_time_zone_null("instructed_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .col(big_integer("version"))
                .foreign_key(&mut fk(
                    "fk_pabn_item",
                    ("property_abnormalities", "item_id"),
                    ("property_items", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_pabn_item",
            "property_abnormalities",
            &["item_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_pabn_status",
            "property_abnormalities",
            &["status"],
        ))
        .await?;
        m.create_table(
            create("property_care")
                .col(big_pk_auto("id"))
                .col(big_integer("item_id"))
                .col(string("kind"))
                .col(date("done_on"))
                .col(string("result"))
                .col(big_integer_null("usage_count"))
                .col(date_null("next_due_on"))
                .col(text_null("note"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk(
                    "fk_pcare_item",
                    ("property_care", "item_id"),
                    ("property_items", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_pcare_item", "property_care", &["item_id"]))
            .await?;
        m.create_table(
            create("property_counts")
                .col(big_pk_auto("id"))
                .col(big_integer("item_id"))
                .col(string("location"))
                .col(big_integer("book_qty"))
                .col(big_integer("counted_qty"))
                .col(string("status"))
                .col(string("counted_by"))
                .col(timestamp_with_time_zone("counted_at"))
                .col(string_null("decided_by"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(text_null("reason"))
                .foreign_key(&mut fk(
                    "fk_pcounts_item",
                    ("property_counts", "item_id"),
                    ("property_items", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_pcounts_item",
            "property_counts",
            &["item_id", "status"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "property_counts",
            "property_care",
            "property_abnormalities",
            "property_documents",
            "property_movements",
            "property_items",
            "property_notice_lines",
            "property_notices",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
