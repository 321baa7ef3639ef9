//! Prometheus metrics (`GET /metrics`, text format 0.0.4): every request counted and timed by
//! method, route pattern and status, and the database pool's connections and waits, read at
//! scrape time.
//!
//! Requests are labelled by the route's pattern (`/tasks/{id}`), never the raw path, and
//! every path that matches no route shares the label `unmatched`; methods outside the
//! standard ones share `other`. So no client can grow the number of series by choosing
//! paths or methods. Recording costs one app-data lookup and two label lookups in
//! `prometheus`'s maps (atomics and an uncontended read lock); nothing else is allocated.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{HttpServiceFactory, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::CACHE_CONTROL;
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::from_fn;
use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::edge;
use crate::error::ApiError;

/// A resource's route pattern (`/tasks/{id}`), kept in its app data so that recording a
/// request needs no second match of its path against the routes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoutePattern(pub(crate) &'static str);

/// The route label of requests whose path matches no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `route` label of requests that ran past `server.request_timeout`: their handler went
/// down before the request's route could be read.
pub const TIMED_OUT_ROUTE: &str = "timed_out";

/// Latency buckets, in seconds: most answers take a millisecond or a few; the top buckets
/// catch requests that waited for a pool connection (`database.pool_timeout`, 2 s by
/// default) or a slow database.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The methods that get a label of their own; any other is `other`.
const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// The database pool at one moment, in plain numbers (the binary reads them from storage).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PoolSnapshot {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// Connections open now.
    pub connections: u32,
    /// Open connections not in use now.
    pub idle_connections: u32,
    /// Database calls so far.
    pub checkouts: u64,
    /// Database calls so far that had to wait (for a connection, a thread or, on SQLite, a batch of writes to take them).
    pub waits: u64,
    /// Time spent waiting so far.
    pub wait_time: Duration,
    /// Database calls so far that gave up after the pool timeout.
    pub timeouts: u64,
}

/// Where the pool's numbers come from at scrape time.
pub trait PoolStatsSource: Send + Sync {
    /// The pool now.
    fn snapshot(&self) -> PoolSnapshot;
}

/// The registry and the request metrics of one application. Shared by every worker (and by
/// the metrics listener, when it has one of its own).
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh registry (each application has its own, so several in one process do not
    /// mix) with the request metrics and the pool's, read from `pool` at each scrape.
    ///
    /// # Errors
    /// Only on an invalid metric definition (a bug).
    pub fn new(pool: Arc<dyn PoolStatsSource>) -> Result<Self, prometheus::Error> {
        let labels = ["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new(
                "taskapi_http_requests_total",
                "HTTP requests answered, by method, route pattern and status.",
            ),
            &labels,
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "taskapi_http_request_duration_seconds",
                "Time from receiving a request to its response head, by method, route pattern and status.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &labels,
        )?;
        let registry = Registry::new();
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(PoolCollector::new(pool)?))?;
        Ok(Self {
            registry,
            requests,
            latency,
        })
    }

    /// Counts and times one answered request.
    pub(crate) fn observe(&self, req: &HttpRequest, status: StatusCode, elapsed: Duration) {
        // The API's resources carry their pattern; other routes (documentation, /metrics)
        // are matched again, which costs a regular-expression search.
        let pattern = match req.app_data::<RoutePattern>() {
            Some(RoutePattern(pattern)) => Cow::Borrowed(*pattern),
            None => req
                .match_pattern()
                .map_or(Cow::Borrowed(UNMATCHED_ROUTE), Cow::Owned),
        };
        self.record(req.method(), &pattern, status, elapsed);
    }

    /// Records a request that left without its route (see [`TIMED_OUT_ROUTE`]).
    pub(crate) fn observe_unrouted(&self, method: &Method, status: StatusCode, elapsed: Duration) {
        self.record(method, TIMED_OUT_ROUTE, status, elapsed);
    }

    fn record(&self, method: &Method, pattern: &str, status: StatusCode, elapsed: Duration) {
        let method = method.as_str();
        let method = METHODS
            .iter()
            .find(|known| **known == method)
            .copied()
            .unwrap_or("other");
        let labels = [method, pattern, status.as_str()];
        // Errors only when the number of labels is wrong, which the line above rules out.
        if let Ok(counter) = self.requests.get_metric_with_label_values(&labels) {
            counter.inc();
        }
        if let Ok(histogram) = self.latency.get_metric_with_label_values(&labels) {
            histogram.observe(elapsed.as_secs_f64());
        }
    }

    /// Every metric, in Prometheus' text format.
    ///
    /// # Errors
    /// When encoding fails (a metric with an invalid name or value: a bug).
    pub fn render(&self) -> Result<Vec<u8>, prometheus::Error> {
        let mut text = Vec::with_capacity(16 * 1024);
        TextEncoder::new().encode(&self.registry.gather(), &mut text)?;
        Ok(text)
    }
}

/// The pool's metrics, read from the source at each scrape (nothing to update in between).
struct PoolCollector {
    source: Arc<dyn PoolStatsSource>,
    max_connections: Desc,
    connections: Desc,
    idle_connections: Desc,
    checkouts: Desc,
    waits: Desc,
    wait_seconds: Desc,
    timeouts: Desc,
}

