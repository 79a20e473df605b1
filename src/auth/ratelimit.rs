//! In-memory rate limits: failed logins with growing back-off, and writes per minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a limiter says about one request, in the terms of the `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets (or the lock ends).
    pub reset_secs: u64,
}

impl RateDecision {
    /// `Retry-After`: at least one second whenever the request was refused.
    pub fn retry_after_secs(&self) -> u64 {
        self.reset_secs.max(1)
    }
}

/// Above this many keys, entries that no longer matter are dropped.
const MAX_KEYS: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Failed logins per key (an account or an address): `free` failures, then every further failure
/// locks the key for twice as long as the last, up to `max_lock`. Failures are forgotten after
/// `forget_after` without one.
pub struct LoginBackoff {
    free: u32,
    max_lock: Duration,
    forget_after: Duration,
    keys: Mutex<HashMap<String, Failures>>,
}

impl LoginBackoff {
    pub fn new(free: u32) -> LoginBackoff {
        LoginBackoff {
            free: free.max(1),
            max_lock: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(60 * 60),
            keys: Mutex::new(HashMap::new()),
        }
    }

    fn decision(&self, f: Option<&Failures>, now: Instant) -> RateDecision {
        let count = f.map_or(0, |f| f.count);
        let lock_left = f
            .and_then(|f| f.locked_until)
            .and_then(|t| t.checked_duration_since(now))
            .filter(|d| !d.is_zero());
        RateDecision {
            allowed: lock_left.is_none(),
            limit: self.free,
            remaining: self.free.saturating_sub(count),
            reset_secs: lock_left.map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0)),
        }
    }

    fn current<'a>(
        &self,
        map: &'a HashMap<String, Failures>,
        key: &str,
        now: Instant,
    ) -> Option<&'a Failures> {
        map.get(key)
            .filter(|f| now.duration_since(f.last) < self.forget_after)
    }

    /// May this key try a password now?
    pub fn check(&self, key: &str) -> RateDecision {
        let now = Instant::now();
        let map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        self.decision(self.current(&map, key, now), now)
    }

    /// Records a failure and returns the state after it.
    pub fn fail(&self, key: &str) -> RateDecision {
        let now = Instant::now();
        let mut map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS {
            let forget = self.forget_after;
            map.retain(|_, f| now.duration_since(f.last) < forget);
        }
        let mut f = self.current(&map, key, now).copied().unwrap_or(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
        if f.count >= self.free {
            let doublings = (f.count - self.free).min(20);
            let lock = Duration::from_secs(1u64 << doublings).min(self.max_lock);
            f.locked_until = Some(now + lock);
        }
        map.insert(key.to_string(), f);
        self.decision(Some(&f), now)
    }

    pub fn clear(&self, key: &str) {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    used: u32,
}

/// At most `limit` requests per key in each fixed window.
pub struct WindowLimiter {
    limit: u32,
    window: Duration,
    keys: Mutex<HashMap<String, Window>>,
}

impl WindowLimiter {
    pub fn per_minute(limit: u32) -> WindowLimiter {
        WindowLimiter {
            limit: limit.max(1),
            window: Duration::from_secs(60),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request against the key.
    pub fn hit(&self, key: &str) -> RateDecision {
        let now = Instant::now();
        let mut map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS {
            let window = self.window;
            map.retain(|_, w| now.duration_since(w.start) < window);
        }
        let w = map.entry(key.to_string()).or_insert(Window {
            start: now,
            used: 0,
        });
        if now.duration_since(w.start) >= self.window {
            *w = Window {
                start: now,
                used: 0,
            };
        }
        let allowed = w.used < self.limit;
        if allowed {
            w.used += 1;
        }
        let left = self.window.saturating_sub(now.duration_since(w.start));
        RateDecision {
            allowed,
            limit: self.limit,
            remaining: self.limit - w.used,
            reset_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_lock_after_the_free_failures_and_clear_on_success() {
        let b = LoginBackoff::new(3);
        assert!(b.check("ana").allowed);
        assert_eq!(b.fail("ana").remaining, 2);
        b.fail("ana");
        let third = b.fail("ana");
        assert!(!third.allowed);
        assert_eq!(third.remaining, 0);
        assert!(third.retry_after_secs() >= 1);
        assert!(!b.check("ana").allowed);
        assert!(b.check("bo").allowed, "other keys are untouched");
        b.clear("ana");
        assert!(b.check("ana").allowed);
    }

    #[test]
    fn the_lock_doubles_with_each_further_failure() {
        let b = LoginBackoff::new(1);
        let first = b.fail("k").reset_secs;
        let second = b.fail("k").reset_secs;
        let third = b.fail("k").reset_secs;
        assert_eq!((first, second, third), (1, 2, 4));
    }

    #[test]
    fn writes_stop_at_the_limit_with_a_reset_time() {
        let w = WindowLimiter::per_minute(2);
        assert_eq!(w.hit("t").remaining, 1);
        assert_eq!(w.hit("t").remaining, 0);
        let refused = w.hit("t");
        assert!(!refused.allowed);
        assert!(refused.reset_secs >= 59 && refused.reset_secs <= 60);
        assert!(w.hit("other").allowed);
    }
}
