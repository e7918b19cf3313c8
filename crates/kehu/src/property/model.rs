//! The rules of customer property, pure: the item state machine, the
//! ledger arithmetic, what blocks an issue, FIFO, idle and care due dates.
use std::collections::BTreeMap;

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::entity::items;
use crate::platform::error::FieldError;
use crate::policy::PropertyPolicy;

macro_rules! named {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

named!(
    /// Where an item or lot is in its lifecycle (SPEC §4 steps 2–10).
    ItemState {
        PendingInspection = "pending_inspection",
        Verified = "verified",
        Rejected = "rejected",
        Registered = "registered",
        Abnormal = "abnormal",
        Ended = "ended",
    }
);

named!(
    /// The result of verification (step 3).
    Verdict {
        Accepted = "accepted",
        AcceptedWithDeviation = "accepted_with_deviation",
        Rejected = "rejected",
    }
);

named!(
    /// One row of the ledger.
    MovementKind {
        Receive = "receive",
        PutAway = "put_away",
        Issue = "issue",
        ReturnFromProduction = "return_from_production",
        Isolate = "isolate",
        ReturnToCustomer = "return_to_customer",
        Scrap = "scrap",
        Destroy = "destroy",
        TransferOwnership = "transfer_ownership",
        CountGain = "count_gain",
        CountLoss = "count_loss",
    }
);

named!(
    /// What the customer decided (written instruction on file).
    Instruction {
        Return = "return",
        Scrap = "scrap",
        Destroy = "destroy",
        TransferOwnership = "transfer_ownership",
        Repair = "repair",
        UseAsIs = "use_as_is",
    }
);

named!(
    /// What went wrong (step 8).
    AbnormalityKind {
        Lost = "lost",
        Damaged = "damaged",
        Deteriorated = "deteriorated",
        Expired = "expired",
        Unsuitable = "unsuitable",
    }
);

impl MovementKind {
    /// The end steps (step 10) and the instruction each needs on file.
    pub fn end_instruction(self) -> Option<Instruction> {
        match self {
            MovementKind::ReturnToCustomer => Some(Instruction::Return),
            MovementKind::Scrap => Some(Instruction::Scrap),
            MovementKind::Destroy => Some(Instruction::Destroy),
            MovementKind::TransferOwnership => Some(Instruction::TransferOwnership),
            _ => None,
        }
    }
    /// Whether the quantity leaves the factory's hands for good.
    pub fn is_end(self) -> bool {
        self.end_instruction().is_some()
    }
}

impl Instruction {
    /// The end step this instruction allows, if it ends the property.
    pub fn end_step(self) -> Option<MovementKind> {
        MovementKind::ALL
            .iter()
            .copied()
            .find(|m| m.end_instruction() == Some(self))
    }
}

/// A step of the lifecycle, for the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Verify(Verdict),
    Register,
    Move(MovementKind),
    RaiseAbnormality,
    /// The customer said repair or use as is: back in service.
    Resume,
}

/// The state after `step`, or the refusal. Ending is decided by the balance
/// ([`after_end`]), not here.
pub fn next(state: ItemState, step: Step) -> Result<ItemState, FieldError> {
    use ItemState as S;
    use MovementKind as M;
    let ok = match (state, step) {
        (S::PendingInspection, Step::Verify(Verdict::Rejected)) => Some(S::Rejected),
        (S::PendingInspection, Step::Verify(_)) => Some(S::Verified),
        (S::Verified, Step::Register) => Some(S::Registered),
        (S::Registered, Step::Move(M::PutAway | M::Issue | M::ReturnFromProduction)) => {
            Some(S::Registered)
        }
        (S::Abnormal, Step::Move(M::ReturnFromProduction | M::Isolate)) => Some(S::Abnormal),
        (S::Rejected, Step::Move(M::Isolate)) => Some(S::Rejected),
        (s, Step::Move(M::CountGain | M::CountLoss)) if s != S::Ended => Some(s),
        (s @ (S::Registered | S::Rejected | S::Abnormal), Step::Move(m)) if m.is_end() => Some(s),
        (S::Registered, Step::RaiseAbnormality) => Some(S::Abnormal),
        (S::Abnormal, Step::Resume) => Some(S::Registered),
        _ => None,
    };
    ok.ok_or_else(|| {
        FieldError::new("state", "property.refuse.transition")
            .arg("state", state.as_str())
            .arg("step", step_name(step))
    })
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::Verify(_) => "verify",
        Step::Register => "register",
        Step::Move(m) => m.as_str(),
        Step::RaiseAbnormality => "raise_abnormality",
        Step::Resume => "resume",
    }
}

