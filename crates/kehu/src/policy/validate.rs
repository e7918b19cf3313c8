//! Semantic rules of the policy: what the types cannot say. Each rule reports the field path of
//! the offending value; the loader turns paths into lines. One function per section, so a new
//! section adds one function and one call in [`validate`].

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::check::FieldPath;
use rust_decimal::Decimal;

use super::{
    BackupPolicy, CUSTOMER_FIELDS, CalendarPolicy, ConsignmentPolicy, CustodyPolicy,
    CustomerPolicy, LimitsPolicy, LocalePolicy, LocationPurpose, Meta, NumberingPolicy, Policy,
    PolicyIssueKind, PropertyPolicy, SUPPORTED_LANGUAGES, SecurityPolicy, WeekdayName, parse_hhmm,
    parse_utc_offset,
};
use crate::platform::number_format::NumberFormat;

type Issues = Vec<(FieldPath, PolicyIssueKind)>;

/// The role names a policy may list.
const ROLES: &[&str] = &[
    "admin",
    "sales_manager",
    "sales_rep",
    "customer_service",
    "quality",
    "warehouse",
    "engineering",
    "finance",
    "executive",
];

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| (*n).to_owned()).collect()
}

fn role(value: &str, at: FieldPath, issues: &mut Issues) {
    if !ROLES.contains(&value) {
        issues.push((
            at,
            PolicyIssueKind::UnknownName {
                value: value.to_owned(),
                allowed: names(ROLES),
            },
        ));
    }
}

/// A code, a Chinese and an English name, none empty, the code unique in its list.
fn coded<'a>(
    items: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
    path: &FieldPath,
    issues: &mut Issues,
) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (code, zh, en)) in items.enumerate() {
        let at = path.index(i);
        for (key, text) in [("code", code), ("zh", zh), ("en", en)] {
            if text.trim().is_empty() {
                issues.push((at.key(key), PolicyIssueKind::EmptyText));
            }
        }
        if let Some(first) = seen.insert(code, i) {
            issues.push((
                at.key("code"),
                PolicyIssueKind::DuplicateCode {
                    value: code.to_owned(),
                    first: path.index(first).to_string(),
                },
            ));
        }
    }
}

fn property(p: &PropertyPolicy, path: &FieldPath, issues: &mut Issues) {
    for (name, value) in [
        ("idle_months", p.idle_months),
        ("usage_warn_percent", p.usage_warn_percent),
    ] {
        if value == 0 {
            issues.push((path.key(name), PolicyIssueKind::MustBePositive { value: 0 }));
        }
    }
    for (list, roles) in [
        ("sales_roles", &p.sales_roles),
        ("warehouse_roles", &p.warehouse_roles),
        ("abnormality_roles", &p.abnormality_roles),
        ("count_approver_roles", &p.count_approver_roles),
    ] {
        for (i, r) in roles.iter().enumerate() {
            role(r, path.key(list).index(i), issues);
        }
    }
    if p.kinds.is_empty() {
        issues.push((path.key("kinds"), PolicyIssueKind::EmptyList));
    }
    coded(
        p.kinds
            .iter()
            .map(|k| (k.code.as_str(), k.zh.as_str(), k.en.as_str())),
        &path.key("kinds"),
        issues,
    );
    for (i, k) in p.kinds.iter().enumerate() {
        role(
            &k.verifier_role,
            path.key("kinds").index(i).key("verifier_role"),
            issues,
        );
    }
    coded(
        p.locations
            .iter()
            .map(|l| (l.code.as_str(), l.zh.as_str(), l.en.as_str())),
        &path.key("locations"),
        issues,
    );
    // Every step of the lifecycle needs somewhere to put the goods.
    for purpose in [
        LocationPurpose::Pending,
        LocationPurpose::Storage,
        LocationPurpose::Isolation,
    ] {
        if p.first_location(purpose).is_none() {
            issues.push((
                path.key("locations"),
                PolicyIssueKind::InvalidValue {
                    detail: format!(
                        "needs at least one location with purpose = \"{}\"",
                        serde_json::to_value(purpose)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    ),
                },
            ));
        }
    }
}

