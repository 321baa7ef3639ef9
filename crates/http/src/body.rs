//! Request bodies: the `JsonBody` extractor (media type, size limit, JSON syntax) and the
//! field reader that turns a JSON object into validated domain values, collecting every
//! invalid field so that one 422 names them all.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{DateTime, Datelike, Utc};
use futures_util::StreamExt;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{
    DefaultOperationRaw, DefaultSchemaRaw, Either, Parameter, ParameterIn,
};
use paperclip::v2::schema::Apiv2Schema;
use serde_json::{Map, Value};
use taskapi_domain::ValidationErrors;

use crate::auth::AuthGate;
use crate::error::ApiError;

/// Largest accepted request body (SPEC §8: over 65 536 bytes is 413).
pub const MAX_BODY_BYTES: usize = 65_536;

/// A request body type: documented through its `Apiv2Schema`, parsed through [`Fields`].
pub trait RequestBody: Apiv2Schema {
    /// What a valid body turns into.
    type Parsed;
    /// Fields a client may send back from a response that are silently ignored.
    const READ_ONLY: &'static [&'static str] = &[];
    /// Reads the fields, recording every problem in `fields`; `None` when any was found.
    fn parse(fields: &mut Fields) -> Option<Self::Parsed>;
}

/// Extracts and validates a JSON body of type `B`.
///
/// Order of checks, as the spec's status precedence wants: 415 without a JSON media type,
/// 413 over the size limit, 400 for malformed JSON, 422 for anything else wrong.
#[derive(Debug)]
pub struct JsonBody<B: RequestBody>(pub B::Parsed, pub Fingerprint);

/// What identifies a body's content: SHA-256 of its canonical JSON (object keys sorted,
/// insignificant whitespace dropped), so that "the same body" means equal JSON after
/// parsing, whatever its formatting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(pub String);

impl Fingerprint {
    fn of(value: &Value) -> Self {
        use sha2::{Digest, Sha256};
        // serde_json's maps are ordered by key, so serialising is canonical.
        let digest = Sha256::digest(value.to_string().as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_limited(req: &HttpRequest, mut payload: Payload) -> Result<web::BytesMut, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(MAX_BODY_BYTES));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::MalformedJson(format!("the body could not be read ({e})")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl<B: RequestBody + 'static> FromRequest for JsonBody<B> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        let gate = AuthGate::of(&req);
        Box::pin(async move {
            AuthGate::passed(gate).await?;
            if !is_json(&req) {
                return Err(ApiError::UnsupportedMediaType);
            }
            let bytes = read_limited(&req, payload).await?;
            let value: Value = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
            let fingerprint = Fingerprint::of(&value);
            let Value::Object(map) = value else {
                return Err(ApiError::invalid("body", "must be a JSON object"));
            };
            let mut fields = Fields::new(map);
            let parsed = B::parse(&mut fields);
            fields.finish(B::READ_ONLY)?;
            parsed
                .map(|parsed| JsonBody(parsed, fingerprint))
                .ok_or_else(|| ApiError::Internal("body parser failed without errors".into()))
        })
    }
}

impl<B: RequestBody> Apiv2Schema for JsonBody<B> {
    fn name() -> Option<String> {
        B::name()
    }

    fn raw_schema() -> DefaultSchemaRaw {
        B::raw_schema()
    }
}

impl<B: RequestBody> OperationModifier for JsonBody<B> {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        op.parameters.push(Either::Right(Parameter {
            in_: ParameterIn::Body,
            name: "body".into(),
            required: true,
            schema: Some({
                let mut def = B::schema_with_ref();
                def.retain_ref();
                def
            }),
            ..Default::default()
        }));
    }
}

const INSTANT_EXPECTED: &str =
    "must be an RFC 3339 date-time between years 1 and 9999, such as 2030-01-31T17:00:00Z";

/// Parses an RFC 3339 instant (in a body or a query), normalised to UTC and to whole
/// microseconds, the precision storage keeps. Years outside 1–9999 (reachable through an
/// offset) are refused: storage could not order them.
///
/// # Errors
/// A message showing the expected form.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    parse_instant_exact(raw).map(|dt| truncate_to_micros(dt, false))
}

/// Like [`parse_instant`], keeping every digit the client sent (for comparisons).
///
/// # Errors
/// A message showing the expected form.
pub fn parse_instant_exact(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map_err(|_| INSTANT_EXPECTED.to_owned())
        .map(|dt| dt.with_timezone(&Utc))
        .and_then(within_storable_years)
}

/// `at` if its year is one storage can keep and order (1–9999); checked again after any
/// rounding, which can carry 9999-12-31T23:59:59.9999999Z into the year 10000.
///
/// # Errors
/// A message showing the expected form.
pub fn within_storable_years(at: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if (1..=9999).contains(&at.year()) {
        Ok(at)
    } else {
        Err(INSTANT_EXPECTED.to_owned())
    }
}

