//! The rules of consignment (寄售) and custody (寄养) agreements, pure and unit-tested: parsing of
//! amounts, ratios and quantities, the commission formula, stock, calendar months in the
//! policy's time zone, the agreement state machine, who may do what, the custody fee schedule
//! with its late fees, and when a reminder is due.
use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, Months, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::platform::auth::{Actor, Role};
use crate::platform::error::FieldError;
use crate::policy::{FeeDue, Rounding};

// ------------------------------------------------------------------ amounts, ratios, quantities

/// The largest amount accepted, in fen (one hundred billion yuan): far above any real
/// document, far below where `i64` or `Decimal` arithmetic could overflow.
pub use crate::platform::input::MAX_FEN;
/// The largest quantity accepted, in thousandths of a unit.
pub const MAX_QUANTITY_MILLI: i64 = crate::platform::input::MAX_QUANTITY * 1000;
/// Decimal places of a quantity (thousandths: 0.001 kg, 0.001 m).
pub const QUANTITY_DECIMALS: u32 = 3;
/// Decimal places of a ratio on an agreement.
pub const RATIO_DECIMALS: u32 = 4;
/// Decimal places of a daily late-fee rate on an agreement.
pub const RATE_DECIMALS: u32 = 6;

use crate::platform::input::decimal;
pub use crate::platform::input::parse_yuan;

/// Fen as yuan text with two decimals ("1280.50").
pub fn yuan(fen: i64) -> String {
    Decimal::new(fen, 2).to_string()
}

/// A quantity as typed ("12", "2.5") in thousandths; `None` unless positive with at most three
/// decimals.
pub fn parse_quantity(text: &str) -> Option<i64> {
    let d = decimal(text)?;
    if d <= Decimal::ZERO || d.normalize().scale() > QUANTITY_DECIMALS {
        return None;
    }
    let milli = (d * Decimal::ONE_THOUSAND).to_i64()?;
    (milli <= MAX_QUANTITY_MILLI).then_some(milli)
}

/// Thousandths as the shortest quantity text ("12", "2.5").
pub fn quantity(milli: i64) -> String {
    Decimal::new(milli, QUANTITY_DECIMALS)
        .normalize()
        .to_string()
}

/// A ratio between 0 and 1 with at most [`RATIO_DECIMALS`] decimals ("0.6", "0.125").
pub fn parse_ratio(field: &str, text: &str) -> Result<Decimal, FieldError> {
    bounded_decimal(field, text, Decimal::ONE, RATIO_DECIMALS)
}

/// A daily late-fee rate between 0 and 1 % with at most [`RATE_DECIMALS`] decimals.
pub fn parse_rate(field: &str, text: &str) -> Result<Decimal, FieldError> {
    bounded_decimal(field, text, Decimal::new(1, 2), RATE_DECIMALS)
}

fn bounded_decimal(
    field: &str,
    text: &str,
    max: Decimal,
    decimals: u32,
) -> Result<Decimal, FieldError> {
    let range = || {
        FieldError::new(field, "agreements.error.ratio_range")
            .arg("max", max.normalize())
            .arg("decimals", decimals)
    };
    let d = decimal(text).ok_or_else(range)?;
    if d.is_sign_negative() || d > max || d.normalize().scale() > decimals {
        return Err(range());
    }
    Ok(d.normalize())
}

/// A stored ratio or rate ("0.6") as a decimal; 0 for a corrupt value (validated on write).
pub fn stored_decimal(text: &str) -> Decimal {
    text.parse().unwrap_or(Decimal::ZERO)
}

/// A ratio for display, with at least two decimals ("0.60", "0.125").
pub fn ratio_text(d: Decimal) -> String {
    let mut d = d.normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

// ------------------------------------------------------------------ consignment arithmetic

/// The seed's commission (寄售工作规章制度 第十二条): sale amount × (1 − cost ratio) ×
/// consignment ratio, in fen, rounded to the fen by the policy's rule.
///
/// With a sale of 100.00 yuan, cost ratio 0.60 and consignment ratio 0.10 the commission is
/// 10000 × 0.40 × 0.10 = 400 fen = 4.00 yuan.
pub fn commission_fen(
    sale_fen: i64,
    cost_ratio: Decimal,
    consignment_ratio: Decimal,
    rounding: Rounding,
) -> i64 {
    let exact = Decimal::from(sale_fen) * (Decimal::ONE - cost_ratio) * consignment_ratio;
    rounding.round(exact, 0).to_i64().unwrap_or(0)
}

/// A consigned item's ledger: stock = received − sold − returned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ledger {
    pub received: i64,
    pub sold: i64,
    pub returned: i64,
}