/// Every semantic issue of `policy`, in document order.
pub(crate) fn validate(policy: &Policy) -> Issues {
    let root = FieldPath::root();
    let mut issues = Vec::new();
    meta(&policy.meta, &root.key("meta"), &mut issues);
    locale(&policy.locale, &root.key("locale"), &mut issues);
    security(&policy.security, &root.key("security"), &mut issues);
    limits(&policy.limits, &root.key("limits"), &mut issues);
    backup(&policy.backup, &root.key("backup"), &mut issues);
    numbering(&policy.numbering, &root.key("numbering"), &mut issues);
    calendar(&policy.calendar, &root.key("calendar"), &mut issues);
    customers(&policy.customers, &root.key("customers"), &mut issues);
    property(&policy.property, &root.key("property"), &mut issues);
    consignment(&policy.consignment, &root.key("consignment"), &mut issues);
    custody(&policy.custody, &root.key("custody"), &mut issues);
    issues
}

/// Decimal places a ratio may have (ten-thousandths, 0.01 %).
pub(crate) const RATIO_DECIMALS: u32 = 4;
/// Decimal places a daily late-fee rate may have (millionths).
pub(crate) const RATE_DECIMALS: u32 = 6;
/// The longest agreement term a default may propose, in months.
const MAX_TERM_MONTHS: u32 = 120;
/// The earliest a reminder may start, in days before an end.
const MAX_REMIND_DAYS: u32 = 366;

fn decimal_in(
    value: Decimal,
    (min, max): (Decimal, Decimal),
    decimals: u32,
    path: FieldPath,
    issues: &mut Issues,
) {
    if value < min || value > max {
        issues.push((
            path,
            PolicyIssueKind::OutOfRange {
                value: value.to_string(),
                min: min.to_string(),
                max: max.to_string(),
            },
        ));
    } else if value.normalize().scale() > decimals {
        issues.push((path, PolicyIssueKind::TooManyDecimals { max: decimals }));
    }
}

fn count_in(value: u32, (min, max): (u32, u32), path: FieldPath, issues: &mut Issues) {
    if value < min || value > max {
        issues.push((
            path,
            PolicyIssueKind::OutOfRange {
                value: value.to_string(),
                min: min.to_string(),
                max: max.to_string(),
            },
        ));
    }
}

fn consignment(c: &ConsignmentPolicy, path: &FieldPath, issues: &mut Issues) {
    let unit = (Decimal::ZERO, Decimal::ONE);
    decimal_in(
        c.default_cost_ratio,
        unit,
        RATIO_DECIMALS,
        path.key("default_cost_ratio"),
        issues,
    );
    decimal_in(
        c.default_consignment_ratio,
        unit,
        RATIO_DECIMALS,
        path.key("default_consignment_ratio"),
        issues,
    );
    count_in(
        c.default_term_months,
        (1, MAX_TERM_MONTHS),
        path.key("default_term_months"),
        issues,
    );
    count_in(
        c.remind_days_before_end,
        (0, MAX_REMIND_DAYS),
        path.key("remind_days_before_end"),
        issues,
    );
}

fn custody(c: &CustodyPolicy, path: &FieldPath, issues: &mut Issues) {
    // A daily rate of 1 % is already 365 % a year: anything above is a typo.
    decimal_in(
        c.default_late_fee_rate,
        (Decimal::ZERO, Decimal::new(1, 2)),
        RATE_DECIMALS,
        path.key("default_late_fee_rate"),
        issues,
    );
    // Up to the 28th, so every month has the day.
    count_in(
        c.default_payment_due_day,
        (1, 28),
        path.key("default_payment_due_day"),
        issues,
    );
    count_in(
        c.default_term_months,
        (1, MAX_TERM_MONTHS),
        path.key("default_term_months"),
        issues,
    );
    count_in(
        c.remind_days_before_end,
        (0, MAX_REMIND_DAYS),
        path.key("remind_days_before_end"),
        issues,
    );
}

