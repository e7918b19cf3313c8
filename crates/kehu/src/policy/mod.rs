//! The policy document (制度): every number of the platform, as one typed TOML document.
//!
//! Code holds the mechanism, policy holds the numbers. The shipped default lives in
//! `default.toml` next to this file and is compiled in. A policy is checked when loaded
//! ([`Policy::from_toml`]) and every problem is reported with its line, so an administrator can
//! fix a file in one pass.
//!
//! Adding a section: add a struct (deriving like the ones below, with
//! `#[serde(deny_unknown_fields)]`), a field on [`Policy`], the section with all its numbers and a
//! bilingual comment in `default.toml`, and its semantic rules in `validate.rs`. Unknown fields,
//! type errors, missing fields and line numbers then come for free: the loader compares every
//! file against the shape of `default.toml`. A map whose keys are chosen by the company (like
//! `numbering.formats`) must be listed in `check::OPEN_MAPS`.

mod check;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use chrono::{FixedOffset, NaiveDate, NaiveTime, TimeDelta, Timelike, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::platform::calendar::WorkCalendar;
use crate::platform::number_format::{NumberFormat, NumberFormatError};

/// The default policy, as shipped.
pub const DEFAULT_POLICY_TOML: &str = include_str!("default.toml");

/// Languages the user interface speaks; `locale.default_language` must be one of them.
pub const SUPPORTED_LANGUAGES: &[&str] = &["zh-CN", "en"];

/// The whole policy document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub meta: Meta,
    pub locale: LocalePolicy,
    pub security: SecurityPolicy,
    /// Absent in policies written before input limits existed: the shipped default's section.
    #[serde(default = "default_limits")]
    pub limits: LimitsPolicy,
    /// Absent in policies written before scheduled backups existed: the shipped default's section.
    #[serde(default = "default_backup")]
    pub backup: BackupPolicy,
    pub numbering: NumberingPolicy,
    pub calendar: CalendarPolicy,
    pub customers: CustomerPolicy,
    /// Absent in policies written before customer property existed: the shipped default's section.
    #[serde(default = "default_property")]
    pub property: PropertyPolicy,
    /// Absent in policies written before consignment existed: the shipped default's section.
    #[serde(default = "default_consignment")]
    pub consignment: ConsignmentPolicy,
    /// Absent in policies written before custody existed: the shipped default's section.
    #[serde(default = "default_custody")]
    pub custody: CustodyPolicy,
}

/// `[meta]`: what this policy is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `[locale]`: language and time zone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LocalePolicy {
    /// One of [`SUPPORTED_LANGUAGES`].
    pub default_language: String,
    /// A fixed UTC offset such as "+08:00"; see [`parse_utc_offset`].
    pub timezone: String,
}

/// `[security]`: login throttling, sessions, passwords, API tokens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecurityPolicy {
    /// Failed logins allowed per user within the window; the next is refused.
    pub login_max_failures: u32,
    /// Failed logins allowed per client address within the window.
    pub login_max_failures_per_address: u32,
    pub login_window_minutes: u32,
    pub login_lockout_minutes: u32,
    /// Absolute session lifetime.
    pub session_hours: u32,
    pub session_idle_minutes: u32,
    pub password_min_length: u32,
    /// The least strength score (zxcvbn, 0 = guessable at once … 4 = very unguessable) a new
    /// password must reach. Absent in older policies: 3.
    #[serde(default = "default_password_min_score")]
    pub password_min_score: u8,
    /// Once an address is over `login_max_failures_per_address`, each further failed login from
    /// it is answered this many seconds late (doubling per failure up to the maximum), one at a
    /// time, while correct passwords still sign in. Absent in older policies: 2 and 30.
    #[serde(default = "default_address_delay")]
    pub login_address_delay_seconds: u32,
    #[serde(default = "default_address_delay_max")]
    pub login_address_delay_max_seconds: u32,
    /// Default lifetime of new API tokens; 0 = never expires.
    pub api_token_days: u32,
}

fn default_password_min_score() -> u8 {
    3
}

fn default_address_delay() -> u32 {
    2
}

fn default_address_delay_max() -> u32 {
    30
}

/// `[limits]`: how much any input may hold, so no request can make the server's memory or time
/// grow without bound. Absent in older policies: the shipped default's section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitsPolicy {
    /// The longest text any field (or import cell) may hold, in characters.
    pub text_max_chars: u32,
    /// The largest import file, in MiB.
    pub import_max_file_mib: u32,
    /// What an import file may inflate to (an .xlsx is compressed), in MiB.
    pub import_max_inflated_mib: u32,
    /// The most data rows one import may have.
    pub import_max_rows: u32,
    /// Lists count exactly up to this many rows, and say "N+" beyond it. Absent in older
    /// policies: 10,000.
    #[serde(default = "default_list_count_cap")]
    pub list_count_cap: u32,
}

fn default_list_count_cap() -> u32 {
    10_000
}

/// `[backup]`: the scheduled online backup (seed 003 7.2.3, 定期备份).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupPolicy {
    pub enabled: bool,
    /// Local time of day, "HH:MM".
    pub time: String,
    /// Where backups are written; a relative path is inside the data directory.
    pub directory: String,
    /// How many scheduled backups to keep; older ones are removed.
    pub keep: u32,
}

impl BackupPolicy {
    /// The time of day, when valid (validation refuses a policy where it is not).
    pub fn time_of_day(&self) -> Option<NaiveTime> {
        parse_hhmm(&self.time)
    }
}

impl LimitsPolicy {
    pub fn text_max(&self) -> usize {
        usize::try_from(self.text_max_chars).unwrap_or(usize::MAX)
    }

