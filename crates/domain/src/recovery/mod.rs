//! Account recovery and e-mail verification: one-time tokens sent by mail (password reset,
//! verification of an address), the repository that keeps them (hashed), and the
//! `RecoveryService` use cases (forgot / reset a password, verify an address, change it,
//! resend, reset links for servers without mail).

mod error;
mod ports;
mod service;
mod token;

#[cfg(test)]
mod tests;

pub use error::RecoveryError;
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockAccountTokenRepository;
pub use ports::{AccountTokenRepository, IssueOutcome, VerifyOutcome};
pub use service::{RecoveryPorts, RecoveryService, RecoverySettings};
pub use token::{
    AccountTokenHash, EmailVerification, IssuedAccountToken, NewAccountToken, TokenPurpose,
};