/// The state once an end step has left `balance`: ended at zero.
pub fn after_end(state: ItemState, balance: i64) -> ItemState {
    if balance == 0 {
        ItemState::Ended
    } else {
        state
    }
}

/// Quantity per location, derived from the ledger.
pub type Balances = BTreeMap<String, i64>;

/// Applies one movement of `qty` from one location to another (either may
/// be outside the factory: `None`). Refuses a non-positive quantity or one
/// that would make a balance negative, leaving `balances` unchanged.
pub fn apply(
    balances: &mut Balances,
    from: Option<&str>,
    to: Option<&str>,
    qty: i64,
) -> Result<(), FieldError> {
    if qty <= 0 {
        return Err(FieldError::new(
            "quantity",
            "property.refuse.quantity_positive",
        ));
    }
    if let Some(f) = from {
        let have = balances.get(f).copied().unwrap_or(0);
        if have < qty {
            return Err(FieldError::new("quantity", "property.refuse.negative")
                .arg("location", f)
                .arg("available", have)
                .arg("quantity", qty));
        }
        balances.insert(f.to_owned(), have - qty);
    }
    if let Some(t) = to {
        *balances.entry(t.to_owned()).or_insert(0) += qty;
    }
    balances.retain(|_, q| *q != 0);
    Ok(())
}

/// Why an item may not be issued to production now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    NotInService(ItemState),
    CalibrationOverdue(NaiveDate),
    MaintenanceOverdue(NaiveDate),
    UsageAtLife { count: i64, life: i64 },
}

impl Block {
    pub fn error(&self) -> FieldError {
        match self {
            Block::NotInService(ItemState::Abnormal) => {
                FieldError::new("item", "property.refuse.blocked_abnormal")
            }
            Block::NotInService(ItemState::Rejected) => {
                FieldError::new("item", "property.refuse.blocked_rejected")
            }
            Block::NotInService(s) => {
                FieldError::new("item", "property.refuse.not_in_service").arg("state", s.as_str())
            }
            Block::CalibrationOverdue(d) => {
                FieldError::new("item", "property.refuse.calibration_overdue").arg("date", d)
            }
            Block::MaintenanceOverdue(d) => {
                FieldError::new("item", "property.refuse.maintenance_overdue").arg("date", d)
            }
            Block::UsageAtLife { count, life } => {
                FieldError::new("item", "property.refuse.usage_at_life")
                    .arg("count", count)
                    .arg("life", life)
            }
        }
    }
}

/// Everything that blocks issuing `item` on `today` under `policy`.
pub fn issue_blocks(item: &items::Model, today: NaiveDate, policy: &PropertyPolicy) -> Vec<Block> {
    let mut blocks = Vec::new();
    let state = ItemState::parse(&item.state).unwrap_or(ItemState::Ended);
    if state != ItemState::Registered {
        blocks.push(Block::NotInService(state));
    }
    if policy.calibration_overdue_blocks_issue
        && let Some(d) = item.calibration_due_on
        && d < today
    {
        blocks.push(Block::CalibrationOverdue(d));
    }
    if policy.maintenance_overdue_blocks_issue
        && let Some(d) = item.maintenance_due_on
        && d < today
    {
        blocks.push(Block::MaintenanceOverdue(d));
    }
    if policy.usage_over_life_blocks_issue
        && let Some(life) = item.rated_life
        && item.usage_count >= life
    {
        blocks.push(Block::UsageAtLife {
            count: item.usage_count,
            life,
        });
    }
    blocks
}

/// The oldest other lot of the same item that could be issued instead of
/// `item` (FIFO): same customer, kind, name and spec, in service, not
/// blocked, with stock, received earlier.
pub fn older_lot<'a>(
    item: &items::Model,
    others: &'a [items::Model],
    today: NaiveDate,
    policy: &PropertyPolicy,
) -> Option<&'a items::Model> {
    others
        .iter()
        .filter(|o| {
            o.id != item.id
                && o.customer_id == item.customer_id
                && o.kind == item.kind
                && o.item_name == item.item_name
                && o.spec == item.spec
                && o.balance > 0
                && (o.received_at, o.id) < (item.received_at, item.id)
                && issue_blocks(o, today, policy).is_empty()
        })
        .min_by_key(|o| (o.received_at, o.id))
}

