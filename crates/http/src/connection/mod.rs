//! The API listener, built from actix's parts so that every accepted socket is wrapped in a
//! [`stream::GuardedStream`]: slow clients and connection limits (`server.request_head_timeout`,
//! `server.request_body_timeout`, `server.keep_alive`, `server.request_timeout`,
//! `server.max_connections`).
//!
//! actix-web's `HttpServer` arms its head timer for a connection's first request only, has
//! no body timer, and takes nothing but plain TCP streams; [`serve`] is what `HttpServer::listen`
//! does, over the guarded stream. actix keeps the keep-alive timer (re-armed after every
//! answer) and the connection limit (per worker); the stream times every head, the middleware
//! ([`deadlines`]) every body and every request.

mod clock;
pub(crate) mod deadlines;
mod stream;

use std::fmt;
use std::future::ready;
use std::io;
use std::net::TcpListener;
use std::time::Duration;

use actix_http::{HttpService, KeepAlive, Request, Response};
use actix_server::{Server, ServerBuilder};
use actix_service::{
    IntoServiceFactory, ServiceFactory, ServiceFactoryExt, fn_service, map_config,
};
use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;

pub use clock::ConnectionLimits;
use stream::GuardedStream;

/// How the API listener runs.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// HTTP workers (at least 1).
    pub workers: usize,
    /// Threads of each worker's blocking pool.
    pub max_blocking_threads: usize,
    /// Grace for in-flight requests on shutdown.
    pub shutdown_timeout: Duration,
    /// Connections at once, all workers together; `0` = no limit.
    pub max_connections: usize,
    /// The slow-client limits of every connection.
    pub limits: ConnectionLimits,
}

/// How long actix reads and discards a body left unread before it closes (its default).
const DISCONNECT_LINGER: Duration = Duration::from_secs(1);

impl ServerOptions {
    /// The workers and each one's connection limit: actix counts connections per worker, so
    /// the limit is split between them (rounded down, so that the total never exceeds
    /// `max_connections`), with no more workers than connections allowed.
    pub fn per_worker(&self) -> (usize, usize) {
        let workers = self.workers.max(1);
        match self.max_connections {
            0 => (workers, usize::MAX),
            max => {
                let workers = workers.min(max);
                (workers, max / workers)
            }
        }
    }
}

/// Serves `factory`'s application on `listener` (see the module docs).
///
/// # Errors
/// When the listener cannot be registered.
pub fn serve<F, I, S, B>(
    listener: TcpListener,
    options: &ServerOptions,
    factory: F,
) -> io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as actix_service::Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let (workers, per_worker) = options.per_worker();
    let limits = options.limits;
    let local = listener.local_addr()?;
    let builder = ServerBuilder::new()
        .workers(workers)
        .worker_max_blocking_threads(options.max_blocking_threads.max(1))
        .max_concurrent_connections(per_worker)
        .shutdown_timeout(options.shutdown_timeout.as_secs());
    let shutdown = builder.graceful_shutdown_signal();
    let keep_alive = if limits.keep_alive.is_zero() {
        KeepAlive::Disabled
    } else {
        KeepAlive::Timeout(limits.keep_alive)
    };
    Ok(builder
        .listen("taskapi-api", listener, move || {
            let shutdown = shutdown.clone();
            let http = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let signal = shutdown.clone();
                    async move { signal.notified().await }
                })
                .keep_alive(keep_alive)
                // Every head, the first one included, is timed by the guarded stream.
                .client_request_timeout(Duration::ZERO)
                .client_disconnect_timeout(DISCONNECT_LINGER)
                .local_addr(local)
                .on_connect_ext(|io: &GuardedStream, data| {
                    data.insert(io.clock());
                })
                .h1(map_config(
                    factory()
                        .into_factory()
                        .map_err(|err: S::Error| err.into().error_response()),
                    // Only the application's host name (for URLs it would generate, none)
                    // and local address (unread) come from here.
                    |_| AppConfig::default(),
                ));
            fn_service(move |io: TcpStream| {
                let peer = io.peer_addr().ok();
                ready(Ok((GuardedStream::new(io, limits), peer)))
            })
            .and_then(http)
        })?
        .run())
}
