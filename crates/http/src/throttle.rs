//! Throttling of the auth routes: one budget per client address shared by `POST /login`,
//! `/register`, `/token/refresh`, `POST /me/password` and `DELETE /me`; a budget of failed
//! logins per email and client address, and one per email across all addresses; and the
//! task writes per account per minute. All are GCRA limiters from `governor`, kept in this
//! process's memory (with several instances each enforces its own limits), each in a store
//! of at most `throttle.max_tracked_keys` keys that forgets the least recently seen first,
//! so that no number of distinct clients grows memory without bound.
//!
//! The client address is the TCP peer, unless the peer is a configured trusted proxy: then
//! it is the rightmost address of `X-Forwarded-For` that is not a trusted proxy itself.

use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::{NonZeroU32, NonZeroUsize};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, web};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::{Quota, RateLimiter};
use lru::LruCache;
use paperclip::actix::OperationModifier;
use paperclip::v2::schema::Apiv2Schema;

use crate::AppState;
use crate::error::ApiError;

/// One trusted proxy: an address, or a network in CIDR notation (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix: u8,
}

/// A `server.trusted_proxies` entry that is neither an address nor a network; the message
/// says which and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidProxy(String);

impl FromStr for TrustedProxy {
    type Err = InvalidProxy;

    fn from_str(raw: &str) -> Result<Self, InvalidProxy> {
        let raw = raw.trim();
        let (address, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| InvalidProxy(format!("`{raw}` is not an IP address or a CIDR network")))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                InvalidProxy(format!("`{raw}`: the prefix length must be 0–{max}"))
            })?,
        };
        // Trusting every address would let any client write its own address into
        // `X-Forwarded-For` and spend everyone else's budget (or escape its own).
        if prefix == 0 {
            return Err(InvalidProxy(format!(
                "`{raw}` trusts every address: list the proxies' own addresses or networks"
            )));
        }
        Ok(Self { network, prefix })
    }
}

impl TrustedProxy {
    fn contains(&self, address: IpAddr) -> bool {
        let address = match (self.network, address) {
            // An IPv4 proxy seen over an IPv6 socket.
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            _ => address,
        };
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// What throttling needs from configuration.
#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    /// Off: nothing is ever throttled (benchmarks, trusted networks).
    pub enabled: bool,
    /// Requests to the auth routes per client address per minute.
    pub per_address_per_minute: u32,
    /// Failed logins per email and client address per `failed_login_window`.
    pub failed_logins_per_email: u32,
    /// Failed logins per email from all addresses per `failed_login_window`; 0 for no such
    /// budget.
    pub failed_logins_per_email_total: u32,
    /// The window of both failed-login budgets.
    pub failed_login_window: Duration,
    /// Most keys each limiter remembers (addresses, email and address pairs, emails,
    /// accounts); the least recently seen are forgotten first.
    pub max_tracked_keys: usize,
    /// Task writes per account per minute; 0 for no such budget. Applies even when
    /// `enabled` is off (it is a quota, not throttling of the auth routes).
    pub writes_per_minute: u32,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// How long a refusal (429) of these limits is held before it is answered, never longer
    /// than until a retry could succeed (see [`hold_refusals`]). Zero answers at once.
    pub refusal_delay: Duration,
}

/// A keyed state store of bounded size: a least-recently-used map of at most `capacity`
/// keys (each check of a key makes it the most recently seen; a new key past the capacity
/// pushes out the least recently seen, in O(1)), whose keys can also be forgotten one by
/// one, so that a successful login clears its failures. governor's own keyed store grows
/// with every key it is shown.
#[derive(Clone)]
struct BoundedStore<K: Hash + Eq + Clone>(Arc<Mutex<LruCache<K, Nanos>>>);

impl<K: Hash + Eq + Clone> BoundedStore<K> {
    fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self(Arc::new(Mutex::new(LruCache::new(capacity))))
    }