    /// What an import file may hold.
    pub fn sheet(&self) -> crate::platform::sheet::Limits {
        let mib = |n: u32| u64::from(n) * 1024 * 1024;
        crate::platform::sheet::Limits {
            max_bytes: usize::try_from(mib(self.import_max_file_mib)).unwrap_or(usize::MAX),
            max_inflated: mib(self.import_max_inflated_mib),
            max_rows: usize::try_from(self.import_max_rows).unwrap_or(usize::MAX),
            max_cell_chars: self.text_max(),
        }
    }
}

impl SecurityPolicy {
    pub fn login_window(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.login_window_minutes))
    }

    pub fn login_lockout(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.login_lockout_minutes))
    }

    pub fn session_lifetime(&self) -> TimeDelta {
        TimeDelta::hours(i64::from(self.session_hours))
    }

    pub fn session_idle(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.session_idle_minutes))
    }

    /// `None` when new tokens never expire.
    pub fn api_token_lifetime(&self) -> Option<TimeDelta> {
        (self.api_token_days > 0).then(|| TimeDelta::days(i64::from(self.api_token_days)))
    }
}

/// `[numbering]`: document number formats.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NumberingPolicy {
    /// Document kind ("complaint", "customer", …) → format such as "KS-{YYYYMM}-{seq:4}".
    pub formats: BTreeMap<String, String>,
}

/// One entry of a choice list (customer types, stages …): a stable code
/// stored on records, and its names in both languages.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub code: String,
    pub zh: String,
    pub en: String,
}

impl Choice {
    /// The name in a UI language ("en", else Chinese).
    pub fn name(&self, locale: &str) -> &str {
        if locale == "en" { &self.en } else { &self.zh }
    }
}

/// `[customers]`: the customer archive (SPEC §1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomerPolicy {
    /// Fields that must be filled within `basic_deadline_days` working days of creation.
    pub basic_fields: Vec<String>,
    pub basic_deadline_days: u32,
    /// Fields that must be filled within `full_deadline_days` working days of creation.
    pub full_fields: Vec<String>,
    pub full_deadline_days: u32,
    /// Roles that see every customer (read-only unless they may also edit).
    pub read_all_roles: Vec<String>,
    /// Roles that see contact phone numbers unmasked.
    pub phone_roles: Vec<String>,
    /// Roles that may export customer lists (Excel/CSV); every export is audited.
    /// Absent in policies written before exports existed: admins and sales managers.
    #[serde(default = "default_export_roles")]
    pub export_roles: Vec<String>,
    /// Roles that may record interactions (visits, calls …) on the customers they see.
    /// Absent in older policies: the sales roles and customer service.
    #[serde(default = "default_interaction_roles")]
    pub interaction_roles: Vec<String>,
    /// Largest attachment, in MiB, and the file types allowed.
    pub attachment_max_mib: u32,
    pub attachment_types: Vec<String>,
    pub types: Vec<Choice>,
    pub stages: Vec<Choice>,
    pub scales: Vec<Choice>,
    pub industries: Vec<Choice>,
    pub regions: Vec<Choice>,
    pub sources: Vec<Choice>,
    pub decision_roles: Vec<Choice>,
    pub interaction_kinds: Vec<Choice>,
    pub attachment_kinds: Vec<Choice>,
}

fn default_export_roles() -> Vec<String> {
    vec!["admin".into(), "sales_manager".into()]
}

fn default_interaction_roles() -> Vec<String> {
    vec![
        "sales_manager".into(),
        "sales_rep".into(),
        "customer_service".into(),
    ]
}

impl CustomerPolicy {
    /// The list of a choice field by its name ("types", "stages" …).
    pub fn choices(&self, list: &str) -> &[Choice] {
        match list {
            "types" => &self.types,
            "stages" => &self.stages,
            "scales" => &self.scales,
            "industries" => &self.industries,
            "regions" => &self.regions,
            "sources" => &self.sources,
            "decision_roles" => &self.decision_roles,
            "interaction_kinds" => &self.interaction_kinds,
            "attachment_kinds" => &self.attachment_kinds,
            _ => &[],
        }
    }
}

/// `[property]`: customer property (客供品 / 顾客财产, SPEC §4).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PropertyPolicy {
    /// Property not used for this many months is reported to its sales owner (seed: 2).
    pub idle_months: u32,
    /// Calibrations and maintenance this many days ahead show as coming due.
    pub due_soon_days: u32,
    /// Whether an overdue calibration blocks issue to production.
    pub calibration_overdue_blocks_issue: bool,
    /// Whether overdue maintenance blocks issue to production.
    pub maintenance_overdue_blocks_issue: bool,
    /// Whether a usage counter at or past its rated life blocks issue.
    pub usage_over_life_blocks_issue: bool,
    /// A usage counter at this share (percent) of its rated life shows as coming due.
    pub usage_warn_percent: u32,
    /// Roles that record advance notices, customer instructions, consents and notifications
    /// (within the customers they may edit).
    pub sales_roles: Vec<String>,
    /// Roles that receive, register, store, issue, return and count property.
    pub warehouse_roles: Vec<String>,
    /// Roles that may raise an abnormality.
    pub abnormality_roles: Vec<String>,
    /// Roles that approve count variances.
    pub count_approver_roles: Vec<String>,
    pub kinds: Vec<PropertyKind>,
    pub locations: Vec<PropertyLocation>,
}

/// What is tracked of a kind of property: a quantity per lot, or single pieces with serial numbers.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Tracking {
    Quantity,
    Serial,
}

