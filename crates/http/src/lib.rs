//! taskapi's HTTP adapter: actix-web routes, request and response bodies, the bearer-token
//! extractor, problem+json errors, request ids and the access log, Prometheus metrics, and
//! the OpenAPI document with Swagger UI. Handlers call the domain's services and nothing
//! else.

pub mod auth;
mod body;
mod conditional;
mod connection;
mod cors;
mod docs;
mod edge;
pub mod error;
mod events;
mod idempotency;
mod instant;
pub mod metrics;
mod openapi;
mod pagination;
mod path;
mod query;
mod readiness;
pub mod reply;
mod routes;
mod search_gate;
mod settings;
pub mod throttle;
mod web_client;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::web::{self, Data};
use async_trait::async_trait;
use paperclip::actix::OpenApiExt;
use taskapi_domain::{
    AccountService, AdminService, ChangeService, EventAccessService, ListService, RecoveryService,
    StoreError, TaskService, TrashService,
};

pub use connection::{ConnectionLimits, ServerOptions, serve};
pub use cors::{InvalidOrigin, validate_origin};
pub use docs::OpenApiJson;
pub use edge::{REQUEST_ID, RequestId};
pub use error::{ApiError, Problem};
pub use events::{EventHub, StreamSlot, TooManyStreams};
pub use metrics::{Metrics, PoolSnapshot, PoolStatsSource, metrics_app};
pub use openapi::document as openapi_document;
pub use readiness::CachedReadiness;
pub use search_gate::SearchGate;
pub use settings::{
    CorsSettings, DocsSettings, EventsSettings, ListsSettings, MetricsSettings, QuotaSettings,
    ServerSettings, SyncSettings, ThrottleConfig, TrashSettings, WebSettings,
};
pub use throttle::{InvalidLimit, InvalidProxy, Throttle, ThrottleSettings, TrustedProxy};
pub use web_client::{InvalidWebClient, WebAsset, WebClient};

/// Whether the service can do its work (the database answers), for `/health/ready`.
#[async_trait]
pub trait ReadinessCheck: Send + Sync {
    /// `Ok` when ready.
    async fn check(&self) -> Result<(), StoreError>;
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Registration, login, sessions, authentication.
    pub accounts: AccountService,
    /// Account administration.
    pub admin: AdminService,
    /// Password reset, e-mail verification and e-mail change.
    pub recovery: RecoveryService,
    /// The tasks of the caller's lists.
    pub tasks: TaskService,
    /// The trash of the caller's lists.
    pub trash: TrashService,
    /// The caller's lists.
    pub lists: ListService,
    /// The caller's change feed.
    pub changes: ChangeService,
    /// The streams of live events open on this instance, and the loop that wakes them.
    pub events: Arc<EventHub>,
    /// Event tickets, and whether a stream's credential still works.
    pub event_access: EventAccessService,
    /// Readiness of the backing services.
    pub readiness: Arc<dyn ReadinessCheck>,
    /// Throttling of the auth routes (shared by every worker).
    pub throttle: Arc<Throttle>,
    /// Origins allowed to call the API from a browser (validated with [`validate_origin`]).
    pub cors_origins: Arc<Vec<String>>,
    /// The turns of each account's substring searches (`quota.concurrent_searches_per_user`).
    pub search_gate: Arc<SearchGate>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Whether the API listener records metrics, and whether it serves `GET /metrics` itself.
#[derive(Debug, Clone)]
pub enum ApiMetrics {
    /// Nothing is recorded; `/metrics` is an unknown route (404).
    Off,
    /// Requests are recorded and `/metrics` is served on the API listener (the default).
    Served(Data<Metrics>),
    /// Requests are recorded; `/metrics` is served by [`metrics_app`] on a listener of its
    /// own, and is an unknown route (404) here.
    ServedElsewhere(Data<Metrics>),
}

/// Builds the application for one worker. `openapi` is the finished document (build it once
/// with [`openapi_document`] and share it); `docs` says whether Swagger UI is served, `web`
/// which web client is served at `/app/`, if any (build it once and share it).
pub fn app(
    state: Data<AppState>,
    openapi: Data<OpenApiJson>,
    metrics: ApiMetrics,
    docs: DocsSettings,
    web: Option<Data<WebClient>>,
) -> actix_web::App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = cors::middleware(&state.cors_origins);
    let mut app = actix_web::App::new().app_data(state).app_data(openapi);
    match metrics {
        ApiMetrics::Off => {}
        // The edge middleware records every request when it finds the metrics here.
        ApiMetrics::Served(metrics) => app = app.app_data(metrics).service(metrics::service()),
        ApiMetrics::ServedElsewhere(metrics) => app = app.app_data(metrics),
    }
    // Ours first: they must win over paperclip's routes for the same paths (and stay out of
    // the OpenAPI document).
    app = app.service(docs::openapi());
    if docs.enabled {
        app = app.service(docs::ui());
    }
    if let Some(client) = web {
        app = app.service(web_client::service(client));
    }
    app.wrap_api()
        .configure(routes::configure)
        .with_json_spec_v3_at("/openapi.json")
        .build()
        .default_service(web::to(edge::not_found))
        .wrap(from_fn(throttle::hold_refusals))
        // Inside the edge middleware, so that preflight answers carry a request id too.
        .wrap(cors)
        // Times bodies and requests; inside the edge middleware, which renders its answers.
        .wrap(from_fn(connection::deadlines::middleware))
        .wrap(from_fn(edge::middleware))
}
