//! The one declaration of a request body's fields, and the reader that parses a JSON object
//! against it.
//!
//! Each body type lists its fields once, as [`Field`] constants: their name, description
//! and the rule they must satisfy. The parser reads the fields through those constants (so a
//! field it does not declare cannot be read, and any undeclared field sent is refused), and
//! the OpenAPI schema of the body is generated from the same list (see [`schema`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use taskapi_domain::ValidationErrors;

use crate::error::ApiError;
use crate::instant::{INSTANT_EXPECTED, parse_instant};

/// Strings that contain no control character (Unicode category Cc), as the domain's text
/// fields require.
pub(crate) const NO_CONTROL: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";

/// Strings with no control character and at least one character that trimming keeps.
pub(crate) const NOT_BLANK: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";

/// Like [`NOT_BLANK`], and without bidirectional controls (U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069) or zero-width characters (U+200B–U+200D, U+2060, U+FEFF),
/// as task titles require.
pub(crate) const NOT_BLANK_VISIBLE: &str = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF][^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]*$";

/// Strings with no control character other than tabs and line breaks.
pub(crate) const TEXT_WITH_BREAKS: &str =
    r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

/// The rule a string must satisfy, as the schema states it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Text {
    /// Fewest characters (`minLength`).
    pub min_len: Option<u32>,
    /// Most characters (`maxLength`).
    pub max_len: Option<u32>,
    /// A regular expression the whole string matches (`pattern`).
    pub pattern: Option<&'static str>,
    /// A well-known format (`email`, …).
    pub format: Option<&'static str>,
}

impl Text {
    /// Any string.
    pub const ANY: Text = Text {
        min_len: None,
        max_len: None,
        pattern: None,
        format: None,
    };

    fn schema(&self) -> Map<String, Value> {
        let mut schema = Map::new();
        schema.insert("type".into(), json!("string"));
        if let Some(n) = self.min_len {
            schema.insert("minLength".into(), json!(n));
        }
        if let Some(n) = self.max_len {
            schema.insert("maxLength".into(), json!(n));
        }
        if let Some(p) = self.pattern {
            schema.insert("pattern".into(), json!(p));
        }
        if let Some(f) = self.format {
            schema.insert("format".into(), json!(f));
        }
        schema
    }
}

/// A field's JSON type and rule.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A string.
    Text(Text),
    /// `true` or `false`.
    Boolean,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// An RFC 3339 date-time (years 1–9999).
    Instant,
    /// An array of strings.
    TextList {
        /// Most items (`maxItems`).
        max_items: u32,
        /// The rule of each item.
        item: Text,
    },
}

/// One field of a request body: everything the parser and the schema need to know.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    /// Its JSON name.
    pub name: &'static str,
    /// Its description in the OpenAPI document.
    pub description: &'static str,
    /// Its type and rule.
    pub kind: Kind,
    /// Whether a body without it is refused.
    pub required: bool,
    /// Whether `null` is accepted.
    pub nullable: bool,
}

impl Field {
    /// An optional, non-nullable field.
    pub const fn new(name: &'static str, kind: Kind, description: &'static str) -> Self {
        Self {
            name,
            description,
            kind,
            required: false,
            nullable: false,
        }
    }

    /// The same field, required.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The same field, accepting `null`.
    pub const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    fn schema(&self) -> Value {
        let mut schema = match self.kind {
            Kind::Text(text) => text.schema(),
            Kind::Boolean => Map::from_iter([("type".into(), json!("boolean"))]),
            Kind::OneOf(values) => Map::from_iter([
                ("type".into(), json!("string")),
                ("enum".into(), json!(values)),
            ]),
            Kind::Instant => Map::from_iter([
                ("type".into(), json!("string")),
                ("format".into(), json!("date-time")),
            ]),
            Kind::TextList { max_items, item } => Map::from_iter([
                ("type".into(), json!("array")),
                ("maxItems".into(), json!(max_items)),
                ("items".into(), Value::Object(item.schema())),
            ]),
        };
        schema.insert("description".into(), json!(self.description));
        if self.nullable {
            schema.insert("nullable".into(), json!(true));
        }
        Value::Object(schema)
    }
}

/// A request body type: its fields, declared once, and how they turn into a domain value.
pub(crate) trait RequestBody {
    /// The schema's name in the OpenAPI document.
    const NAME: &'static str;
    /// The schema's description.
    const DESCRIPTION: &'static str;
    /// Every field a client may send.
    const FIELDS: &'static [Field];
    /// Fields a client may send back from a response that are silently ignored.
    const READ_ONLY: &'static [&'static str] = &[];
    /// What a valid body turns into.
    type Parsed;
    /// Reads the fields, recording every problem in `fields`; `None` when any was found.
    fn parse(fields: &mut Fields) -> Option<Self::Parsed>;
}