fn customers(c: &CustomerPolicy, path: &FieldPath, issues: &mut Issues) {
    let allowed = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    for (list, names) in [
        ("basic_fields", &c.basic_fields),
        ("full_fields", &c.full_fields),
    ] {
        for (i, name) in names.iter().enumerate() {
            if !CUSTOMER_FIELDS.contains(&name.as_str()) {
                issues.push((
                    path.key(list).index(i),
                    PolicyIssueKind::UnknownName {
                        value: name.clone(),
                        allowed: allowed(CUSTOMER_FIELDS),
                    },
                ));
            }
        }
    }
    for (name, value) in [
        ("basic_deadline_days", c.basic_deadline_days),
        ("full_deadline_days", c.full_deadline_days),
        ("attachment_max_mib", c.attachment_max_mib),
    ] {
        if value == 0 {
            issues.push((path.key(name), PolicyIssueKind::MustBePositive { value: 0 }));
        }
    }
    // An attachment travels in one request, which the server caps.
    let max_mib =
        u32::try_from(crate::platform::http::UPLOAD_LIMIT / (1024 * 1024) - 1).unwrap_or(u32::MAX);
    if c.attachment_max_mib > max_mib {
        count_in(
            c.attachment_max_mib,
            (1, max_mib),
            path.key("attachment_max_mib"),
            issues,
        );
    }
    if c.basic_deadline_days > c.full_deadline_days {
        issues.push((
            path.key("basic_deadline_days"),
            PolicyIssueKind::NotAbove {
                other: "customers.full_deadline_days".into(),
            },
        ));
    }
    for (list, names) in [
        ("read_all_roles", &c.read_all_roles),
        ("phone_roles", &c.phone_roles),
        ("export_roles", &c.export_roles),
        ("interaction_roles", &c.interaction_roles),
    ] {
        for (i, name) in names.iter().enumerate() {
            if !ROLES.contains(&name.as_str()) {
                issues.push((
                    path.key(list).index(i),
                    PolicyIssueKind::UnknownName {
                        value: name.clone(),
                        allowed: allowed(ROLES),
                    },
                ));
            }
        }
    }
    if c.attachment_types.is_empty() {
        issues.push((path.key("attachment_types"), PolicyIssueKind::EmptyList));
    }
    for list in [
        "types",
        "stages",
        "scales",
        "industries",
        "regions",
        "sources",
        "decision_roles",
        "interaction_kinds",
        "attachment_kinds",
    ] {
        let choices = c.choices(list);
        if choices.is_empty() {
            issues.push((path.key(list), PolicyIssueKind::EmptyList));
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, choice) in choices.iter().enumerate() {
            let at = path.key(list).index(i);
            if choice.code.trim().is_empty() {
                issues.push((at.key("code"), PolicyIssueKind::EmptyText));
            }
            for (key, text) in [("zh", &choice.zh), ("en", &choice.en)] {
                if text.trim().is_empty() {
                    issues.push((at.key(key), PolicyIssueKind::EmptyText));
                }
            }
            if let Some(first) = seen.insert(choice.code.as_str(), i) {
                issues.push((
                    at.key("code"),
                    PolicyIssueKind::DuplicateCode {
                        value: choice.code.clone(),
                        first: path.key(list).index(first).to_string(),
                    },
                ));
            }
        }
    }
}

fn meta(meta: &Meta, path: &FieldPath, issues: &mut Issues) {
    if meta.name.trim().is_empty() {
        issues.push((path.key("name"), PolicyIssueKind::EmptyText));
    }
}

fn locale(locale: &LocalePolicy, path: &FieldPath, issues: &mut Issues) {
    if !SUPPORTED_LANGUAGES.contains(&locale.default_language.as_str()) {
        issues.push((
            path.key("default_language"),
            PolicyIssueKind::UnknownLanguage {
                value: locale.default_language.clone(),
            },
        ));
    }
    if parse_utc_offset(&locale.timezone).is_none() {
        issues.push((
            path.key("timezone"),
            PolicyIssueKind::BadTimezone {
                value: locale.timezone.clone(),
            },
        ));
    }
}

