//! HS256 access tokens and opaque refresh tokens. The access tokens' algorithm is pinned:
//! `alg: none`, other HMAC sizes and asymmetric algorithms are all rejected, whatever the
//! token's header claims. Refresh tokens are 256 random bits, stored only as SHA-256 hashes.
//!
//! Access tokens follow RFC 8725's advice: their header says `typ: at+jwt` (so no other kind
//! of JWT signed with the same secret passes for one) and names its key in `kid`; their
//! claims carry an `aud` that is required, and an `iat` that may not lie in the future. Keys
//! rotate without logging anyone out: tokens are signed with the current secret and verified
//! with it or any previous one, the `kid` saying which.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use taskapi_domain::TokenService;
use taskapi_domain::{
    AccessClaims, ApiTokenHash, ApiTokenSecret, AuthError, IssuedToken, RefreshSecret,
    RefreshTokenHash, Role, SealedRefreshToken, SessionId, SigningError, User, UserId,
};
use uuid::Uuid;

/// What the token service needs from configuration.
pub struct JwtSettings {
    /// The HMAC secret tokens are signed (and verified) with.
    pub secret: Vec<u8>,
    /// Earlier secrets, still accepted for verification only (a key rotation's grace
    /// period).
    pub previous_secrets: Vec<Vec<u8>>,
    /// The `iss` claim written and required.
    pub issuer: String,
    /// The `aud` claim written and required.
    pub audience: String,
    /// Lifetime of an access token.
    pub access_ttl: Duration,
}

impl fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &"<redacted>")
            .field("previous_secrets", &self.previous_secrets.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl", &self.access_ttl)
            .finish()
    }
}

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    iat: i64,
    jti: String,
    iss: String,
    aud: String,
    role: String,
    /// The session (refresh-token family) the token belongs to.
    sid: String,
}

/// The `typ` header of an access token (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The `kid` of a secret: the first 8 bytes of a SHA-256 of it (with a label of its own, so
/// the id is no hash that appears anywhere else), hex-encoded. It names a key without
/// revealing it: anyone holding a token can already test guesses of the secret against its
/// signature, and the id tells them nothing more.
pub fn key_id(secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"taskapi jwt key id\0")
        .chain_update(secret)
        .finalize();
    hex(&digest[..8])
}

/// One key a token may be verified with.
struct VerifyingKey {
    id: String,
    key: DecodingKey,
}

/// Issues and verifies HS256 access tokens. Keys are derived once, at construction.
pub struct JwtTokenService {
    encoding: EncodingKey,
    /// The header of every token issued: HS256, `typ`, the current key's `kid`.
    header: Header,
    /// The current key first, then the previous ones.
    decoding: Vec<VerifyingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
    verified: VerifiedTokens,
}

/// Access tokens this service verified, by their exact text, with their claims: a client
/// sends the same token with every request for its whole lifetime, and checking the
/// signature and parsing two JSON documents each time was ~8 % of an authenticated read.
/// Only a token byte-for-byte equal to one that verified is served from here, and only
/// until it expires (with the same leeway as a full check); revocation is not this cache's
/// business (the session check comes after it, on every request, and the caller's role is
/// read from the account, not from here), so it needs no invalidation by account. Bounded:
/// when full, one entry makes room for the next in constant time (quick_cache's S3-FIFO:
/// tokens seen once go before tokens in use); nothing empties it all at once.
struct VerifiedTokens {
    tokens: quick_cache::sync::Cache<Box<str>, AccessClaims>,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self {
            tokens: quick_cache::sync::Cache::new(Self::CAPACITY),
        }
    }
}

impl VerifiedTokens {
    /// Most tokens remembered (a few hundred bytes each). A power of two, so that the
    /// cache's shards hold exactly this many between them.
    const CAPACITY: usize = 8_192;

    fn get(&self, token: &str) -> Option<AccessClaims> {
        self.tokens.get(token)
    }

    fn remember(&self, token: &str, claims: AccessClaims) {
        self.tokens.insert(token.into(), claims);
    }

    fn forget(&self, token: &str) {
        self.tokens.remove(token);
    }
}

/// Whether the claims' `exp` has passed at `now` (seconds), allowing the leeway, exactly as
/// `jsonwebtoken` decides it: expired when `exp < now - leeway`.
fn is_expired(claims: &AccessClaims, now: i64) -> bool {
    let leeway = i64::try_from(JwtTokenService::LEEWAY_SECS).unwrap_or(0);
    claims.expires_at.timestamp() < now.saturating_sub(leeway)
}

