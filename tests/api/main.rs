//! End-to-end tests of the HTTP API: each test starts the real application in-process on a
//! random port, with a database of its own, and talks to it over HTTP like any client
//! would. Run with `cargo test --test api`.
//!
//! Every test runs twice, as `<module>::<test>::sqlite` and `<module>::<test>::postgres`;
//! the PostgreSQL run needs `TASKAPI_TEST_DATABASE_URL` and is skipped (with one line
//! saying so) without it.
//!
//! Update the OpenAPI snapshot with `UPDATE_SNAPSHOTS=1 cargo test --test api openapi`.

// Tests report failures by panicking; unwrapping is how a test says "this must work".
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares end-to-end tests that run on both backends: each `async fn name() { … }`
/// becomes a module `name` with the tests `sqlite` and `postgres`.
macro_rules! e2e {
    ($(#[doc = $doc:literal])* async fn $name:ident() $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[actix_web::test]
            async fn sqlite() {
                $crate::helpers::on_backend($crate::helpers::Backend::Sqlite, async $body).await;
            }

            #[actix_web::test]
            async fn postgres() {
                if !$crate::helpers::postgres_available() {
                    return;
                }
                $crate::helpers::on_backend($crate::helpers::Backend::Postgres, async $body).await;
            }
        }
    };
}

mod accounts;
mod admin;
mod auth;
mod concurrency;
mod conditional;
mod cors;
mod errors;
mod helpers;
mod idempotency;
mod isolation;
mod listing;
mod logs;
mod metrics;
mod openapi;
mod request_ids;
mod sessions;
mod system;
mod tasks;
mod throttling;
