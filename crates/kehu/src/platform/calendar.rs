//! The working-day calendar (工作日历): which days are worked, and deadline arithmetic on them.
//!
//! Chinese public holidays move every year and come with make-up working days (调休上班) on
//! weekends, so none of this is code: weekend days, holidays and make-up workdays all come from
//! the policy's `[calendar]` section. A make-up workday beats a holiday, which beats the weekend.
//!
//! Days are local days in the policy's fixed UTC offset (China has no DST), so "end of the
//! working day" means `work_end` on the wall clock of the company, whatever the server's zone.

use std::collections::BTreeMap;

use chrono::{
    DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta,
    TimeZone, Utc,
};

use crate::policy::{CalendarPolicy, parse_hhmm};

/// A working-day calendar built from the policy; cheap to build, so build one per use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    /// `weekend[d]` for `d` = days from Monday.
    weekend: [bool; 7],
    holidays: BTreeMap<NaiveDate, String>,
    workdays: BTreeMap<NaiveDate, String>,
    work_start: NaiveTime,
    work_end: NaiveTime,
    tz: FixedOffset,
    /// The last holiday or make-up workday. After it the calendar repeats every week, which lets
    /// long spans be counted a week at a time instead of a day at a time.
    last_special: Option<NaiveDate>,
}

/// Default working hours, used only if a calendar is built from an unvalidated policy whose hours
/// do not parse or are not in order (policy validation rejects those).
const FALLBACK_WORK_START: NaiveTime = NaiveTime::from_hms_opt(8, 30, 0).expect("valid time");
const FALLBACK_WORK_END: NaiveTime = NaiveTime::from_hms_opt(17, 30, 0).expect("valid time");

impl WorkCalendar {
    /// Builds the calendar of `policy` in the time zone `tz`.
    ///
    /// The policy is expected to be validated. If it is not, the calendar still never misbehaves:
    /// unparsable or reversed working hours fall back to 08:30–17:30, and a weekend covering all
    /// seven days is ignored (otherwise no day would ever be a working day).
    pub fn new(policy: &CalendarPolicy, tz: FixedOffset) -> WorkCalendar {
        let mut weekend = [false; 7];
        for day in &policy.weekend {
            weekend[day.to_chrono().num_days_from_monday() as usize] = true;
        }
        if weekend.iter().all(|&w| w) {
            weekend = [false; 7];
        }
        let (work_start, work_end) =
            match (parse_hhmm(&policy.work_start), parse_hhmm(&policy.work_end)) {
                (Some(start), Some(end)) if start < end => (start, end),
                _ => (FALLBACK_WORK_START, FALLBACK_WORK_END),
            };
        let holidays: BTreeMap<_, _> = policy
            .holidays
            .iter()
            .map(|d| (d.date, d.name.clone()))
            .collect();
        let workdays: BTreeMap<_, _> = policy
            .workdays
            .iter()
            .map(|d| (d.date, d.name.clone()))
            .collect();
        let last_special = holidays
            .keys()
            .next_back()
            .copied()
            .max(workdays.keys().next_back().copied());
        WorkCalendar {
            weekend,
            holidays,
            workdays,
            work_start,
            work_end,
            tz,
            last_special,
        }
    }

    /// The fixed UTC offset the calendar's days are counted in.
    pub fn timezone(&self) -> FixedOffset {
        self.tz
    }

    /// Start of the working day (local wall-clock time).
    pub fn work_start(&self) -> NaiveTime {
        self.work_start
    }

    /// End of the working day (local wall-clock time); deadlines in working days end here.
    pub fn work_end(&self) -> NaiveTime {
        self.work_end
    }

    /// The holiday's name if `d` is a configured holiday (e.g. "国庆节").
    pub fn holiday_name(&self, d: NaiveDate) -> Option<&str> {
        self.holidays.get(&d).map(String::as_str)
    }

    /// The make-up workday's name if `d` is a configured make-up workday (调休上班).
    pub fn workday_name(&self, d: NaiveDate) -> Option<&str> {
        self.workdays.get(&d).map(String::as_str)
    }