fn security(security: &SecurityPolicy, path: &FieldPath, issues: &mut Issues) {
    // `api_token_days` may be 0 (never expires); every other count must be positive, since 0
    // would lock everyone out or end every session at once.
    let positive = [
        ("login_max_failures", security.login_max_failures),
        (
            "login_max_failures_per_address",
            security.login_max_failures_per_address,
        ),
        ("login_window_minutes", security.login_window_minutes),
        ("login_lockout_minutes", security.login_lockout_minutes),
        ("session_hours", security.session_hours),
        ("session_idle_minutes", security.session_idle_minutes),
        ("password_min_length", security.password_min_length),
    ];
    for (name, value) in positive {
        must_be_positive(i64::from(value), path.key(name), issues);
    }
    count_in(
        u32::from(security.password_min_score),
        (0, 4),
        path.key("password_min_score"),
        issues,
    );
    count_in(
        security.login_address_delay_max_seconds,
        (1, 600),
        path.key("login_address_delay_max_seconds"),
        issues,
    );
    count_in(
        security.login_address_delay_seconds,
        (1, security.login_address_delay_max_seconds.max(1)),
        path.key("login_address_delay_seconds"),
        issues,
    );
}

fn limits(limits: &LimitsPolicy, path: &FieldPath, issues: &mut Issues) {
    // The upper ends are what one request may carry at all (the server's body limit) and what
    // Excel itself can hold.
    let max_file_mib =
        u32::try_from(crate::platform::http::UPLOAD_LIMIT / (1024 * 1024)).unwrap_or(u32::MAX);
    count_in(
        limits.text_max_chars,
        (100, 1_000_000),
        path.key("text_max_chars"),
        issues,
    );
    count_in(
        limits.import_max_file_mib,
        (1, max_file_mib),
        path.key("import_max_file_mib"),
        issues,
    );
    count_in(
        limits.import_max_inflated_mib,
        (1, 4096),
        path.key("import_max_inflated_mib"),
        issues,
    );
    count_in(
        limits.import_max_rows,
        (1, 1_048_575),
        path.key("import_max_rows"),
        issues,
    );
    count_in(
        limits.list_count_cap,
        (100, 10_000_000),
        path.key("list_count_cap"),
        issues,
    );
}

fn backup(backup: &BackupPolicy, path: &FieldPath, issues: &mut Issues) {
    if backup.time_of_day().is_none() {
        issues.push((
            path.key("time"),
            PolicyIssueKind::BadTime {
                value: backup.time.clone(),
            },
        ));
    }
    if backup.directory.trim().is_empty() {
        issues.push((path.key("directory"), PolicyIssueKind::EmptyText));
    }
    // At least one backup is kept, and a year of daily ones at most.
    count_in(backup.keep, (1, 366), path.key("keep"), issues);
}

fn must_be_positive(value: i64, path: FieldPath, issues: &mut Issues) {
    if value <= 0 {
        issues.push((path, PolicyIssueKind::MustBePositive { value }));
    }
}

fn numbering(numbering: &NumberingPolicy, path: &FieldPath, issues: &mut Issues) {
    let formats = path.key("formats");
    for (kind, format) in &numbering.formats {
        if let Err(error) = NumberFormat::parse(format) {
            issues.push((
                formats.key(kind),
                PolicyIssueKind::BadNumberFormat { error },
            ));
        }
    }
}

