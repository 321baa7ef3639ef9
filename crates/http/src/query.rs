//! Query strings. Every route names the parameters it takes; any other parameter, a repeated
//! one, or a malformed query string is a 422 naming it. Checked in extractors that wait for
//! authentication, so that 404/405/401 keep precedence.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DataType, DataTypeFormat, DefaultSchemaRaw, Parameter, ParameterIn};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::ValidationErrors;

use crate::auth::AuthGate;
use crate::error::ApiError;

/// The decoded parameters of a query string, taken one by one; what is left over at the end
/// is unknown.
#[derive(Debug)]
pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
    errors: ValidationErrors,
}

impl QueryParams {
    /// Most parameters a query string may carry (the longest route takes a dozen). More is
    /// refused outright, before any is looked at, so that no query string makes the server
    /// judge (and answer about) tens of thousands of names.
    pub(crate) const MAX_PARAMETERS: usize = 32;

    /// Decodes `query` (`application/x-www-form-urlencoded`).
    pub(crate) fn parse(query: &str) -> Result<Self, ApiError> {
        // Each parameter needs at least one character, and pairs are separated by `&`.
        if query.split('&').filter(|p| !p.is_empty()).count() > Self::MAX_PARAMETERS {
            return Err(ApiError::invalid(
                "query",
                format!("has more than {} parameters", Self::MAX_PARAMETERS),
            ));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|_| ApiError::invalid("query", "is not a well-formed query string"))?;
        Ok(Self {
            pairs,
            errors: ValidationErrors::new(),
        })
    }

    /// The value of `name`, if given; given twice is an error.
    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        let mut values = Vec::new();
        self.pairs.retain(|(k, v)| {
            if k == name {
                values.push(v.clone());
                false
            } else {
                true
            }
        });
        if values.len() > 1 {
            self.errors.push(name, "must be given at most once");
            return None;
        }
        values.pop()
    }

    /// Ends reading: every parameter nobody took is unknown. 422 when anything was wrong.
    pub(crate) fn finish(mut self) -> Result<(), ApiError> {
        let unknown: Vec<String> = self.pairs.drain(..).map(|(k, _)| k).collect();
        for name in unknown {
            if !self.errors.errors().iter().any(|e| e.field == name) {
                self.errors.push(name, "is not a known query parameter");
            }
        }
        std::mem::take(&mut self.errors)
            .into_result(|| ())
            .map_err(ApiError::Validation)
    }
}

/// `true` or `false`, as query parameters spell booleans.
pub(crate) fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}

/// For routes that take no query parameters: any parameter is a 422 naming it.
#[derive(Debug, Clone, Copy)]
pub struct NoQuery;

impl FromRequest for NoQuery {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let checked = QueryParams::parse(req.query_string()).and_then(QueryParams::finish);
        let gate = AuthGate::of(req);
        async move {
            AuthGate::passed(gate).await?;
            checked.map(|()| NoQuery)
        }
        .boxed_local()
    }
}

impl Apiv2Schema for NoQuery {}
impl OperationModifier for NoQuery {}

/// An optional query parameter as the OpenAPI document describes it.
pub(crate) fn query_parameter(
    name: &str,
    description: &str,
    data_type: DataType,
    format: Option<DataTypeFormat>,
) -> Parameter<DefaultSchemaRaw> {
    Parameter {
        in_: ParameterIn::Query,
        name: name.into(),
        description: Some(description.into()),
        required: false,
        data_type: Some(data_type),
        format,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(query: &str) -> Vec<String> {
        match QueryParams::parse(query).and_then(QueryParams::finish) {
            Ok(()) => Vec::new(),
            Err(ApiError::Validation(e)) => e.errors().iter().map(|f| f.field.clone()).collect(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_unknown_parameter_is_named_once() {
        assert!(names("").is_empty());
        assert_eq!(names("a=1&b&a=2"), vec!["a", "b"]);
        assert_eq!(names("we%20ird=1&x+y=2"), vec!["we ird", "x y"]);
    }

    #[test]
    fn a_query_string_with_too_many_parameters_is_refused_as_a_whole() {
        let at_most = (0..QueryParams::MAX_PARAMETERS)
            .map(|n| format!("p{n}=1"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(names(&at_most).len(), QueryParams::MAX_PARAMETERS);
        let flood = (0..50_000)
            .map(|n| format!("p{n}"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(names(&flood), vec!["query"]);
    }

    #[test]
    fn repeated_known_parameters_are_refused() {
        let mut params =
            QueryParams::parse("limit=1&limit=2&sort=title").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(params.take("limit"), None);
        assert_eq!(params.take("sort").as_deref(), Some("title"));
        match params.finish() {
            Err(ApiError::Validation(e)) => assert_eq!(e.errors()[0].field, "limit"),
            other => panic!("{other:?}"),
        }
    }
}
