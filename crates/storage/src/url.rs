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

/// The URL with any password (`user:PASSWORD@host`, or a `password=` query parameter)
/// replaced by `***`, fit for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _value)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
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
}