impl Ledger {
    pub fn on_hand(&self) -> i64 {
        self.received - self.sold - self.returned
    }

    /// Whether taking `quantity` out (a sale, a return) keeps the stock at or above zero.
    pub fn can_take(&self, quantity: i64) -> bool {
        quantity <= self.on_hand()
    }
}

/// Totals of a monthly settlement statement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatementTotals {
    pub sales_count: i64,
    /// Sum of the month's sale amounts, in fen.
    pub sales_fen: i64,
    /// Sum of the month's commissions (each rounded when recorded), in fen.
    pub commission_fen: i64,
}

impl StatementTotals {
    pub fn add(&mut self, sale_fen: i64, commission_fen: i64) {
        self.sales_count += 1;
        self.sales_fen += sale_fen;
        self.commission_fen += commission_fen;
    }

    /// What the company owes the customer for the month: sales less commission.
    pub fn due_fen(&self) -> i64 {
        self.sales_fen - self.commission_fen
    }
}

// ------------------------------------------------------------------ months

/// A calendar month ("2026-03").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    first: NaiveDate,
}

impl YearMonth {
    pub fn of(date: NaiveDate) -> YearMonth {
        YearMonth {
            first: date.with_day(1).unwrap_or(date),
        }
    }

    /// Parses "YYYY-MM".
    pub fn parse(text: &str) -> Option<YearMonth> {
        let (y, m) = text.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let first = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
        Some(YearMonth { first })
    }

    pub fn first_day(self) -> NaiveDate {
        self.first
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first.pred_opt().unwrap_or(self.first)
    }

    pub fn next(self) -> YearMonth {
        YearMonth {
            first: self
                .first
                .checked_add_months(Months::new(1))
                .unwrap_or(self.first),
        }
    }

    pub fn prev(self) -> YearMonth {
        YearMonth {
            first: self
                .first
                .checked_sub_months(Months::new(1))
                .unwrap_or(self.first),
        }
    }

    /// The day `day` of this month, or its last day when the month is shorter.
    pub fn day(self, day: u32) -> NaiveDate {
        self.first.with_day(day).unwrap_or_else(|| self.last_day())
    }

    /// The month as an instant range [start, end) in UTC, its boundaries at local midnight in
    /// `tz` (a sale at 2026-03-31 23:30 +08:00 is in March, though it is 15:30 UTC).
    pub fn utc_range(self, tz: FixedOffset) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            local_midnight(self.first, tz),
            local_midnight(self.next().first, tz),
        )
    }

    /// The month an instant falls in, in `tz`.
    pub fn of_instant(at: DateTime<Utc>, tz: FixedOffset) -> YearMonth {
        YearMonth::of(at.with_timezone(&tz).date_naive())
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

/// The instant a local day starts in `tz`.
pub fn local_midnight(date: NaiveDate, tz: FixedOffset) -> DateTime<Utc> {
    tz.from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| date.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// A moment as typed: RFC 3339 ("2026-03-31T23:30:00+08:00"), a local date and time
/// ("2026-03-31T23:30" from a `datetime-local` input, or with a space) in `tz`, or a date
/// ("2026-03-31", the start of that day in `tz`).
pub fn parse_moment(text: &str, tz: FixedOffset) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Some(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(local) = chrono::NaiveDateTime::parse_from_str(t, format) {
            return tz
                .from_local_datetime(&local)
                .single()
                .map(|at| at.with_timezone(&Utc));
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .map(|d| local_midnight(d, tz))
}

/// `date` plus `months` calendar months, less one day: the last day of a term starting on `date`.
pub fn term_end(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .and_then(|d| d.pred_opt())
        .unwrap_or(date)
}

// ------------------------------------------------------------------ state machine

/// Where an agreement is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In force: goods move, sales are recorded.
    Active,
    /// Ended: every item went back to the customer (or was sold); only settlement and payments
    /// remain possible.
    Ended,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Status {
        if s == "ended" {
            Status::Ended
        } else {
            Status::Active
        }
    }
}

/// What can happen to an agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Goods in or out, a sale, an edit of the terms.
    Change,
    /// Ending the agreement; `goods_held` is the stock still in the company's hands.
    End { goods_held: bool },
}

/// Why an event is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The agreement has ended.
    Ended,
    /// Goods are still held: return (consignment) or check out (custody) them first.
    GoodsHeld,
}

