//! taskapi's auth adapters: the HS256 JWT [`JwtTokenService`] and the bcrypt
//! [`BcryptHasher`], implementing the domain's `TokenService` and `PasswordHasher` ports.

mod hasher;
mod jwt;

pub use hasher::BcryptHasher;
pub use jwt::{JwtSettings, JwtTokenService};
