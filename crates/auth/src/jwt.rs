//! HS256 access tokens and opaque refresh tokens. The access tokens' algorithm is pinned:
//! `alg: none`, other HMAC sizes and asymmetric algorithms are all rejected, whatever the
//! token's header claims. Refresh tokens are 256 random bits, stored only as SHA-256 hashes.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use taskapi_domain::TokenService;
use taskapi_domain::{
    AccessClaims, AuthError, IssuedToken, RefreshSecret, RefreshTokenHash, Role, SessionId,
    SigningError, User, UserId,
};
use uuid::Uuid;

/// What the token service needs from configuration.
pub struct JwtSettings {
    /// The HMAC secret.
    pub secret: Vec<u8>,
    /// The `iss` claim written and required.
    pub issuer: String,
    /// Lifetime of an access token.
    pub access_ttl: Duration,
}

impl fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
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
    role: String,
    /// The session (refresh-token family) the token belongs to.
    sid: String,
}

/// Issues and verifies HS256 access tokens. Keys are derived once, at construction.
pub struct JwtTokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    ttl_secs: i64,
    verified: VerifiedTokens,
}

/// Access tokens this service verified, by their exact text, with their claims: a client
/// sends the same token with every request for its whole lifetime, and checking the
/// signature and parsing two JSON documents each time was ~8 % of an authenticated read.
/// Only a token byte-for-byte equal to one that verified is served from here, and only
/// until it expires (with the same leeway as a full check); revocation is not this cache's
/// business (the session check comes after it, on every request). Bounded: when full,
/// expired entries go, and if that frees nothing, everything.
#[derive(Default)]
struct VerifiedTokens {
    tokens: Mutex<HashMap<Box<str>, AccessClaims>>,
}

impl VerifiedTokens {
    /// Most tokens remembered (a few hundred bytes each).
    const CAPACITY: usize = 10_000;

    fn get(&self, token: &str) -> Option<AccessClaims> {
        self.tokens.lock().ok()?.get(token).cloned()
    }

    fn remember(&self, token: &str, claims: AccessClaims, now: i64) {
        let Ok(mut tokens) = self.tokens.lock() else {
            return;
        };
        if tokens.len() >= Self::CAPACITY {
            tokens.retain(|_, c| !is_expired(c, now));
            if tokens.len() >= Self::CAPACITY {
                tokens.clear();
            }
        }
        tokens.insert(token.into(), claims);
    }

    fn forget(&self, token: &str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(token);
        }
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
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl JwtTokenService {
    /// Clock skew tolerated between instances when checking `exp`.
    const LEEWAY_SECS: u64 = 5;

    /// Builds the service; the secret's length is checked by configuration, not here.
    pub fn new(settings: JwtSettings) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = Self::LEEWAY_SECS;
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
        Self {
            encoding: EncodingKey::from_secret(&settings.secret),
            decoding: DecodingKey::from_secret(&settings.secret),
            validation,
            issuer: settings.issuer,
            ttl_secs: i64::try_from(settings.access_ttl.as_secs()).unwrap_or(i64::MAX),
            verified: VerifiedTokens::default(),
        }
    }