/// Whether the item has lain unused longer than the policy allows.
pub fn is_idle(item: &items::Model, now: DateTime<Utc>, policy: &PropertyPolicy) -> bool {
    let in_hand = matches!(
        ItemState::parse(&item.state),
        Some(ItemState::Registered | ItemState::Abnormal)
    );
    in_hand
        && item.balance > 0
        && item
            .last_used_at
            .checked_add_months(Months::new(policy.idle_months))
            .is_some_and(|limit| limit < now)
}

/// What care is due for an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CareDue {
    /// calibration, maintenance, usage
    pub kind: String,
    pub due_on: Option<NaiveDate>,
    pub overdue: bool,
}

/// Calibration and maintenance within `due_soon_days` or past, and usage
/// counters at the warning share of rated life.
pub fn care_due(item: &items::Model, today: NaiveDate, policy: &PropertyPolicy) -> Vec<CareDue> {
    let mut due = Vec::new();
    if matches!(ItemState::parse(&item.state), Some(ItemState::Ended) | None) {
        return due;
    }
    let soon = today + chrono::Days::new(u64::from(policy.due_soon_days));
    for (kind, date) in [
        ("calibration", item.calibration_due_on),
        ("maintenance", item.maintenance_due_on),
    ] {
        if let Some(d) = date
            && d <= soon
        {
            due.push(CareDue {
                kind: kind.into(),
                due_on: Some(d),
                overdue: d < today,
            });
        }
    }
    if let Some(life) = item.rated_life
        && life > 0
        && item.usage_count * 100 >= life * i64::from(policy.usage_warn_percent)
    {
        due.push(CareDue {
            kind: "usage".into(),
            due_on: None,
            overdue: item.usage_count >= life,
        });
    }
    due
}