/// The OpenAPI schema of a body, from its field list: any field not listed is refused
/// (`additionalProperties: false`); the read-only fields of a response that are ignored on
/// input are left out, so that generated requests do not send them.
pub(crate) fn schema<B: RequestBody>() -> (&'static str, Value) {
    let properties: Map<String, Value> = B::FIELDS
        .iter()
        .map(|f| (f.name.to_owned(), f.schema()))
        .collect();
    let mut required: Vec<&str> = B::FIELDS
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    required.sort_unstable();
    let mut schema = json!({
        "type": "object",
        "description": B::DESCRIPTION,
        "properties": properties,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    (B::NAME, schema)
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

/// Reads the fields of one JSON object, remembering every error.
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
    /// The fields the parser asked for, to check that it reads every declared one.
    read: Vec<&'static str>,
    errors: ValidationErrors,
}

impl Fields {
    pub(crate) fn new(map: Map<String, Value>) -> Self {
        Self {
            map,
            read: Vec::new(),
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
        field: Field,
        result: Result<T, E>,
    ) -> Option<T> {
        self.errors.check(field.name, result)
    }

    /// Records the errors of a domain parser that names fields itself.
    pub fn check_many<T>(&mut self, result: Result<T, ValidationErrors>) -> Option<T> {
        self.errors.check_many(result)
    }

    fn take(&mut self, field: Field) -> Option<Value> {
        self.read.push(field.name);
        self.map.remove(field.name)
    }

    fn typed<T>(
        &mut self,
        field: Field,
        what: &str,
        convert: impl FnOnce(Value) -> Option<T>,
    ) -> Option<Slot<T>> {
        match self.take(field) {
            None => Some(Slot::Absent),
            Some(Value::Null) => Some(Slot::Null),
            Some(v) => match convert(v) {
                Some(t) => Some(Slot::Present(t)),
                None => {
                    self.error(field.name, format!("must be {what}"));
                    None
                }
            },
        }
    }

    /// A string field; `None` when it has the wrong type (already recorded).
    pub fn string(&mut self, field: Field) -> Option<Slot<String>> {
        self.typed(field, "a string", |v| match v {
            Value::String(s) => Some(s),
            _ => None,
        })
    }

    /// A boolean field.
    pub fn boolean(&mut self, field: Field) -> Option<Slot<bool>> {
        self.typed(field, "a boolean", |v| v.as_bool())
    }

    /// An array-of-strings field.
    pub fn strings(&mut self, field: Field) -> Option<Slot<Vec<String>>> {
        self.typed(field, "an array of strings", |v| match v {
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
    pub fn timestamp(&mut self, field: Field) -> Option<Slot<DateTime<Utc>>> {
        match self.take(field) {
            None => Some(Slot::Absent),
            Some(Value::Null) => Some(Slot::Null),
            Some(Value::String(raw)) => self.check(field, parse_instant(&raw)).map(Slot::Present),
            Some(_) => {
                self.error(field.name, INSTANT_EXPECTED);
                None
            }
        }
    }

    /// A required, non-null field: absent or null is recorded as an error.
    pub fn required<T>(&mut self, field: Field, slot: Option<Slot<T>>) -> Option<T> {
        match slot? {
            Slot::Present(v) => Some(v),
            Slot::Absent => {
                self.error(field.name, "is required");
                None
            }
            Slot::Null => {
                self.error(field.name, "must not be null");
                None
            }
        }
    }

    /// An optional but non-nullable field: `Some(None)` when absent, an error when null.
    pub fn optional<T>(&mut self, field: Field, slot: Option<Slot<T>>) -> Option<Option<T>> {
        match slot? {
            Slot::Present(v) => Some(Some(v)),
            Slot::Absent => Some(None),
            Slot::Null => {
                self.error(field.name, "must not be null");
                None
            }
        }
    }

    /// Ends reading: read-only fields are dropped, any field the body does not declare is an
    /// error naming it, and the result is 422 when any error was recorded.
    pub(crate) fn finish(mut self, declared: &[Field], read_only: &[&str]) -> Result<(), ApiError> {
        // A declared field the parser never reads would be accepted and silently dropped.
        debug_assert!(
            declared.iter().all(|f| self.read.contains(&f.name))
                && self
                    .read
                    .iter()
                    .all(|r| declared.iter().any(|f| f.name == *r)),
            "a body parser must read exactly its declared fields"
        );
        let unknown: BTreeMap<String, Value> = std::mem::take(&mut self.map)
            .into_iter()
            .filter(|(k, _)| {
                !read_only.contains(&k.as_str()) && !declared.iter().any(|f| f.name == k)
            })
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
