use std::time::Duration;

use super::*;

fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    Settings::load_from(Path::new("/nonexistent-config-dir"), &vars)
}

fn key_of(result: Result<Settings, ConfigError>) -> String {
    match result {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("expected an invalid key, got {other:?}"),
    }
}

#[test]
fn compiled_in_defaults_match_the_spec() {
    let s = load(&[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.server.host.as_str(), s.server.port), ("127.0.0.1", 8000));
    assert_eq!(s.server.shutdown_timeout, Duration::from_secs(30));
    assert_eq!(s.database.url, "sqlite://data/taskapi.db");
    assert_eq!(s.database.pool_timeout, Duration::from_secs(2));
    assert_eq!(s.database.startup_timeout, Duration::from_secs(30));
    assert_eq!(s.auth.issuer, "taskapi");
    assert_eq!(s.auth.access_ttl, Duration::from_secs(15 * 60));
    assert_eq!(s.auth.bcrypt_cost, 12);
    assert_eq!(s.auth.refresh_ttl, Duration::from_secs(30 * 86_400));
    assert_eq!(s.auth.revocation_cache_ttl, Duration::from_secs(2));
    assert_eq!(s.auth.reauth_window, Duration::from_secs(10 * 60));
    assert!(s.throttle.enabled);
    assert_eq!(s.throttle.per_address_per_minute, 20);
    assert_eq!(s.throttle.failed_logins_per_email, 5);
    assert_eq!(s.throttle.failed_login_window, Duration::from_secs(15 * 60));
    assert_eq!(s.throttle.failed_logins_per_email_total, 50);
    assert_eq!(s.throttle.max_tracked_keys, 100_000);
    assert_eq!(s.throttle.refusal_delay, Duration::from_secs(1));
    assert_eq!(s.auth.hash_queue, 32);
    assert_eq!(s.quota.tasks_per_user, 100_000);
    assert_eq!(s.quota.concurrent_searches_per_user, 1);
    assert_eq!(s.quota.writes_per_minute, 600);
    assert!(s.cors.allowed_origins.is_empty());
    assert!(s.server.trusted_proxies.is_empty());
    assert!(s.metrics.enabled);
    assert_eq!(s.metrics.bind, None, "/metrics is on the API listener");
    assert!(s.docs.enabled, "Swagger UI is served at /docs");
    assert!(s.auth.jwt_secret.is_none());
    assert_eq!(s.environment, Environment::Development);
    assert!(s.database.effective_pool_size() >= 4);
}