    /// The map; held only for one lookup and update, never across an await. A panic while
    /// it was held leaves at worst one key's state stale: carry on with it.
    fn map(&self) -> MutexGuard<'_, LruCache<K, Nanos>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn forget(&self, key: &K) {
        self.map().pop(key);
    }
}

impl<K: Hash + Eq + Clone> StateStore for BoundedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // Decided under the lock, so that concurrent checks of one key are counted one
        // after the other.
        let mut map = self.map();
        if let Some(state) = map.get_mut(key) {
            let (decision, next) = f(Some(*state))?;
            *state = next;
            return Ok(decision);
        }
        let (decision, next) = f(None)?;
        map.push(key.clone(), next);
        Ok(decision)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for BoundedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        let mut map = self.map();
        let idle: Vec<K> = map
            .iter()
            .filter(|(_, state)| u64::from(**state) <= u64::from(drop_below))
            .map(|(key, _)| key.clone())
            .collect();
        for key in idle {
            map.pop(&key);
        }
    }

    fn len(&self) -> usize {
        self.map().len()
    }

    fn is_empty(&self) -> bool {
        self.map().is_empty()
    }
}

type Limiter<K> = RateLimiter<K, BoundedStore<K>, DefaultClock, NoOpMiddleware>;

/// A failed-login budget's key: the email, and the client's address network.
type EmailAtAddress = (String, IpAddr);

/// The limiters and the client-address rule.
pub struct Throttle {
    enabled: bool,
    clock: DefaultClock,
    per_address: Limiter<IpAddr>,
    failed_logins: Limiter<EmailAtAddress>,
    failed_login_store: BoundedStore<EmailAtAddress>,
    failed_logins_total: Option<(Limiter<String>, BoundedStore<String>)>,
    writes: Option<Limiter<uuid::Uuid>>,
    trusted_proxies: Vec<TrustedProxy>,
    refusal_delay: Duration,
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("enabled", &self.enabled)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish_non_exhaustive()
    }
}

/// "`n` per `window`" as a GCRA quota: a burst of `n`, then one more every `window / n`.
fn quota(n: u32, window: Duration) -> Result<Quota, &'static str> {
    let n = NonZeroU32::new(n).ok_or("must be at least 1")?;
    let period = window / n.get();
    Quota::with_period(period)
        .map(|q| q.allow_burst(n))
        .ok_or("the window is too short")
}

/// A throttle setting that cannot make a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{key} {problem}")]
pub struct InvalidLimit {
    /// The configuration key.
    pub key: &'static str,
    /// What is wrong with its value.
    pub problem: &'static str,
}

fn limiter<K: Hash + Eq + Clone>(
    quota: Quota,
    capacity: usize,
    clock: &DefaultClock,
) -> (Limiter<K>, BoundedStore<K>) {
    let store = BoundedStore::new(capacity);
    (RateLimiter::new(quota, store.clone(), clock.clone()), store)
}

/// Longest email key remembered (longer inputs are cut: they cannot be accounts anyway).
const MAX_EMAIL_KEY_BYTES: usize = 254;

impl Throttle {
    /// Builds the limiters.
    ///
    /// # Errors
    /// [`InvalidLimit`] naming the setting that cannot make a limit (zero, or a window too
    /// short).
    pub fn new(settings: ThrottleSettings) -> Result<Self, InvalidLimit> {
        let per_address =
            quota(settings.per_address_per_minute, Duration::from_secs(60)).map_err(|problem| {
                InvalidLimit {
                    key: "throttle.per_address_per_minute",
                    problem,
                }
            })?;
        let failed_logins = quota(
            settings.failed_logins_per_email,
            settings.failed_login_window,
        )
        .map_err(|problem| InvalidLimit {
            key: "throttle.failed_logins_per_email",
            problem,
        })?;
        let total = match settings.failed_logins_per_email_total {
            0 => None,
            n => Some(
                quota(n, settings.failed_login_window).map_err(|problem| InvalidLimit {
                    key: "throttle.failed_logins_per_email_total",
                    problem,
                })?,
            ),
        };
        let writes = match settings.writes_per_minute {
            0 => None,
            n => Some(
                quota(n, Duration::from_secs(60)).map_err(|problem| InvalidLimit {
                    key: "quota.writes_per_minute",
                    problem,
                })?,
            ),
        };
        let capacity = settings.max_tracked_keys;
        let clock = DefaultClock::default();
        let (per_address, _) = limiter(per_address, capacity, &clock);
        let (failed_logins, failed_login_store) = limiter(failed_logins, capacity, &clock);
        Ok(Self {
            enabled: settings.enabled,
            per_address,
            failed_logins,
            failed_login_store,
            failed_logins_total: total.map(|q| limiter(q, capacity, &clock)),
            writes: writes.map(|q| limiter(q, capacity, &clock).0),
            clock,
            trusted_proxies: settings.trusted_proxies,
            refusal_delay: settings.refusal_delay,
        })
    }

