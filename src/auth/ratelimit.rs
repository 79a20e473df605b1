//! In-memory rate limits: password guesses with growing waits, and writes per minute.
//!
//! Both are written here rather than taken from `governor`: its GCRA limiter has no waits that
//! grow with each failure, no take-back of a guess that succeeded, and no fixed window whose
//! reset time the `X-RateLimit-Reset` header can name.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
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
    wait_until: Option<Instant>,
}

impl Failures {
    fn wait_left(&self, now: Instant) -> Option<Duration> {
        self.wait_until
            .and_then(|t| t.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }
}

/// Failures of one kind of key: `free` of them, then each further one makes the key wait
/// twice as long as the last before its next guess, 1 s up to `max_wait`.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    free: u32,
    max_wait: Duration,
}

impl Schedule {
    fn record(&self, f: &mut Failures, now: Instant) {
        f.count = f.count.saturating_add(1);
        f.last = now;
        if f.count >= self.free {
            let doublings = (f.count - self.free).min(20);
            f.wait_until = Some(now + Duration::from_secs(1u64 << doublings).min(self.max_wait));
        }
    }

    fn decision(&self, f: Option<&Failures>, now: Instant) -> RateDecision {
        let wait = f.and_then(|f| f.wait_left(now));
        RateDecision {
            allowed: wait.is_none(),
            limit: self.free,
            remaining: self.free.saturating_sub(f.map_or(0, |f| f.count)),
            reset_secs: wait.map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0)),
        }
    }
}

#[derive(Default)]
struct Ledger {
    /// Per account and address together: guessing one account from one place.
    pairs: HashMap<(String, IpAddr), Failures>,
    /// Per address over all accounts: one place guessing many accounts.
    addrs: HashMap<IpAddr, Failures>,
    /// Password checks running now, per address.
    running: HashMap<IpAddr, u32>,
}

/// Password guesses (logins and the current-password check), throttled per account-and-address
/// and per address. A guess is counted as a failure before its password is checked, in the same
/// step as the check of the wait, so guesses sent in parallel cannot all slip through; a success
/// takes its count back. No key is the account alone, so nobody can lock an account out from
/// elsewhere: only the address guessing is slowed.
pub struct LoginThrottle {
    pair: Schedule,
    addr: Schedule,
    /// At most this many checks from one address at a time, so one address cannot queue up
    /// the hasher in front of everybody else.
    max_running: u32,
    forget_after: Duration,
    ledger: Mutex<Ledger>,
}

/// A reserved guess: counted as failed until [`LoginAttempt::succeeded`] says otherwise.
pub struct LoginAttempt {
    throttle: Arc<LoginThrottle>,
    account: String,
    addr: IpAddr,
}

impl LoginThrottle {
    /// 5 free failures per account and address, 20 per address (floor tablets share one NAT
    /// address), waits up to 15 minutes, 2 checks at a time per address.
    pub fn new() -> LoginThrottle {
        LoginThrottle::with_limits(5, 20, 2)
    }