fn calendar(calendar: &CalendarPolicy, path: &FieldPath, issues: &mut Issues) {
    let mut weekend_seen = [false; 7];
    for (i, day) in calendar.weekend.iter().enumerate() {
        let slot = &mut weekend_seen[day.to_chrono().num_days_from_monday() as usize];
        if *slot {
            issues.push((
                path.key("weekend").index(i),
                PolicyIssueKind::DuplicateWeekday { weekday: *day },
            ));
        }
        *slot = true;
    }
    if weekend_seen.iter().all(|&w| w) {
        issues.push((path.key("weekend"), PolicyIssueKind::NoWorkingWeekday));
    }

    let start = parse_hhmm(&calendar.work_start);
    let end = parse_hhmm(&calendar.work_end);
    for (name, value, parsed) in [
        ("work_start", &calendar.work_start, start),
        ("work_end", &calendar.work_end, end),
    ] {
        if parsed.is_none() {
            issues.push((
                path.key(name),
                PolicyIssueKind::BadTime {
                    value: value.clone(),
                },
            ));
        }
    }
    if let (Some(start), Some(end)) = (start, end)
        && start >= end
    {
        issues.push((
            path.key("work_end"),
            PolicyIssueKind::WorkHoursOrder {
                start: calendar.work_start.clone(),
                end: calendar.work_end.clone(),
            },
        ));
    }

    // Dates: unique within each list, never in both lists, make-up workdays only on weekends.
    let mut holidays: BTreeMap<NaiveDate, FieldPath> = BTreeMap::new();
    for (i, day) in calendar.holidays.iter().enumerate() {
        let at = path.key("holidays").index(i);
        if let Some(first) = holidays.get(&day.date) {
            issues.push((
                at.key("date"),
                PolicyIssueKind::DuplicateDate {
                    date: day.date,
                    first: first.to_string(),
                },
            ));
        } else {
            holidays.insert(day.date, at);
        }
    }
    let mut workdays: BTreeMap<NaiveDate, FieldPath> = BTreeMap::new();
    for (i, day) in calendar.workdays.iter().enumerate() {
        let at = path.key("workdays").index(i);
        if let Some(first) = workdays.get(&day.date) {
            issues.push((
                at.key("date"),
                PolicyIssueKind::DuplicateDate {
                    date: day.date,
                    first: first.to_string(),
                },
            ));
            continue;
        }
        if let Some(holiday) = holidays.get(&day.date) {
            issues.push((
                at.key("date"),
                PolicyIssueKind::HolidayAndWorkday {
                    date: day.date,
                    holiday: holiday.to_string(),
                },
            ));
        }
        let weekday = day.date.weekday();
        if !weekend_seen[weekday.num_days_from_monday() as usize] {
            issues.push((
                at.key("date"),
                PolicyIssueKind::WorkdayNotWeekend {
                    date: day.date,
                    weekday: WeekdayName::from_chrono(weekday),
                },
            ));
        }
        workdays.insert(day.date, at);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::policy::{CalendarDay, PolicyIssue};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> CalendarDay {
        CalendarDay {
            date: date(y, m, d),
            name: "x".into(),
        }
    }

    fn fields(policy: &Policy) -> Vec<(String, PolicyIssueKind)> {
        validate(policy)
            .into_iter()
            .map(|(path, kind)| (path.to_string(), kind))
            .collect()
    }

    #[test]
    fn the_default_policy_has_no_semantic_issue() {
        assert!(validate(&Policy::default_policy()).is_empty());
    }

    #[test]
    fn zero_counts_are_rejected_but_zero_token_days_mean_forever() {
        let mut p = Policy::default_policy();
        p.security.login_max_failures = 0;
        p.security.session_idle_minutes = 0;
        p.security.api_token_days = 0;
        assert_eq!(
            fields(&p),
            vec![
                (
                    "security.login_max_failures".to_owned(),
                    PolicyIssueKind::MustBePositive { value: 0 }
                ),
                (
                    "security.session_idle_minutes".to_owned(),
                    PolicyIssueKind::MustBePositive { value: 0 }
                ),
            ]
        );
    }

    #[test]
    fn language_timezone_and_name() {
        let mut p = Policy::default_policy();
        p.meta.name = "  ".into();
        p.locale.default_language = "zh".into();
        p.locale.timezone = "Asia/Shanghai".into();
        let got: Vec<_> = fields(&p).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            got,
            ["meta.name", "locale.default_language", "locale.timezone"]
        );
        for tz in [
            "+8:00",
            "08:00",
            "+08:00:00",
            "+15:00",
            "+14:30",
            "+08:60",
            "",
        ] {
            p.locale.timezone = tz.into();
            assert!(
                fields(&p).iter().any(|(f, _)| f == "locale.timezone"),
                "{tz}"
            );
        }
        for tz in ["+08:00", "-05:00", "+00:00", "+14:00", "-03:30", "+05:45"] {
            p.locale.timezone = tz.into();
            assert!(
                !fields(&p).iter().any(|(f, _)| f == "locale.timezone"),
                "{tz}"
            );
        }
    }

    #[test]
    fn bad_number_formats_name_their_kind() {
        let mut p = Policy::default_policy();
        p.numbering
            .formats
            .insert("complaint".into(), "KS-{YYYYMM}-{seq:4".into());
        let got = fields(&p);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "numbering.formats.complaint");
        assert!(matches!(got[0].1, PolicyIssueKind::BadNumberFormat { .. }));
    }

    #[test]
    fn working_hours_must_parse_and_be_in_order() {
        let mut p = Policy::default_policy();
        p.calendar.work_start = "8.30".into();
        p.calendar.work_end = "25:00".into();
        let got: Vec<_> = fields(&p).into_iter().map(|(f, _)| f).collect();
        assert_eq!(got, ["calendar.work_start", "calendar.work_end"]);
        p.calendar.work_start = "17:30".into();
        p.calendar.work_end = "17:30".into();
        assert_eq!(
            fields(&p),
            vec![(
                "calendar.work_end".to_owned(),
                PolicyIssueKind::WorkHoursOrder {
                    start: "17:30".into(),
                    end: "17:30".into()
                }
            )]
        );
    }

    #[test]
    fn weekend_may_not_repeat_or_cover_the_week() {
        let mut p = Policy::default_policy();
        p.calendar.weekend = vec![WeekdayName::Sat, WeekdayName::Sun, WeekdayName::Sat];
        assert_eq!(
            fields(&p),
            vec![(
                "calendar.weekend[2]".to_owned(),
                PolicyIssueKind::DuplicateWeekday {
                    weekday: WeekdayName::Sat
                }
            )]
        );
        p.calendar.weekend = [
            WeekdayName::Mon,
            WeekdayName::Tue,
            WeekdayName::Wed,
            WeekdayName::Thu,
            WeekdayName::Fri,
            WeekdayName::Sat,
            WeekdayName::Sun,
        ]
        .to_vec();
        p.calendar.workdays.clear();
        assert_eq!(
            fields(&p),
            vec![(
                "calendar.weekend".to_owned(),
                PolicyIssueKind::NoWorkingWeekday
            )]
        );
    }

    #[test]
    fn calendar_dates_are_unique_exclusive_and_make_up_days_fall_on_weekends() {
        let mut p = Policy::default_policy();
        p.calendar.holidays = vec![day(2026, 1, 1), day(2026, 1, 1), day(2026, 1, 3)];
        p.calendar.workdays = vec![
            day(2026, 1, 4), // Sunday: fine
            day(2026, 1, 4), // listed twice
            day(2026, 1, 3), // Saturday, but also a holiday
            day(2026, 1, 5), // Monday: a working day anyway
        ];
        assert_eq!(
            fields(&p),
            vec![
                (
                    "calendar.holidays[1].date".to_owned(),
                    PolicyIssueKind::DuplicateDate {
                        date: date(2026, 1, 1),
                        first: "calendar.holidays[0]".into()
                    }
                ),
                (
                    "calendar.workdays[1].date".to_owned(),
                    PolicyIssueKind::DuplicateDate {
                        date: date(2026, 1, 4),
                        first: "calendar.workdays[0]".into()
                    }
                ),
                (
                    "calendar.workdays[2].date".to_owned(),
                    PolicyIssueKind::HolidayAndWorkday {
                        date: date(2026, 1, 3),
                        holiday: "calendar.holidays[2]".into()
                    }
                ),
                (
                    "calendar.workdays[3].date".to_owned(),
                    PolicyIssueKind::WorkdayNotWeekend {
                        date: date(2026, 1, 5),
                        weekday: WeekdayName::Mon
                    }
                ),
            ]
        );
    }

    #[test]
    fn calendar_issues_carry_lines_when_loaded_from_a_file() {
        // A make-up workday moved onto a weekday, and a holiday listed twice.
        let text = crate::policy::DEFAULT_POLICY_TOML
            .replace(
                "date = 2026-05-09\nname = \"劳动节调休上班\"",
                "date = 2026-05-08\nname = \"劳动节调休上班\"",
            )
            .replace(
                "date = 2026-04-06\nname = \"清明节\"",
                "date = 2026-04-05\nname = \"清明节\"",
            );
        let issues: Vec<PolicyIssue> = Policy::from_toml(&text).unwrap_err();
        let line = |needle: &str| text.lines().position(|l| l == needle).unwrap() + 1;
        assert_eq!(issues.len(), 2, "{issues:#?}");
        assert_eq!(issues[0].line, Some(line("date = 2026-04-05") + 4));
        assert_eq!(issues[0].field, "calendar.holidays[14].date");
        assert_eq!(
            issues[0].message("en"),
            "2026-04-05 is listed twice (first at calendar.holidays[13])"
        );
        assert_eq!(issues[1].line, Some(line("date = 2026-05-08")));
        assert_eq!(
            issues[1].message("zh-CN"),
            "调休上班日 2026-05-08 是星期五，本来就是工作日；调休上班日必须在周末"
        );
    }
}