/// One kind of customer property and the care it needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PropertyKind {
    pub code: String,
    pub zh: String,
    pub en: String,
    /// The role that verifies it on receipt (quality, engineering …).
    pub verifier_role: String,
    /// The verification report it needs (shown on the verification form), in both languages.
    pub report_zh: String,
    pub report_en: String,
    pub tracking: Tracking,
    /// Days between calibrations; 0 = not calibrated.
    pub calibration_days: u32,
    /// Days between maintenance; 0 = no maintenance plan.
    pub maintenance_days: u32,
    /// Whether it has a usage counter (e.g. mold shots) against a rated life.
    pub usage_counter: bool,
    /// Care instructions shown with the item, in both languages.
    pub care_zh: String,
    pub care_en: String,
}

impl PropertyKind {
    pub fn name(&self, locale: &str) -> &str {
        if locale == "en" { &self.en } else { &self.zh }
    }
    pub fn report(&self, locale: &str) -> &str {
        if locale == "en" {
            &self.report_en
        } else {
            &self.report_zh
        }
    }
    pub fn care(&self, locale: &str) -> &str {
        if locale == "en" {
            &self.care_en
        } else {
            &self.care_zh
        }
    }
}

/// What a storage location is for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LocationPurpose {
    /// Received, waiting for verification (待检区).
    Pending,
    /// Reserved for customer property, separate from company stock.
    Storage,
    /// Isolated: abnormal or rejected property (隔离区).
    Isolation,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PropertyLocation {
    pub code: String,
    pub zh: String,
    pub en: String,
    pub purpose: LocationPurpose,
}

impl PropertyLocation {
    pub fn name(&self, locale: &str) -> &str {
        if locale == "en" { &self.en } else { &self.zh }
    }
}

impl PropertyPolicy {
    pub fn kind(&self, code: &str) -> Option<&PropertyKind> {
        self.kinds.iter().find(|k| k.code == code)
    }
    pub fn location(&self, code: &str) -> Option<&PropertyLocation> {
        self.locations.iter().find(|l| l.code == code)
    }
    /// The first location with the purpose (validation guarantees one of each).
    pub fn first_location(&self, purpose: LocationPurpose) -> Option<&PropertyLocation> {
        self.locations.iter().find(|l| l.purpose == purpose)
    }
}

/// `[consignment]`: consignment (寄售) agreements (SPEC §4; seed 寄售工作规章制度).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConsignmentPolicy {
    /// Cost ratio a new agreement starts with (each agreement records its own).
    pub default_cost_ratio: Decimal,
    /// Consignment ratio a new agreement starts with.
    pub default_consignment_ratio: Decimal,
    pub default_term_months: u32,
    /// How a commission is rounded to the fen.
    pub commission_rounding: Rounding,
    /// Days before an agreement's end from which unsold goods are a task.
    pub remind_days_before_end: u32,
}

/// `[custody]`: custody (寄养) agreements (SPEC §4; seed 公司产品寄养管理制度).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustodyPolicy {
    /// Late-fee rate per day a new agreement starts with.
    pub default_late_fee_rate: Decimal,
    /// Day of the month (1–28) fees fall due, for a new agreement.
    pub default_payment_due_day: u32,
    /// Which month's due day a month's fee falls due on.
    pub fee_due: FeeDue,
    /// How a late fee is rounded to the fen.
    pub late_fee_rounding: Rounding,
    pub default_term_months: u32,
    /// Days before a period ends from which goods still held are a task.
    pub remind_days_before_end: u32,
}

/// How an amount is rounded to the fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// 四舍五入: halves away from zero.
    HalfUp,
    /// Banker's rounding: halves to the even fen.
    HalfEven,
    /// Truncate.
    Down,
    /// Any fraction of a fen makes a fen.
    Up,
}

impl Rounding {
    /// Rounds to `dp` decimal places.
    pub fn round(self, value: Decimal, dp: u32) -> Decimal {
        use rust_decimal::RoundingStrategy as S;
        let strategy = match self {
            Rounding::HalfUp => S::MidpointAwayFromZero,
            Rounding::HalfEven => S::MidpointNearestEven,
            Rounding::Down => S::ToZero,
            Rounding::Up => S::AwayFromZero,
        };
        value.round_dp_with_strategy(dp, strategy)
    }
}

/// When a custody month's fee falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeDue {
    /// On the due day of the month itself (in advance).
    SameMonth,
    /// On the due day of the following month (in arrears).
    NextMonth,
}

/// The sections a policy may lack, read from the shipped default (once).
#[derive(Deserialize)]
struct OptionalSections {
    limits: LimitsPolicy,
    backup: BackupPolicy,
    property: PropertyPolicy,
    consignment: ConsignmentPolicy,
    custody: CustodyPolicy,
}

fn optional_sections() -> &'static OptionalSections {
    static SECTIONS: OnceLock<OptionalSections> = OnceLock::new();
    SECTIONS.get_or_init(|| match toml::from_str(DEFAULT_POLICY_TOML) {
        Ok(sections) => sections,
        // Unreachable in a tested build: `default_policy_is_valid` fails first.
        Err(e) => panic!("the shipped default policy lacks a section: {e}"),
    })
}

fn default_limits() -> LimitsPolicy {
    optional_sections().limits.clone()
}

fn default_backup() -> BackupPolicy {
    optional_sections().backup.clone()
}

fn default_property() -> PropertyPolicy {
    optional_sections().property.clone()
}

fn default_consignment() -> ConsignmentPolicy {
    optional_sections().consignment.clone()
}

fn default_custody() -> CustodyPolicy {
    optional_sections().custody.clone()
}

/// Customer fields the completeness lists may name.
pub const CUSTOMER_FIELDS: &[&str] = &[
    "full_name",
    "short_name",
    "credit_code",
    "customer_type",
    "industry",
    "region",
    "address",
    "legal_representative",
    "registered_capital",
    "business_scope",
    "scale",
    "source",
    "first_contact_date",
    "cooperation_start_date",
    "tags",
    "contacts",
    "business_licence",
];

