//! Registration, login and the caller's own account.

use rstest::rstest;

use crate::support::Backend;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, string};

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn register_returns_201_with_the_normalised_user_and_no_secret(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.register("  Alice.Smith@Example.COM ", PASSWORD).await;
    let user = response.json_with_status(201);
    assert_eq!(user["email"], "alice.smith@example.com");
    assert_eq!(user["role"], "user");
    assert_eq!(user["disabled"], false);
    assert_eq!(user["email_verified"], false);
    let id = string(&user["id"]);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "the id is a UUID: {id}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&string(&user["created_at"])).is_ok(),
        "created_at is RFC 3339: {user}"
    );
    assert_eq!(
        keys(&user),
        [
            "created_at",
            "disabled",
            "email",
            "email_verified",
            "id",
            "role"
        ]
        .into_iter()
        .map(str::to_owned)
        .collect(),
        "a user is exactly these fields, never a password or hash"
    );
    let text = response.text();
    assert!(!text.contains(PASSWORD) && !text.contains("$2"), "{text}");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn register_twice_with_another_case_is_409(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.register("bob@example.com", PASSWORD)
        .await
        .assert_status(201);
    let again = app.register("BOB@Example.com", "another password").await;
    let problem = again.assert_problem(409);
    assert!(!string(&problem["detail"]).is_empty());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn look_alike_spellings_of_one_email_are_one_account(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    // "josé" with é as one code point, then as e + a combining acute accent.
    let composed = app.register("jos\u{e9}@example.com", PASSWORD).await;
    assert_eq!(
        composed.json_with_status(201)["email"],
        "jos\u{e9}@example.com"
    );
    app.register("JOSE\u{301}@example.com", PASSWORD)
        .await
        .assert_problem(409);
    // Either spelling logs in to the one account.
    app.login("jose\u{301}@example.com", PASSWORD)
        .await
        .assert_status(200);
    // Invisible characters are refused outright, naming the field.
    for hidden in [
        "jo\u{200b}se@example.com",
        "\u{202e}jose@example.com",
        "jose\u{feff}@example.com",
    ] {
        let response = app.register(hidden, PASSWORD).await;
        assert_eq!(response.invalid_fields(), ["email"], "{hidden:?}");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn register_with_invalid_email_and_short_password_names_both(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.register("not-an-email", "short").await;
    assert_eq!(response.invalid_fields(), ["email", "password"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn register_without_fields_names_every_missing_one(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app
        .call_json(awc::http::Method::POST, "/register", None, &json!({}))
        .await;
    assert_eq!(response.invalid_fields(), ["email", "password"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn login_with_unknown_email_returns_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.login("nobody@example.com", PASSWORD).await;
    response.assert_problem(401);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn login_with_wrong_password_returns_401_with_the_same_detail_as_unknown_email(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.register("carol@example.com", PASSWORD)
        .await
        .assert_status(201);
    let wrong = app.login("carol@example.com", "wrong password!").await;
    let unknown = app.login("nobody@example.com", "wrong password!").await;
    let wrong = wrong.assert_problem(401);
    let unknown = unknown.assert_problem(401);
    assert_eq!(wrong["detail"], unknown["detail"]);
    assert_eq!(wrong["title"], unknown["title"]);
    assert_eq!(wrong["type"], unknown["type"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn login_returns_a_bearer_token_that_must_not_be_cached(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.register("dave@example.com", PASSWORD)
        .await
        .assert_status(201);
    let response = app.login("dave@example.com", PASSWORD).await;
    let token = response.json_with_status(200);
    assert!(!string(&token["access_token"]).is_empty());
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 900, "15 minutes by default");
    let cache = response.require_header("cache-control");
    assert!(cache.contains("no-store"), "Cache-Control: {cache}");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn login_accepts_the_email_in_any_case_and_with_spaces(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.register("erin@example.com", PASSWORD)
        .await
        .assert_status(201);
    let response = app.login("  ERIN@example.COM ", PASSWORD).await;
    response.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn me_returns_the_caller(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.signed_up("frank@example.com").await;
    let me = app.get_me(&user.token).await.json_with_status(200);
    assert_eq!(me["id"], user.id.as_str());
    assert_eq!(me["email"], user.email.as_str());
    assert_eq!(me["role"], "user");
    assert!(me.get("password").is_none() && me.get("password_hash").is_none());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn me_without_a_token_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.get("/me").await.assert_unauthorized();
}
