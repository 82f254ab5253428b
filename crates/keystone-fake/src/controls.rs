//! Test controls: a clock tests can move, per-route fault injection and request counters.
//!
//! Routes are named by method and path pattern, as `GET /v3/auth/tokens` or
//! `GET /v3/services/{service_id}`; the name `*` in a fault matches every route.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A clock that tests can move forward (or back).
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// The fake's current time.
    pub fn now(&self) -> DateTime<Utc> {
        let offset = chrono::Duration::try_milliseconds(self.offset_ms.load(Ordering::Relaxed))
            .unwrap_or(chrono::Duration::MAX);
        // moved past what a date holds: the end of time, never a panic
        Utc::now()
            .checked_add_signed(offset)
            .unwrap_or(if offset < chrono::Duration::zero() {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            })
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let _ = self
            .offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_add(ms))
            });
    }

    /// Puts the clock back to real time.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }
}

/// What to do to requests of a route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fault {
    /// Wait this long before answering.
    pub latency: Option<Duration>,
    /// Answer with this status (and Keystone's error body) instead of serving the request.
    pub status: Option<u16>,
}

impl Fault {
    /// A fault that only delays.
    pub fn latency(d: Duration) -> Self {
        Fault {
            latency: Some(d),
            status: None,
        }
    }

    /// A fault that answers `status`.
    pub fn status(status: u16) -> Self {
        Fault {
            latency: None,
            status: Some(status),
        }
    }
}

/// Faults and counters, shared by every connection.
#[derive(Debug, Default)]
pub struct Controls {
    faults: Mutex<HashMap<String, Fault>>,
    counts: Mutex<HashMap<String, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Controls {
    /// Sets the fault of `route` (or `*`).
    pub fn set_fault(&self, route: &str, fault: Fault) {
        lock(&self.faults).insert(route.to_owned(), fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// The fault that applies to `route`.
    pub fn fault_for(&self, route: &str) -> Option<Fault> {
        let faults = lock(&self.faults);
        faults.get(route).or_else(|| faults.get("*")).cloned()
    }

    /// Counts one request of `route`.
    pub fn count(&self, route: &str) {
        *lock(&self.counts).entry(route.to_owned()).or_default() += 1;
    }

    /// How many requests `route` has received.
    pub fn requests(&self, route: &str) -> u64 {
        lock(&self.counts).get(route).copied().unwrap_or(0)
    }

    /// Every route's count.
    pub fn all_requests(&self) -> HashMap<String, u64> {
        lock(&self.counts).clone()
    }

    /// Sets every count back to zero.
    pub fn reset_counts(&self) {
        lock(&self.counts).clear();
    }
}
