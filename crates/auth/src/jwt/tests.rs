use super::*;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use taskapi_domain::{Email, PasswordHash};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const OLD_SECRET: &[u8] = b"an-older-secret-an-older-secret-";

fn settings(secret: &[u8], previous: &[&[u8]]) -> JwtSettings {
    JwtSettings {
        secret: secret.to_vec(),
        previous_secrets: previous.iter().map(|s| s.to_vec()).collect(),
        issuer: "taskapi".into(),
        audience: "taskapi".into(),
        access_ttl: Duration::from_secs(900),
    }
}

fn service() -> JwtTokenService {
    JwtTokenService::new(settings(SECRET, &[]))
}

fn user() -> User {
    User {
        id: UserId::from_uuid(Uuid::now_v7()),
        email: Email::from_trusted("a@example.com".into()),
        password_hash: PasswordHash::new("h".into()),
        role: Role::Admin,
        disabled: false,
        created_at: Utc::now(),
        email_verified: false,
        session_epoch: 0,
    }
}

/// A header like the service's: `typ: at+jwt` and the `kid` of `key`.
fn header(alg: Algorithm, key: &[u8]) -> Header {
    let mut header = Header::new(alg);
    header.typ = Some("at+jwt".into());
    header.kid = Some(key_id(key));
    header
}

fn sign_with(header: &Header, key: &[u8], claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(key))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn sign(alg: Algorithm, key: &[u8], claims: &serde_json::Value) -> String {
    sign_with(&header(alg, key), key, claims)
}

fn valid_claims(u: &User) -> serde_json::Value {
    let now = Utc::now().timestamp();
    json!({"sub": u.id.to_string(), "exp": now + 600, "iat": now, "jti": "j",
           "iss": "taskapi", "aud": "taskapi", "role": "user", "sid": Uuid::now_v7().to_string()})
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
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.kid, Some(key_id(SECRET)));
    use jsonwebtoken::dangerous::insecure_decode_claims;
    let claims: serde_json::Value = insecure_decode_claims::<serde_json::Value>(&issued.token)
        .unwrap_or_else(|e| panic!("{e}"));
    for key in ["sub", "exp", "iat", "jti", "iss", "aud", "role", "sid"] {
        assert!(claims.get(key).is_some(), "missing {key}");
    }
    assert_eq!(claims["aud"], "taskapi");
}

#[test]
fn the_key_id_names_a_secret_without_revealing_it() {
    let id = key_id(SECRET);
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(id, key_id(SECRET), "stable");
    assert_ne!(id, key_id(OLD_SECRET));
    let secret_hex = hex(SECRET);
    assert!(!secret_hex.contains(&id) && !id.contains("0123456789"));
}

#[test]
fn tokens_of_a_previous_secret_verify_but_new_ones_are_signed_with_the_current_one() {
    let u = user();
    let session = SessionId::from_uuid(Uuid::now_v7());
    let before = JwtTokenService::new(settings(OLD_SECRET, &[]));
    let old_token = before
        .issue(&u, session, Utc::now())
        .unwrap_or_else(|e| panic!("{e}"))
        .token;
    let rotated = JwtTokenService::new(settings(SECRET, &[OLD_SECRET]));
    assert_eq!(
        rotated.verify(&old_token).map(|c| c.user_id),
        Ok(u.id),
        "an old token keeps working during the rotation"
    );
    let new_token = rotated
        .issue(&u, session, Utc::now())
        .unwrap_or_else(|e| panic!("{e}"))
        .token;
    let header = jsonwebtoken::decode_header(&new_token).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header.kid, Some(key_id(SECRET)));
    assert_eq!(before.verify(&new_token), Err(AuthError::Invalid));
    // Once the old secret is dropped, its tokens are refused.
    let after = JwtTokenService::new(settings(SECRET, &[]));
    assert_eq!(after.verify(&old_token), Err(AuthError::Invalid));
    assert!(after.verify(&new_token).is_ok());
    // The kid selects the key: a token claiming the old key's id but signed with the
    // current secret is refused.
    let mismatched = sign_with(
        &header_with_kid(key_id(OLD_SECRET)),
        SECRET,
        &valid_claims(&u),
    );
    assert_eq!(rotated.verify(&mismatched), Err(AuthError::Invalid));
}

fn header_with_kid(kid: String) -> Header {
    let mut h = header(Algorithm::HS256, SECRET);
    h.kid = Some(kid);
    h
}

