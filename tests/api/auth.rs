//! Bearer tokens: every way a token can be wrong is a 401 with a Bearer challenge.

use rstest::rstest;

use crate::support::Backend;

use awc::http::Method;
use jsonwebtoken::Algorithm;

use crate::support::{
    JWT_SECRET, TestApp, claims, random_id, send, session_of, sign, sign_with_header,
    unsigned_token,
};

const OTHER_SECRET: &str = "some-other-secret-that-is-also-long-enough-!";

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn tasks_without_a_token_is_401_with_a_bearer_challenge(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.get("/tasks").await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn tasks_with_a_malformed_token_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.call(Method::GET, "/tasks", Some("garbage")).await;
    response.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn tasks_with_a_non_bearer_authorization_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = send(
        app.request(Method::GET, "/tasks")
            .insert_header(("authorization", "Basic dXNlcjpwYXNz"))
            .send(),
    )
    .await;
    response.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn tasks_with_a_token_signed_with_another_secret_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let token = sign(Algorithm::HS256, OTHER_SECRET, &claims(&user.id, 600));
    let response = app.list_tasks(&token).await;
    response.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn tasks_with_an_expired_token_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut expired = claims(&user.id, -3600);
    expired["iat"] = (crate::support::now() - 7200).into();
    let token = sign(Algorithm::HS256, JWT_SECRET, &expired);
    let response = app.list_tasks(&token).await;
    response.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn tasks_with_a_valid_token_is_200(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app.list_tasks(&user.token).await;
    response.assert_status(200);
    // A token made the way the service makes them is accepted too (the claims are right),
    // in the session the user's login started.
    let mut right = claims(&user.id, 600);
    right["sid"] = session_of(&user.token).into();
    let forged_right = sign(Algorithm::HS256, JWT_SECRET, &right);
    app.list_tasks(&forged_right).await.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_alg_none_token_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let token = unsigned_token(&claims(&user.id, 600));
    app.list_tasks(&token).await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_hs512_token_signed_with_the_right_secret_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let token = sign(Algorithm::HS512, JWT_SECRET, &claims(&user.id, 600));
    app.list_tasks(&token).await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_token_from_another_issuer_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut foreign = claims(&user.id, 600);
    foreign["iss"] = "someone-else".into();
    let token = sign(Algorithm::HS256, JWT_SECRET, &foreign);
    app.list_tasks(&token).await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_valid_token_of_a_user_that_does_not_exist_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let token = sign(Algorithm::HS256, JWT_SECRET, &claims(&random_id(), 600));
    app.list_tasks(&token).await.assert_unauthorized();
    app.get_me(&token).await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_token_whose_subject_is_not_a_user_id_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let token = sign(Algorithm::HS256, JWT_SECRET, &claims("42", 600));
    app.list_tasks(&token).await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_token_with_a_tampered_payload_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let admin_wannabe = app.user().await;
    // Keep the header and the signature, swap in a payload that claims the admin role.
    let mut claims = claims(&admin_wannabe.id, 600);
    claims["sid"] = session_of(&admin_wannabe.token).into();
    claims["role"] = "admin".into();
    let forged_payload = sign(Algorithm::HS256, "x".repeat(40).as_str(), &claims);
    let mut parts: Vec<&str> = admin_wannabe.token.split('.').collect();
    let payload = forged_payload
        .split('.')
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    parts[1] = &payload;
    let tampered = parts.join(".");
    app.get_me(&tampered).await.assert_unauthorized();
    app.call(Method::GET, "/admin/users", Some(&tampered))
        .await
        .assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn tokens_missing_sub_or_sid_are_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut complete = claims(&user.id, 600);
    complete["sid"] = session_of(&user.token).into();
    app.get_me(&sign(Algorithm::HS256, JWT_SECRET, &complete))
        .await
        .assert_status(200);
    for missing in ["sub", "sid", "exp", "iss"] {
        let mut partial = complete.clone();
        partial.as_object_mut().map(|o| o.remove(missing));
        let token = sign(Algorithm::HS256, JWT_SECRET, &partial);
        app.get_me(&token).await.assert_unauthorized();
    }
    // A session of someone else's is no help either.
    let other = app.signed_up("other@example.com").await;
    let mut borrowed = complete.clone();
    borrowed["sid"] = session_of(&other.token).into();
    app.get_me(&sign(Algorithm::HS256, JWT_SECRET, &borrowed))
        .await
        .assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_token_of_a_deleted_user_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    app.delete_me(&user.token).await.assert_status(204);
    app.get_me(&user.token).await.assert_unauthorized();
    app.list_tasks(&user.token).await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_token_from_before_a_password_change_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let before = user.token.clone();
    app.change_password(&user.token, crate::support::PASSWORD, "the next passphrase")
        .await
        .assert_status(204);
    app.list_tasks(&before).await.assert_unauthorized();
    // Even re-signed with a fresh expiry, the old session stays dead.
    let mut resigned = claims(&user.id, 600);
    resigned["sid"] = session_of(&before).into();
    app.list_tasks(&sign(Algorithm::HS256, JWT_SECRET, &resigned))
        .await
        .assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn another_instance_rejects_an_ended_session_within_the_cache_ttl(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let first = TestApp::spawn_with(&[("TASKAPI__AUTH__REVOCATION_CACHE_TTL", "1s")]).await;
    let second = first.spawn_sibling(&[]).await;
    let user = first.user().await;
    // Both instances accept the token (and the second remembers its session).
    first.get_me(&user.token).await.assert_status(200);
    second.get_me(&user.token).await.assert_status(200);
    second
        .logout(&user.token, &user.refresh_token)
        .await
        .assert_status(204);
    // The instance that ended the session rejects its tokens at once…
    second.get_me(&user.token).await.assert_unauthorized();
    // …and the other one within auth.revocation_cache_ttl.
    let started = std::time::Instant::now();
    loop {
        let response = first.get_me(&user.token).await;
        if response.status == 401 {
            response.assert_unauthorized();
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_millis(2_500),
            "still accepted after {:?}",
            started.elapsed()
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_rotated_secret_keeps_its_tokens_valid_while_it_is_listed(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let before = TestApp::spawn().await;
    let user = before.user().await;
    // The same database, signing with a new secret and still verifying with the old one.
    let rotated = before
        .spawn_sibling(&[
            ("TASKAPI__AUTH__JWT_SECRET", OTHER_SECRET),
            ("TASKAPI__AUTH__JWT_PREVIOUS_SECRETS", JWT_SECRET),
        ])
        .await;
    rotated.get_me(&user.token).await.assert_status(200);
    let renewed = rotated
        .login(&user.email, crate::support::PASSWORD)
        .await
        .json_with_status(200);
    let new_token = crate::support::string(&renewed["access_token"]);
    rotated.get_me(&new_token).await.assert_status(200);
    // An instance that has not heard of the new secret refuses its tokens…
    before.get_me(&new_token).await.assert_unauthorized();
    // …and once the old secret is dropped, its tokens are refused.
    let after = before
        .spawn_sibling(&[("TASKAPI__AUTH__JWT_SECRET", OTHER_SECRET)])
        .await;
    after.get_me(&user.token).await.assert_unauthorized();
    after.get_me(&new_token).await.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn tokens_without_the_access_type_key_id_or_audience_are_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut complete = claims(&user.id, 600);
    complete["sid"] = session_of(&user.token).into();
    app.get_me(&sign(Algorithm::HS256, JWT_SECRET, &complete))
        .await
        .assert_status(200);
    // As tokens were issued before key ids: typ JWT, no kid, no aud.
    let mut legacy = complete.clone();
    legacy.as_object_mut().map(|o| o.remove("aud"));
    let legacy = sign_with_header(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        JWT_SECRET,
        &legacy,
    );
    app.get_me(&legacy).await.assert_unauthorized();
    let mut other_audience = complete.clone();
    other_audience["aud"] = "another-service".into();
    let mut from_the_future = complete.clone();
    from_the_future["iat"] = (crate::support::now() + 120).into();
    for token in [
        sign(Algorithm::HS256, JWT_SECRET, &other_audience),
        sign(Algorithm::HS256, JWT_SECRET, &from_the_future),
    ] {
        app.get_me(&token).await.assert_unauthorized();
    }
    let mut id_token = jsonwebtoken::Header::new(Algorithm::HS256);
    id_token.kid = Some(taskapi_auth::key_id(JWT_SECRET.as_bytes()));
    app.get_me(&sign_with_header(&id_token, JWT_SECRET, &complete))
        .await
        .assert_unauthorized();
}