impl Refusal {
    /// The catalogue key of the message.
    pub fn key(self) -> &'static str {
        match self {
            Refusal::Ended => "agreements.error.ended",
            Refusal::GoodsHeld => "agreements.error.goods_held",
        }
    }
}

/// The state machine: the next status, or why the event is refused.
pub fn transition(status: Status, event: Event) -> Result<Status, Refusal> {
    match (status, event) {
        (Status::Ended, _) => Err(Refusal::Ended),
        (Status::Active, Event::Change) => Ok(Status::Active),
        (Status::Active, Event::End { goods_held: true }) => Err(Refusal::GoodsHeld),
        (Status::Active, Event::End { goods_held: false }) => Ok(Status::Ended),
    }
}

// ------------------------------------------------------------------ who may do what

/// The actions on agreements, each with the roles that may take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create, edit and end agreements; record consignment sales.
    Manage,
    /// Goods in and out (receipts, returns, custody check-in and check-out).
    Goods,
    /// Close a month's settlement statement; record custody payments.
    Settle,
}

/// The sales roles: they act on the customers they may edit (their own, shared, their team's).
pub const SALES_ROLES: &[Role] = &[Role::Admin, Role::SalesManager, Role::SalesRep];

impl Action {
    /// Roles besides sales that may take the action on any customer they can see.
    pub fn other_roles(self) -> &'static [Role] {
        match self {
            Action::Manage => &[],
            Action::Goods => &[Role::Warehouse],
            Action::Settle => &[Role::Finance],
        }
    }
}

/// How an actor may take an action, before looking at the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Any customer the actor can see (warehouse, finance).
    Visible,
    /// Customers the actor may edit (sales).
    Editable,
    /// Not at all (403).
    No,
}

pub fn permit(actor: &Actor, action: Action) -> Permit {
    if action.other_roles().iter().any(|r| actor.has_role(*r)) {
        Permit::Visible
    } else if SALES_ROLES.iter().any(|r| actor.has_role(*r)) {
        Permit::Editable
    } else {
        Permit::No
    }
}

/// Whether the actor may take the action on some customer (to show or hide a form).
pub fn may(actor: &Actor, action: Action) -> bool {
    permit(actor, action) != Permit::No
}

// ------------------------------------------------------------------ reminders