#[test]
fn rfc_8725_checks_type_audience_and_issue_time() {
    let s = service();
    let u = user();
    let good = valid_claims(&u);
    assert!(s.verify(&sign(Algorithm::HS256, SECRET, &good)).is_ok());
    // The media-type spelling of the type is accepted too.
    let mut long_typ = header(Algorithm::HS256, SECRET);
    long_typ.typ = Some("application/AT+JWT".into());
    assert!(s.verify(&sign_with(&long_typ, SECRET, &good)).is_ok());

    let mut plain_jwt = header(Algorithm::HS256, SECRET);
    plain_jwt.typ = Some("JWT".into());
    let mut no_typ = header(Algorithm::HS256, SECRET);
    no_typ.typ = None;
    let mut no_kid = header(Algorithm::HS256, SECRET);
    no_kid.kid = None;
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("another-service");
    let mut no_aud = good.clone();
    if let Some(o) = no_aud.as_object_mut() {
        o.remove("aud");
    }
    let mut future = good.clone();
    future["iat"] = json!(Utc::now().timestamp() + 60);
    // Issued the way tokens were before key ids: typ JWT, no kid, no aud.
    let mut legacy_claims = good.clone();
    if let Some(o) = legacy_claims.as_object_mut() {
        o.remove("aud");
    }
    let legacy = sign_with(&Header::new(Algorithm::HS256), SECRET, &legacy_claims);
    for (name, token) in [
        ("typ JWT", sign_with(&plain_jwt, SECRET, &good)),
        ("no typ", sign_with(&no_typ, SECRET, &good)),
        ("no kid", sign_with(&no_kid, SECRET, &good)),
        (
            "unknown kid",
            sign_with(&header_with_kid("0".repeat(16)), SECRET, &good),
        ),
        ("wrong aud", sign(Algorithm::HS256, SECRET, &wrong_aud)),
        ("no aud", sign(Algorithm::HS256, SECRET, &no_aud)),
        ("iat in the future", sign(Algorithm::HS256, SECRET, &future)),
        ("legacy", legacy),
    ] {
        assert_eq!(s.verify(&token), Err(AuthError::Invalid), "{name}");
    }
    // An iat within the leeway is clock skew, not forgery.
    let mut skewed = good.clone();
    skewed["iat"] = json!(Utc::now().timestamp() + 2);
    assert!(s.verify(&sign(Algorithm::HS256, SECRET, &skewed)).is_ok());
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
    s.verified.tokens.len()
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
        .remember("within-leeway", claims_expiring_at(now - leeway + 2));
    s.verified
        .remember("past-leeway", claims_expiring_at(now - leeway - 2));
    assert!(s.verify("within-leeway").is_ok());
    assert_eq!(s.verify("past-leeway"), Err(AuthError::Expired));
    assert_eq!(remembered(&s), 1, "the expired token is forgotten");
}

#[test]
fn the_memory_of_verified_tokens_is_bounded_and_never_emptied_at_once() {
    let s = service();
    let now = Utc::now().timestamp();
    s.verified.remember("in-use", claims_expiring_at(now + 600));
    for n in 0..3 * VerifiedTokens::CAPACITY {
        s.verified
            .remember(&format!("live-{n}"), claims_expiring_at(now + 600));
        assert!(remembered(&s) <= VerifiedTokens::CAPACITY);
        assert!(s.verify("in-use").is_ok(), "a token in use stays after {n}");
        if n >= 2 * VerifiedTokens::CAPACITY {
            assert!(
                remembered(&s) >= VerifiedTokens::CAPACITY * 3 / 4,
                "{} remembered after {n}",
                remembered(&s)
            );
        }
    }
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
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
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
    let settings = settings(SECRET, &[OLD_SECRET]);
    let shown = format!("{settings:?}");
    assert!(
        !shown.contains("0123456789") && !shown.contains("older"),
        "{shown}"
    );
    let shown = format!("{:?}", JwtTokenService::new(settings));
    assert!(
        !shown.contains("0123456789") && !shown.contains("older"),
        "{shown}"
    );
}

#[test]
fn api_tokens_are_well_formed_distinct_and_match_only_their_own_hash() {
    let s = service();
    let a = s.new_api_token();
    let b = s.new_api_token();
    assert_ne!(a.expose(), b.expose());
    assert_eq!(a.expose().len(), ApiTokenSecret::LEN);
    assert!(ApiTokenSecret::lookup_prefix(a.expose()).is_some());
    assert_ne!(
        ApiTokenSecret::lookup_prefix(a.expose()),
        ApiTokenSecret::lookup_prefix(b.expose())
    );
    let hash = s.hash_api_token(a.expose());
    assert!(!hash.as_str().contains(&a.expose()[4..]));
    assert!(s.api_token_matches(a.expose(), &hash));
    assert!(!s.api_token_matches(b.expose(), &hash));
    assert!(!s.api_token_matches(a.expose(), &ApiTokenHash::new(String::new())));
}

#[test]
fn a_sealed_successor_opens_only_with_the_token_it_replaces() {
    let s = service();
    let presented = s.new_refresh_token();
    let successor = s.new_refresh_token();
    let sealed = s.seal_successor(presented.expose(), &successor);
    assert!(!sealed.as_str().contains(successor.expose()));
    assert_eq!(
        s.unseal_successor(presented.expose(), &sealed),
        Some(successor)
    );
    let other = s.new_refresh_token();
    assert_eq!(s.unseal_successor(other.expose(), &sealed), None);
    assert_eq!(
        s.unseal_successor(presented.expose(), &SealedRefreshToken::new("zz".into())),
        None
    );
}
