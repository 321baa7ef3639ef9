//! Accounts: users and their credentials, sessions and access tokens, and the
//! `AccountService` use cases (register, log in, refresh, log out, authenticate, change the
//! password, delete one's account).

mod api_token;
mod credential;
mod email;
mod error;
mod password;
mod ports;
mod service;
mod session;
mod session_cache;
mod tokens;
mod user;

#[cfg(test)]
mod tests;

pub use api_token::{
    ApiToken, ApiTokenDraft, ApiTokenHash, ApiTokenInsert, ApiTokenName, ApiTokenSecret,
    CreatedApiToken, SessionClient, SessionView,
};
pub use credential::{Credential, CredentialError, Scope, ScopeError, Scopes};
pub use email::Email;
pub use error::{
    AccountError, AuthError, EmailError, HashError, PasswordError, RoleError, SigningError,
};
pub use password::{Password, PasswordHash};
pub use ports::{
    AccountChange, AccountDeletion, AccountUpdate, ApiTokenRepository, InsertUserError,
    PasswordHasher, SessionRepository, TokenService, UserRepository,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{
    MockApiTokenRepository, MockPasswordHasher, MockSessionRepository, MockTokenService,
    MockUserRepository,
};
pub use service::{AccountPorts, AccountService, SessionSettings};
pub use session::{
    NewRefreshToken, RefreshSecret, RefreshTokenHash, RotateOutcome, Rotation, SealedRefreshToken,
    Session,
};
pub use session_cache::SessionCache;
pub use tokens::{AccessClaims, IssuedToken, TokenPair};
pub use user::{NewUser, Principal, Role, User};