    pub fn with_limits(pair_free: u32, addr_free: u32, max_running: u32) -> LoginThrottle {
        let max_wait = Duration::from_secs(15 * 60);
        LoginThrottle {
            pair: Schedule {
                free: pair_free.max(1),
                max_wait,
            },
            addr: Schedule {
                free: addr_free.max(1),
                max_wait,
            },
            max_running: max_running.max(1),
            forget_after: Duration::from_secs(60 * 60),
            ledger: Mutex::new(Ledger::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a guess for `account` from `addr`, or says how long to wait.
    pub fn reserve(
        self: &Arc<Self>,
        account: &str,
        addr: IpAddr,
    ) -> Result<LoginAttempt, RateDecision> {
        let now = Instant::now();
        let account = account.trim().to_lowercase();
        let pair_key = (account.clone(), addr);
        let forget = self.forget_after;
        let fresh = |f: &Failures| now.duration_since(f.last) < forget;
        let mut ledger = self.lock();
        if ledger.pairs.len() + ledger.addrs.len() >= MAX_KEYS {
            ledger.pairs.retain(|_, f| fresh(f));
            ledger.addrs.retain(|_, f| fresh(f));
        }
        let pair = ledger.pairs.get(&pair_key).copied().filter(fresh);
        let by_addr = ledger.addrs.get(&addr).copied().filter(fresh);
        for d in [
            self.pair.decision(pair.as_ref(), now),
            self.addr.decision(by_addr.as_ref(), now),
        ] {
            if !d.allowed {
                return Err(d);
            }
        }
        let empty = Failures {
            count: 0,
            last: now,
            wait_until: None,
        };
        let mut pair = pair.unwrap_or(empty);
        self.pair.record(&mut pair, now);
        ledger.pairs.insert(pair_key, pair);
        let mut by_addr = by_addr.unwrap_or(empty);
        self.addr.record(&mut by_addr, now);
        ledger.addrs.insert(addr, by_addr);
        // A guess beyond the checks already running from this address is counted but not
        // checked: parallel guessing only brings the wait sooner.
        let running = ledger.running.entry(addr).or_insert(0);
        if *running >= self.max_running {
            return Err(RateDecision {
                allowed: false,
                limit: self.max_running,
                remaining: 0,
                reset_secs: 1,
            });
        }
        *running += 1;
        Ok(LoginAttempt {
            throttle: Arc::clone(self),
            account,
            addr,
        })
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new()
    }
}

impl LoginAttempt {
    /// The password was right: the account's failures from this address are forgotten, and
    /// this guess no longer counts against the address.
    pub fn succeeded(self) {
        let mut ledger = self.throttle.lock();
        ledger.pairs.remove(&(self.account.clone(), self.addr));
        if let Some(f) = ledger.addrs.get_mut(&self.addr) {
            f.count = f.count.saturating_sub(1);
            if f.count < self.throttle.addr.free {
                f.wait_until = None;
            }
        }
    }
}

impl Drop for LoginAttempt {
    fn drop(&mut self) {
        let mut ledger = self.throttle.lock();
        if let Some(n) = ledger.running.get_mut(&self.addr) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                ledger.running.remove(&self.addr);
            }
        }
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

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn guesses_wait_after_the_free_failures_and_a_success_clears_them() {
        let t = Arc::new(LoginThrottle::with_limits(3, 100, 10));
        let a = ip("10.0.0.1");
        for _ in 0..3 {
            drop(t.reserve("ana", a).unwrap());
        }
        let refused = t.reserve("ana", a).err().unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert!(refused.retry_after_secs() >= 1);
        assert!(
            t.reserve("ANA ", a).is_err(),
            "names are compared without case"
        );
        assert!(t.reserve("bo", a).is_ok(), "other accounts are untouched");
        assert!(
            t.reserve("ana", ip("10.0.0.2")).is_ok(),
            "the same account from another address is untouched"
        );
        t.lock().pairs.clear();
        t.reserve("ana", a).unwrap().succeeded();
        assert!(t.lock().pairs.is_empty());
    }

    #[test]
    fn the_wait_doubles_with_each_further_failure() {
        let t = Arc::new(LoginThrottle::with_limits(1, 100, 10));
        let a = ip("10.0.0.1");
        let mut waits = Vec::new();
        for _ in 0..3 {
            drop(t.reserve("k", a).unwrap());
            let f = t.lock().pairs[&("k".to_string(), a)];
            waits.push(t.pair.decision(Some(&f), Instant::now()).reset_secs);
            t.lock()
                .pairs
                .get_mut(&("k".to_string(), a))
                .unwrap()
                .wait_until = None;
        }
        assert_eq!(waits, vec![1, 2, 4]);
    }

    #[test]
    fn parallel_guesses_are_counted_before_any_is_checked() {
        let t = Arc::new(LoginThrottle::with_limits(5, 100, 1000));
        let a = ip("10.0.0.1");
        let held: Vec<_> = (0..100).filter_map(|_| t.reserve("ana", a).ok()).collect();
        assert_eq!(held.len(), 5);
    }

    #[test]
    fn one_address_runs_few_checks_at_once() {
        let t = Arc::new(LoginThrottle::with_limits(50, 100, 2));
        let a = ip("10.0.0.1");
        let first = t.reserve("a", a).unwrap();
        let _second = t.reserve("b", a).unwrap();
        assert!(t.reserve("c", a).is_err());
        assert!(t.reserve("c", ip("10.0.0.9")).is_ok());
        drop(first);
        assert!(t.reserve("c", a).is_ok());
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
