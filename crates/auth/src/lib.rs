//! taskapi's auth adapters: the HS256 JWT [`JwtTokenService`] and the bcrypt
//! [`BcryptHasher`], implementing the domain's `TokenService` and `PasswordHasher` ports,
//! and the `[auth]` configuration section they are built from ([`AuthSettings`]).

mod hasher;
mod jwt;
mod settings;

pub use hasher::{BcryptHasher, HasherStartError};
pub use jwt::{ACCESS_TOKEN_TYPE, JwtSettings, JwtTokenService, key_id};
pub use settings::{AuthSettings, MIN_SECRET_BYTES, Secret};
