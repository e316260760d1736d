//! Rate limits, per IP (every API call), per session and per user (questions), with `governor`
//! (GCRA, keyed, in memory per instance). A refused call is a `429 rate_limited` with
//! `Retry-After`, which the widget turns into "try again in N s".

use crate::error::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use uuid::Uuid;

use super::db::Caller;

pub struct Limits {
    ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    session: Option<DefaultKeyedRateLimiter<Uuid>>,
    user: Option<DefaultKeyedRateLimiter<Uuid>>,
    clock: DefaultClock,
}

fn limiter<K: Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    // 0 disables a limit. Bursts of up to a third of the minute's allowance are fine.
    let n = NonZeroU32::new(per_minute)?;
    let burst = NonZeroU32::new((per_minute / 3).max(1)).unwrap_or(NonZeroU32::MIN);
    Some(RateLimiter::keyed(Quota::per_minute(n).allow_burst(burst)))
}

impl Limits {
    pub fn new(ip_per_min: u32, session_per_min: u32, user_per_min: u32) -> Limits {
        Limits {
            ip: limiter(ip_per_min),
            session: limiter(session_per_min),
            user: limiter(user_per_min),
            clock: DefaultClock::default(),
        }
    }

    pub fn unlimited() -> Limits {
        Limits::new(0, 0, 0)
    }

    fn check<K: Hash + Eq + Clone>(&self, l: &Option<DefaultKeyedRateLimiter<K>>, key: &K) -> Result<(), AppError> {
        match l {
            Some(l) => l.check_key(key).map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                AppError::RateLimited { retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0) }
            }),
            None => Ok(()),
        }
    }

    /// Any API call from this address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), AppError> {
        self.check(&self.ip, &ip)
    }

    /// A question (or a regenerated answer) from this caller.
    pub fn check_question(&self, caller: &Caller) -> Result<(), AppError> {
        self.check(&self.session, &caller.session_id)?;
        match caller.user_id {
            Some(u) => self.check(&self.user, &u),
            None => Ok(()),
        }
    }

    /// Forget keys that have been idle long enough to be back at full allowance.
    pub fn shrink(&self) {
        for l in [&self.session, &self.user].into_iter().flatten() {
            l.retain_recent();
        }
        if let Some(l) = &self.ip {
            l.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_burst_with_a_retry_delay() {
        let limits = Limits::new(0, 6, 0); // burst of 2
        let caller = Caller { session_id: Uuid::new_v4(), user_id: None };
        assert!(limits.check_question(&caller).is_ok());
        assert!(limits.check_question(&caller).is_ok());
        match limits.check_question(&caller) {
            Err(AppError::RateLimited { retry_after_secs }) => assert!((1..=10).contains(&retry_after_secs)),
            other => panic!("expected a rate limit, got {other:?}"),
        }
        // Another session is not affected.
        assert!(limits.check_question(&Caller { session_id: Uuid::new_v4(), user_id: None }).is_ok());
    }

    #[test]
    fn zero_disables() {
        let limits = Limits::unlimited();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..1000 {
            assert!(limits.check_ip(ip).is_ok());
        }
    }
}
