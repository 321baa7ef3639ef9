//! Values and small helpers the end-to-end tests share: the test secret and password, JWT
//! claims and signing, query strings.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The HS256 secret every server of the tests signs with (at least 32 bytes).
pub const JWT_SECRET: &str = "end-to-end-tests-secret-with-more-than-32-bytes";
/// A password that satisfies the policy.
pub const PASSWORD: &str = "correct horse battery staple";

/// A JSON string's value; panics otherwise.
#[track_caller]
pub fn string(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_owned()
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Access-token claims as the service issues them, for `sub`, expiring in `ttl` seconds.
pub fn claims(sub: &str, ttl: i64) -> Value {
    let now = now();
    json!({
        "sub": sub,
        "exp": now + ttl,
        "iat": now - 1,
        "jti": uuid::Uuid::now_v7().to_string(),
        "iss": "taskapi",
        "aud": "taskapi",
        "role": "user",
    })
}

/// The session id (`sid`) of an access token the service issued.
pub fn session_of(token: &str) -> String {
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .unwrap_or_else(|e| panic!("cannot read the token's claims: {e}"));
    string(&claims["sid"])
}

/// Signs `claims` with `alg` and `secret`, with a header like the service's (`typ: at+jwt`,
/// the `kid` of `secret`).
pub fn sign(alg: Algorithm, secret: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.typ = Some(taskapi_auth::ACCESS_TOKEN_TYPE.into());
    header.kid = Some(taskapi_auth::key_id(secret.as_bytes()));
    sign_with_header(&header, secret, claims)
}

/// Signs `claims` with `secret` under exactly `header`.
pub fn sign_with_header(header: &Header, secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(secret.as_bytes()))
        .unwrap_or_else(|e| panic!("cannot sign a token: {e}"))
}

/// An unsigned token (`alg: none`) carrying `claims`.
pub fn unsigned_token(claims: &Value) -> String {
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64url(claims.to_string().as_bytes());
    format!("{header}.{payload}.")
}

/// Unpadded base64url, as JWTs use.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = chunk.len() + 1;
        for i in 0..symbols {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// A query string of `pairs`, percent-encoded (every byte but RFC 3986's unreserved ones).
pub fn query(pairs: &[(&str, &str)]) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The decoded name–value pairs of a query string (`+` is a space), in order.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// A random UUID string (for ids that exist nowhere).
pub fn random_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[test]
fn base64url_matches_known_vectors() {
    assert_eq!(base64url(b""), "");
    assert_eq!(base64url(b"f"), "Zg");
    assert_eq!(base64url(b"fo"), "Zm8");
    assert_eq!(base64url(b"foo"), "Zm9v");
    assert_eq!(base64url(b"foob"), "Zm9vYg");
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
}

#[test]
fn query_strings_round_trip() {
    let pairs = [
        ("q", "Ärger & Co + 50% #1 ?=/"),
        ("a b", ""),
        ("sort", "-title"),
    ];
    let text = query(&pairs);
    assert_eq!(
        text,
        "q=%C3%84rger%20%26%20Co%20%2B%2050%25%20%231%20%3F%3D%2F&a%20b=&sort=-title"
    );
    let decoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(parse_query(&text), decoded);
    assert_eq!(
        parse_query("a+b=c+d&e=%zz&f"),
        [
            ("a b".to_owned(), "c d".to_owned()),
            ("e".to_owned(), "%zz".to_owned()),
            ("f".to_owned(), String::new()),
        ]
    );
}