#[cfg(test)]
mod customer_tests {
    use super::super::{Policy, PolicyIssueKind};

    fn issues_of(edit: impl Fn(&mut Policy)) -> Vec<(String, PolicyIssueKind)> {
        let mut p = Policy::default_policy();
        edit(&mut p);
        super::validate(&p)
            .into_iter()
            .map(|(path, kind)| (path.to_string(), kind))
            .collect()
    }

    #[test]
    fn the_default_customer_section_reproduces_the_seed() {
        let c = Policy::default_policy().customers;
        // 客户基本信息 2–3 个工作日内填齐，其余 15 个工作日内。
        assert_eq!((c.basic_deadline_days, c.full_deadline_days), (3, 15));
        let types: Vec<&str> = c.types.iter().map(|t| t.zh.as_str()).collect();
        assert!(
            types.contains(&"经销商")
                && types.contains(&"直供厂家")
                && types.contains(&"终端消费者")
        );
        let stages: Vec<&str> = c.stages.iter().map(|t| t.code.as_str()).collect();
        assert_eq!(stages, ["potential", "new", "active", "dormant", "lost"]);
    }

    #[test]
    fn customer_rules_are_checked() {
        let found = issues_of(|p| {
            p.customers.basic_fields.push("favourite_colour".into());
            p.customers.basic_deadline_days = 20;
            p.customers.read_all_roles.push("boss".into());
            let dup = p.customers.stages[0].clone();
            p.customers.stages.push(dup);
            p.customers.regions.clear();
        });
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert!(fields.contains(&"customers.basic_fields[5]"), "{found:?}");
        assert!(
            fields.contains(&"customers.basic_deadline_days"),
            "{found:?}"
        );
        assert!(fields.contains(&"customers.read_all_roles[7]"), "{found:?}");
        assert!(fields.contains(&"customers.stages[5].code"), "{found:?}");
        assert!(fields.contains(&"customers.regions"), "{found:?}");
        assert_eq!(found.len(), 5, "{found:?}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod agreement_tests {
    use rust_decimal::Decimal;

    use super::super::{FeeDue, Policy, PolicyIssueKind, Rounding};

    fn issues_of(edit: impl Fn(&mut Policy)) -> Vec<(String, PolicyIssueKind)> {
        let mut p = Policy::default_policy();
        edit(&mut p);
        super::validate(&p)
            .into_iter()
            .map(|(path, kind)| (path.to_string(), kind))
            .collect()
    }

    #[test]
    fn the_default_sections_carry_the_documented_numbers() {
        let p = Policy::default_policy();
        let c = &p.consignment;
        assert_eq!(c.default_cost_ratio, Decimal::new(60, 2));
        assert_eq!(c.default_consignment_ratio, Decimal::new(10, 2));
        assert_eq!(c.commission_rounding, Rounding::HalfUp);
        assert_eq!((c.default_term_months, c.remind_days_before_end), (12, 15));
        let k = &p.custody;
        assert_eq!(k.default_late_fee_rate, Decimal::new(5, 4));
        assert_eq!(k.default_payment_due_day, 10);
        assert_eq!(k.fee_due, FeeDue::NextMonth);
        assert_eq!(k.late_fee_rounding, Rounding::HalfUp);
        assert_eq!((k.default_term_months, k.remind_days_before_end), (12, 7));
        for (kind, format) in [
            ("consignment_agreement", "JSXY-{YYYY}-{seq:4}"),
            ("consignment_statement", "JS-{YYYYMM}-{seq:4}"),
            ("custody_agreement", "JYXY-{YYYY}-{seq:4}"),
        ] {
            assert_eq!(p.number_format(kind).unwrap().as_str(), format);
        }
    }

    #[test]
    fn ratios_rates_and_days_are_checked() {
        let found = issues_of(|p| {
            p.consignment.default_cost_ratio = Decimal::new(11, 1);
            p.consignment.default_consignment_ratio = Decimal::new(12345, 5);
            p.consignment.default_term_months = 0;
            p.custody.default_late_fee_rate = Decimal::new(-1, 4);
            p.custody.default_payment_due_day = 31;
            p.custody.remind_days_before_end = 400;
        });
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "consignment.default_cost_ratio",
                "consignment.default_consignment_ratio",
                "consignment.default_term_months",
                "custody.default_late_fee_rate",
                "custody.default_payment_due_day",
                "custody.remind_days_before_end",
            ]
        );
        assert_eq!(found[1].1, PolicyIssueKind::TooManyDecimals { max: 4 });
        assert_eq!(
            found[4].1,
            PolicyIssueKind::OutOfRange {
                value: "31".into(),
                min: "1".into(),
                max: "28".into()
            }
        );
    }

