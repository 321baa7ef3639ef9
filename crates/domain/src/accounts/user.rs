//! Accounts, their roles, and the authenticated caller.

use crate::{
    Credential, CredentialError, Email, PasswordHash, RoleError, Scope, SessionId, UserId,
};

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
    /// With which credential: a session, or a personal API token and its scopes.
    pub credential: Credential,
}

impl Principal {
    /// Checks that the caller's credential allows `scope`: a session allows everything its
    /// account may do; an API token only its scopes. Every use case that an API token may
    /// reach calls this (or [`Principal::require_session`]) before anything else.
    ///
    /// # Errors
    /// [`CredentialError::MissingScope`] for an API token without it.
    pub fn require(&self, scope: Scope) -> Result<(), CredentialError> {
        match self.credential {
            Credential::Session(_) => Ok(()),
            Credential::ApiToken { scopes, .. } if scopes.contains(scope) => Ok(()),
            Credential::ApiToken { .. } => Err(CredentialError::MissingScope(scope)),
        }
    }

    /// Checks that the caller came with a session (a password login), and returns it: the
    /// account's own settings, its sessions and tokens, and administration are never open to
    /// API tokens.
    ///
    /// # Errors
    /// [`CredentialError::SessionRequired`] for an API token.
    pub fn require_session(&self) -> Result<SessionId, CredentialError> {
        match self.credential {
            Credential::Session(id) => Ok(id),
            Credential::ApiToken { .. } => Err(CredentialError::SessionRequired),
        }
    }
}