impl fmt::Debug for JwtTokenService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtTokenService")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field(
                "key_ids",
                &self.decoding.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl JwtTokenService {
    /// Clock skew tolerated between instances when checking `exp`.
    const LEEWAY_SECS: u64 = 5;

    /// Builds the service; the secrets' lengths are checked by configuration, not here.
    pub fn new(settings: JwtSettings) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = Self::LEEWAY_SECS;
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_audience(&[settings.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYPE.into());
        header.kid = Some(key_id(&settings.secret));
        let decoding = std::iter::once(&settings.secret)
            .chain(&settings.previous_secrets)
            .map(|secret| VerifyingKey {
                id: key_id(secret),
                key: DecodingKey::from_secret(secret),
            })
            .collect();
        Self {
            encoding: EncodingKey::from_secret(&settings.secret),
            header,
            decoding,
            validation,
            issuer: settings.issuer,
            audience: settings.audience,
            ttl_secs: i64::try_from(settings.access_ttl.as_secs()).unwrap_or(i64::MAX),
            verified: VerifiedTokens::default(),
        }
    }

    /// The key the token's header names: its `typ` must say it is an access token and its
    /// `kid` must name a configured key. A token without either (such as one issued before
    /// key ids existed) names none.
    fn key_for(&self, token: &str) -> Result<&DecodingKey, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        let typ = header.typ.as_deref().unwrap_or_default();
        // RFC 9068 allows the media type's full form; the comparison is case-insensitive.
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE) {
            return Err(AuthError::Invalid);
        }
        let kid = header.kid.ok_or(AuthError::Invalid)?;
        self.decoding
            .iter()
            .find(|k| k.id == kid)
            .map(|k| &k.key)
            .ok_or(AuthError::Invalid)
    }

    /// The full check: header, signature, algorithm, issuer, audience, expiry, issue time,
    /// and every claim's shape.
    fn verify_signed(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let key = self.key_for(token)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    _ => AuthError::Invalid,
                }
            })?;
        let claims = data.claims;
        // Issued in the future (beyond the clock skew tolerated): not a token we made.
        let leeway = i64::try_from(Self::LEEWAY_SECS).unwrap_or(0);
        if claims.iat > Utc::now().timestamp().saturating_add(leeway) {
            return Err(AuthError::Invalid);
        }
        let user_id = claims
            .sub
            .parse::<UserId>()
            .map_err(|_| AuthError::Invalid)?;
        let session_id = claims
            .sid
            .parse::<SessionId>()
            .map_err(|_| AuthError::Invalid)?;
        let role = Role::parse(&claims.role).map_err(|_| AuthError::Invalid)?;
        let issued_at = DateTime::from_timestamp(claims.iat, 0).ok_or(AuthError::Invalid)?;
        let expires_at = DateTime::from_timestamp(claims.exp, 0).ok_or(AuthError::Invalid)?;
        Ok(AccessClaims {
            user_id,
            session_id,
            role,
            issued_at,
            expires_at,
        })
    }
}

impl TokenService for JwtTokenService {
    fn issue(
        &self,
        user: &User,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, SigningError> {
        let iat = now.timestamp();
        let claims = Claims {
            sub: user.id.to_string(),
            exp: iat.saturating_add(self.ttl_secs),
            iat,
            jti: Uuid::now_v7().to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            role: user.role.as_str().to_owned(),
            sid: session.to_string(),
        };
        let token = jsonwebtoken::encode(&self.header, &claims, &self.encoding)
            .map_err(SigningError::new)?;
        Ok(IssuedToken {
            token,
            expires_in: self.ttl_secs,
        })
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let now = Utc::now().timestamp();
        if let Some(claims) = self.verified.get(token) {
            if is_expired(&claims, now) {
                self.verified.forget(token);
                return Err(AuthError::Expired);
            }
            return Ok(claims);
        }
        let claims = self.verify_signed(token)?;
        self.verified.remember(token, claims.clone());
        Ok(claims)
    }

    fn new_refresh_token(&self) -> RefreshSecret {
        // rand's thread-local generator is a CSPRNG (ChaCha) seeded and reseeded from the
        // operating system.
        let bytes: [u8; 32] = rand::random();
        RefreshSecret::new(hex(&bytes))
    }

    fn hash_refresh_token(&self, token: &str) -> RefreshTokenHash {
        // A fast hash is enough: the token carries 256 random bits, so there is nothing to
        // guess from a leaked hash.
        RefreshTokenHash::new(hex(&Sha256::digest(token.as_bytes())))
    }

    fn seal_successor(&self, presented: &str, successor: &RefreshSecret) -> SealedRefreshToken {
        // A one-time pad: the successor's bytes XOR a 256-bit key derived from the token it
        // replaces. Each presented token seals exactly one successor, and the key is as
        // unguessable as the presented token itself, so what is stored reveals nothing to
        // anyone who does not hold that token.
        let key = grace_key(presented);
        let sealed: Vec<u8> = successor
            .expose()
            .as_bytes()
            .iter()
            .zip(key.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect();
        SealedRefreshToken::new(hex(&sealed))
    }

    fn unseal_successor(
        &self,
        presented: &str,
        sealed: &SealedRefreshToken,
    ) -> Option<RefreshSecret> {
        let key = grace_key(presented);
        let bytes = unhex(sealed.as_str())?;
        let plain: Vec<u8> = bytes
            .iter()
            .zip(key.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect();
        let token = String::from_utf8(plain).ok()?;
        // Our refresh tokens are lower-case hex: anything else was sealed with another key.
        token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            .then(|| RefreshSecret::new(token))
    }

    fn new_api_token(&self) -> ApiTokenSecret {
        let prefix: [u8; 8] = rand::random();
        let secret: [u8; 32] = rand::random();
        ApiTokenSecret::new(format!(
            "{}{}_{}",
            ApiTokenSecret::MARKER,
            hex(&prefix),
            hex(&secret)
        ))
    }

    fn hash_api_token(&self, token: &str) -> ApiTokenHash {
        // As for refresh tokens: 256 random bits leave nothing to guess from a leaked hash.
        ApiTokenHash::new(hex(&Sha256::digest(token.as_bytes())))
    }

    fn api_token_matches(&self, token: &str, stored: &ApiTokenHash) -> bool {
        let presented = self.hash_api_token(token);
        presented
            .as_str()
            .as_bytes()
            .ct_eq(stored.as_str().as_bytes())
            .into()
    }
}

/// The key a rotated refresh token seals its successor with (32 bytes; refresh tokens are
/// 64 hex digits, so the pad never repeats).
fn grace_key(presented: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"taskapi refresh grace v1\0");
    hasher.update(presented.as_bytes());
    hasher.finalize().into()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests;