    #[test]
    fn a_policy_written_before_agreements_still_loads_with_the_default_sections() {
        let text = crate::policy::DEFAULT_POLICY_TOML;
        let cut = text.find("\n# 寄售（寄售工作规章制度）").unwrap();
        let old = &text[..cut];
        assert!(!old.contains("[consignment]") && !old.contains("[custody]"));
        let p = Policy::from_toml(old).unwrap();
        assert_eq!(p.consignment, Policy::default_policy().consignment);
        assert_eq!(p.custody, Policy::default_policy().custody);
    }

    #[test]
    fn ratios_are_text_and_a_float_or_an_unknown_rounding_is_refused_with_its_line() {
        let text = crate::policy::DEFAULT_POLICY_TOML
            .replace("default_cost_ratio = \"0.60\"", "default_cost_ratio = 0.6")
            .replace(
                "late_fee_rounding = \"half_up\"",
                "late_fee_rounding = \"nearest\"",
            );
        let found = Policy::from_toml(&text).unwrap_err();
        assert_eq!(found[0].field, "consignment.default_cost_ratio");
        assert!(matches!(found[0].kind, PolicyIssueKind::WrongType { .. }));
        let line = text
            .lines()
            .position(|l| l == "default_cost_ratio = 0.6")
            .unwrap()
            + 1;
        assert_eq!(found[0].line, Some(line));
    }

    #[test]
    fn rounding_strategies_round_to_the_fen() {
        let x = Decimal::new(4005, 3); // 4.005
        assert_eq!(Rounding::HalfUp.round(x, 2), Decimal::new(401, 2));
        assert_eq!(Rounding::HalfEven.round(x, 2), Decimal::new(400, 2));
        assert_eq!(
            Rounding::Down.round(Decimal::new(4009, 3), 2),
            Decimal::new(400, 2)
        );
        assert_eq!(
            Rounding::Up.round(Decimal::new(4001, 3), 2),
            Decimal::new(401, 2)
        );
    }
}