#[test]
fn environment_variables_override_files() {
    let s = load(&[
        ("TASKAPI__SERVER__PORT", "9000"),
        ("TASKAPI__AUTH__ACCESS_TTL", "5m"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.server.port, 9000);
    assert_eq!(s.auth.access_ttl, Duration::from_secs(300));
}

#[test]
fn list_keys_are_comma_separated_and_other_keys_stay_scalars() {
    let s = load(&[
        (
            "TASKAPI__CORS__ALLOWED_ORIGINS",
            "https://app.example.com, http://localhost:3000",
        ),
        ("TASKAPI__SERVER__TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1"),
        ("TASKAPI__AUTH__ISSUER", "a,b"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.cors.allowed_origins,
        ["https://app.example.com", "http://localhost:3000"]
    );
    assert_eq!(s.server.trusted_proxies, ["10.0.0.0/8", "127.0.0.1"]);
    assert_eq!(s.auth.issuer, "a,b");
    let s = load(&[("TASKAPI__CORS__ALLOWED_ORIGINS", "")]).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.cors.allowed_origins.is_empty());
}

#[test]
fn taskapi_database_url_beats_database_url() {
    let s = load(&[("DATABASE_URL", "sqlite://a.db")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.database.url, "sqlite://a.db");
    let s = load(&[
        ("DATABASE_URL", "sqlite://a.db"),
        ("TASKAPI__DATABASE__URL", "sqlite://b.db"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.database.url, "sqlite://b.db");
}

#[test]
fn errors_name_the_key() {
    assert_eq!(
        key_of(load(&[("TASKAPI__SERVER__PORT", "eighty")])),
        "server.port"
    );
    assert_eq!(
        key_of(load(&[("TASKAPI__DATABASE__POOL_TIMEOUT", "soon")])),
        "database.pool_timeout"
    );
    assert_eq!(
        key_of(load(&[("TASKAPI__DATABASE__POOL_SISE", "3")])),
        "database.pool_sise"
    );
    assert_eq!(
        key_of(load(&[("TASKAPI__AUTH__BCRYPT_COST", "3")])),
        "auth.bcrypt_cost"
    );
    assert_eq!(
        key_of(load(&[("TASKAPI__DATABASE__URL", "mysql://x")])),
        "database.url"
    );
    assert_eq!(key_of(load(&[("TASKAPI_ENV", "staging")])), "TASKAPI_ENV");
    assert_eq!(
        key_of(load(&[(
            "TASKAPI__CORS__ALLOWED_ORIGINS",
            "https://x.example/"
        )])),
        "cors.allowed_origins"
    );
    assert_eq!(
        key_of(load(&[("TASKAPI__SERVER__TRUSTED_PROXIES", "proxy.local")])),
        "server.trusted_proxies"
    );
    assert_eq!(
        key_of(load(&[("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "0")])),
        "throttle.per_address_per_minute"
    );
    assert_eq!(
        key_of(load(&[("TASKAPI__THROTTLE__ENABLED", "maybe")])),
        "throttle.enabled"
    );
    for catch_all in ["0.0.0.0/0", "::/0", "192.168.0.0/0"] {
        assert_eq!(
            key_of(load(&[("TASKAPI__SERVER__TRUSTED_PROXIES", catch_all)])),
            "server.trusted_proxies",
            "{catch_all}"
        );
    }
    assert_eq!(
        key_of(load(&[("TASKAPI__THROTTLE__MAX_TRACKED_KEYS", "0")])),
        "throttle.max_tracked_keys"
    );
    assert_eq!(
        key_of(load(&[("TASKAPI__AUTH__HASH_QUEUE", "100001")])),
        "auth.hash_queue"
    );
    assert_eq!(
        key_of(load(&[("TASKAPI__QUOTA__WRITES_PER_MINUTE", "-1")])),
        "quota.writes_per_minute"
    );
    assert_eq!(
        key_of(load(&[(
            "TASKAPI__QUOTA__CONCURRENT_SEARCHES_PER_USER",
            "1001"
        )])),
        "quota.concurrent_searches_per_user"
    );
    assert_eq!(
        key_of(load(&[("TASKAPI__AUTH__REFRESH_TTL", "1m")])),
        "auth.refresh_ttl"
    );
    assert_eq!(
        key_of(load(&[("TASKAPI__AUTH__JWT_SECRET", "short")])),
        "auth.jwt_secret"
    );
    for bad in [
        "9100",
        ":9100",
        "localhost",
        "127.0.0.1:99999",
        "127.0.0.1:8000",
    ] {
        assert_eq!(
            key_of(load(&[("TASKAPI__METRICS__BIND", bad)])),
            "metrics.bind",
            "{bad}"
        );
    }
    assert_eq!(
        key_of(load(&[("TASKAPI__METRICS__ENABLED", "sometimes")])),
        "metrics.enabled"
    );
}

#[test]
fn metrics_can_be_turned_off_or_bound_elsewhere() {
    let s = load(&[("TASKAPI__METRICS__ENABLED", "false")]).unwrap_or_else(|e| panic!("{e}"));
    assert!(!s.metrics.enabled);
    let s = load(&[("TASKAPI__METRICS__BIND", " 0.0.0.0:9100 ")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.metrics.bind.as_deref(), Some("0.0.0.0:9100"));
    let s = load(&[("TASKAPI__METRICS__BIND", "[::1]:9100")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.metrics.bind.as_deref(), Some("[::1]:9100"));
    let s = load(&[("TASKAPI__METRICS__BIND", "")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.metrics.bind, None, "empty means the API listener");
}

#[test]
fn production_requires_a_long_secret() {
    assert_eq!(
        key_of(load(&[("TASKAPI_ENV", "production")])),
        "auth.jwt_secret"
    );
    let short = "0123456789abcdef0123456789abcde"; // 31 bytes, 16 distinct
    assert_eq!(
        key_of(load(&[
            ("TASKAPI_ENV", "production"),
            ("TASKAPI__AUTH__JWT_SECRET", short),
        ])),
        "auth.jwt_secret"
    );
    let secret = "9f2c1e7a4b8d03f6a5c2e9b1d7f40c8e"; // 32 bytes, as `openssl rand -hex 16`
    let s = load(&[
        ("TASKAPI_ENV", "production"),
        ("TASKAPI__AUTH__JWT_SECRET", secret),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.environment, Environment::Production);
}

fn production_refusal(secret: &str) -> Option<String> {
    match load(&[
        ("TASKAPI_ENV", "production"),
        ("TASKAPI__AUTH__JWT_SECRET", secret),
    ]) {
        Ok(_) => None,
        Err(ConfigError::Invalid { key, message }) => {
            assert_eq!(key, "auth.jwt_secret", "{message}");
            Some(message)
        }
        Err(other) => panic!("expected auth.jwt_secret, got {other}"),
    }
}

#[test]
fn production_refuses_every_placeholder_the_repository_documents() {
    for secret in DOCUMENTED_PLACEHOLDER_SECRETS {
        let message = production_refusal(secret)
            .unwrap_or_else(|| panic!("production accepts the placeholder {secret}"));
        assert!(message.contains("placeholder"), "{message}");
        // Development and test still accept them (the test suites use them).
        assert!(
            load(&[("TASKAPI__AUTH__JWT_SECRET", secret)]).is_ok(),
            "{secret}"
        );
    }
    for secret in [
        "please-change-me-to-something-random-0123",
        "CHANGEME-CHANGEME-abcdefghijklmnopqrstuvwxyz",
        "replace-me-with-32-random-bytes-0123456789",
    ] {
        assert!(production_refusal(secret).is_some(), "{secret}");
    }
}

/// Every JWT secret written in the repository's example and test files is on the refused
/// list: a placeholder added there without adding it here fails this test.
#[test]
fn the_placeholder_list_holds_every_secret_the_repository_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut shown = Vec::new();
    for (file, key) in [
        ("docker/.env.example", "TASKAPI__AUTH__JWT_SECRET="),
        ("config/test.toml", "jwt_secret = "),
        ("tests/support/fixtures.rs", "pub const JWT_SECRET: &str = "),
    ] {
        let text = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
        let found: Vec<String> = text
            .lines()
            .filter_map(|line| line.trim().strip_prefix(key))
            .map(|value| {
                value
                    .trim()
                    .trim_end_matches(';')
                    .trim_matches('"')
                    .to_owned()
            })
            .collect();
        assert!(!found.is_empty(), "{file} shows no `{key}` line");
        shown.extend(found);
    }
    for secret in shown {
        assert!(
            DOCUMENTED_PLACEHOLDER_SECRETS.contains(&secret.as_str()),
            "`{secret}` is shown in the repository but production would accept it"
        );
    }
}

#[test]
fn production_refuses_a_secret_of_fewer_than_8_distinct_characters() {
    for secret in [
        "x".repeat(32),
        "ab".repeat(20),
        "0123456".repeat(6), // 7 distinct
    ] {
        let message =
            production_refusal(&secret).unwrap_or_else(|| panic!("production accepts {secret}"));
        assert!(message.contains("distinct characters"), "{message}");
    }
    let eight = "01234567".repeat(4); // exactly 8 distinct, 32 bytes
    assert_eq!(production_refusal(&eight), None);
    // Outside production only the length rule applies.
    assert!(load(&[("TASKAPI__AUTH__JWT_SECRET", &"x".repeat(32))]).is_ok());
}

#[test]
fn previous_jwt_secrets_are_a_list_of_long_secrets_and_the_audience_is_required() {
    let s = load(&[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.auth.jwt_previous_secrets.is_empty());
    assert_eq!(s.auth.audience, "taskapi");
    let (a, b) = ("a".repeat(32), "b".repeat(40));
    let both = format!(" {a} ,{b},");
    let s =
        load(&[("TASKAPI__AUTH__JWT_PREVIOUS_SECRETS", &both)]).unwrap_or_else(|e| panic!("{e}"));
    let kept: Vec<&str> = s
        .auth
        .jwt_previous_secrets
        .iter()
        .map(Secret::expose)
        .collect();
    assert_eq!(kept, [a.as_str(), b.as_str()]);
    assert!(
        !s.redacted_toml().contains(&a),
        "previous secrets are redacted"
    );
    for env in ["development", "production"] {
        let short = format!("{a},{}", "c".repeat(31));
        assert_eq!(
            key_of(load(&[
                ("TASKAPI_ENV", env),
                ("TASKAPI__AUTH__JWT_SECRET", &b),
                ("TASKAPI__AUTH__JWT_PREVIOUS_SECRETS", &short),
            ])),
            "auth.jwt_previous_secrets",
            "{env}"
        );
    }
    assert_eq!(
        key_of(load(&[("TASKAPI__AUTH__AUDIENCE", " ")])),
        "auth.audience"
    );
}

#[test]
fn secrets_and_urls_from_the_environment_are_kept_verbatim() {
    // Digits only, or a word like "true": environment parsing must not turn them into
    // numbers or booleans and back into a different string.
    for secret in [
        "123456789012345678901234567890123456",
        "000000000000000000000000000000000001",
    ] {
        let s = load(&[("TASKAPI__AUTH__JWT_SECRET", secret)]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.auth.jwt_secret.as_ref().map(Secret::expose), Some(secret));
    }
}

#[test]
fn config_check_output_redacts_secrets() {
    let secret = "s".repeat(40);
    let s = load(&[
        ("TASKAPI__AUTH__JWT_SECRET", &secret),
        (
            "TASKAPI__DATABASE__URL",
            "postgres://app:hunter2@db:5432/tasks",
        ),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let shown = s.redacted_toml();
    assert!(
        !shown.contains(&secret) && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(shown.contains("postgres://app:***@db:5432/tasks"));
    assert!(!format!("{s:?}").contains("hunter2"));
}

#[test]
fn config_check_output_and_debug_redact_a_password_given_as_a_query_parameter() {
    for (url, redacted) in [
        (
            "postgres://app@db:5432/tasks?password=hunter2",
            "postgres://app@db:5432/tasks?password=***",
        ),
        (
            "postgres://app@db/tasks?sslmode=disable&Password=hunter2",
            "postgres://app@db/tasks?sslmode=disable&Password=***",
        ),
    ] {
        let s = load(&[("TASKAPI__DATABASE__URL", url)]).unwrap_or_else(|e| panic!("{e}"));
        let shown = s.redacted_toml();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains(redacted), "{shown}");
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}

#[test]
fn every_duration_key_is_bounded_at_start_up() {
    // A refresh lifetime of a century once overflowed the session expiry at the first login.
    for (var, value, key) in [
        ("TASKAPI__AUTH__REFRESH_TTL", "100years", "auth.refresh_ttl"),
        ("TASKAPI__AUTH__ACCESS_TTL", "2days", "auth.access_ttl"),
        ("TASKAPI__AUTH__ACCESS_TTL", "0s", "auth.access_ttl"),
        (
            "TASKAPI__AUTH__REVOCATION_CACHE_TTL",
            "1h",
            "auth.revocation_cache_ttl",
        ),
        ("TASKAPI__AUTH__REAUTH_WINDOW", "0s", "auth.reauth_window"),
        (
            "TASKAPI__AUTH__REAUTH_WINDOW",
            "2days",
            "auth.reauth_window",
        ),
        (
            "TASKAPI__SERVER__SHUTDOWN_TIMEOUT",
            "2h",
            "server.shutdown_timeout",
        ),
        (
            "TASKAPI__DATABASE__POOL_TIMEOUT",
            "0s",
            "database.pool_timeout",
        ),
        (
            "TASKAPI__DATABASE__POOL_TIMEOUT",
            "1h",
            "database.pool_timeout",
        ),
        (
            "TASKAPI__DATABASE__STARTUP_TIMEOUT",
            "1000years",
            "database.startup_timeout",
        ),
        (
            "TASKAPI__THROTTLE__FAILED_LOGIN_WINDOW",
            "500ms",
            "throttle.failed_login_window",
        ),
        (
            "TASKAPI__THROTTLE__REFUSAL_DELAY",
            "11s",
            "throttle.refusal_delay",
        ),
    ] {
        let result = load(&[(var, value)]);
        assert_eq!(key_of(result), key, "{var}={value}");
    }
    let held_past_the_deadline = load(&[
        ("TASKAPI__THROTTLE__REFUSAL_DELAY", "2s"),
        ("TASKAPI__SERVER__REQUEST_TIMEOUT", "2s"),
    ]);
    assert_eq!(key_of(held_past_the_deadline), "throttle.refusal_delay");
    let message = load(&[("TASKAPI__AUTH__REFRESH_TTL", "100years")])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("must be between 1s and 365d"), "{message}");
    // The largest allowed values start.
    let settings = load(&[
        ("TASKAPI__AUTH__REFRESH_TTL", "365d"),
        ("TASKAPI__AUTH__ACCESS_TTL", "24h"),
    ]);
    assert!(settings.is_ok(), "{:?}", settings.err());
}

#[test]
fn production_serves_metrics_on_a_local_listener_of_their_own() {
    let vars: Vec<(String, String)> = [
        ("TASKAPI_ENV", "production"),
        (
            "TASKAPI__AUTH__JWT_SECRET",
            "9f2c1e7a4b8d03f6a5c2e9b1d7f40c8e",
        ),
    ]
    .iter()
    .map(|(k, v)| ((*k).into(), (*v).into()))
    .collect();
    let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let s = Settings::load_from(&config_dir, &vars).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.server.host, "0.0.0.0");
    assert!(s.metrics.enabled);
    assert_eq!(s.metrics.bind.as_deref(), Some("127.0.0.1:9100"));
    // Development keeps /metrics on the API listener.
    let s = Settings::load_from(&config_dir, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.metrics.bind, None);
}

#[test]
fn slow_client_keys_have_their_defaults_and_bounds() {
    let s = load(&[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.server.request_head_timeout, Duration::from_secs(5));
    assert_eq!(s.server.request_body_timeout, Duration::from_secs(10));
    assert_eq!(s.server.keep_alive, Duration::from_secs(5));
    assert_eq!(s.server.request_timeout, Duration::from_secs(30));
    assert_eq!(s.server.max_connections, 10_000);
    for (var, value, key) in [
        (
            "TASKAPI__SERVER__REQUEST_HEAD_TIMEOUT",
            "10ms",
            "server.request_head_timeout",
        ),
        (
            "TASKAPI__SERVER__REQUEST_HEAD_TIMEOUT",
            "1h",
            "server.request_head_timeout",
        ),
        (
            "TASKAPI__SERVER__REQUEST_BODY_TIMEOUT",
            "0s",
            "server.request_body_timeout",
        ),
        ("TASKAPI__SERVER__KEEP_ALIVE", "2h", "server.keep_alive"),
        (
            "TASKAPI__SERVER__REQUEST_TIMEOUT",
            "0s",
            "server.request_timeout",
        ),
        (
            "TASKAPI__SERVER__MAX_CONNECTIONS",
            "1000001",
            "server.max_connections",
        ),
        (
            "TASKAPI__SERVER__MAX_CONNECTIONS",
            "-1",
            "server.max_connections",
        ),
    ] {
        assert_eq!(key_of(load(&[(var, value)])), key, "{var}={value}");
    }
    let message = load(&[("TASKAPI__SERVER__REQUEST_HEAD_TIMEOUT", "10ms")])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        message.contains("must be between 100ms and 5m"),
        "{message}"
    );
    let edges = load(&[
        ("TASKAPI__SERVER__KEEP_ALIVE", "0s"),
        ("TASKAPI__SERVER__MAX_CONNECTIONS", "0"),
        ("TASKAPI__SERVER__REQUEST_TIMEOUT", "10ms"),
        ("TASKAPI__THROTTLE__REFUSAL_DELAY", "0s"),
    ]);
    assert!(edges.is_ok(), "{:?}", edges.err());
}

#[test]
fn the_web_client_is_on_in_development_and_off_in_production() {
    let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let s = Settings::load_from(&config_dir, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.web.enabled);
    assert_eq!(s.web.api_origin, "");
    let vars: Vec<(String, String)> = [
        ("TASKAPI_ENV", "production"),
        (
            "TASKAPI__AUTH__JWT_SECRET",
            "9f2c1e7a4b8d03f6a5c2e9b1d7f40c8e",
        ),
    ]
    .iter()
    .map(|(k, v)| ((*k).into(), (*v).into()))
    .collect();
    let s = Settings::load_from(&config_dir, &vars).unwrap_or_else(|e| panic!("{e}"));
    assert!(!s.web.enabled);
}

#[test]
fn the_web_clients_api_origin_must_be_an_origin() {
    let s = load(&[("TASKAPI__WEB__API_ORIGIN", " https://api.example.com ")])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.web.api_origin, "https://api.example.com");
    for bad in [
        "api.example.com",
        "https://api.example.com/",
        "https://api.example.com; script-src *",
        "*",
    ] {
        assert_eq!(
            key_of(load(&[("TASKAPI__WEB__API_ORIGIN", bad)])),
            "web.api_origin",
            "{bad}"
        );
    }
}

#[test]
fn mail_defaults_to_the_log_in_development_and_to_none_in_production_and_test() {
    let secret = (
        "TASKAPI__AUTH__JWT_SECRET",
        "9f2c1e7a4b8d03f6a5c2e9b1d7f40c8e",
    );
    let dev = load(&[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dev.mail.transport(dev.environment), Ok(MailTransport::Log));
    assert_eq!(dev.auth.reset_ttl, Duration::from_secs(30 * 60));
    assert_eq!(dev.auth.verify_ttl, Duration::from_secs(24 * 3600));
    assert_eq!(
        dev.auth.email_verification,
        taskapi_domain::EmailVerification::Optional
    );
    for env in ["production", "test"] {
        let s = load(&[("TASKAPI_ENV", env), secret]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.mail.transport(s.environment),
            Ok(MailTransport::None),
            "{env}"
        );
    }
    let smtp = load(&[("TASKAPI__MAIL__TRANSPORT", "smtp://mail.example.com:587")])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        smtp.mail.transport(smtp.environment),
        Ok(MailTransport::Smtp {
            host: "mail.example.com".into(),
            port: 587
        })
    );
}

#[test]
fn production_refuses_the_log_transport_and_required_verification_needs_mail() {
    let secret = (
        "TASKAPI__AUTH__JWT_SECRET",
        "9f2c1e7a4b8d03f6a5c2e9b1d7f40c8e",
    );
    assert_eq!(
        key_of(load(&[
            ("TASKAPI_ENV", "production"),
            secret,
            ("TASKAPI__MAIL__TRANSPORT", "log"),
        ])),
        "mail.transport"
    );
    assert_eq!(
        key_of(load(&[
            ("TASKAPI_ENV", "production"),
            secret,
            ("TASKAPI__AUTH__EMAIL_VERIFICATION", "required"),
        ])),
        "auth.email_verification"
    );
    load(&[
        ("TASKAPI_ENV", "production"),
        secret,
        ("TASKAPI__AUTH__EMAIL_VERIFICATION", "required"),
        ("TASKAPI__MAIL__TRANSPORT", "smtp://mail.example.com:465"),
        ("TASKAPI__MAIL__TLS", "tls"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn bad_mail_settings_name_their_key_and_the_password_is_redacted() {
    for (key, value, named) in [
        (
            "TASKAPI__MAIL__TRANSPORT",
            "smtp://no-port",
            "mail.transport",
        ),
        (
            "TASKAPI__MAIL__TRANSPORT",
            "smtp://host:0",
            "mail.transport",
        ),
        ("TASKAPI__MAIL__TRANSPORT", "sendmail", "mail.transport"),
        ("TASKAPI__MAIL__TLS", "ssl", "mail.tls"),
        ("TASKAPI__MAIL__FROM", "nobody", "mail.from"),
        ("TASKAPI__MAIL__PASSWORD", "hunter2hunter2", "mail.password"),
        (
            "TASKAPI__MAIL__CA_FILE",
            "/etc/ssl/private-ca.pem",
            "mail.ca_file",
        ),
        (
            "TASKAPI__AUTH__EMAIL_VERIFICATION",
            "maybe",
            "auth.email_verification",
        ),
        ("TASKAPI__AUTH__RESET_TTL", "10s", "auth.reset_ttl"),
        ("TASKAPI__AUTH__VERIFY_TTL", "90d", "auth.verify_ttl"),
    ] {
        assert_eq!(key_of(load(&[(key, value)])), named, "{key}={value}");
    }
    let s = load(&[
        ("TASKAPI__MAIL__USERNAME", "taskapi"),
        ("TASKAPI__MAIL__PASSWORD", "hunter2hunter2"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!s.redacted_toml().contains("hunter2hunter2"));
    assert!(!format!("{s:?}").contains("hunter2hunter2"));
}
