//! Rate limits, per client address (every API call and demo page, new sessions, questions,
//! failed admin logins), per session and per user (questions), with `governor` (GCRA, keyed, in
//! memory per instance). Limits per address are sized for a classroom behind one address (a
//! school's NAT): sixty readers opening the widget within seconds all get a session, and a
//! flood from one address stays bounded — in sessions, and in the questions all its sessions
//! can ask together. An IPv6 client is keyed by its /64 — one subscriber's whole range — since it can
//! pick any address in it. A refused call is a `429 rate_limited` with `Retry-After`, which the
//! widget turns into "try again in N s".

use crate::error::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use uuid::Uuid;

use crate::server::db::Caller;

pub struct Limits {
    ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    new_sessions: Option<DefaultKeyedRateLimiter<IpAddr>>,
    questions_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    session: Option<DefaultKeyedRateLimiter<Uuid>>,
    user: Option<DefaultKeyedRateLimiter<Uuid>>,
    /// Failed admin logins per client in the current window.
    admin_failures: std::sync::Mutex<std::collections::HashMap<IpAddr, (u32, std::time::Instant)>>,
    admin_failures_per_window: u32,
    clock: DefaultClock,
}

/// The key a client address is limited by: an IPv4 address, or the /64 an IPv6 one is in.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        },
    }
}

/// How long failed admin logins are counted.
const ADMIN_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

fn limiter<K: Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    // 0 disables a limit. Bursts of up to a third of the minute's allowance are fine.
    limiter_with_burst(per_minute, per_minute / 3)
}

fn limiter_with_burst<K: Hash + Eq + Clone>(per_minute: u32, burst: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    let n = NonZeroU32::new(per_minute)?;
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Some(RateLimiter::keyed(Quota::per_minute(n).allow_burst(burst)))
}

/// Allowances per minute (0 disables one).
#[derive(Debug, Clone, Copy, Default)]
pub struct Allowances {
    pub calls_per_ip: u32,
    pub new_sessions_per_ip: u32,
    /// New sessions one address may start at once (a class opening the widget together).
    pub new_sessions_burst_per_ip: u32,
    pub questions_per_session: u32,
    /// Questions from all sessions of one address together.
    pub questions_per_ip: u32,
    pub questions_per_user: u32,
    pub admin_failures_per_ip: u32,
}

impl Limits {
    pub fn new(a: Allowances) -> Limits {
        Limits {
            ip: limiter(a.calls_per_ip),
            new_sessions: limiter_with_burst(a.new_sessions_per_ip, a.new_sessions_burst_per_ip.max(a.new_sessions_per_ip / 3)),
            questions_ip: limiter(a.questions_per_ip),
            session: limiter(a.questions_per_session),
            user: limiter(a.questions_per_user),
            admin_failures: std::sync::Mutex::new(std::collections::HashMap::new()),
            admin_failures_per_window: a.admin_failures_per_ip,
            clock: DefaultClock::default(),
        }
    }

    pub fn unlimited() -> Limits {
        Limits::new(Allowances::default())
    }

    /// A new session from this address.
    pub fn check_new_session(&self, ip: IpAddr) -> Result<(), AppError> {
        self.check(&self.new_sessions, &client_key(ip))
    }