    /// The 429 for a request a limiter refused: held for `refusal_delay` or until the
    /// request could succeed, whichever is sooner, and then naming the seconds that are left.
    fn refused(
        &self,
        not_until: &governor::NotUntil<<DefaultClock as Clock>::Instant>,
    ) -> ApiError {
        let wait = not_until.wait_time_from(self.clock.now());
        let hold = self.refusal_delay.min(wait);
        let left = wait - hold;
        ApiError::TooManyRequests {
            retry_after: (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1),
            hold,
        }
    }

    /// Counts one auth request from `address` (IPv6 clients by their /64 network).
    ///
    /// # Errors
    /// `TooManyRequests` past the address's budget.
    pub fn check_address(&self, address: IpAddr) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        self.per_address
            .check_key(&budget_key(address))
            .map_err(|n| self.refused(&n))
    }

    fn email_key(email: &str) -> String {
        let mut key = email.trim().to_lowercase();
        if key.len() > MAX_EMAIL_KEY_BYTES {
            let mut cut = MAX_EMAIL_KEY_BYTES;
            while !key.is_char_boundary(cut) {
                cut -= 1;
            }
            key.truncate(cut);
        }
        key
    }

    /// Counts a password check for `email` from `address` (a login, or the current
    /// password of an account route) before the password is checked; a success then gives
    /// it back with [`Throttle::forgive_login`], so only failures count. The email has a
    /// budget per client address (IPv6 by /64) and one across all addresses.
    ///
    /// # Errors
    /// `TooManyRequests` while the email is locked at this address or everywhere (even with
    /// the right password).
    pub fn check_login(&self, email: &str, address: Option<IpAddr>) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let email = Self::email_key(email);
        let refused = |n: governor::NotUntil<_>| self.refused(&n);
        self.failed_logins
            .check_key(&(email.clone(), address_key(address)))
            .map_err(refused)?;
        if let Some((total, _)) = &self.failed_logins_total {
            total.check_key(&email).map_err(refused)?;
        }
        Ok(())
    }

    /// Forgets the failures of `email` (its password was right): at `address`, and its
    /// count across all addresses.
    pub fn forgive_login(&self, email: &str, address: Option<IpAddr>) {
        let email = Self::email_key(email);
        if let Some((_, store)) = &self.failed_logins_total {
            store.forget(&email);
        }
        self.failed_login_store
            .forget(&(email, address_key(address)));
    }

    /// Counts one task write (create, update, delete) of `account`.
    ///
    /// # Errors
    /// `TooManyRequests` past `quota.writes_per_minute`.
    pub fn check_write(&self, account: uuid::Uuid) -> Result<(), ApiError> {
        let Some(writes) = &self.writes else {
            return Ok(());
        };
        writes.check_key(&account).map_err(|n| self.refused(&n))
    }

    /// Drops the state of keys that are back to a full budget, so that memory stays small
    /// between floods; call it now and then (the stores are bounded regardless).
    pub fn forget_idle(&self) {
        self.per_address.retain_recent();
        self.failed_logins.retain_recent();
        if let Some((total, _)) = &self.failed_logins_total {
            total.retain_recent();
        }
        if let Some(writes) = &self.writes {
            writes.retain_recent();
        }
    }

    /// How many keys the limiters remember now, all together.
    pub fn tracked_keys(&self) -> usize {
        self.per_address.len()
            + self.failed_logins.len()
            + self
                .failed_logins_total
                .as_ref()
                .map_or(0, |(l, _)| l.len())
            + self.writes.as_ref().map_or(0, |l| l.len())
    }

    /// The client's address: see the module docs.
    pub fn client_address(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for hop in forwarded.iter().rev() {
            let Some(address) = parse_hop(hop) else {
                break;
            };
            client = address;
            if !self.is_trusted(address) {
                break;
            }
        }
        Some(client)
    }

    /// Whether the request comes straight from a configured trusted proxy (its TCP peer is
    /// one), whose headers about the client may be believed.
    pub fn trusts_peer(&self, req: &HttpRequest) -> bool {
        req.peer_addr()
            .is_some_and(|peer| self.is_trusted(peer.ip()))
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|p| p.contains(address))
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
}