/// `[calendar]`: the working-day calendar.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CalendarPolicy {
    pub weekend: Vec<WeekdayName>,
    /// "HH:MM", local time.
    pub work_start: String,
    /// "HH:MM", local time, after `work_start`.
    pub work_end: String,
    #[serde(default)]
    pub holidays: Vec<CalendarDay>,
    /// Make-up working days (调休上班), each on a weekend day.
    #[serde(default)]
    pub workdays: Vec<CalendarDay>,
}

impl CalendarPolicy {
    /// The working hours, if both parse (validation guarantees it for a loaded policy).
    pub fn work_hours(&self) -> Option<(NaiveTime, NaiveTime)> {
        Some((parse_hhmm(&self.work_start)?, parse_hhmm(&self.work_end)?))
    }
}

/// One holiday or make-up workday.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CalendarDay {
    /// A TOML local date (`date = 2026-01-01`); a "2026-01-01" string is accepted too, so the
    /// same type reads JSON.
    #[serde(with = "toml_date")]
    pub date: NaiveDate,
    pub name: String,
}

/// A day of the week as written in the policy ("mon" … "sun").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeekdayName {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl WeekdayName {
    pub fn to_chrono(self) -> Weekday {
        match self {
            Self::Mon => Weekday::Mon,
            Self::Tue => Weekday::Tue,
            Self::Wed => Weekday::Wed,
            Self::Thu => Weekday::Thu,
            Self::Fri => Weekday::Fri,
            Self::Sat => Weekday::Sat,
            Self::Sun => Weekday::Sun,
        }
    }

    pub fn from_chrono(day: Weekday) -> WeekdayName {
        match day {
            Weekday::Mon => Self::Mon,
            Weekday::Tue => Self::Tue,
            Weekday::Wed => Self::Wed,
            Weekday::Thu => Self::Thu,
            Weekday::Fri => Self::Fri,
            Weekday::Sat => Self::Sat,
            Weekday::Sun => Self::Sun,
        }
    }

    /// The policy spelling, "mon" … "sun".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mon => "mon",
            Self::Tue => "tue",
            Self::Wed => "wed",
            Self::Thu => "thu",
            Self::Fri => "fri",
            Self::Sat => "sat",
            Self::Sun => "sun",
        }
    }

    /// The day's name in the given language ("Saturday", "星期六").
    pub fn display_name(self, locale: &str) -> String {
        let key = format!("calendar.weekday.{}", self.as_str());
        rust_i18n::t!(&key, locale = locale).into_owned()
    }
}

/// When a policy version comes into force, as an administrator types it: RFC 3339
/// (`2027-01-01T00:00:00+08:00`), or a date (`2027-01-01`, its start) or a date and time
/// (`2027-01-01T08:00`, `2027-01-01 08:00`) in the company's time zone `tz`.
pub fn parse_effective_from(s: &str, tz: FixedOffset) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDateTime, Utc};
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let local = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    local
        .and_local_timezone(tz)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// The comment line `kehu policy show` prints above the document.
pub fn show_header(version: i64, effective_from: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "# policy version {version} (effective {})",
        effective_from.to_rfc3339()
    )
}

/// The document without the header lines `kehu policy show` put above it, so that showing a
/// policy and applying the output again stores the same text (and never piles headers up).
pub fn without_show_header(text: &str) -> &str {
    let mut rest = text;
    while let Some(line) = rest.lines().next() {
        let is_header = line
            .strip_prefix("# policy version ")
            .is_some_and(|r| r.contains("(effective ") && r.ends_with(')'));
        if !is_header {
            break;
        }
        rest = rest[line.len()..]
            .strip_prefix("\r\n")
            .or_else(|| rest[line.len()..].strip_prefix('\n'))
            .unwrap_or("");
    }
    rest
}

/// Parses "HH:MM" (two digits each, 00:00–23:59).
pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.split_once(':')?;
    let two_digits = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

/// Parses a fixed UTC offset "+HH:MM" or "-HH:MM" between -14:00 and +14:00 (the offsets in
/// real use). Named zones are deliberately not accepted: China has one offset and no DST, and a
/// fixed offset needs no time-zone database.
pub fn parse_utc_offset(s: &str) -> Option<FixedOffset> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let time = parse_hhmm(s.get(1..)?)?;
    let seconds = i32::try_from(time.num_seconds_from_midnight()).ok()?;
    if seconds > 14 * 3600 {
        return None;
    }
    FixedOffset::east_opt(sign * seconds)
}

/// The offset used when a policy's own does not parse (never for a validated policy).
const CHINA_STANDARD_TIME: FixedOffset = FixedOffset::east_opt(8 * 3600).expect("valid offset");

impl Policy {
    /// The shipped default policy (parsed once; a unit test proves it is valid).
    pub fn default_policy() -> Policy {
        static DEFAULT: OnceLock<Policy> = OnceLock::new();
        DEFAULT
            .get_or_init(|| match Policy::from_toml(DEFAULT_POLICY_TOML) {
                Ok(policy) => policy,
                // Unreachable in a tested build: `default_policy_is_valid` fails first.
                Err(issues) => panic!("the shipped default policy is invalid: {issues:?}"),
            })
            .clone()
    }

    /// Loads and validates a policy document. On failure returns every issue found, each with
    /// its 1-based line where the file has one, sorted by line.
    pub fn from_toml(text: &str) -> Result<Policy, Vec<PolicyIssue>> {
        check::load(text)
    }

    /// The policy as a TOML document that [`Policy::from_toml`] reads back unchanged.
    pub fn to_toml(&self) -> String {
        check::render(self)
    }