    fn admin_failures(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<IpAddr, (u32, std::time::Instant)>> {
        // Counters only: a poisoned lock leaves them usable.
        self.admin_failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// May this address try an admin password now? Refused (without looking at the password)
    /// once it has failed too often in the last minute.
    pub fn check_admin_attempt(&self, ip: IpAddr) -> Result<(), AppError> {
        if self.admin_failures_per_window == 0 {
            return Ok(());
        }
        let key = client_key(ip);
        let mut map = self.admin_failures();
        match map.get(&key) {
            Some((n, since)) if since.elapsed() < ADMIN_WINDOW && *n >= self.admin_failures_per_window => {
                {
                metrics::counter!(crate::server::metrics::RATE_LIMITED, "limit" => "admin_failures_per_ip").increment(1);
                Err(AppError::RateLimited { retry_after_secs: (ADMIN_WINDOW - since.elapsed()).as_secs().max(1) })
            }
            }
            Some((_, since)) if since.elapsed() >= ADMIN_WINDOW => {
                map.remove(&key);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Count a failed admin login from this address.
    pub fn admin_failed(&self, ip: IpAddr) {
        let mut map = self.admin_failures();
        let e = map.entry(client_key(ip)).or_insert((0, std::time::Instant::now()));
        e.0 += 1;
    }

    fn check<K: Hash + Eq + Clone>(&self, l: &Option<DefaultKeyedRateLimiter<K>>, key: &K) -> Result<(), AppError> {
        match l {
            Some(l) => l.check_key(key).map_err(|not_until| {
                metrics::counter!(crate::server::metrics::RATE_LIMITED, "limit" => self.name_of(l)).increment(1);
                let wait = not_until.wait_time_from(self.clock.now());
                AppError::RateLimited { retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0) }
            }),
            None => Ok(()),
        }
    }

    /// Which limit a limiter is (a metrics label).
    fn name_of<K: Hash + Eq + Clone>(&self, l: &DefaultKeyedRateLimiter<K>) -> &'static str {
        let same = |o: &Option<DefaultKeyedRateLimiter<IpAddr>>| o.as_ref().is_some_and(|x| std::ptr::eq(x as *const _ as *const u8, l as *const _ as *const u8));
        let same_id = |o: &Option<DefaultKeyedRateLimiter<Uuid>>| o.as_ref().is_some_and(|x| std::ptr::eq(x as *const _ as *const u8, l as *const _ as *const u8));
        if same(&self.ip) {
            "calls_per_ip"
        } else if same(&self.new_sessions) {
            "sessions_per_ip"
        } else if same(&self.questions_ip) {
            "questions_per_ip"
        } else if same_id(&self.session) {
            "questions_per_session"
        } else if same_id(&self.user) {
            "questions_per_user"
        } else {
            "other"
        }
    }

    /// Any API call (or demo page) from this address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), AppError> {
        self.check(&self.ip, &client_key(ip))
    }

    /// A question (or a regenerated answer) from this caller, at this client address (sessions
    /// are cheap to start, so the address bounds what all of its sessions ask together).
    pub fn check_question(&self, caller: &Caller, client: Option<IpAddr>) -> Result<(), AppError> {
        self.check(&self.session, &caller.session_id)?;
        if let Some(ip) = client {
            self.check(&self.questions_ip, &client_key(ip))?;
        }
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
        for l in [&self.ip, &self.new_sessions, &self.questions_ip].into_iter().flatten() {
            l.retain_recent();
        }
        self.admin_failures().retain(|_, (_, since)| since.elapsed() < ADMIN_WINDOW);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_burst_with_a_retry_delay() {
        let limits = Limits::new(Allowances { questions_per_session: 6, ..Default::default() }); // burst of 2
        let caller = Caller { session_id: Uuid::new_v4(), user_id: None };
        assert!(limits.check_question(&caller, None).is_ok());
        assert!(limits.check_question(&caller, None).is_ok());
        match limits.check_question(&caller, None) {
            Err(AppError::RateLimited { retry_after_secs }) => assert!((1..=10).contains(&retry_after_secs)),
            other => panic!("expected a rate limit, got {other:?}"),
        }
        // Another session is not affected.
        assert!(limits.check_question(&Caller { session_id: Uuid::new_v4(), user_id: None }, None).is_ok());
    }

    #[test]
    fn a_classroom_behind_one_address_starts_together_and_a_flood_stays_bounded() {
        // The defaults: 120 new sessions a minute per address, 60 at once.
        let limits = Limits::new(Allowances { new_sessions_per_ip: 120, new_sessions_burst_per_ip: 60, ..Default::default() });
        let school: IpAddr = "198.51.100.20".parse().unwrap();
        let started = (0..60).filter(|_| limits.check_new_session(school).is_ok()).count();
        assert_eq!(started, 60, "sixty readers opening the widget at once all get a session");
        let flood = (0..10_000).filter(|_| limits.check_new_session(school).is_ok()).count();
        assert!(flood <= 2, "then no more than the minute's rate allows: {flood}");
    }

    #[test]
    fn questions_are_bounded_per_address_across_sessions() {
        let limits = Limits::new(Allowances { questions_per_session: 60, questions_per_ip: 9, ..Default::default() }); // burst 3
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let asked = (0..10).filter(|_| limits.check_question(&Caller { session_id: Uuid::new_v4(), user_id: None }, Some(ip)).is_ok()).count();
        assert_eq!(asked, 3, "fresh sessions do not escape the address's allowance");
        assert!(limits.check_question(&Caller { session_id: Uuid::new_v4(), user_id: None }, Some("203.0.113.10".parse().unwrap())).is_ok());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        assert_eq!(client_key("::ffff:10.0.0.7".parse().unwrap()), "10.0.0.7".parse::<IpAddr>().unwrap());
        let limits = Limits::new(Allowances { calls_per_ip: 3, ..Default::default() }); // burst of 1
        assert!(limits.check_ip(a).is_ok());
        assert!(limits.check_ip(b).is_err(), "another address of the same /64 shares the allowance");
        assert!(limits.check_ip(other).is_ok());
    }

    #[test]
    fn admin_logins_are_refused_after_repeated_failures() {
        let limits = Limits::new(Allowances { admin_failures_per_ip: 3, ..Default::default() });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limits.check_admin_attempt(ip).is_ok());
            limits.admin_failed(ip);
        }
        assert!(matches!(limits.check_admin_attempt(ip), Err(AppError::RateLimited { .. })));
        assert!(limits.check_admin_attempt("192.0.2.2".parse().unwrap()).is_ok());
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
