//! What a request's credential allows: the scopes of personal API tokens, and the checks
//! every service method runs on its caller before doing anything.
//!
//! The rule lives here, not in the HTTP layer's routes: a service method that needs a scope
//! (or a session) asks the [`Principal`](crate::Principal) for it first, so no route, old or
//! new, can reach the use case with a credential that does not allow it.

use std::fmt;

use thiserror::Error;

use crate::{ApiTokenId, SessionId};

/// One thing a personal API token may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Read tasks (`GET /tasks`, `GET /tasks/{id}`).
    TasksRead,
    /// Create, change, move and delete tasks.
    TasksWrite,
    /// Read lists, their members and invitations.
    ListsRead,
    /// Create, change and delete lists, members and invitations.
    ListsWrite,
    /// Follow changes (`GET /changes`, `GET /events`).
    ChangesRead,
}

impl Scope {
    /// Every scope, in the order they are shown.
    pub const ALL: [Scope; 5] = [
        Scope::TasksRead,
        Scope::TasksWrite,
        Scope::ListsRead,
        Scope::ListsWrite,
        Scope::ChangesRead,
    ];

    /// The scope's name as the API spells it (`tasks:read`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TasksRead => "tasks:read",
            Scope::TasksWrite => "tasks:write",
            Scope::ListsRead => "lists:read",
            Scope::ListsWrite => "lists:write",
            Scope::ChangesRead => "changes:read",
        }
    }

    /// Parses a scope name.
    ///
    /// # Errors
    /// [`ScopeError`] for any other name.
    pub fn parse(raw: &str) -> Result<Self, ScopeError> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or(ScopeError)
    }

    fn bit(self) -> u8 {
        match self {
            Scope::TasksRead => 1,
            Scope::TasksWrite => 1 << 1,
            Scope::ListsRead => 1 << 2,
            Scope::ListsWrite => 1 << 3,
            Scope::ChangesRead => 1 << 4,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that is none of the defined ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("must be one of: tasks:read, tasks:write, lists:read, lists:write, changes:read")]
pub struct ScopeError;

/// A set of scopes (a small bitset, so that a [`Principal`](crate::Principal) stays `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope at all.
    pub const NONE: Scopes = Scopes(0);

    /// The set holding `scopes` (duplicates fold).
    pub fn of(scopes: impl IntoIterator<Item = Scope>) -> Self {
        Scopes(scopes.into_iter().fold(0, |bits, s| bits | s.bit()))
    }

    /// Whether the set holds `scope`.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes held, in [`Scope::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The stored form: the scope names joined by spaces, in [`Scope::ALL`]'s order.
    pub fn to_stored(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Reads the stored form back.
    ///
    /// # Errors
    /// [`ScopeError`] for a name that is no scope (corrupt data).
    pub fn from_stored(stored: &str) -> Result<Self, ScopeError> {
        stored
            .split_whitespace()
            .map(Scope::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Scopes::of)
    }
}

/// The credential a request was authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// An access token of a session (a password login and its refreshes): everything the
    /// account may do.
    Session(SessionId),
    /// A personal API token: only what its scopes allow, and never the account's own
    /// settings, sessions, tokens or administration.
    ApiToken {
        /// The token.
        id: ApiTokenId,
        /// What it allows.
        scopes: Scopes,
    },
}

/// Why a credential does not allow what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CredentialError {
    /// An API token without the scope this needs.
    #[error("this API token lacks the scope {0}")]
    MissingScope(Scope),
    /// This is only open to a session (a password login), never to an API token.
    #[error("this is only open to a session, not to an API token")]
    SessionRequired,
}
