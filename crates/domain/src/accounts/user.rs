//! Accounts, their roles, and the authenticated caller.

use crate::{Email, PasswordHash, RoleError, UserId};

use chrono::{DateTime, Utc};

/// What a user may do: `user` manages their own tasks; `admin` also manages accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// An ordinary account.
    User,
    /// An administrator.
    Admin,
}

impl Role {
    /// The role's name as stored and shown (`user`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    ///
    /// # Errors
    /// [`RoleError`] for any other name.
    pub fn parse(raw: &str) -> Result<Self, RoleError> {
        match raw {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            _ => Err(RoleError),
        }
    }
}

/// A registered account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Its normalised email.
    pub email: Email,
    /// Its password hash (never shown to anyone).
    pub password_hash: PasswordHash,
    /// Its role.
    pub role: Role,
    /// Whether it has been disabled by an administrator.
    pub disabled: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Whether its owner proved to read mail at its address.
    pub email_verified: bool,
    /// Grows by one whenever every session of the account must end (password change,
    /// "log out everywhere", role change, disabling). A session started at another epoch is
    /// over.
    pub session_epoch: i64,
}

/// An account about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Its new id.
    pub id: UserId,
    /// Its normalised email.
    pub email: Email,
    /// Its password hash.
    pub password_hash: PasswordHash,
    /// Its role.
    pub role: Role,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Whether its address counts as verified from the start (accounts an operator makes).
    pub email_verified: bool,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// Who is calling.
    pub user_id: UserId,
    /// With which role (read from the account, not trusted from the token).
    pub role: Role,
}
