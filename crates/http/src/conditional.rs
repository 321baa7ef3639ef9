//! Conditional requests: `If-None-Match` and `If-Match`, parsed into what the domain needs,
//! and documented as header parameters.

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderName};
use actix_web::{FromRequest, HttpRequest};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DataType, DefaultOperationRaw, Either, Parameter, ParameterIn};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::VersionCondition;

use crate::error::ApiError;

/// One entity tag of a list: its version when it is one of ours (`"7"`), and whether it
/// was weak (`W/"7"`).
fn entity_tags(value: &str) -> Vec<(Option<i64>, bool)> {
    value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|tag| {
            let (weak, tag) = match tag.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, tag),
            };
            let version = tag
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .and_then(|t| t.parse::<i64>().ok());
            (version, weak)
        })
        .collect()
}

fn header_text(req: &HttpRequest, name: &HeaderName) -> Option<String> {
    let values: Vec<&str> = req
        .headers()
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// `If-Match`: the task must be at one of these versions (strong comparison, RFC 9110), or
/// exist at all for `*`. Tags that are not ours, or weak, match nothing.
#[derive(Debug, Clone)]
pub struct IfMatchHeader(pub Option<VersionCondition>);

impl IfMatchHeader {
    fn parse(value: &str) -> VersionCondition {
        if value.trim() == "*" {
            return VersionCondition::Any;
        }
        VersionCondition::OneOf(
            entity_tags(value)
                .into_iter()
                .filter_map(|(version, weak)| version.filter(|_| !weak))
                .collect(),
        )
    }
}

impl FromRequest for IfMatchHeader {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let condition = header_text(req, &header::IF_MATCH).map(|v| Self::parse(&v));
        std::future::ready(Ok(Self(condition)))
    }
}

/// `If-None-Match`: answer 304 when the task is at one of these versions (weak comparison),
/// or exists at all for `*`.
#[derive(Debug, Clone)]
pub struct IfNoneMatchHeader(Option<String>);

impl IfNoneMatchHeader {
    /// Whether a task at `version` matches, so that the answer is 304 Not Modified.
    pub fn matches(&self, version: i64) -> bool {
        match &self.0 {
            None => false,
            Some(value) if value.trim() == "*" => true,
            Some(value) => entity_tags(value)
                .into_iter()
                .any(|(v, _)| v == Some(version)),
        }
    }
}

impl FromRequest for IfNoneMatchHeader {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self(header_text(req, &header::IF_NONE_MATCH))))
    }
}

pub(crate) fn header_parameter(
    name: &str,
    description: &str,
) -> Parameter<paperclip::v2::models::DefaultSchemaRaw> {
    Parameter {
        in_: ParameterIn::Header,
        name: name.into(),
        description: Some(description.into()),
        required: false,
        data_type: Some(DataType::String),
        ..Default::default()
    }
}

impl Apiv2Schema for IfMatchHeader {}
impl OperationModifier for IfMatchHeader {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        op.parameters.push(Either::Right(header_parameter(
            "If-Match",
            "Only change the task if its ETag is one of these (`\"3\"`), or it exists (`*`); otherwise 412.",
        )));
    }
}

impl Apiv2Schema for IfNoneMatchHeader {}
impl OperationModifier for IfNoneMatchHeader {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        op.parameters.push(Either::Right(header_parameter(
            "If-None-Match",
            "Answer 304 Not Modified, without a body, if the task's ETag is one of these.",
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_strongly_and_ignores_foreign_tags() {
        assert_eq!(IfMatchHeader::parse("*"), VersionCondition::Any);
        assert_eq!(
            IfMatchHeader::parse("\"3\""),
            VersionCondition::OneOf(vec![3])
        );
        assert_eq!(
            IfMatchHeader::parse("\"1\", W/\"2\", \"x\", \"4\""),
            VersionCondition::OneOf(vec![1, 4])
        );
        assert_eq!(
            IfMatchHeader::parse("garbage"),
            VersionCondition::OneOf(vec![])
        );
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let header = |v: &str| IfNoneMatchHeader(Some(v.to_owned()));
        assert!(header("\"2\"").matches(2));
        assert!(header("W/\"2\"").matches(2));
        assert!(header("\"1\", \"2\"").matches(2));
        assert!(header("*").matches(9));
        assert!(!header("\"2\"").matches(3));
        assert!(!IfNoneMatchHeader(None).matches(1));
    }
}
