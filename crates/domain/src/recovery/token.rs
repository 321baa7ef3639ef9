//! One-time account tokens and the verification policy.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::{Email, UserId};

/// What a one-time token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    /// Setting a new password without the old one.
    PasswordReset,
    /// Proving that the holder reads mail at an address (the account's, or the one it is
    /// changing to).
    EmailVerification,
}

impl TokenPurpose {
    /// The purpose's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::EmailVerification => "email_verification",
        }
    }
}

/// `auth.email_verification`: whether addresses are verified, and whether logging in needs
/// a verified one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmailVerification {
    /// Registration mails nothing; addresses can still be verified on request, and a new
    /// address is always verified before it replaces the old one.
    Off,
    /// Registration mails a verification token; unverified accounts work as verified ones.
    #[default]
    Optional,
    /// As `Optional`, and an unverified account cannot log in (403; the login mails a new
    /// verification token).
    Required,
}

impl EmailVerification {
    /// Parses `off`, `optional` or `required`.
    ///
    /// # Errors
    /// A message for anything else.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "off" => Ok(Self::Off),
            "optional" => Ok(Self::Optional),
            "required" => Ok(Self::Required),
            other => Err(format!("`{other}` is not one of off, optional, required")),
        }
    }

    /// The setting's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }
}

/// The stored form of a one-time token: a one-way hash (as the token service hashes
/// refresh tokens). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccountTokenHash(String);

impl AccountTokenHash {
    /// Wraps a hash.
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    /// The encoded hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccountTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountTokenHash(<redacted>)")
    }
}

/// A one-time token about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccountToken {
    /// Its hash.
    pub hash: AccountTokenHash,
    /// Whose it is.
    pub user_id: UserId,
    /// What it is for.
    pub purpose: TokenPurpose,
    /// For verification, the address it verifies (the account's, or a new one); for a
    /// reset, the account's address.
    pub email: Email,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A token handed out directly (a reset link for a server without mail). Its `Debug`
/// never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedAccountToken {
    /// The token, shown once.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for IssuedAccountToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedAccountToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