/// Whether a period ending on `end` is in its reminder window on `today` (from `days_before`
/// days before the end, and after it), and whether it is already over.
pub fn reminder(end: NaiveDate, today: NaiveDate, days_before: u32) -> Option<Reminder> {
    let from = end
        .checked_sub_days(chrono::Days::new(u64::from(days_before)))
        .unwrap_or(end);
    (today >= from).then_some(Reminder {
        overdue: today > end,
        days_left: (end - today).num_days(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reminder {
    /// The period has ended.
    pub overdue: bool,
    /// Days until the end (negative: days since).
    pub days_left: i64,
}

// ------------------------------------------------------------------ custody fees

/// The money terms of a custody agreement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeeTerms {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub monthly_fee_fen: i64,
    pub late_fee_rate: Decimal,
    /// Day of the month fees fall due (1–28).
    pub due_day: u32,
    pub fee_due: FeeDue,
    pub rounding: Rounding,
}

/// One month of a custody agreement's fee schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeMonth {
    pub month: String,
    /// Goods were held at some time in the month.
    pub held: bool,
    pub fee_fen: i64,
    /// When the fee falls due (`None` when there is no fee).
    pub due_on: Option<NaiveDate>,
    /// Paid towards this month (payments are applied to the oldest fee first).
    pub paid_fen: i64,
    pub unpaid_fen: i64,
    /// Late fee as of the schedule's date, rounded to the fen.
    pub late_fee_fen: i64,
    /// Days the unpaid part is late as of the schedule's date (0 when not due yet).
    pub days_late: i64,
}

/// A custody agreement's fees, payments and late fees as of a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeSchedule {
    pub as_of: NaiveDate,
    pub months: Vec<FeeMonth>,
    pub fees_fen: i64,
    pub paid_fen: i64,
    pub late_fees_fen: i64,
    /// Fees due by the date and not paid.
    pub overdue_fen: i64,
    /// Fees + late fees − payments (negative: the customer is in credit).
    pub balance_fen: i64,
}

/// The custody fee schedule as of `as_of`.
///
/// The rules (the seed, 公司产品寄养管理制度 第六章, says only that fees follow the agreement, are
/// paid on time and in full, and that overdue fees bear a late fee; the rest is ours):
/// - **Months.** Fees run by calendar month, from the month the period starts. A month costs the
///   agreement's full monthly fee when goods were held at any time in it (a part-month counts
///   as a month, 不足一月按一月计): when the balance at the month's start was positive or goods
///   were checked in during it. Months in which nothing was held cost nothing. Goods left after
///   the period ends keep costing the monthly fee until they are collected.
/// - **Due date.** With `fee_due = "next_month"` a month's fee falls due on the due day of the
///   following month (in arrears); with `"same_month"` on the due day of the month itself, but
///   never before the goods arrived that month.
/// - **Payments** are applied to the oldest fee first, in the order they were paid; a payment
///   beyond all fees is a credit.
/// - **Late fee** = overdue amount × daily rate × days late, where a part of a fee paid on date
///   P is late P − due date days and a part still unpaid is late `as_of` − due date days (paid
///   on the due date: not late). Each month's late fee is summed exactly and rounded to the fen
///   once, by the policy's rule (四舍五入 by default). Late fees are shown and owed; payments
///   go to fees, not to late fees.
///
/// `moves` are (date, signed quantity) of check-ins (+) and check-outs (−); `payments` are
/// (date, fen). Both may be in any order; entries after `as_of` are ignored.
pub fn fee_schedule(
    terms: &FeeTerms,
    moves: &[(NaiveDate, i64)],
    payments: &[(NaiveDate, i64)],
    as_of: NaiveDate,
) -> FeeSchedule {
    let mut moves: Vec<(NaiveDate, i64)> =
        moves.iter().copied().filter(|(d, _)| *d <= as_of).collect();
    moves.sort();
    let mut payments: Vec<(NaiveDate, i64)> = payments
        .iter()
        .copied()
        .filter(|(d, a)| *d <= as_of && *a > 0)
        .collect();
    payments.sort();

    // The months to list: from the start month to the as-of month, and past the period's end
    // month only while goods were still held.
    let mut months = Vec::new();
    let end_month = YearMonth::of(terms.end);
    let mut month = YearMonth::of(terms.start);
    let last = YearMonth::of(as_of);
    while month <= last {
        let balance_before: i64 = moves
            .iter()
            .filter(|(d, _)| *d < month.first_day())
            .map(|(_, q)| q)
            .sum();
        let first_in = moves
            .iter()
            .find(|(d, q)| *q > 0 && YearMonth::of(*d) == month)
            .map(|(d, _)| *d);
        let held = balance_before > 0 || first_in.is_some();
        if month > end_month && !held {
            break;
        }
        let held_from = if balance_before > 0 {
            Some(month.first_day())
        } else {
            first_in
        };
        let (fee_fen, due_on) = match (held, held_from) {
            (true, Some(from)) => {
                let nominal = match terms.fee_due {
                    FeeDue::NextMonth => month.next().day(terms.due_day),
                    FeeDue::SameMonth => month.day(terms.due_day),
                };
                (terms.monthly_fee_fen, Some(nominal.max(from)))
            }
            _ => (0, None),
        };
        months.push(FeeMonth {
            month: month.to_string(),
            held,
            fee_fen,
            due_on,
            paid_fen: 0,
            unpaid_fen: fee_fen,
            late_fee_fen: 0,
            days_late: 0,
        });
        month = month.next();
    }

    // Payments to the oldest fee first; each part keeps its payment date for the late fee.
    let mut late_exact = vec![Decimal::ZERO; months.len()];
    let mut credit = 0;
    let mut next = 0;
    for (paid_on, amount) in payments {
        let mut left = amount;
        while left > 0 {
            while next < months.len() && months[next].unpaid_fen == 0 {
                next += 1;
            }
            let Some(m) = months.get_mut(next) else {
                credit += left;
                break;
            };
            let part = left.min(m.unpaid_fen);
            m.paid_fen += part;
            m.unpaid_fen -= part;
            left -= part;
            if let Some(due) = m.due_on {
                let days = (paid_on - due).num_days().max(0);
                late_exact[next] += Decimal::from(part) * terms.late_fee_rate * Decimal::from(days);
            }
        }
    }
    for (m, exact) in months.iter_mut().zip(late_exact.iter_mut()) {
        if let Some(due) = m.due_on
            && m.unpaid_fen > 0
        {
            let days = (as_of - due).num_days().max(0);
            m.days_late = days;
            *exact += Decimal::from(m.unpaid_fen) * terms.late_fee_rate * Decimal::from(days);
        }
        m.late_fee_fen = terms.rounding.round(*exact, 0).to_i64().unwrap_or(0);
    }

    let fees_fen = months.iter().map(|m| m.fee_fen).sum();
    let paid_fen = months.iter().map(|m| m.paid_fen).sum::<i64>() + credit;
    let late_fees_fen = months.iter().map(|m| m.late_fee_fen).sum();
    let overdue_fen = months
        .iter()
        .filter(|m| m.due_on.is_some_and(|d| d < as_of))
        .map(|m| m.unpaid_fen)
        .sum();
    FeeSchedule {
        as_of,
        balance_fen: fees_fen + late_fees_fen - paid_fen,
        months,
        fees_fen,
        paid_fen,
        late_fees_fen,
        overdue_fen,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn cst() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn ratio(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_seed_formula_gives_four_yuan_on_a_hundred() {
        // 佣金 = 售价 × (1 − 成本比例) × 寄售比例: 100.00 × 0.40 × 0.10 = 4.00
        let fen = commission_fen(
            parse_yuan("100.00").unwrap(),
            ratio("0.60"),
            ratio("0.10"),
            Rounding::HalfUp,
        );
        assert_eq!(fen, 400);
        assert_eq!(yuan(fen), "4.00");
    }

    #[test]
    fn commissions_round_to_the_fen_by_the_policy_rule() {
        // 1.25 yuan × 1 × 0.1 = 12.5 fen.
        let half = |r| commission_fen(125, Decimal::ZERO, ratio("0.1"), r);
        assert_eq!(half(Rounding::HalfUp), 13);
        assert_eq!(half(Rounding::HalfEven), 12);
        assert_eq!(half(Rounding::Down), 12);
        assert_eq!(half(Rounding::Up), 13);
        // 12.35 yuan × 0.4 × 0.1 = 49.4 fen → 49.
        assert_eq!(
            commission_fen(1235, ratio("0.6"), ratio("0.1"), Rounding::HalfUp),
            49
        );
        // Nothing is lost on large amounts: 1,000,000,000.00 yuan × 0.4 × 0.1.
        assert_eq!(
            commission_fen(
                100_000_000_000,
                ratio("0.6"),
                ratio("0.1"),
                Rounding::HalfUp
            ),
            4_000_000_000
        );
    }

    #[test]
    fn amounts_quantities_and_ratios_parse_strictly() {
        assert_eq!(parse_yuan("1,280.50"), Some(128_050));
        assert_eq!(parse_yuan("¥100"), Some(10_000));
        assert_eq!(parse_yuan("0"), Some(0));
        assert_eq!(parse_yuan("100.00"), Some(10_000));
        for bad in ["", "-1", "1.001", "1e3", "abc", "100000000000.01"] {
            assert_eq!(parse_yuan(bad), None, "{bad}");
        }
        assert_eq!(parse_quantity("12"), Some(12_000));
        assert_eq!(parse_quantity("2.5"), Some(2_500));
        assert_eq!(parse_quantity("0.001"), Some(1));
        for bad in ["0", "-1", "0.0001", "x", ""] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
        assert_eq!(quantity(12_000), "12");
        assert_eq!(quantity(2_500), "2.5");
        assert_eq!(parse_ratio("r", "0.6").unwrap(), ratio("0.6"));
        assert_eq!(parse_ratio("r", "1").unwrap(), Decimal::ONE);
        assert_eq!(parse_ratio("r", "0.1250").unwrap(), ratio("0.125"));
        for bad in ["1.01", "-0.1", "0.12345", "", "六成"] {
            let e = parse_ratio("cost_ratio", bad).unwrap_err();
            assert_eq!(e.field, "cost_ratio", "{bad}");
        }
        assert_eq!(parse_rate("r", "0.0005").unwrap(), ratio("0.0005"));
        assert!(parse_rate("r", "0.02").is_err());
        assert!(parse_rate("r", "0.0000001").is_err());
        assert_eq!(ratio_text(ratio("0.6")), "0.60");
        assert_eq!(ratio_text(ratio("0.125")), "0.125");
        assert_eq!(ratio_text(Decimal::ONE), "1.00");
    }

    #[test]
    fn stock_never_goes_below_zero() {
        let l = Ledger {
            received: 10_000,
            sold: 3_000,
            returned: 2_000,
        };
        assert_eq!(l.on_hand(), 5_000);
        assert!(l.can_take(5_000));
        assert!(!l.can_take(5_001));
        let mut t = StatementTotals::default();
        t.add(10_000, 400);
        t.add(5_050, 202);
        assert_eq!(
            (t.sales_count, t.sales_fen, t.commission_fen),
            (2, 15_050, 602)
        );
        assert_eq!(t.due_fen(), 14_448);
    }

    #[test]
    fn months_have_local_boundaries() {
        let march = YearMonth::parse("2026-03").unwrap();
        assert_eq!(march.to_string(), "2026-03");
        let (start, end) = march.utc_range(cst());
        assert_eq!(start.to_rfc3339(), "2026-02-28T16:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-03-31T16:00:00+00:00");
        // 2026-03-31 23:30 in Beijing is 15:30 UTC: still March.
        let late = parse_moment("2026-03-31T23:30:00+08:00", cst()).unwrap();
        assert!(start <= late && late < end);
        assert_eq!(YearMonth::of_instant(late, cst()), march);
        let april_first = parse_moment("2026-04-01T00:00", cst()).unwrap();
        assert_eq!(april_first, end);
        assert_eq!(
            YearMonth::of_instant(april_first, cst()).to_string(),
            "2026-04"
        );
        assert_eq!(
            parse_moment("2026-03-31", cst()).unwrap(),
            local_midnight(d(2026, 3, 31), cst())
        );
        assert_eq!(
            parse_moment("2026-03-31 23:30", cst()),
            Some(late),
            "a space works like T"
        );
        for bad in ["2026-3", "202603", "2026-13", "x"] {
            assert_eq!(YearMonth::parse(bad), None, "{bad}");
        }
        assert_eq!(parse_moment("31/03/2026", cst()), None);
        assert_eq!(march.prev().to_string(), "2026-02");
        assert_eq!(YearMonth::parse("2026-02").unwrap().day(31), d(2026, 2, 28));
        assert_eq!(term_end(d(2026, 1, 15), 12), d(2027, 1, 14));
        assert_eq!(term_end(d(2026, 1, 1), 1), d(2026, 1, 31));
    }

    #[test]
    fn the_state_machine_refuses_changes_after_the_end_and_an_end_with_goods() {
        assert_eq!(
            transition(Status::Active, Event::Change),
            Ok(Status::Active)
        );
        assert_eq!(
            transition(Status::Active, Event::End { goods_held: true }),
            Err(Refusal::GoodsHeld)
        );
        assert_eq!(
            transition(Status::Active, Event::End { goods_held: false }),
            Ok(Status::Ended)
        );
        assert_eq!(
            transition(Status::Ended, Event::Change),
            Err(Refusal::Ended)
        );
        assert_eq!(Status::parse(Status::Ended.as_str()), Status::Ended);
    }

    fn actor(roles: &[Role]) -> Actor {
        Actor {
            user_id: 1,
            username: "u".into(),
            display_name: "u".into(),
            roles: roles.to_vec(),
            team_id: None,
            language: "zh-CN".into(),
            csrf_token: None,
            session_id: None,
        }
    }

    #[test]
    fn each_action_has_its_roles() {
        let rep = actor(&[Role::SalesRep]);
        let wh = actor(&[Role::Warehouse]);
        let fin = actor(&[Role::Finance]);
        let qa = actor(&[Role::Quality]);
        assert_eq!(permit(&rep, Action::Manage), Permit::Editable);
        assert_eq!(permit(&rep, Action::Goods), Permit::Editable);
        assert_eq!(permit(&rep, Action::Settle), Permit::Editable);
        assert_eq!(permit(&wh, Action::Goods), Permit::Visible);
        assert_eq!(permit(&wh, Action::Manage), Permit::No);
        assert_eq!(permit(&wh, Action::Settle), Permit::No);
        assert_eq!(permit(&fin, Action::Settle), Permit::Visible);
        assert_eq!(permit(&fin, Action::Goods), Permit::No);
        for a in [Action::Manage, Action::Goods, Action::Settle] {
            assert_eq!(permit(&qa, a), Permit::No);
            assert!(may(&actor(&[Role::Admin]), a));
        }
    }

    #[test]
    fn reminders_start_n_days_before_the_end_and_stay_after_it() {
        let end = d(2026, 6, 30);
        assert_eq!(reminder(end, d(2026, 6, 22), 7), None);
        assert_eq!(
            reminder(end, d(2026, 6, 23), 7),
            Some(Reminder {
                overdue: false,
                days_left: 7
            })
        );
        assert_eq!(
            reminder(end, d(2026, 7, 3), 7),
            Some(Reminder {
                overdue: true,
                days_left: -3
            })
        );
        assert_eq!(
            reminder(end, end, 0).map(|r| r.overdue),
            Some(false),
            "0 days: on the last day"
        );
    }

    fn terms() -> FeeTerms {
        FeeTerms {
            start: d(2026, 1, 15),
            end: d(2026, 6, 30),
            monthly_fee_fen: 30_000,
            late_fee_rate: ratio("0.0005"),
            due_day: 10,
            fee_due: FeeDue::NextMonth,
            rounding: Rounding::HalfUp,
        }
    }

    #[test]
    fn a_month_held_costs_its_fee_and_unpaid_fees_bear_late_fees() {
        let moves = [(d(2026, 1, 20), 10_000)];
        let s = fee_schedule(&terms(), &moves, &[], d(2026, 4, 20));
        let months: Vec<_> = s.months.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(months, ["2026-01", "2026-02", "2026-03", "2026-04"]);
        assert!(s.months.iter().all(|m| m.held && m.fee_fen == 30_000));
        assert_eq!(s.months[0].due_on, Some(d(2026, 2, 10)));
        assert_eq!(s.months[3].due_on, Some(d(2026, 5, 10)));
        // 300.00 × 0.0005 = 0.15 a day: Jan 69 days (Feb 10 → Apr 20), Feb 41, Mar 10, Apr 0.
        let late: Vec<_> = s.months.iter().map(|m| m.late_fee_fen).collect();
        assert_eq!(late, [1_035, 615, 150, 0]);
        assert_eq!(s.months[0].days_late, 69);
        assert_eq!(s.fees_fen, 120_000);
        assert_eq!(s.late_fees_fen, 1_800);
        assert_eq!(s.overdue_fen, 90_000);
        assert_eq!(s.balance_fen, 121_800);
    }

    #[test]
    fn payments_go_to_the_oldest_fee_and_stop_its_late_fee_on_the_day_paid() {
        let moves = [(d(2026, 1, 20), 10_000)];
        let pays = [
            (d(2026, 2, 20), 30_000), // January's fee, 10 days late
            (d(2026, 3, 10), 45_000), // February's on its due day, half of March's early
            (d(2026, 5, 1), 99_000),  // after the as-of date: ignored
        ];
        let s = fee_schedule(&terms(), &moves, &pays, d(2026, 4, 20));
        assert_eq!(s.months[0].paid_fen, 30_000);
        assert_eq!(s.months[0].late_fee_fen, 150);
        assert_eq!(s.months[1].late_fee_fen, 0);
        // March: 150.00 unpaid, 10 days late: 150.00 × 0.0005 × 10 = 0.75.
        assert_eq!(
            (s.months[2].paid_fen, s.months[2].unpaid_fen),
            (15_000, 15_000)
        );
        assert_eq!(s.months[2].late_fee_fen, 75);
        assert_eq!(s.paid_fen, 75_000);
        assert_eq!(s.overdue_fen, 15_000);
        assert_eq!(s.balance_fen, 120_000 + 225 - 75_000);
    }

    #[test]
    fn months_without_goods_are_free_and_goods_left_after_the_end_keep_costing() {
        // Collected on 5 March: March is a part-month (charged), April nothing held.
        let moves = [(d(2026, 1, 20), 10_000), (d(2026, 3, 5), -10_000)];
        let s = fee_schedule(&terms(), &moves, &[], d(2026, 4, 30));
        let fees: Vec<_> = s.months.iter().map(|m| m.fee_fen).collect();
        assert_eq!(fees, [30_000, 30_000, 30_000, 0]);
        assert_eq!(s.months[3].due_on, None);
        // Nothing checked in yet: nothing owed.
        let s = fee_schedule(&terms(), &[], &[], d(2026, 3, 1));
        assert_eq!((s.fees_fen, s.balance_fen, s.months.len()), (0, 0, 3));
        // Period ended in February, goods still there in April: April is charged too.
        let short = FeeTerms {
            end: d(2026, 2, 28),
            ..terms()
        };
        let s = fee_schedule(&short, &[(d(2026, 1, 20), 1_000)], &[], d(2026, 4, 2));
        assert_eq!(s.months.len(), 4);
        assert!(s.months.iter().all(|m| m.fee_fen == 30_000));
        // Collected in March after the end: the list stops after March.
        let moves = [(d(2026, 1, 20), 1_000), (d(2026, 3, 3), -1_000)];
        let s = fee_schedule(&short, &moves, &[], d(2026, 6, 1));
        assert_eq!(s.months.len(), 3);
        // A payment beyond every fee is a credit.
        let s = fee_schedule(&short, &moves, &[(d(2026, 1, 20), 100_000)], d(2026, 6, 1));
        assert_eq!(s.paid_fen, 100_000);
        assert_eq!(s.balance_fen, 90_000 - 100_000);
    }

    #[test]
    fn in_advance_fees_fall_due_in_their_month_but_not_before_the_goods_arrive() {
        let t = FeeTerms {
            fee_due: FeeDue::SameMonth,
            ..terms()
        };
        let s = fee_schedule(&t, &[(d(2026, 1, 20), 1_000)], &[], d(2026, 2, 15));
        assert_eq!(s.months[0].due_on, Some(d(2026, 1, 20)));
        assert_eq!(s.months[1].due_on, Some(d(2026, 2, 10)));
        // January 26 days late, February 5: (26 + 5) × 15 fen.
        assert_eq!(s.late_fees_fen, 31 * 15);
        assert_eq!(s.overdue_fen, 60_000);
    }

    #[test]
    fn late_fees_are_summed_exactly_and_rounded_once_per_month() {
        // 300.01 × 0.0005 = 0.150005 a day; 3 days = 0.450015 → 0.45.
        let t = FeeTerms {
            monthly_fee_fen: 30_001,
            ..terms()
        };
        let s = fee_schedule(&t, &[(d(2026, 1, 20), 1_000)], &[], d(2026, 2, 13));
        assert_eq!(s.months[0].late_fee_fen, 45);
        // Half a fen rounds up: 100.00 × 0.0005 × 1 = 5 fen; 1.00 × 0.005 × 1 = 0.5 fen → 1.
        let t = FeeTerms {
            monthly_fee_fen: 100,
            late_fee_rate: ratio("0.005"),
            ..terms()
        };
        let s = fee_schedule(&t, &[(d(2026, 1, 20), 1_000)], &[], d(2026, 2, 11));
        assert_eq!(s.months[0].late_fee_fen, 1);
        let even = FeeTerms {
            rounding: Rounding::HalfEven,
            ..t
        };
        let s = fee_schedule(&even, &[(d(2026, 1, 20), 1_000)], &[], d(2026, 2, 11));
        assert_eq!(s.months[0].late_fee_fen, 0);
    }
}