/// `at` to whole microseconds: down, or up when `round_up` and digits are cut.
pub fn truncate_to_micros(at: DateTime<Utc>, round_up: bool) -> DateTime<Utc> {
    let micros = at.timestamp_micros();
    let cut = !at.timestamp_subsec_nanos().is_multiple_of(1_000);
    let micros = if round_up && cut {
        micros.saturating_add(1)
    } else {
        micros
    };
    DateTime::from_timestamp_micros(micros).unwrap_or(at)
}

/// A JSON value that may be absent, explicitly `null`, or present.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot<T> {
    /// The field was not sent.
    Absent,
    /// The field was sent as `null`.
    Null,
    /// The field was sent with a value of the right JSON type.
    Present(T),
}

/// Reads the fields of one JSON object, remembering which were read and every error.
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
    known: Vec<&'static str>,
    errors: ValidationErrors,
}

impl Fields {
    fn new(map: Map<String, Value>) -> Self {
        Self {
            map,
            known: Vec::new(),
            errors: ValidationErrors::new(),
        }
    }

    /// Records an error for `field`.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(field, message);
    }

    /// Records the error of a domain parser, passing its value through.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        self.errors.check(field, result)
    }

    /// Records the errors of a domain parser that names fields itself.
    pub fn check_many<T>(&mut self, result: Result<T, ValidationErrors>) -> Option<T> {
        self.errors.check_many(result)
    }

    fn take(&mut self, name: &'static str) -> Option<Value> {
        self.known.push(name);
        self.map.remove(name)
    }

    fn typed<T>(
        &mut self,
        name: &'static str,
        what: &str,
        convert: impl FnOnce(Value) -> Option<T>,
    ) -> Option<Slot<T>> {
        match self.take(name) {
            None => Some(Slot::Absent),
            Some(Value::Null) => Some(Slot::Null),
            Some(v) => match convert(v) {
                Some(t) => Some(Slot::Present(t)),
                None => {
                    self.error(name, format!("must be {what}"));
                    None
                }
            },
        }
    }

    /// A string field; `None` when it has the wrong type (already recorded).
    pub fn string(&mut self, name: &'static str) -> Option<Slot<String>> {
        self.typed(name, "a string", |v| match v {
            Value::String(s) => Some(s),
            _ => None,
        })
    }

    /// A boolean field.
    pub fn boolean(&mut self, name: &'static str) -> Option<Slot<bool>> {
        self.typed(name, "a boolean", |v| v.as_bool())
    }

    /// An array-of-strings field.
    pub fn strings(&mut self, name: &'static str) -> Option<Slot<Vec<String>>> {
        self.typed(name, "an array of strings", |v| match v {
            Value::Array(items) => items
                .into_iter()
                .map(|i| match i {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
            _ => None,
        })
    }

    /// An RFC 3339 timestamp field, normalised to UTC and to whole microseconds (what
    /// storage keeps).
    pub fn timestamp(&mut self, name: &'static str) -> Option<Slot<DateTime<Utc>>> {
        match self.take(name) {
            None => Some(Slot::Absent),
            Some(Value::Null) => Some(Slot::Null),
            Some(Value::String(raw)) => self.check(name, parse_instant(&raw)).map(Slot::Present),
            Some(_) => {
                self.error(name, INSTANT_EXPECTED);
                None
            }
        }
    }

    /// A required, non-null field: absent or null is recorded as an error.
    pub fn required<T>(&mut self, name: &'static str, slot: Option<Slot<T>>) -> Option<T> {
        match slot? {
            Slot::Present(v) => Some(v),
            Slot::Absent => {
                self.error(name, "is required");
                None
            }
            Slot::Null => {
                self.error(name, "must not be null");
                None
            }
        }
    }

    /// An optional but non-nullable field: `Some(None)` when absent, an error when null.
    pub fn optional<T>(&mut self, name: &'static str, slot: Option<Slot<T>>) -> Option<Option<T>> {
        match slot? {
            Slot::Present(v) => Some(Some(v)),
            Slot::Absent => Some(None),
            Slot::Null => {
                self.error(name, "must not be null");
                None
            }
        }
    }

    /// Ends reading: read-only fields are dropped, any other field nobody asked for is an
    /// error naming it, and the result is 422 when any error was recorded.
    fn finish(mut self, read_only: &[&str]) -> Result<(), ApiError> {
        let unknown: BTreeMap<String, Value> = std::mem::take(&mut self.map)
            .into_iter()
            .filter(|(k, _)| !read_only.contains(&k.as_str()) && !self.known.contains(&k.as_str()))
            .collect();
        for name in unknown.keys() {
            self.errors.push(name.clone(), "is not a known field");
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}