/// The next due date after care done on `done_on` with an interval of `days` (0 = none).
pub fn next_due(done_on: NaiveDate, days: u32) -> Option<NaiveDate> {
    (days > 0).then(|| done_on + chrono::Days::new(u64::from(days)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn item(state: ItemState) -> items::Model {
        let t = DateTime::parse_from_rfc3339("2026-01-10T08:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        items::Model {
            id: 1,
            customer_id: 7,
            notice_line_id: None,
            kind: "gauge".into(),
            item_name: "卡尺".into(),
            spec: None,
            lot_no: None,
            serial_no: Some("S1".into()),
            unit: "把".into(),
            received_qty: 1,
            balance: 1,
            state: state.as_str().into(),
            register_no: None,
            verdict: None,
            verification_note: None,
            verification_report_id: None,
            verified_by: None,
            verified_at: None,
            registered_by: None,
            registered_at: None,
            calibration_due_on: None,
            maintenance_due_on: None,
            usage_count: 0,
            rated_life: None,
            last_used_at: t,
            idle_reported_at: None,
            received_by: "wh".into(),
            received_at: t,
            end_kind: None,
            ended_at: None,
            policy_version: 1,
            updated_at: t,
            version: 1,
        }
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn the_lifecycle_goes_in_order() {
        use ItemState as S;
        assert_eq!(
            next(S::PendingInspection, Step::Verify(Verdict::Accepted)),
            Ok(S::Verified)
        );
        assert_eq!(
            next(S::PendingInspection, Step::Verify(Verdict::Rejected)),
            Ok(S::Rejected)
        );
        assert_eq!(next(S::Verified, Step::Register), Ok(S::Registered));
        // No registration before verification, no issue before registration.
        assert!(next(S::PendingInspection, Step::Register).is_err());
        assert!(next(S::Verified, Step::Move(MovementKind::Issue)).is_err());
        // An abnormal item is not issued until the customer's instruction.
        assert_eq!(next(S::Registered, Step::RaiseAbnormality), Ok(S::Abnormal));
        assert!(next(S::Abnormal, Step::Move(MovementKind::Issue)).is_err());
        assert_eq!(next(S::Abnormal, Step::Resume), Ok(S::Registered));
        // Rejected goods can only go back (or be counted).
        assert!(next(S::Rejected, Step::Register).is_err());
        assert_eq!(
            next(S::Rejected, Step::Move(MovementKind::ReturnToCustomer)),
            Ok(S::Rejected)
        );
        // Nothing happens to ended property.
        for m in MovementKind::ALL {
            assert!(next(S::Ended, Step::Move(*m)).is_err());
        }
        assert_eq!(after_end(S::Registered, 0), S::Ended);
        assert_eq!(after_end(S::Registered, 3), S::Registered);
    }

    #[test]
    fn end_steps_pair_with_instructions() {
        assert_eq!(
            Instruction::Return.end_step(),
            Some(MovementKind::ReturnToCustomer)
        );
        assert_eq!(Instruction::UseAsIs.end_step(), None);
        assert_eq!(Instruction::Repair.end_step(), None);
        assert!(!MovementKind::Issue.is_end());
    }

    #[test]
    fn the_ledger_never_goes_negative() {
        let mut b = Balances::new();
        assert!(apply(&mut b, None, Some("DJ-01"), 10).is_ok());
        assert!(apply(&mut b, Some("DJ-01"), Some("KG-A01"), 4).is_ok());
        let before = b.clone();
        let e = apply(&mut b, Some("KG-A01"), None, 5);
        assert!(e.is_err());
        assert_eq!(b, before, "a refused movement changes nothing");
        assert!(apply(&mut b, Some("KG-A01"), None, 0).is_err());
        assert!(apply(&mut b, Some("KG-A01"), None, 4).is_ok());
        assert_eq!(b.get("KG-A01"), None);
        assert_eq!(b.get("DJ-01"), Some(&6));
    }

    #[test]
    fn overdue_calibration_blocks_issue_when_policy_says_so() {
        let mut policy = Policy::default_policy().property;
        let mut g = item(ItemState::Registered);
        g.calibration_due_on = Some(date("2026-03-01"));
        assert!(issue_blocks(&g, date("2026-03-01"), &policy).is_empty());
        assert_eq!(
            issue_blocks(&g, date("2026-03-02"), &policy),
            vec![Block::CalibrationOverdue(date("2026-03-01"))]
        );
        policy.calibration_overdue_blocks_issue = false;
        assert!(issue_blocks(&g, date("2026-03-02"), &policy).is_empty());
    }

    #[test]
    fn a_mold_at_its_rated_life_is_blocked_and_warned_before() {
        let policy = Policy::default_policy().property;
        let mut m = item(ItemState::Registered);
        m.rated_life = Some(1000);
        m.usage_count = 899;
        assert!(care_due(&m, date("2026-03-01"), &policy).is_empty());
        m.usage_count = 900;
        assert_eq!(care_due(&m, date("2026-03-01"), &policy)[0].kind, "usage");
        assert!(issue_blocks(&m, date("2026-03-01"), &policy).is_empty());
        m.usage_count = 1000;
        assert_eq!(
            issue_blocks(&m, date("2026-03-01"), &policy),
            vec![Block::UsageAtLife {
                count: 1000,
                life: 1000
            }]
        );
    }

    #[test]
    fn idle_after_the_policy_months() {
        let policy = Policy::default_policy().property;
        let i = item(ItemState::Registered);
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default()
        };
        assert!(!is_idle(&i, at("2026-03-10T08:00:00Z"), &policy));
        assert!(is_idle(&i, at("2026-03-10T08:00:01Z"), &policy));
        let ended = item(ItemState::Ended);
        assert!(!is_idle(&ended, at("2027-01-01T00:00:00Z"), &policy));
    }

    #[test]
    fn fifo_finds_the_older_lot() {
        let policy = Policy::default_policy().property;
        let mut older = item(ItemState::Registered);
        older.id = 1;
        older.kind = "raw_material".into();
        let mut newer = older.clone();
        newer.id = 2;
        newer.received_at = older.received_at + chrono::Duration::days(1);
        let others = vec![older.clone(), newer.clone()];
        let today = date("2026-02-01");
        assert_eq!(
            older_lot(&newer, &others, today, &policy).map(|o| o.id),
            Some(1)
        );
        assert_eq!(older_lot(&older, &others, today, &policy), None);
        // An empty or blocked older lot does not count.
        let mut empty = older.clone();
        empty.balance = 0;
        assert_eq!(
            older_lot(&newer, &[empty, newer.clone()], today, &policy),
            None
        );
        let mut abnormal = older;
        abnormal.state = ItemState::Abnormal.as_str().into();
        assert_eq!(
            older_lot(&newer, &[abnormal, newer.clone()], today, &policy),
            None
        );
    }
}