    /// The semantic checks alone, for a policy built in code or edited in the UI. Issues carry
    /// no line numbers (there is no file).
    pub fn validate(&self) -> Result<(), Vec<PolicyIssue>> {
        let issues: Vec<PolicyIssue> = validate::validate(self)
            .into_iter()
            .map(|(path, kind)| PolicyIssue {
                line: None,
                column: None,
                field: path.to_string(),
                kind,
            })
            .collect();
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }

    /// The policy's fixed UTC offset (+08:00 if it does not parse, which validation prevents).
    pub fn timezone(&self) -> FixedOffset {
        parse_utc_offset(&self.locale.timezone).unwrap_or(CHINA_STANDARD_TIME)
    }

    /// The working-day calendar of this policy.
    pub fn calendar(&self) -> WorkCalendar {
        WorkCalendar::new(&self.calendar, self.timezone())
    }

    /// The number format for a document kind ("complaint", "customer", …), if the policy has one.
    /// A policy written before a kind of document existed uses the shipped format for it.
    pub fn number_format(&self, kind: &str) -> Option<NumberFormat> {
        match self.numbering.formats.get(kind) {
            Some(text) => NumberFormat::parse(text).ok(),
            None => NumberFormat::parse(Policy::default_policy().numbering.formats.get(kind)?).ok(),
        }
    }
}

/// The type of a TOML value, for "expected …, found …" messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    String,
    Integer,
    Float,
    Boolean,
    /// A local date, `2026-01-01`.
    Date,
    /// A local time, `08:30:00`.
    Time,
    /// A local date and time, `2026-01-01T08:30:00`.
    Datetime,
    /// A date and time with an offset, `2026-01-01T08:30:00+08:00`.
    OffsetDatetime,
    Array,
    Table,
}

impl ValueKind {
    pub fn display_name(self, locale: &str) -> String {
        let key = match self {
            Self::String => "policy.type.string",
            Self::Integer => "policy.type.integer",
            Self::Float => "policy.type.float",
            Self::Boolean => "policy.type.boolean",
            Self::Date => "policy.type.date",
            Self::Time => "policy.type.time",
            Self::Datetime => "policy.type.datetime",
            Self::OffsetDatetime => "policy.type.offset_datetime",
            Self::Array => "policy.type.array",
            Self::Table => "policy.type.table",
        };
        rust_i18n::t!(key, locale = locale).into_owned()
    }
}

/// One problem in a policy document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyIssue {
    /// 1-based line in the file, when the problem has one.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// Dotted path such as "security.login_max_failures" or "calendar.holidays[3].date";
    /// empty when a syntax error is not inside any field.
    pub field: String,
    pub kind: PolicyIssueKind,
}

/// What is wrong; `message` turns it into words.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum PolicyIssueKind {
    /// Not valid TOML; `detail` is the parser's (English) description.
    Syntax {
        detail: String,
    },
    /// A key the policy does not have; `expected` lists the keys allowed at that place.
    UnknownField {
        expected: Vec<String>,
    },
    MissingField,
    WrongType {
        expected: ValueKind,
        found: ValueKind,
    },
    /// A value of the right type that still cannot be read (e.g. a negative count, an unknown
    /// weekday); `detail` is the reader's (English) description.
    InvalidValue {
        detail: String,
    },
    MustBePositive {
        value: i64,
    },
    EmptyText,
    UnknownLanguage {
        value: String,
    },
    BadTimezone {
        value: String,
    },
    BadTime {
        value: String,
    },
    /// `work_start` is not before `work_end`.
    WorkHoursOrder {
        start: String,
        end: String,
    },
    /// The weekend covers all seven days.
    NoWorkingWeekday,
    DuplicateWeekday {
        weekday: WeekdayName,
    },
    /// The date appears twice in the same list; `first` is the field of the first occurrence.
    DuplicateDate {
        date: NaiveDate,
        first: String,
    },
    /// The date is both a holiday and a make-up workday.
    HolidayAndWorkday {
        date: NaiveDate,
        holiday: String,
    },
    /// A make-up workday on a day that is a working day anyway.
    WorkdayNotWeekend {
        date: NaiveDate,
        weekday: WeekdayName,
    },
    BadNumberFormat {
        error: NumberFormatError,
    },
    /// A code listed twice in a choice list; `first` is the field of the first occurrence.
    DuplicateCode {
        value: String,
        first: String,
    },
    /// A name that is not one of the allowed ones (a field, a role …).
    UnknownName {
        value: String,
        allowed: Vec<String>,
    },
    /// A list that must not be empty.
    EmptyList,
    /// A number that must not exceed another setting.
    NotAbove {
        other: String,
    },
    /// A number outside its allowed range.
    OutOfRange {
        value: String,
        min: String,
        max: String,
    },
    /// A decimal with more decimal places than allowed.
    TooManyDecimals {
        max: u32,
    },
}

