//! End-to-end tests of the HTTP API: each test starts the real application in-process on a
//! random port, with a database of its own, and talks to it over HTTP like any client
//! would. Run with `cargo test --test api`.
//!
//! Every test runs twice, as the rstest cases `<module>::<test>::case_1_sqlite` and
//! `<module>::<test>::case_2_postgres`; the PostgreSQL run needs `TASKAPI_TEST_DATABASE_URL`
//! and is skipped (with one line saying so) without it, and fails when the variable names a
//! server that cannot be used.
//!
//! Update the OpenAPI snapshot with `UPDATE_SNAPSHOTS=1 cargo test --test api openapi`.

// Tests report failures by panicking; unwrapping is how a test says "this must work".
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod admin;
mod auth;
mod changes;
mod concurrency;
mod conditional;
mod cors;
mod credentials;
mod errors;
mod events;
mod idempotency;
mod isolation;
mod limits;
mod list_changes;
mod listing;
mod lists;
mod logs;
mod mail;
mod metrics;
mod moving;
mod openapi;
mod request_ids;
mod sessions;
mod sharing;
mod slow_clients;
mod system;
mod tasks;
mod throttling;
mod trash;
mod web;