    /// A make-up workday is worked; a holiday is not; otherwise every day but the weekend is.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains_key(&d) {
            true
        } else if self.holidays.contains_key(&d) {
            false
        } else {
            !self.weekend[d.weekday().num_days_from_monday() as usize]
        }
    }

    /// The deadline "within `days` working days" of `from`: the end of working hours (`work_end`,
    /// local time) of the `days`-th working day strictly after `from`'s local date.
    ///
    /// `days = 0` means "today": the end of `from`'s own day if it is a working day, else of the
    /// next working day. Note this can be earlier than `from` (a request logged at 20:00 with a
    /// same-day deadline is already due), which is what a same-day rule means.
    pub fn working_days_due(&self, from: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let start = self.local(from).date();
        let due = if days == 0 {
            if self.is_working_day(start) {
                Some(start)
            } else {
                self.next_working_day(start)
            }
        } else {
            self.nth_working_day_after(start, days)
        };
        match due {
            Some(day) => self.to_utc(day.and_time(self.work_end)),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }

    /// `from` plus `hours` of working time: only time inside `[work_start, work_end)` on working
    /// days counts. If `from` is outside working time, counting starts at the next working-time
    /// start (so `hours = 0` yields that start). A deadline that uses up a day exactly ends at that
    /// day's `work_end`, not at the next day's start.
    pub fn add_working_hours(&self, from: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
        match self.add_working_seconds(self.local(from), i64::from(hours) * 3600) {
            Some(local) => self.to_utc(local),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }

    /// `from` plus `hours` of wall-clock time, for SLAs counted in calendar hours.
    pub fn add_calendar_hours(&self, from: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
        from.checked_add_signed(TimeDelta::hours(i64::from(hours)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The number of working days in `(from, to]`; negative (the count in `(to, from]`) when `to`
    /// is before `from`, so "overdue by N working days" reads naturally.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        let per_week = self.working_days_per_week();
        let mut count = 0i64;
        let mut day = from;
        while day < to {
            if self.is_periodic_after(day) {
                // Whole weeks after the last special date hold `per_week` working days each.
                let weeks = (to - day).num_days() / 7;
                if weeks > 0 {
                    count += weeks * per_week;
                    match day.checked_add_days(Days::new(weeks.unsigned_abs() * 7)) {
                        Some(next) => day = next,
                        None => break,
                    }
                    continue;
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
            if self.is_working_day(day) {
                count += 1;
            }
        }
        count
    }

    fn working_days_per_week(&self) -> i64 {
        // `new` guarantees at least one working weekday.
        self.weekend.iter().filter(|&&w| !w).count() as i64
    }

    /// True when every day after `day` follows the plain weekly pattern.
    fn is_periodic_after(&self, day: NaiveDate) -> bool {
        self.last_special.is_none_or(|last| day >= last)
    }

    /// The first working day strictly after `day` (`None` only at the end of chrono's range).
    fn next_working_day(&self, day: NaiveDate) -> Option<NaiveDate> {
        let mut day = day.succ_opt()?;
        while !self.is_working_day(day) {
            day = day.succ_opt()?;
        }
        Some(day)
    }

    /// The `n`-th working day strictly after `day`.
    fn nth_working_day_after(&self, mut day: NaiveDate, mut n: u32) -> Option<NaiveDate> {
        let per_week = u32::try_from(self.working_days_per_week())
            .unwrap_or(1)
            .max(1);
        while n > 0 {
            if n > per_week && self.is_periodic_after(day) {
                // Jump whole weeks, leaving at least one day to find by stepping.
                let weeks = (n - 1) / per_week;
                day = day.checked_add_days(Days::new(u64::from(weeks) * 7))?;
                n -= weeks * per_week;
                continue;
            }
            day = self.next_working_day(day)?;
            n -= 1;
        }
        Some(day)
    }

    /// The first instant at or after `t` that is inside working time.
    fn clamp_to_working_time(&self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        let day = t.date();
        if self.is_working_day(day) {
            if t.time() < self.work_start {
                return Some(day.and_time(self.work_start));
            }
            if t.time() < self.work_end {
                return Some(t);
            }
        }
        Some(self.next_working_day(day)?.and_time(self.work_start))
    }

    fn add_working_seconds(&self, from: NaiveDateTime, seconds: i64) -> Option<NaiveDateTime> {
        let day_secs = (self.work_end - self.work_start).num_seconds();
        let week_secs = day_secs * self.working_days_per_week();
        let mut cursor = self.clamp_to_working_time(from)?;
        let mut remaining = seconds;
        loop {
            // Strictly after the last special date: the cursor's own day must follow the weekly
            // pattern too, or the same time a week later might not be working time.
            if remaining > week_secs && self.last_special.is_none_or(|last| cursor.date() > last) {
                // Same weekday and time a whole week later is exactly one week of working time.
                let weeks = (remaining - 1) / week_secs;
                cursor = cursor.checked_add_days(Days::new(weeks.unsigned_abs() * 7))?;
                remaining -= weeks * week_secs;
            }
            let available = (cursor.date().and_time(self.work_end) - cursor).num_seconds();
            if remaining <= available {
                return cursor.checked_add_signed(TimeDelta::seconds(remaining));
            }
            remaining -= available;
            cursor = self
                .next_working_day(cursor.date())?
                .and_time(self.work_start);
        }
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.tz).naive_local()
    }

    fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&local).single() {
            Some(t) => t.with_timezone(&Utc),
            // Only at the very ends of chrono's range: saturate rather than fail.
            None if local.year() > 0 => DateTime::<Utc>::MAX_UTC,
            None => DateTime::<Utc>::MIN_UTC,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::policy::{CalendarDay, Policy, WeekdayName};
    use proptest::prelude::*;

    fn cal() -> WorkCalendar {
        Policy::default_policy().calendar()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A UTC instant from a +08:00 wall-clock time.
    fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn plain_policy() -> CalendarPolicy {
        CalendarPolicy {
            weekend: vec![WeekdayName::Sat, WeekdayName::Sun],
            work_start: "08:30".into(),
            work_end: "17:30".into(),
            holidays: vec![],
            workdays: vec![],
        }
    }

    #[test]
    fn shipped_2026_calendar_follows_the_state_council_notice() {
        let c = cal();
        // Make-up workdays (调休上班), all on weekends.
        for (m, d) in [(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)] {
            assert!(c.is_working_day(date(2026, m, d)), "2026-{m}-{d}");
            assert!(c.workday_name(date(2026, m, d)).is_some());
        }
        // Holidays, including the weekdays inside them.
        for (m, d) in [
            (1, 1),
            (1, 2),
            (2, 16),
            (2, 23),
            (4, 6),
            (5, 5),
            (6, 19),
            (9, 25),
        ] {
            assert!(!c.is_working_day(date(2026, m, d)), "2026-{m}-{d}");
        }
        for d in 1..=7 {
            assert!(!c.is_working_day(date(2026, 10, d)));
            assert_eq!(c.holiday_name(date(2026, 10, d)), Some("国庆节"));
        }
        // Plain days.
        assert!(c.is_working_day(date(2026, 1, 5))); // Monday
        assert!(!c.is_working_day(date(2026, 1, 10))); // Saturday
        assert!(c.is_working_day(date(2026, 2, 24))); // Tuesday after 春节
    }

    #[test]
    fn shipped_2027_has_the_statutory_days() {
        let c = cal();
        for (m, d) in [
            (1, 1),
            (2, 5),
            (2, 8),
            (4, 5),
            (5, 3),
            (6, 9),
            (9, 15),
            (10, 1),
        ] {
            // 5-3 is a Monday and not statutory: it must stay a working day.
            assert_eq!(
                c.is_working_day(date(2027, m, d)),
                (m, d) == (5, 3),
                "2027-{m}-{d}"
            );
        }
    }

    #[test]
    fn three_working_days_skip_national_day_and_count_the_make_up_saturday() {
        let c = cal();
        // Thu 2026-09-30 10:00: Oct 1–7 off, then Thu 8, Fri 9, Sat 10 (make-up workday).
        assert_eq!(
            c.working_days_due(cst(2026, 9, 30, 10, 0), 3),
            cst(2026, 10, 10, 17, 30)
        );
        assert_eq!(
            c.working_days_due(cst(2026, 9, 30, 10, 0), 4),
            cst(2026, 10, 12, 17, 30)
        );
    }

    #[test]
    fn working_days_due_uses_the_local_date() {
        let c = cal();
        // 2026-01-05 23:30 +08:00 is still the 5th locally although it is the 5th 15:30 in UTC;
        // 2026-01-06 00:30 +08:00 is the 6th locally but the 5th in UTC.
        assert_eq!(
            c.working_days_due(cst(2026, 1, 5, 23, 30), 1),
            cst(2026, 1, 6, 17, 30)
        );
        assert_eq!(
            c.working_days_due(cst(2026, 1, 6, 0, 30), 1),
            cst(2026, 1, 7, 17, 30)
        );
    }

    #[test]
    fn zero_working_days_means_end_of_today_or_of_the_next_working_day() {
        let c = cal();
        assert_eq!(
            c.working_days_due(cst(2026, 1, 5, 9, 0), 0),
            cst(2026, 1, 5, 17, 30)
        );
        // Saturday → Monday; New Year holiday → the make-up Sunday Jan 4.
        assert_eq!(
            c.working_days_due(cst(2026, 1, 10, 9, 0), 0),
            cst(2026, 1, 12, 17, 30)
        );
        assert_eq!(
            c.working_days_due(cst(2026, 1, 1, 9, 0), 0),
            cst(2026, 1, 4, 17, 30)
        );
        // A working day's evening: due at that day's end, i.e. already due.
        assert_eq!(
            c.working_days_due(cst(2026, 1, 5, 20, 0), 0),
            cst(2026, 1, 5, 17, 30)
        );
    }

    #[test]
    fn spring_festival_2026_working_days() {
        let c = cal();
        assert!(c.is_working_day(date(2026, 2, 14))); // Saturday, make-up
        assert!(!c.is_working_day(date(2026, 2, 16)));
        // Fri Feb 13: Sat 14 (make-up) is the 1st, then Feb 15–23 off, Tue 24 is the 2nd.
        assert_eq!(
            c.working_days_due(cst(2026, 2, 13, 9, 0), 1),
            cst(2026, 2, 14, 17, 30)
        );
        assert_eq!(
            c.working_days_due(cst(2026, 2, 13, 9, 0), 2),
            cst(2026, 2, 24, 17, 30)
        );
        assert_eq!(
            c.working_days_between(date(2026, 2, 13), date(2026, 2, 24)),
            2
        );
    }

    #[test]
    fn sunday_january_4th_2026_is_a_working_day() {
        let c = cal();
        assert!(c.is_working_day(date(2026, 1, 4)));
        assert_eq!(date(2026, 1, 4).weekday(), chrono::Weekday::Sun);
        assert_eq!(
            c.working_days_between(date(2025, 12, 31), date(2026, 1, 5)),
            2
        );
    }

    #[test]
    fn working_hours_carry_over_a_night() {
        let c = cal();
        // Mon 16:30 + 3 h: 1 h left today, 2 h tomorrow → Tue 10:30.
        assert_eq!(
            c.add_working_hours(cst(2026, 1, 5, 16, 30), 3),
            cst(2026, 1, 6, 10, 30)
        );
        // Exactly the rest of the day ends at work_end, not at the next morning.
        assert_eq!(
            c.add_working_hours(cst(2026, 1, 5, 16, 30), 1),
            cst(2026, 1, 5, 17, 30)
        );
    }

    #[test]
    fn working_hours_carry_over_a_weekend() {
        let c = cal();
        // Fri 2026-01-09 15:30 + 4 h: 2 h Friday, weekend skipped, 2 h Monday → Mon 10:30.
        assert_eq!(
            c.add_working_hours(cst(2026, 1, 9, 15, 30), 4),
            cst(2026, 1, 12, 10, 30)
        );
        // Starting on Saturday: counting starts Monday 08:30.
        assert_eq!(
            c.add_working_hours(cst(2026, 1, 10, 11, 0), 2),
            cst(2026, 1, 12, 10, 30)
        );
        // Before hours and after hours.
        assert_eq!(
            c.add_working_hours(cst(2026, 1, 5, 6, 0), 1),
            cst(2026, 1, 5, 9, 30)
        );
        assert_eq!(
            c.add_working_hours(cst(2026, 1, 5, 18, 0), 1),
            cst(2026, 1, 6, 9, 30)
        );
        assert_eq!(
            c.add_working_hours(cst(2026, 1, 5, 18, 0), 0),
            cst(2026, 1, 6, 8, 30)
        );
        // 24 working hours from Thu 2026-09-24 09:00: 8.5 h Thu, Sep 25–27 holiday, Mon 28 9 h,
        // Tue 29 the remaining 6.5 h → Tue 15:00.
        assert_eq!(
            c.add_working_hours(cst(2026, 9, 24, 9, 0), 24),
            cst(2026, 9, 29, 15, 0)
        );
    }

    #[test]
    fn calendar_hours_ignore_the_calendar() {
        let c = cal();
        assert_eq!(
            c.add_calendar_hours(cst(2026, 9, 30, 10, 0), 24),
            cst(2026, 10, 1, 10, 0)
        );
        assert_eq!(
            c.add_calendar_hours(DateTime::<Utc>::MAX_UTC, 1),
            DateTime::<Utc>::MAX_UTC
        );
    }

    #[test]
    fn working_days_between_is_signed_and_half_open() {
        let c = cal();
        assert_eq!(
            c.working_days_between(date(2026, 1, 5), date(2026, 1, 5)),
            0
        );
        assert_eq!(
            c.working_days_between(date(2026, 1, 5), date(2026, 1, 6)),
            1
        );
        assert_eq!(
            c.working_days_between(date(2026, 1, 6), date(2026, 1, 5)),
            -1
        );
        // Sep 30 → Oct 10 holds Oct 8, 9, 10.
        assert_eq!(
            c.working_days_between(date(2026, 9, 30), date(2026, 10, 10)),
            3
        );
        assert_eq!(
            c.working_days_between(date(2026, 10, 10), date(2026, 9, 30)),
            -3
        );
    }

    #[test]
    fn odd_time_zone_and_hours_are_respected() {
        let mut p = plain_policy();
        p.work_start = "22:00".into();
        p.work_end = "23:00".into();
        let c = WorkCalendar::new(&p, FixedOffset::west_opt(5 * 3600).unwrap());
        // 2026-01-05 (Mon) 22:30 at -05:00 is 2026-01-06 03:30 UTC.
        let from = Utc.with_ymd_and_hms(2026, 1, 6, 3, 30, 0).unwrap();
        // 30 min Monday, 30 min Tuesday → Tue 22:30 -05:00 = Wed 03:30 UTC.
        assert_eq!(
            c.add_working_hours(from, 1),
            Utc.with_ymd_and_hms(2026, 1, 7, 3, 30, 0).unwrap()
        );
        assert_eq!(
            c.working_days_due(from, 1),
            Utc.with_ymd_and_hms(2026, 1, 7, 4, 0, 0).unwrap()
        );
    }

    #[test]
    fn unvalidated_policies_still_give_a_usable_calendar() {
        let mut p = plain_policy();
        p.weekend = vec![
            WeekdayName::Mon,
            WeekdayName::Tue,
            WeekdayName::Wed,
            WeekdayName::Thu,
            WeekdayName::Fri,
            WeekdayName::Sat,
            WeekdayName::Sun,
        ];
        p.work_start = "18:00".into();
        p.work_end = "nine".into();
        let c = WorkCalendar::new(&p, FixedOffset::east_opt(0).unwrap());
        assert!(c.is_working_day(date(2026, 1, 10)));
        assert_eq!(c.work_start(), FALLBACK_WORK_START);
        assert_eq!(c.work_end(), FALLBACK_WORK_END);
    }

    #[test]
    fn make_up_workday_beats_holiday_beats_weekend() {
        let mut p = plain_policy();
        let d = date(2026, 3, 7); // Saturday
        p.holidays.push(CalendarDay {
            date: d,
            name: "h".into(),
        });
        assert!(!WorkCalendar::new(&p, FixedOffset::east_opt(0).unwrap()).is_working_day(d));
        p.workdays.push(CalendarDay {
            date: d,
            name: "w".into(),
        });
        assert!(WorkCalendar::new(&p, FixedOffset::east_opt(0).unwrap()).is_working_day(d));
    }

    #[test]
    fn huge_inputs_saturate_instead_of_looping_or_panicking() {
        let c = cal();
        let from = cst(2026, 1, 5, 9, 0);
        assert_eq!(
            c.add_working_hours(from, u32::MAX),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(c.working_days_due(from, u32::MAX), DateTime::<Utc>::MAX_UTC);
        assert!(c.add_working_hours(from, 1_000_000) > from);
        assert!(c.working_days_due(from, 1_000_000) > from);
    }

    // ---- reference implementations: day by day, no week jumps ----

    fn reference_add_working_hours(
        c: &WorkCalendar,
        from: DateTime<Utc>,
        hours: u32,
    ) -> DateTime<Utc> {
        let mut t = c.local(from);
        let mut remaining = i64::from(hours) * 3600;
        t = c.clamp_to_working_time(t).unwrap();
        loop {
            let left = (t.date().and_time(c.work_end) - t).num_seconds();
            if remaining <= left {
                return c.to_utc(t + TimeDelta::seconds(remaining));
            }
            remaining -= left;
            let mut d = t.date().succ_opt().unwrap();
            while !c.is_working_day(d) {
                d = d.succ_opt().unwrap();
            }
            t = d.and_time(c.work_start);
        }
    }

    fn reference_days_between(c: &WorkCalendar, from: NaiveDate, to: NaiveDate) -> i64 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| c.is_working_day(*d))
            .count() as i64
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // 2025-06-01 .. 2028-06-01, at minute resolution, across both shipped years and beyond.
        let start = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
        (0i64..(3 * 366 * 24 * 60)).prop_map(move |m| start + TimeDelta::minutes(m))
    }

    proptest! {
        #[test]
        fn add_working_hours_is_never_before_from_and_is_monotonic(
            from in instant(), a in 0u32..3000, b in 0u32..3000,
        ) {
            let c = cal();
            let (lo, hi) = (a.min(b), a.max(b));
            let r_lo = c.add_working_hours(from, lo);
            let r_hi = c.add_working_hours(from, hi);
            prop_assert!(r_lo >= from);
            prop_assert!(r_lo <= r_hi);
            if lo < hi {
                prop_assert!(r_lo < r_hi);
            }
        }

        #[test]
        fn add_working_hours_matches_the_day_by_day_reference(
            from in instant(), hours in 0u32..6000,
        ) {
            let c = cal();
            prop_assert_eq!(c.add_working_hours(from, hours), reference_add_working_hours(&c, from, hours));
        }

        #[test]
        fn working_days_due_agrees_with_working_days_between(
            from in instant(), days in 1u32..800,
        ) {
            let c = cal();
            let due = c.working_days_due(from, days);
            let start = c.local(from).date();
            let end = c.local(due).date();
            prop_assert!(c.is_working_day(end));
            prop_assert_eq!(c.working_days_between(start, end), i64::from(days));
            prop_assert_eq!(reference_days_between(&c, start, end), i64::from(days));
            prop_assert_eq!(c.local(due).time(), c.work_end());
        }

        #[test]
        fn working_days_between_matches_the_reference(a in instant(), b in instant()) {
            let c = cal();
            let (from, to) = (c.local(a).date(), c.local(b).date());
            let expected = if from <= to {
                reference_days_between(&c, from, to)
            } else {
                -reference_days_between(&c, to, from)
            };
            prop_assert_eq!(c.working_days_between(from, to), expected);
        }
    }
}