impl PolicyIssue {
    /// What is wrong, in the given language ("zh-CN" or "en"; others fall back to Chinese).
    pub fn message(&self, locale: &str) -> String {
        use PolicyIssueKind as K;
        let l = locale;
        match &self.kind {
            K::Syntax { detail } => {
                rust_i18n::t!("policy.issue.syntax", locale = l, detail = detail)
            }
            K::UnknownField { expected } if expected.is_empty() => {
                rust_i18n::t!("policy.issue.unknown_field", locale = l)
            }
            K::UnknownField { expected } => rust_i18n::t!(
                "policy.issue.unknown_field_expected",
                locale = l,
                expected = expected.join(", ")
            ),
            K::MissingField => rust_i18n::t!("policy.issue.missing_field", locale = l),
            K::WrongType { expected, found } => rust_i18n::t!(
                "policy.issue.wrong_type",
                locale = l,
                expected = expected.display_name(l),
                found = found.display_name(l)
            ),
            K::InvalidValue { detail } => {
                rust_i18n::t!("policy.issue.invalid_value", locale = l, detail = detail)
            }
            K::MustBePositive { value } => {
                rust_i18n::t!("policy.issue.must_be_positive", locale = l, value = value)
            }
            K::EmptyText => rust_i18n::t!("policy.issue.empty_text", locale = l),
            K::UnknownLanguage { value } => rust_i18n::t!(
                "policy.issue.unknown_language",
                locale = l,
                value = value,
                expected = SUPPORTED_LANGUAGES.join(", ")
            ),
            K::BadTimezone { value } => {
                rust_i18n::t!("policy.issue.bad_timezone", locale = l, value = value)
            }
            K::BadTime { value } => {
                rust_i18n::t!("policy.issue.bad_time", locale = l, value = value)
            }
            K::WorkHoursOrder { start, end } => rust_i18n::t!(
                "policy.issue.work_hours_order",
                locale = l,
                start = start,
                end = end
            ),
            K::NoWorkingWeekday => rust_i18n::t!("policy.issue.no_working_weekday", locale = l),
            K::DuplicateWeekday { weekday } => rust_i18n::t!(
                "policy.issue.duplicate_weekday",
                locale = l,
                weekday = weekday.display_name(l)
            ),
            K::DuplicateDate { date, first } => rust_i18n::t!(
                "policy.issue.duplicate_date",
                locale = l,
                date = date,
                first = first
            ),
            K::HolidayAndWorkday { date, holiday } => rust_i18n::t!(
                "policy.issue.holiday_and_workday",
                locale = l,
                date = date,
                holiday = holiday
            ),
            K::WorkdayNotWeekend { date, weekday } => rust_i18n::t!(
                "policy.issue.workday_not_weekend",
                locale = l,
                date = date,
                weekday = weekday.display_name(l)
            ),
            K::BadNumberFormat { error } => rust_i18n::t!(
                "policy.issue.bad_number_format",
                locale = l,
                detail = error.message(l)
            ),
            K::DuplicateCode { value, first } => rust_i18n::t!(
                "policy.issue.duplicate_code",
                locale = l,
                code = value,
                first = first
            ),
            K::UnknownName { value, allowed } => rust_i18n::t!(
                "policy.issue.unknown_name",
                locale = l,
                value = value,
                allowed = allowed.join(", ")
            ),
            K::EmptyList => rust_i18n::t!("policy.issue.empty_list", locale = l),
            K::NotAbove { other } => {
                rust_i18n::t!("policy.issue.not_above", locale = l, other = other)
            }
            K::OutOfRange { value, min, max } => rust_i18n::t!(
                "policy.issue.out_of_range",
                locale = l,
                value = value,
                min = min,
                max = max
            ),
            K::TooManyDecimals { max } => {
                rust_i18n::t!("policy.issue.too_many_decimals", locale = l, max = max)
            }
        }
        .into_owned()
    }

    /// The whole issue in the given language: where, then what ("第 7 行，security.x：未知字段").
    pub fn describe(&self, locale: &str) -> String {
        let message = self.message(locale);
        let place = match (self.line, self.field.is_empty()) {
            (Some(line), false) => rust_i18n::t!(
                "policy.place.line_field",
                locale = locale,
                line = line,
                field = self.field
            ),
            (Some(line), true) => rust_i18n::t!("policy.place.line", locale = locale, line = line),
            (None, false) => {
                rust_i18n::t!("policy.place.field", locale = locale, field = self.field)
            }
            (None, true) => return message,
        };
        rust_i18n::t!(
            "policy.place.join",
            locale = locale,
            place = place,
            message = message
        )
        .into_owned()
    }
}

/// English, e.g. "line 7, security.login_max_failurez: unknown field, expected one of: …".
impl fmt::Display for PolicyIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe("en"))
    }
}

impl std::error::Error for PolicyIssue {}

/// Serde for [`CalendarDay::date`]: written as a TOML local date, read from a TOML local date or
/// from a "YYYY-MM-DD" string (JSON).
///
/// Why not chrono's own serde: the TOML reader hands dates over as its private datetime type,
/// which chrono cannot read; and why not toml's `Datetime` on the field: JSON would then get
/// toml's private wrapper object. `to_toml` turns the strings back into TOML dates.
mod toml_date {
    use std::fmt;