impl PoolCollector {
    fn new(source: Arc<dyn PoolStatsSource>) -> Result<Self, prometheus::Error> {
        let desc = |name: &str, help: &str| {
            Desc::new(name.to_owned(), help.to_owned(), Vec::new(), HashMap::new())
        };
        Ok(Self {
            source,
            max_connections: desc(
                "taskapi_db_pool_max_connections",
                "Most connections the database pool opens (database.pool_size).",
            )?,
            connections: desc(
                "taskapi_db_pool_connections",
                "Database connections open now, in use or idle.",
            )?,
            idle_connections: desc(
                "taskapi_db_pool_idle_connections",
                "Open database connections not in use now.",
            )?,
            checkouts: desc(
                "taskapi_db_pool_checkouts_total",
                "Database calls (each takes one connection from the pool).",
            )?,
            waits: desc(
                "taskapi_db_pool_waits_total",
                "Database calls that had to wait for a connection, a thread or (SQLite) a batch of writes to take them, counted as the wait begins.",
            )?,
            wait_seconds: desc(
                "taskapi_db_pool_wait_seconds_total",
                "Time spent in those waits, once finished.",
            )?,
            timeouts: desc(
                "taskapi_db_pool_timeouts_total",
                "Database calls that gave up after database.pool_timeout (the request got a 503).",
            )?,
        })
    }
}

fn family(desc: &Desc, kind: MetricType, value: f64) -> MetricFamily {
    let mut metric = proto::Metric::default();
    if kind == MetricType::COUNTER {
        let mut counter = proto::Counter::default();
        counter.set_value(value);
        metric.set_counter(counter);
    } else {
        let mut gauge = proto::Gauge::default();
        gauge.set_value(value);
        metric.set_gauge(gauge);
    }
    let mut family = MetricFamily::default();
    family.set_name(desc.fq_name.clone());
    family.set_help(desc.help.clone());
    family.set_field_type(kind);
    family.set_metric(vec![metric]);
    family
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        vec![
            &self.max_connections,
            &self.connections,
            &self.idle_connections,
            &self.checkouts,
            &self.waits,
            &self.wait_seconds,
            &self.timeouts,
        ]
    }

    // Counts are far below 2^53, so f64 holds them exactly.
    #[expect(clippy::cast_precision_loss)]
    fn collect(&self) -> Vec<MetricFamily> {
        let pool = self.source.snapshot();
        let (gauge, counter) = (MetricType::GAUGE, MetricType::COUNTER);
        vec![
            family(
                &self.max_connections,
                gauge,
                f64::from(pool.max_connections),
            ),
            family(&self.connections, gauge, f64::from(pool.connections)),
            family(
                &self.idle_connections,
                gauge,
                f64::from(pool.idle_connections),
            ),
            family(&self.checkouts, counter, pool.checkouts as f64),
            family(&self.waits, counter, pool.waits as f64),
            family(&self.wait_seconds, counter, pool.wait_time.as_secs_f64()),
            family(&self.timeouts, counter, pool.timeouts as f64),
        ]
    }
}

/// `GET /metrics`.
async fn scrape(metrics: Data<Metrics>) -> Result<HttpResponse, ApiError> {
    let text = metrics
        .render()
        .map_err(|e| ApiError::Internal(format!("cannot render the metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(text))
}

/// The `/metrics` route (GET; other methods 405). Not part of the OpenAPI document.
pub(crate) fn service() -> impl HttpServiceFactory {
    web::resource("/metrics")
        .route(web::get().to(scrape))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::MethodNotAllowed("GET"))
        }))
}

/// The application of a listener of its own for metrics (`metrics.bind`): `/metrics` only,
/// every other path a 404, with the same request ids and problem+json as the API.
pub fn metrics_app(
    metrics: Data<Metrics>,
) -> actix_web::App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    actix_web::App::new()
        .app_data(metrics)
        .service(service())
        .default_service(web::to(edge::not_found))
        .wrap(from_fn(edge::middleware))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    struct FixedPool;

    impl PoolStatsSource for FixedPool {
        fn snapshot(&self) -> PoolSnapshot {
            PoolSnapshot {
                max_connections: 8,
                connections: 3,
                idle_connections: 2,
                checkouts: 40,
                waits: 5,
                wait_time: Duration::from_millis(1500),
                timeouts: 1,
            }
        }
    }

    fn rendered(metrics: &Metrics) -> String {
        String::from_utf8(metrics.render().unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn pool_numbers_are_read_at_scrape_time_with_their_types() -> Result<(), prometheus::Error> {
        let text = rendered(&Metrics::new(Arc::new(FixedPool))?);
        for line in [
            "# TYPE taskapi_db_pool_max_connections gauge",
            "taskapi_db_pool_max_connections 8",
            "taskapi_db_pool_connections 3",
            "taskapi_db_pool_idle_connections 2",
            "# TYPE taskapi_db_pool_checkouts_total counter",
            "taskapi_db_pool_checkouts_total 40",
            "taskapi_db_pool_waits_total 5",
            "taskapi_db_pool_wait_seconds_total 1.5",
            "taskapi_db_pool_timeouts_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
        Ok(())
    }

    #[test]
    fn unknown_methods_and_unmatched_paths_share_one_label() -> Result<(), prometheus::Error> {
        let metrics = Metrics::new(Arc::new(FixedPool))?;
        for method in ["BREW", "WHEN"] {
            let req = TestRequest::default()
                .method(Method::from_bytes(method.as_bytes()).unwrap_or_default())
                .uri(&format!("/scan/{method}"))
                .to_http_request();
            metrics.observe(&req, StatusCode::NOT_FOUND, Duration::from_millis(2));
        }
        let text = rendered(&metrics);
        let line =
            r#"taskapi_http_requests_total{method="other",route="unmatched",status="404"} 2"#;
        assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        assert!(!text.contains("BREW") && !text.contains("/scan"), "{text}");
        Ok(())
    }
}