/// Counts the request against its client address's auth budget: a 429 past it. Put it
/// first among a handler's arguments so that it answers before any body error. Carries the
/// client address, for the failed-login budgets.
#[derive(Debug, Clone, Copy)]
pub struct AuthThrottle {
    /// The client's address (see the module docs), when the connection has a peer.
    pub address: Option<IpAddr>,
}

impl FromRequest for AuthThrottle {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let checked = match req.app_data::<web::Data<AppState>>() {
            Some(state) => {
                let address = state.throttle.client_address(req);
                match address {
                    Some(a) => state.throttle.check_address(a),
                    None => Ok(()),
                }
                .map(|()| AuthThrottle { address })
            }
            None => Err(ApiError::Internal("application state missing".into())),
        };
        std::future::ready(checked)
    }
}

/// Holds each refusal of the throttle (a `429` carrying a hold) for that long before it is
/// sent; every other answer passes at once.
///
/// A client that sends refused requests as fast as they are answered — a flood of logins
/// from one address, an account hammering past its write quota — would otherwise be
/// answered as fast as the CPU allows, and take that CPU from everyone else: held, each of
/// its connections costs one cheap answer per `throttle.refusal_delay`. Only a timer
/// waits (no thread, no database connection, no hash), and the client loses nothing it
/// could have had: no retry could succeed sooner. The decision itself is made where it
/// always was, so a refusal still wins over the request's body errors.
///
/// # Errors
/// Those of the rest of the chain.
pub async fn hold_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let response = next.call(req).await?;
    let hold = match response
        .response()
        .error()
        .map(|e| e.as_error::<ApiError>())
    {
        Some(Some(ApiError::TooManyRequests { hold, .. })) => *hold,
        _ => Duration::ZERO,
    };
    if !hold.is_zero() {
        actix_web::rt::time::sleep(hold).await;
    }
    Ok(response)
}

impl Apiv2Schema for AuthThrottle {}
impl OperationModifier for AuthThrottle {}

/// The address part of a failed-login key: the budget key, or one shared key for requests
/// without a peer address (which a real connection always has).
fn address_key(address: Option<IpAddr>) -> IpAddr {
    address.map_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), budget_key)
}

/// What an address's budget is keyed by: an IPv4 address (also one mapped into IPv6) as is; an IPv6 address by its
/// /64 network, the block one subscriber usually holds whole, so that rotating through its
/// 2^64 addresses buys no extra attempts (nor grows the limiter's map without bound).
fn budget_key(address: IpAddr) -> IpAddr {
    // An IPv4 client of a dual-stack listener arrives as `::ffff:a.b.c.d`: it is that IPv4
    // address, not one more member of the (all-zero) /64 every such address shares.
    let address = address.to_canonical();
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(network))
        }
    }
}

#[cfg(test)]
mod tests;
