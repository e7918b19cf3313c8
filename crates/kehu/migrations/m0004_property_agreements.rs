//! Consignment (寄售) and custody (寄养) agreements (SPEC §4): the agreements, their items,
//! the movement ledgers, consignment settlement statements and custody payments.
//!
//! Money is integer fen; ratios and rates are decimal text ("0.60", "0.0005"); quantities are
//! integer thousandths of the item's unit, so a ledger sums exactly on both engines.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn create(name: &'static str) -> TableCreateStatement {
    Table::create().table(name).if_not_exists().to_owned()
}

fn index(name: &'static str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table).if_not_exists();
    for c in cols {
        idx.col(*c);
    }
    idx.to_owned()
}

fn fk(
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

/// The columns every agreement has, around its own terms.
fn agreement(name: &'static str, fk_name: &'static str) -> TableCreateStatement {
    create(name)
        .col(big_pk_auto("id"))
        .col(string_uniq("number"))
        .col(big_integer("customer_id"))
        .col(date("start_date"))
        .col(date("end_date"))
        .foreign_key(&mut fk(fk_name, (name, "customer_id"), ("customers", "id")))
        .to_owned()
}

fn agreement_tail(t: &mut TableCreateStatement) -> TableCreateStatement {
    t.col(text_null("notes"))
        .col(string("status"))
        .col(timestamp_with_time_zone_null("ended_at"))
        .col(integer("policy_version"))
        .col(string("created_by"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .col(big_integer("version"))
        .to_owned()
}

/// An agreement's items: one row per name and specification (spec "" when none).
fn items(
    name: &'static str,
    agreements: &'static str,
    fk_name: &'static str,
) -> TableCreateStatement {
    create(name)
        .col(big_pk_auto("id"))
        .col(big_integer("agreement_id"))
        .col(string("name"))
        .col(string("spec"))
        .col(string("unit"))
        .col(big_integer_null("unit_price_fen"))
        .col(timestamp_with_time_zone("created_at"))
        .foreign_key(&mut fk(fk_name, (name, "agreement_id"), (agreements, "id")))
        .to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // ---------------------------------------------------------- consignment
        m.create_table(agreement_tail(
            agreement("consignment_agreements", "fk_consignment_customer")
                .col(string("cost_ratio"))
                .col(string("consignment_ratio")),
        ))
        .await?;
        m.create_index(index(
            "ix_consignment_customer",
            "consignment_agreements",
            &["customer_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_consignment_status_end",
            "consignment_agreements",
            &["status", "end_date"],
        ))
        .await?;
        m.create_table(items(
            "consignment_items",
            "consignment_agreements",
            "fk_consignment_items_agreement",
        ))
        .await?;
        m.create_index(
            index(
                "ux_consignment_items",
                "consignment_items",
                &["agreement_id", "name", "spec"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        // Receipts, sales and returns: one signed ledger per item.
        m.create_table(
            create("consignment_movements")
                .col(big_pk_auto("id"))
                .col(big_integer("agreement_id"))
                .col(big_integer("item_id"))
                .col(string("kind"))
                .col(big_integer("quantity_milli"))
                .col(big_integer_null("amount_fen"))
                .col(big_integer_null("commission_fen"))
                .col(timestamp_with_time_zone("occurred_at"))
                .col(text_null("notes"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk(
                    "fk_consignment_moves_agreement",
                    ("consignment_movements", "agreement_id"),
                    ("consignment_agreements", "id"),
                ))
                .foreign_key(&mut fk(
                    "fk_consignment_moves_item",
                    ("consignment_movements", "item_id"),
                    ("consignment_items", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_consignment_moves",
            "consignment_movements",
            &["agreement_id", "kind", "occurred_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_consignment_moves_item",
            "consignment_movements",
            &["item_id"],
        ))
        .await?;
        // Closed months: one per agreement and month; sales in a closed month are refused.
        m.create_table(
            create("consignment_settlements")
                .col(big_pk_auto("id"))
                .col(big_integer("agreement_id"))
                .col(string("month"))
                .col(string_uniq("number"))
                .col(big_integer("sales_count"))
                .col(big_integer("sales_fen"))
                .col(big_integer("commission_fen"))
                .col(big_integer("due_fen"))
                .col(integer("policy_version"))
                .col(string("closed_by"))
                .col(timestamp_with_time_zone("closed_at"))
                .foreign_key(&mut fk(
                    "fk_consignment_settlements_agreement",
                    ("consignment_settlements", "agreement_id"),
                    ("consignment_agreements", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_consignment_settlements",
                "consignment_settlements",
                &["agreement_id", "month"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        // ---------------------------------------------------------- custody
        m.create_table(agreement_tail(
            agreement("custody_agreements", "fk_custody_customer")
                .col(big_integer("monthly_fee_fen"))
                .col(string("late_fee_rate"))
                .col(integer("payment_due_day")),
        ))
        .await?;
        m.create_index(index(
            "ix_custody_customer",
            "custody_agreements",
            &["customer_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_custody_status_end",
            "custody_agreements",
            &["status", "end_date"],
        ))
        .await?;
        m.create_table(items(
            "custody_items",
            "custody_agreements",
            "fk_custody_items_agreement",
        ))
        .await?;
        m.create_index(
            index(
                "ux_custody_items",
                "custody_items",
                &["agreement_id", "name", "spec"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_table(
            create("custody_movements")
                .col(big_pk_auto("id"))
                .col(big_integer("agreement_id"))
                .col(big_integer("item_id"))
                .col(string("kind"))
                .col(big_integer("quantity_milli"))
                .col(date("moved_on"))
                .col(text_null("notes"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk(
                    "fk_custody_moves_agreement",
                    ("custody_movements", "agreement_id"),
                    ("custody_agreements", "id"),
                ))
                .foreign_key(&mut fk(
                    "fk_custody_moves_item",
                    ("custody_movements", "item_id"),
                    ("custody_items", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_custody_moves",
            "custody_movements",
            &["agreement_id", "moved_on"],
        ))
        .await?;
        m.create_table(
            create("custody_payments")
                .col(big_pk_auto("id"))
                .col(big_integer("agreement_id"))
                .col(date("paid_on"))
                .col(big_integer("amount_fen"))
                .col(string_null("reference"))
                .col(text_null("notes"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk(
                    "fk_custody_payments_agreement",
                    ("custody_payments", "agreement_id"),
                    ("custody_agreements", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_custody_payments",
            "custody_payments",
            &["agreement_id", "paid_on"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "custody_payments",
            "custody_movements",
            "custody_items",
            "custody_agreements",
            "consignment_settlements",
            "consignment_movements",
            "consignment_items",
            "consignment_agreements",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
