//! Query-string rules. Unknown query parameters are a 422 naming them (SPEC §8), checked in
//! an extractor so that 404/405/401 keep precedence over it.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use paperclip::actix::OperationModifier;
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::ValidationErrors;

use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;

use crate::auth::AuthGate;
use crate::error::ApiError;

/// For routes that take no query parameters: any parameter is a 422 naming it.
#[derive(Debug, Clone, Copy)]
pub struct NoQuery;

impl FromRequest for NoQuery {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let checked = check_no_query(req.query_string());
        let gate = AuthGate::of(req);
        async move {
            AuthGate::passed(gate).await?;
            checked
        }
        .boxed_local()
    }
}

fn check_no_query(query: &str) -> Result<NoQuery, ApiError> {
    let mut errors = ValidationErrors::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let name = pair.split('=').next().unwrap_or(pair);
        let name = percent_decode(name);
        if !errors.errors().iter().any(|e| e.field == name) {
            errors.push(name, "is not a known query parameter");
        }
    }
    errors.into_result(|| NoQuery).map_err(ApiError::Validation)
}

/// Decodes `%XX` escapes and `+`; invalid escapes are kept verbatim.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Apiv2Schema for NoQuery {}
impl OperationModifier for NoQuery {}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(query: &str) -> Vec<String> {
        match check_no_query(query) {
            Ok(_) => Vec::new(),
            Err(ApiError::Validation(e)) => e.errors().iter().map(|f| f.field.clone()).collect(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_unknown_parameter_is_named_once() {
        assert!(names("").is_empty());
        assert_eq!(names("a=1&b&a=2"), vec!["a", "b"]);
        assert_eq!(
            names("we%20ird=1&x+y=2&bad%zz=3&end%"),
            vec!["we ird", "x y", "bad%zz", "end%"]
        );
    }
}