    /// The full check: signature, algorithm, issuer, expiry, and every claim's shape.
    fn verify_signed(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid,
            })?;
        let claims = data.claims;
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
            role: user.role.as_str().to_owned(),
            sid: session.to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
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
        self.verified.remember(token, claims.clone(), now);
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
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;
    use taskapi_domain::{Email, PasswordHash};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn service() -> JwtTokenService {
        JwtTokenService::new(JwtSettings {
            secret: SECRET.to_vec(),
            issuer: "taskapi".into(),
            access_ttl: Duration::from_secs(900),
        })
    }

    fn user() -> User {
        User {
            id: UserId::from_uuid(Uuid::now_v7()),
            email: Email::from_trusted("a@example.com".into()),
            password_hash: PasswordHash::new("h".into()),
            role: Role::Admin,
            disabled: false,
            created_at: Utc::now(),
            session_epoch: 0,
        }
    }

    fn sign(alg: Algorithm, key: &[u8], claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn valid_claims(u: &User) -> serde_json::Value {
        let now = Utc::now().timestamp();
        json!({"sub": u.id.to_string(), "exp": now + 600, "iat": now, "jti": "j",
               "iss": "taskapi", "role": "user", "sid": Uuid::now_v7().to_string()})
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_claims() {
        let s = service();
        let u = user();
        let session = SessionId::from_uuid(Uuid::now_v7());
        let issued = s
            .issue(&u, session, Utc::now())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(issued.expires_in, 900);
        let claims = s.verify(&issued.token).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(claims.user_id, u.id);
        assert_eq!(claims.session_id, session);
        assert_eq!(claims.role, Role::Admin);
        assert_eq!(
            claims.expires_at - claims.issued_at,
            chrono::Duration::seconds(900)
        );
    }

    #[test]
    fn the_header_says_hs256_and_the_payload_has_every_claim() {
        let issued = service()
            .issue(&user(), SessionId::from_uuid(Uuid::now_v7()), Utc::now())
            .unwrap_or_else(|e| panic!("{e}"));
        let header = jsonwebtoken::decode_header(&issued.token).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(header.alg, Algorithm::HS256);
        use jsonwebtoken::dangerous::insecure_decode_claims;
        let claims: serde_json::Value = insecure_decode_claims::<serde_json::Value>(&issued.token)
            .unwrap_or_else(|e| panic!("{e}"));
        for key in ["sub", "exp", "iat", "jti", "iss", "role", "sid"] {
            assert!(claims.get(key).is_some(), "missing {key}");
        }
    }

    fn claims_expiring_at(exp: i64) -> AccessClaims {
        AccessClaims {
            user_id: UserId::from_uuid(Uuid::now_v7()),
            session_id: SessionId::from_uuid(Uuid::now_v7()),
            role: Role::User,
            issued_at: Utc::now(),
            expires_at: DateTime::from_timestamp(exp, 0).unwrap_or_else(|| panic!("{exp}")),
        }
    }

    fn remembered(s: &JwtTokenService) -> usize {
        s.verified.tokens.lock().map(|t| t.len()).unwrap_or(0)
    }

    #[test]
    fn verified_tokens_are_remembered_and_only_an_identical_token_is_served_from_memory() {
        let s = service();
        let token = sign(Algorithm::HS256, SECRET, &valid_claims(&user()));
        let first = s.verify(&token).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(remembered(&s), 1);
        assert_eq!(s.verify(&token), Ok(first));
        // One character changed in the signature: a full check, which fails.
        let at = token.rfind('.').unwrap_or_else(|| panic!("{token}")) + 1;
        let mut tampered = token.clone();
        let swapped = if tampered[at..].starts_with('A') {
            "B"
        } else {
            "A"
        };
        tampered.replace_range(at..=at, swapped);
        assert_eq!(s.verify(&tampered), Err(AuthError::Invalid));
        assert_eq!(remembered(&s), 1, "a failed check is not remembered");
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires_beyond_the_leeway() {
        let s = service();
        let now = Utc::now().timestamp();
        let leeway = i64::try_from(JwtTokenService::LEEWAY_SECS).unwrap_or(0);
        s.verified
            .remember("within-leeway", claims_expiring_at(now - leeway + 2), now);
        s.verified
            .remember("past-leeway", claims_expiring_at(now - leeway - 2), now);
        assert!(s.verify("within-leeway").is_ok());
        assert_eq!(s.verify("past-leeway"), Err(AuthError::Expired));
        assert_eq!(remembered(&s), 1, "the expired token is forgotten");
    }

    #[test]
    fn the_memory_of_verified_tokens_is_bounded() {
        let s = service();
        let now = Utc::now().timestamp();
        for n in 0..VerifiedTokens::CAPACITY {
            s.verified
                .remember(&format!("old-{n}"), claims_expiring_at(now - 3_600), now);
        }
        assert_eq!(remembered(&s), VerifiedTokens::CAPACITY);
        s.verified
            .remember("new", claims_expiring_at(now + 600), now);
        assert_eq!(remembered(&s), 1, "expired entries make room");
        for n in 0..VerifiedTokens::CAPACITY {
            s.verified
                .remember(&format!("live-{n}"), claims_expiring_at(now + 600), now);
        }
        assert!(remembered(&s) <= VerifiedTokens::CAPACITY);
    }

    #[test]
    fn expired_tokens_are_expired() {
        let u = user();
        let mut claims = valid_claims(&u);
        let past = Utc::now().timestamp() - 3600;
        claims["exp"] = json!(past);
        claims["iat"] = json!(past - 900);
        assert_eq!(
            service().verify(&sign(Algorithm::HS256, SECRET, &claims)),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn hostile_tokens_are_invalid() {
        let s = service();
        let u = user();
        let good = valid_claims(&u);
        assert!(s.verify(&sign(Algorithm::HS256, SECRET, &good)).is_ok());

        let wrong_secret = sign(Algorithm::HS256, b"another-secret-another-secret-xx", &good);
        let other_hmac = sign(Algorithm::HS512, SECRET, &good);
        let mut wrong_issuer = good.clone();
        wrong_issuer["iss"] = json!("someone-else");
        let mut no_sub = good.clone();
        if let Some(o) = no_sub.as_object_mut() {
            o.remove("sub");
        }
        let mut bad_sub = good.clone();
        bad_sub["sub"] = json!("not-a-uuid");
        let mut bad_role = good.clone();
        bad_role["role"] = json!("root");
        let mut no_sid = good.clone();
        if let Some(o) = no_sid.as_object_mut() {
            o.remove("sid");
        }
        let mut bad_sid = good.clone();
        bad_sid["sid"] = json!("not-a-session");

        // alg none: header {"alg":"none"}, unsigned
        let b64 = |v: &serde_json::Value| {
            use base64_url_encode as enc;
            enc(&v.to_string())
        };
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg":"none","typ":"JWT"})),
            b64(&good)
        );

        // tampered payload: re-encode the payload of a good token with another role
        let token = sign(Algorithm::HS256, SECRET, &good);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut tampered = good.clone();
        tampered["role"] = json!("admin");
        parts[1] = b64(&tampered);
        let tampered = parts.join(".");

        for (name, t) in [
            ("wrong secret", wrong_secret),
            ("HS512", other_hmac),
            (
                "wrong issuer",
                sign(Algorithm::HS256, SECRET, &wrong_issuer),
            ),
            ("missing sub", sign(Algorithm::HS256, SECRET, &no_sub)),
            ("bad sub", sign(Algorithm::HS256, SECRET, &bad_sub)),
            ("bad role", sign(Algorithm::HS256, SECRET, &bad_role)),
            ("missing sid", sign(Algorithm::HS256, SECRET, &no_sid)),
            ("bad sid", sign(Algorithm::HS256, SECRET, &bad_sid)),
            ("alg none", none),
            ("tampered", tampered),
            ("garbage", "not.a.jwt".into()),
            ("empty", String::new()),
        ] {
            assert_eq!(
                s.verify(&t),
                Err(AuthError::Invalid),
                "{name} should be invalid"
            );
        }
    }

    /// Minimal unpadded base64url, to forge tokens without another dependency.
    fn base64_url_encode(s: &str) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = s.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    #[test]
    fn refresh_tokens_are_256_random_bits_and_hash_stably_one_way() {
        let s = service();
        let a = s.new_refresh_token();
        let b = s.new_refresh_token();
        assert_eq!(a.expose().len(), 64, "32 bytes, hex-encoded");
        assert!(a.expose().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        let hash = s.hash_refresh_token(a.expose());
        assert_eq!(hash, s.hash_refresh_token(a.expose()));
        assert_ne!(hash, s.hash_refresh_token(b.expose()));
        assert_ne!(hash.as_str(), a.expose());
        // SHA-256 of "abc"
        assert_eq!(
            s.hash_refresh_token("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let settings = JwtSettings {
            secret: SECRET.to_vec(),
            issuer: "i".into(),
            access_ttl: Duration::from_secs(1),
        };
        assert!(!format!("{settings:?}").contains("0123456789"));
    }
}
