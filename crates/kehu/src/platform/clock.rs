//! The time source. Production reads the system clock; tests set and advance
//! it to check deadlines, reminders and rate limits without sleeping.
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Arc<RwLock<Option<DateTime<Utc>>>>,
}

impl Clock {
    pub fn system() -> Self {
        Clock::default()
    }

    pub fn fixed(at: DateTime<Utc>) -> Self {
        Clock {
            fixed: Arc::new(RwLock::new(Some(at))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let fixed = self.fixed.read().map(|g| *g).unwrap_or(None);
        crate::platform::audit::truncate_micros(fixed.unwrap_or_else(Utc::now))
    }

    /// Fixes the clock at `at` (from then on it only moves when told).
    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut g) = self.fixed.write() {
            *g = Some(at);
        }
    }

    pub fn advance(&self, by: Duration) {
        let now = self.now();
        self.set(now + by);
    }
}
