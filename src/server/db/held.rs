//! Connections kept between the hot reads (authentication, a messages page, the conversation
//! list) instead of going back to sqlx's pool after each one.
//!
//! Why: sqlx 0.8 checks every connection its pool gets back with a round trip to the database
//! (a `Sync` and its reply), whatever the pool's options say. A messages page is one statement,
//! so that check doubled the database round trips of the busiest read, and the server's work
//! of sending and receiving them. Here a connection whose statement completed goes straight back
//! on a stack; one whose statement failed, or whose request was cancelled half-way, is dropped
//! (its state on the wire is unknown) and goes back to sqlx's pool, which checks or closes it.
//!
//! The held connections stay counted by the pool they came from, and at most `capacity` of them
//! are held or lent out at once, so the pool always keeps the rest for everything else; reads
//! beyond that borrow from the pool as before.

use crate::server::error::ServerError;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgConnection, PgPool, Postgres};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection held this long without use is checked before it is lent again (the database
/// may have restarted meanwhile), as the pool does with its own idle connections.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);
/// A connection held this long without use is given back to the pool (which closes idle
/// connections after a while, so a scaled-to-zero database is not kept awake by us).
pub const GIVE_BACK_AFTER_IDLE: Duration = Duration::from_secs(60);

type Stack = Mutex<Vec<(PoolConnection<Postgres>, Instant)>>;

/// A stack of connections from one pool, shared by clones.
#[derive(Clone)]
pub struct HeldConnections {
    pool: PgPool,
    idle: Arc<Stack>,
    permits: Arc<Semaphore>,
    /// Nothing is held: the pool is too small to spare any, or the server is shutting down
    /// (the pool waits for every connection to come back before it closes).
    passing_through: Arc<AtomicBool>,
}

/// A connection lent for one statement: [`Lent::done`] after it succeeded keeps it.
pub struct Lent {
    conn: Option<PoolConnection<Postgres>>,
    /// It came from the stack (it may have died since its last use).
    held: bool,
    home: HeldConnections,
    /// A place on the stack: without one, the connection goes back to the pool.
    permit: Option<OwnedSemaphorePermit>,
}

impl HeldConnections {
    /// Hold at most `capacity` of `pool`'s connections (none: every read uses the pool).
    pub fn new(pool: PgPool, capacity: usize) -> HeldConnections {
        HeldConnections {
            pool,
            idle: Arc::default(),
            permits: Arc::new(Semaphore::new(capacity)),
            passing_through: Arc::new(AtomicBool::new(capacity == 0)),
        }
    }

    /// Hold half of what the pool may open: the other half stays for writes and answers.
    pub fn half_of(pool: &PgPool) -> HeldConnections {
        let capacity = pool.options().get_max_connections() as usize / 2;
        HeldConnections::new(pool.clone(), capacity)
    }

    /// A connection: a held one if any (checked first if it sat idle), else one from the pool.
    /// When as many as may be held are lent out already, one from the pool, not held after.
    pub async fn lend(&self) -> Result<Lent, sqlx::Error> {
        if self.passing_through.load(Ordering::Acquire) {
            return self.lend_from_pool().await;
        }
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return self.lend_from_pool().await;
        };
        if let Some((mut conn, since)) = self.take_idle() {
            if since.elapsed() < CHECK_AFTER_IDLE || conn.ping().await.is_ok() {
                return Ok(Lent { conn: Some(conn), held: true, home: self.clone(), permit: Some(permit) });
            }
            // Broken (a restarted database): close it and open another.
            conn.close_on_drop();
        }
        Ok(Lent { conn: Some(self.pool.acquire().await?), held: false, home: self.clone(), permit: Some(permit) })
    }

    /// A connection from the pool that goes back to it after use.
    pub async fn lend_from_pool(&self) -> Result<Lent, sqlx::Error> {
        Ok(Lent { conn: Some(self.pool.acquire().await?), held: false, home: self.clone(), permit: None })
    }

    /// Stop holding connections and give the held ones back (before the pool is closed, which
    /// waits for them).
    pub fn give_back_all(&self) {
        self.passing_through.store(true, Ordering::Release);
        let held: Vec<_> = self.idle.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
        drop(held);
    }

    /// The most recently used held connection (the stack's bottom is the least recently used).
    fn take_idle(&self) -> Option<(PoolConnection<Postgres>, Instant)> {
        self.give_back_idle(GIVE_BACK_AFTER_IDLE);
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    /// Give back the connections held unused for `idle_for` or longer (the server's upkeep
    /// calls this every minute, so a quiet server does not keep the database's connections).
    pub fn give_back_idle(&self, idle_for: Duration) {
        let stale: Vec<_> = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            let fresh_from = idle.iter().position(|(_, since)| since.elapsed() < idle_for).unwrap_or(idle.len());
            idle.drain(..fresh_from).collect()
        };
        drop(stale);
    }

    /// The pool the connections come from (for statements that need no held connection).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// How many connections are held idle now.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl Lent {
    /// The connection, to run a statement on (present until `done` or drop take it).
    pub fn conn(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        self.conn.as_deref_mut().ok_or(sqlx::Error::PoolClosed)
    }

    /// Whether a read that failed with `e` is worth running again on a connection from the
    /// pool: this one was held, and turned out to be gone (the database restarted since its
    /// last use), which is not the reader's problem.
    pub fn lost(&self, e: &ServerError) -> bool {
        self.held && e.is_unavailable()
    }

    /// The statement completed: keep the connection for the next read, unchecked.
    pub fn done(mut self) {
        if self.permit.is_none() || self.home.passing_through.load(Ordering::Acquire) {
            return; // dropped: back to the pool
        }
        if let Some(conn) = self.conn.take() {
            self.home.idle.lock().unwrap_or_else(PoisonError::into_inner).push((conn, Instant::now()));
        }
    }
}

/// Not returned with `done` (an error, or the request was cancelled mid-statement): the
/// connection goes back to the pool, which checks it (or closes it) before anyone reuses it.
impl Drop for Lent {
    fn drop(&mut self) {
        drop(self.conn.take());
    }
}

/// `on_held!(held, |db| statement(db, …))`: run one statement on a connection from `held` (see
/// [`HeldConnections::lend`]); if the connection was held and turned out to be gone, run it once
/// more on a connection from the pool, which waits for the database as every other call does.
/// The statement may run twice (the first may have reached the database before its connection
/// was lost): only for reads and for writes that are idempotent (a question keyed by its client
/// id, an answer's final write keyed by its generation). Evaluates to the statement's `ServerResult`.
macro_rules! on_held {
    ($held:expr, |$db:ident| $read:expr) => {{
        let held: &$crate::server::db::held::HeldConnections = &$held;
        let mut lent = held.lend().await?;
        let first = {
            let $db = lent.conn()?;
            $read.await
        };
        match first {
            Ok(v) => {
                lent.done();
                Ok(v)
            }
            Err(e) if lent.lost(&e) => {
                drop(lent);
                let mut fresh = held.lend_from_pool().await?;
                let v = {
                    let $db = fresh.conn()?;
                    $read.await
                }?;
                fresh.done();
                Ok(v)
            }
            Err(e) => Err(e),
        }
    }};
}
pub(crate) use on_held;
