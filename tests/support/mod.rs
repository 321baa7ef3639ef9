//! The end-to-end harness every test binary of this package includes (`mod support;`, or
//! `#[path = "../support/mod.rs"] mod support;` from a folder): one [`Client`] and one
//! [`Response`] type and one set of helpers, whether the server runs in this process
//! ([`TestApp`]) or as a child process ([`Taskapi`]).

// Each test binary uses a different part of the harness.
#![allow(dead_code, unused_imports)]

pub mod client;
pub mod db;
pub mod fixtures;
pub mod process;
pub mod response;
pub mod server;
pub mod smtp;

pub use client::{Client, TestUser, send, try_send};
pub use db::{Backend, PostgresTestDatabase, postgres_database};
pub use fixtures::*;
pub use process::{Api, Taskapi, free_port, notice, poll, run_cli};
pub use response::Response;
pub use server::TestApp;
pub use smtp::{Mail, SinkTls, SmtpSink, TestCertificate};
