//! Database URLs: which backend a URL names, and how to show one without its password.

use crate::errors::StorageError;

/// A parsed database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DatabaseUrl {
    /// `sqlite://PATH`: a database file; a relative path is relative to the working directory.
    Sqlite {
        /// The file's path, as written.
        path: String,
    },
    /// `postgres://…` or `postgresql://…`: a PostgreSQL server, URL passed to libpq as is.
    Postgres {
        /// The whole URL.
        url: String,
    },
}

/// Parses `sqlite://PATH` and `postgres://…`.
///
/// # Errors
/// [`StorageError::UnsupportedUrl`], naming the (redacted) URL, for any other scheme, an
/// empty path, or an in-memory database (each pooled connection would see its own).
pub(crate) fn parse(url: &str) -> Result<DatabaseUrl, StorageError> {
    let unsupported = |why: &str| StorageError::UnsupportedUrl(format!("{}: {why}", redact(url)));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| unsupported("expected sqlite://PATH or postgres://…"))?;
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => {
            if rest.is_empty() {
                Err(unsupported(
                    "no file path after sqlite://, e.g. sqlite://data/taskapi.db",
                ))
            } else if rest == ":memory:" || rest.contains("mode=memory") {
                Err(unsupported(
                    "in-memory databases are not supported; give a file path",
                ))
            } else {
                Ok(DatabaseUrl::Sqlite {
                    path: rest.to_owned(),
                })
            }
        }
        "postgres" | "postgresql" => Ok(DatabaseUrl::Postgres {
            url: url.to_owned(),
        }),
        _ => Err(unsupported("expected sqlite://PATH or postgres://…")),
    }
}

/// The URL with any password replaced by `***`, fit for messages and logs: the one of the
/// user information (`user:PASSWORD@host`) and every `password` query parameter
/// (`?password=…`, `&password=…`; the key in any case, percent-encoded or not, since libpq
/// decodes it before it compares it).
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    // The user information ends at the last `@` before the query: a password may hold an
    // unescaped `/` or `@`, and hiding too much of a malformed URL beats showing a password.
    let mut shown = format!("{scheme}://");
    match before_query.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => shown.push_str(&format!("{user}:***@{host}")),
            None => shown.push_str(before_query),
        },
        None => shown.push_str(before_query),
    }
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _value)) if percent_decode(key).eq_ignore_ascii_case("password") => {
                    format!("{key}=***")
                }
                _ => pair.to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    shown
}

/// `text` with its `%XX` escapes decoded (an invalid escape is kept as written).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_keep_their_path() {
        let cases = [
            ("sqlite://data/taskapi.db", "data/taskapi.db"),
            (
                "sqlite:///var/lib/taskapi/db.sqlite",
                "/var/lib/taskapi/db.sqlite",
            ),
            ("SQLite://x.db", "x.db"),
        ];
        for (url, path) in cases {
            assert_eq!(
                parse(url).ok(),
                Some(DatabaseUrl::Sqlite {
                    path: path.to_owned()
                }),
                "{url}"
            );
        }
    }

    #[test]
    fn other_urls_are_unsupported_and_named() {
        for url in [
            "sqlite://",
            "sqlite://:memory:",
            "mysql://localhost/db",
            "data/taskapi.db",
        ] {
            match parse(url) {
                Err(StorageError::UnsupportedUrl(message)) => {
                    assert!(message.contains(url), "{message:?} should name {url}");
                }
                other => panic!("{url}: expected UnsupportedUrl, got {other:?}"),
            }
        }
    }

    #[test]
    fn postgres_urls_are_passed_on_whole() {
        for url in [
            "postgres://app@db:5432/tasks?sslmode=require",
            "postgresql://localhost/t",
        ] {
            assert_eq!(
                parse(url).ok(),
                Some(DatabaseUrl::Postgres {
                    url: url.to_owned()
                })
            );
        }
    }

    #[test]
    fn unsupported_url_messages_never_show_a_password() {
        let message = parse("mysql://app:s3cret@db:5432/taskapi")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("mysql://app:***@db:5432/taskapi"),
            "{message}"
        );
        assert!(!message.contains("s3cret"));
    }

    #[test]
    fn passwords_are_redacted() {
        let cases = [
            (
                "postgres://app:s3cret@db:5432/taskapi",
                "postgres://app:***@db:5432/taskapi",
            ),
            (
                "postgres://app:p%40ss@db/taskapi",
                "postgres://app:***@db/taskapi",
            ),
            ("postgres://app@db/taskapi", "postgres://app@db/taskapi"),
            (
                "postgres://db/taskapi?user=app&password=s3cret&sslmode=require",
                "postgres://db/taskapi?user=app&password=***&sslmode=require",
            ),
            ("sqlite://data/taskapi.db", "sqlite://data/taskapi.db"),
            ("not a url", "not a url"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown);
        }
    }

    #[test]
    fn a_password_given_as_a_query_parameter_is_redacted_in_every_spelling() {
        let cases = [
            (
                "postgres://u@h/db?password=s3cret",
                "postgres://u@h/db?password=***",
            ),
            (
                "postgres://u@h/db?sslmode=disable&password=s3cret",
                "postgres://u@h/db?sslmode=disable&password=***",
            ),
            (
                "postgres://u@h/db?PassWord=s3cret",
                "postgres://u@h/db?PassWord=***",
            ),
            (
                "postgres://u@h/db?pass%77ord=s3cret",
                "postgres://u@h/db?pass%77ord=***",
            ),
            (
                "postgres://u@h/db?%50ASSWORD=s3cret",
                "postgres://u@h/db?%50ASSWORD=***",
            ),
            (
                "postgres://u@h/db?password=s%33cret",
                "postgres://u@h/db?password=***",
            ),
            (
                "postgresql://h/db?password=s3cret&password=s3cret",
                "postgresql://h/db?password=***&password=***",
            ),
            ("postgres://h?password=s3cret", "postgres://h?password=***"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown, "{url}");
            assert!(!redact(url).contains("s3cret"), "{url}");
        }
        // Other parameters, and keys that only contain the word, are left alone.
        assert_eq!(
            redact("postgres://u@h/db?passwordless=1&sslpassword=x&application_name=password"),
            "postgres://u@h/db?passwordless=1&sslpassword=x&application_name=password"
        );
    }

    #[test]
    fn both_forms_at_once_and_unescaped_separators_in_a_password_are_redacted() {
        let cases = [
            (
                "postgres://u:s3cret@h/db?password=s3cret",
                "postgres://u:***@h/db?password=***",
            ),
            ("postgres://u:s3/cret@h/db", "postgres://u:***@h/db"),
            (
                "postgres://u:s3@cret@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            ("postgres://:s3cret@h/db", "postgres://:***@h/db"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn percent_escapes_are_decoded_and_invalid_ones_kept() {
        assert_eq!(percent_decode("pass%77ord"), "password");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
