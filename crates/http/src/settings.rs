//! The configuration sections of the HTTP server, as the binary reads them from its files
//! and environment: `[server]`, `[throttle]`, `[quota]`, `[sync]`, `[cors]`, `[metrics]`,
//! `[docs]` and `[web]`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::throttle::{InvalidProxy, ThrottleSettings, TrustedProxy};

/// `[server]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address.
    pub host: String,
    /// Listen port (0 picks a free one).
    pub port: u16,
    /// Grace for in-flight requests on shutdown.
    #[serde(with = "duration")]
    pub shutdown_timeout: Duration,
    /// HTTP workers; 0 = one per core.
    pub workers: usize,
    /// Peers whose `X-Forwarded-For` is believed: addresses or CIDR networks.
    #[serde(deserialize_with = "list::deserialize")]
    pub trusted_proxies: Vec<String>,
    /// Longest a request head may take to arrive (every request of a connection).
    #[serde(with = "duration")]
    pub request_head_timeout: Duration,
    /// Longest a request body may take to arrive, counted from its head.
    #[serde(with = "duration")]
    pub request_body_timeout: Duration,
    /// Longest an idle keep-alive connection stays open; 0 closes after each answer.
    #[serde(with = "duration")]
    pub keep_alive: Duration,
    /// Longest a request may run before it answers 503.
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// Connections at once; beyond it new connections wait. 0 = no limit.
    pub max_connections: usize,
}

impl ServerSettings {
    /// The slow-client limits of every connection.
    pub fn connection_limits(&self) -> crate::ConnectionLimits {
        crate::ConnectionLimits {
            request_head_timeout: self.request_head_timeout,
            request_body_timeout: self.request_body_timeout,
            keep_alive: self.keep_alive,
            request_timeout: self.request_timeout,
        }
    }
}

/// `[throttle]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Whether the auth routes are throttled at all.
    pub enabled: bool,
    /// Requests to /login, /register and /token/refresh per client address per minute.
    pub per_address_per_minute: u32,
    /// Failed logins per email and client address per `failed_login_window`.
    pub failed_logins_per_email: u32,
    /// Failed logins per email from all addresses per `failed_login_window`; 0 for none.
    pub failed_logins_per_email_total: u32,
    /// The window of both failed-login budgets.
    #[serde(with = "duration")]
    pub failed_login_window: Duration,
    /// Most keys each limiter remembers.
    pub max_tracked_keys: usize,
    /// How long a 429 of these limits or of `quota.writes_per_minute` is held before it is
    /// answered (never past its `Retry-After`).
    #[serde(with = "duration")]
    pub refusal_delay: Duration,
}

/// `[quota]`: what one account may store and do.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    /// Most tasks per account; 0 for no limit.
    pub tasks_per_user: u64,
    /// Most lists an account may own besides its inbox; 0 for no limit.
    pub lists_per_user: u64,
    /// Task writes (create, update, delete) per account per minute, per instance; 0 for no
    /// limit.
    pub writes_per_minute: u32,
    /// Substring searches (`GET /tasks?q=`) of one account running at once, per instance;
    /// more wait for a turn. 0 for no limit.
    pub concurrent_searches_per_user: usize,
}

impl ThrottleConfig {
    /// The throttle's settings: these limits and `quota`'s write rate, believing
    /// `X-Forwarded-For` from the `server.trusted_proxies` given.
    ///
    /// # Errors
    /// A message naming the first trusted proxy that is neither an address nor a network.
    pub fn throttle_settings(
        &self,
        quota: &QuotaSettings,
        trusted_proxies: &[String],
    ) -> Result<ThrottleSettings, InvalidProxy> {
        Ok(ThrottleSettings {
            enabled: self.enabled,
            per_address_per_minute: self.per_address_per_minute,
            failed_logins_per_email: self.failed_logins_per_email,
            failed_logins_per_email_total: self.failed_logins_per_email_total,
            failed_login_window: self.failed_login_window,
            max_tracked_keys: self.max_tracked_keys,
            writes_per_minute: quota.writes_per_minute,
            refusal_delay: self.refusal_delay,
            trusted_proxies: trusted_proxies
                .iter()
                .map(|p| p.parse::<TrustedProxy>())
                .collect::<Result<_, _>>()?,
        })
    }
}

/// `[sync]`: the change feed (`GET /changes`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// How long changes are kept: a cursor older than this is refused (410).
    #[serde(with = "duration")]
    pub retention: Duration,
}

/// `[events]`: live events (`GET /events`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSettings {
    /// How often an open stream gets a comment line (and has its session checked).
    #[serde(with = "duration")]
    pub heartbeat: Duration,
    /// How often each instance asks the change log who has new changes, while it holds
    /// streams open.
    #[serde(with = "duration")]
    pub poll_interval: Duration,
    /// Most streams one account may hold open on one instance.
    pub max_streams_per_user: u32,
}

/// `[trash]`: deleted tasks.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrashSettings {
    /// How long a trashed task is kept before housekeeping purges it.
    #[serde(with = "duration")]
    pub retention: Duration,
}

/// `[cors]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    /// Origins allowed to call the API from a browser.
    #[serde(deserialize_with = "list::deserialize")]
    pub allowed_origins: Vec<String>,
}

/// `[metrics]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Whether requests are recorded and `GET /metrics` is served at all.
    pub enabled: bool,
    /// `host:port` of a listener of its own for `/metrics`; unset (or empty) serves it on
    /// the API listener.
    pub bind: Option<String>,
}

/// `[lists]`: sharing.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ListsSettings {
    /// How long an invitation to a list stays valid.
    #[serde(with = "duration")]
    pub invitation_ttl: Duration,
    /// Most members a list may have, pending invitations included.
    pub max_members: u64,
}

/// `[docs]`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocsSettings {
    /// Whether Swagger UI is served at `/docs` (404 when off; `/openapi.json` stays).
    pub enabled: bool,
}

/// `[web]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// Whether the reference web client is served at `/app/` (404 when off).
    pub enabled: bool,
    /// The origin (`scheme://host[:port]`) of the API the served client calls, when it is not
    /// this server's own; empty for this origin. The client's Content-Security-Policy lets
    /// it send requests there and nowhere else.
    pub api_origin: String,
}

/// Lists: a TOML array, or (from an environment variable) one comma-separated string.
mod list {
    use super::*;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Raw::deserialize(d)? {
            Raw::List(items) => items,
            Raw::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }
}

/// Durations as humane strings ("2s", "15m", "30d").
mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let raw = String::deserialize(d)?;
        humantime::parse_duration(raw.trim()).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{raw}` is not a duration like \"2s\" or \"15m\" ({e})"
            ))
        })
    }

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*value).to_string())
    }
}
