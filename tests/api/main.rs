//! End-to-end tests of the HTTP API: each test starts the real application in-process on a
//! random port, with its own SQLite database in a temporary folder, and talks to it over
//! HTTP like any client would. Run with `cargo test --test api`.
//!
//! Update the OpenAPI snapshot with `UPDATE_SNAPSHOTS=1 cargo test --test api openapi`.

// Tests report failures by panicking; unwrapping is how a test says "this must work".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod auth;
mod concurrency;
mod errors;
mod helpers;
mod isolation;
mod openapi;
mod request_ids;
mod system;
mod tasks;