    use chrono::NaiveDate;
    use serde::de::{self, MapAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(date: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&date.format("%Y-%m-%d"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
        deserializer.deserialize_any(DateVisitor)
    }

    struct DateVisitor;

    impl<'de> Visitor<'de> for DateVisitor {
        type Value = NaiveDate;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a date such as 2026-01-01")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<NaiveDate, E> {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| E::invalid_value(de::Unexpected::Str(s), &self))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<NaiveDate, A::Error> {
            let datetime =
                toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
            match (datetime.date, datetime.time, datetime.offset) {
                (Some(d), None, None) => {
                    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                        .ok_or_else(|| de::Error::custom(format!("invalid date {datetime}")))
                }
                _ => Err(de::Error::invalid_type(
                    de::Unexpected::Other("a date with a time"),
                    &self,
                )),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid() {
        let policy = Policy::from_toml(DEFAULT_POLICY_TOML)
            .unwrap_or_else(|issues| panic!("default policy invalid: {issues:#?}"));
        assert!(policy.validate().is_ok());
        assert_eq!(policy, Policy::default_policy());
    }

    #[test]
    fn default_policy_carries_the_specified_numbers() {
        let p = Policy::default_policy();
        assert_eq!(p.locale.default_language, "zh-CN");
        assert_eq!(p.timezone(), FixedOffset::east_opt(8 * 3600).unwrap());
        let s = &p.security;
        assert_eq!(
            (
                s.login_max_failures,
                s.login_max_failures_per_address,
                s.login_window_minutes,
                s.login_lockout_minutes,
                s.session_hours,
                s.session_idle_minutes,
                s.password_min_length,
                s.api_token_days
            ),
            (5, 20, 15, 15, 12, 120, 10, 365)
        );
        assert_eq!(s.login_window(), TimeDelta::minutes(15));
        assert_eq!(s.session_lifetime(), TimeDelta::hours(12));
        assert_eq!(s.api_token_lifetime(), Some(TimeDelta::days(365)));
        let formats = [
            ("customer", "C{YYYY}{seq:6}"),
            ("complaint", "KS-{YYYYMM}-{seq:4}"),
            ("property_register", "GCC-{YYYY}-{seq:5}"),
            ("property_notice", "KGTZ-{YYYYMM}-{seq:4}"),
            ("service_request", "FW-{YYYYMM}-{seq:4}"),
            ("quotation", "BJ-{YYYYMMDD}-{seq:3}"),
        ];
        for (kind, format) in formats {
            assert_eq!(p.number_format(kind).unwrap().as_str(), format);
        }
        assert!(p.number_format("no_such_kind").is_none());
        assert_eq!(p.calendar.weekend, [WeekdayName::Sat, WeekdayName::Sun]);
        assert_eq!(
            p.calendar.work_hours(),
            Some((
                NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
                NaiveTime::from_hms_opt(17, 30, 0).unwrap()
            ))
        );
        // 2026: 3 + 9 + 3 + 5 + 3 + 3 + 7 holidays, 1 + 2 + 1 + 2 make-up days; 2027: 13 statutory.
        let in_year = |days: &[CalendarDay], y: i32| {
            days.iter()
                .filter(|d| chrono::Datelike::year(&d.date) == y)
                .count()
        };
        assert_eq!(in_year(&p.calendar.holidays, 2026), 33);
        assert_eq!(in_year(&p.calendar.workdays, 2026), 6);
        assert_eq!(in_year(&p.calendar.holidays, 2027), 13);
        assert_eq!(in_year(&p.calendar.workdays, 2027), 0);
    }

    #[test]
    fn complaint_numbers_follow_the_default_policy() {
        let f = Policy::default_policy().number_format("complaint").unwrap();
        assert_eq!(
            f.render(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(), 7),
            "KS-202601-0007"
        );
    }

    #[test]
    fn to_toml_round_trips() {
        let default = Policy::default_policy();
        assert_eq!(Policy::from_toml(&default.to_toml()), Ok(default.clone()));

        let mut changed = default;
        changed.meta.description = None;
        changed.meta.name = "含 \"引号\" 的制度\n第二行".into();
        changed.security.api_token_days = 0;
        changed.locale.timezone = "-05:30".into();
        changed
            .numbering
            .formats
            .insert("odd key.with dot".into(), "X-{seq:2}".into());
        changed.calendar.holidays.push(CalendarDay {
            date: NaiveDate::from_ymd_opt(2028, 1, 1).unwrap(),
            name: "元旦".into(),
        });
        let text = changed.to_toml();
        assert_eq!(Policy::from_toml(&text), Ok(changed.clone()), "{text}");
        assert_eq!(changed.security.api_token_lifetime(), None);
    }

    #[test]
    fn json_uses_plain_date_strings_and_reads_them_back() {
        let policy = Policy::default_policy();
        let json = serde_json::to_value(&policy).unwrap();
        assert_eq!(json["calendar"]["holidays"][0]["date"], "2026-01-01");
        assert_eq!(json["calendar"]["weekend"][0], "sat");
        let back: Policy = serde_json::from_value(json).unwrap();
        assert_eq!(back, policy);
    }

    #[test]
    fn effective_dates_parse_in_the_company_time_zone() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let utc = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        assert_eq!(
            parse_effective_from("2027-01-01", tz),
            Some(utc("2026-12-31T16:00:00Z"))
        );
        assert_eq!(
            parse_effective_from("2027-01-01T08:30", tz),
            Some(utc("2027-01-01T00:30:00Z"))
        );
        assert_eq!(
            parse_effective_from("2027-01-01 08:30", tz),
            Some(utc("2027-01-01T00:30:00Z"))
        );
        assert_eq!(
            parse_effective_from("2027-01-01T00:00:00Z", tz),
            Some(utc("2027-01-01T00:00:00Z"))
        );
        assert_eq!(parse_effective_from("2027-13-01", tz), None);
        assert_eq!(parse_effective_from("next week", tz), None);
    }

    #[test]
    fn shown_headers_are_taken_off_before_applying() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-03T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let body = "# 制度说明\n[meta]\nname = \"x\"\n";
        let shown = format!("{}\n{}", show_header(2, t), body);
        assert_eq!(without_show_header(&shown), body);
        let twice = format!("{}\n{shown}", show_header(3, t));
        assert_eq!(without_show_header(&twice), body);
        assert_eq!(without_show_header(body), body);
    }

    #[test]
    fn hhmm_and_offsets_parse_strictly() {
        assert_eq!(parse_hhmm("08:30"), NaiveTime::from_hms_opt(8, 30, 0));
        assert_eq!(parse_hhmm("23:59"), NaiveTime::from_hms_opt(23, 59, 0));
        for bad in [
            "8:30", "08:3", "24:00", "08:60", "0830", "08:30:00", "", "ab:cd", "+8:30",
        ] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
        assert_eq!(parse_utc_offset("+08:00"), FixedOffset::east_opt(8 * 3600));
        assert_eq!(
            parse_utc_offset("-05:30"),
            FixedOffset::west_opt(5 * 3600 + 1800)
        );
        assert_eq!(parse_utc_offset("+14:00"), FixedOffset::east_opt(14 * 3600));
        for bad in ["08:00", "+14:01", "UTC", "+08", "Z", "", "+", "++8:00"] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_unvalidated_policy_still_has_a_timezone_and_calendar() {
        let mut p = Policy::default_policy();
        p.locale.timezone = "Asia/Shanghai".into();
        assert_eq!(p.timezone(), FixedOffset::east_opt(8 * 3600).unwrap());
        assert_eq!(p.calendar().timezone(), p.timezone());
        p.numbering
            .formats
            .insert("complaint".into(), "bad{".into());
        assert!(p.number_format("complaint").is_none());
        let issues = p.validate().unwrap_err();
        assert_eq!(issues.len(), 2);
        assert!(issues.iter().all(|i| i.line.is_none()));
        assert_eq!(
            issues[0].to_string(),
            "locale.timezone: \"Asia/Shanghai\" is not a UTC offset; write it like \"+08:00\" (between -14:00 and +14:00)"
        );
    }

    #[test]
    fn issues_read_well_in_both_languages() {
        let issue = PolicyIssue {
            line: Some(7),
            column: Some(1),
            field: "security.login_max_failurez".into(),
            kind: PolicyIssueKind::UnknownField { expected: vec![] },
        };
        assert_eq!(
            issue.to_string(),
            "line 7, security.login_max_failurez: unknown field"
        );
        assert_eq!(
            issue.describe("zh-CN"),
            "第 7 行，security.login_max_failurez：未知字段"
        );
        // Unknown locales fall back to Chinese, the product's first language.
        assert_eq!(issue.message("de"), "未知字段");
        let syntax = PolicyIssue {
            line: Some(3),
            column: Some(5),
            field: String::new(),
            kind: PolicyIssueKind::Syntax {
                detail: "boom".into(),
            },
        };
        assert_eq!(syntax.to_string(), "line 3: TOML syntax error: boom");
    }

    #[test]
    fn every_issue_kind_has_both_translations() {
        let date = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let kinds = vec![
            PolicyIssueKind::Syntax { detail: "d".into() },
            PolicyIssueKind::UnknownField {
                expected: vec!["a".into()],
            },
            PolicyIssueKind::UnknownField { expected: vec![] },
            PolicyIssueKind::MissingField,
            PolicyIssueKind::WrongType {
                expected: ValueKind::Table,
                found: ValueKind::Boolean,
            },
            PolicyIssueKind::InvalidValue { detail: "d".into() },
            PolicyIssueKind::MustBePositive { value: 0 },
            PolicyIssueKind::EmptyText,
            PolicyIssueKind::UnknownLanguage { value: "fr".into() },
            PolicyIssueKind::BadTimezone { value: "x".into() },
            PolicyIssueKind::BadTime { value: "x".into() },
            PolicyIssueKind::WorkHoursOrder {
                start: "9".into(),
                end: "8".into(),
            },
            PolicyIssueKind::NoWorkingWeekday,
            PolicyIssueKind::DuplicateWeekday {
                weekday: WeekdayName::Sun,
            },
            PolicyIssueKind::DuplicateDate {
                date,
                first: "a[0]".into(),
            },
            PolicyIssueKind::HolidayAndWorkday {
                date,
                holiday: "a[0]".into(),
            },
            PolicyIssueKind::WorkdayNotWeekend {
                date,
                weekday: WeekdayName::Mon,
            },
            PolicyIssueKind::BadNumberFormat {
                error: NumberFormatError::MissingSeq,
            },
            PolicyIssueKind::DuplicateCode {
                value: "x".into(),
                first: "a[0]".into(),
            },
            PolicyIssueKind::UnknownName {
                value: "x".into(),
                allowed: vec!["a".into()],
            },
            PolicyIssueKind::EmptyList,
            PolicyIssueKind::NotAbove { other: "b".into() },
            PolicyIssueKind::OutOfRange {
                value: "2".into(),
                min: "0".into(),
                max: "1".into(),
            },
            PolicyIssueKind::TooManyDecimals { max: 4 },
        ];
        for kind in kinds {
            let issue = PolicyIssue {
                line: None,
                column: None,
                field: "f".into(),
                kind,
            };
            let (en, zh) = (issue.message("en"), issue.message("zh-CN"));
            for m in [&en, &zh] {
                assert!(!m.starts_with("policy."), "{m}");
                assert!(!m.contains("%{"), "{m}");
            }
            assert_ne!(en, zh, "{issue:?}");
        }
        for kind in [
            ValueKind::String,
            ValueKind::OffsetDatetime,
            ValueKind::Time,
        ] {
            assert!(!kind.display_name("en").starts_with("policy."));
            assert!(!kind.display_name("zh-CN").starts_with("policy."));
        }
        assert_eq!(WeekdayName::Fri.display_name("zh-CN"), "星期五");
        assert_eq!(WeekdayName::Fri.display_name("en"), "Friday");
    }

    #[test]
    fn issues_serialize_with_a_code() {
        let issue = PolicyIssue {
            line: Some(2),
            column: Some(3),
            field: "numbering.formats.complaint".into(),
            kind: PolicyIssueKind::BadNumberFormat {
                error: NumberFormatError::MissingSeq,
            },
        };
        let json = serde_json::to_value(&issue).unwrap();
        assert_eq!(json["kind"]["code"], "bad_number_format");
        assert_eq!(json["kind"]["error"]["code"], "missing_seq");
        assert_eq!(json["line"], 2);
    }

    #[test]
    fn weekday_names_map_to_chrono_and_back() {
        for day in [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ] {
            let name = WeekdayName::from_chrono(day);
            assert_eq!(name.to_chrono(), day);
            assert_eq!(
                serde_json::to_value(name).unwrap(),
                serde_json::Value::from(name.as_str())
            );
        }
    }
}

pub mod api;
pub mod pages;
pub mod store;
