//! Bearer tokens: every way a token can be wrong is a 401 with a Bearer challenge.

use awc::http::Method;
use jsonwebtoken::Algorithm;

use crate::helpers::{
    JWT_SECRET, TestApp, claims, random_id, send, session_of, sign, unsigned_token,
};

const OTHER_SECRET: &str = "some-other-secret-that-is-also-long-enough-!";

e2e! {
async fn tasks_without_a_token_is_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;
    app.get("/tasks").await.assert_unauthorized();
}
}

e2e! {
async fn tasks_with_a_malformed_token_is_401() {
    let app = TestApp::spawn().await;
    let response = app.call(Method::GET, "/tasks", Some("garbage")).await;
    response.assert_unauthorized();
}
}

e2e! {
async fn tasks_with_a_non_bearer_authorization_is_401() {
    let app = TestApp::spawn().await;
    let response = send(
        app.request(Method::GET, "/tasks")
            .insert_header(("authorization", "Basic dXNlcjpwYXNz"))
            .send(),
    )
    .await;
    response.assert_unauthorized();
}
}

e2e! {
async fn tasks_with_a_token_signed_with_another_secret_is_401() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let token = sign(Algorithm::HS256, OTHER_SECRET, &claims(&user.id, 600));
    let response = app.list_tasks(&token).await;
    response.assert_unauthorized();
}
}

e2e! {
async fn tasks_with_an_expired_token_is_401() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut expired = claims(&user.id, -3600);
    expired["iat"] = (crate::helpers::now() - 7200).into();
    let token = sign(Algorithm::HS256, JWT_SECRET, &expired);
    let response = app.list_tasks(&token).await;
    response.assert_unauthorized();
}
}

e2e! {
async fn tasks_with_a_valid_token_is_200() {
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
}

e2e! {
async fn an_alg_none_token_is_401() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let token = unsigned_token(&claims(&user.id, 600));
    app.list_tasks(&token).await.assert_unauthorized();
}
}

e2e! {
async fn an_hs512_token_signed_with_the_right_secret_is_401() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let token = sign(Algorithm::HS512, JWT_SECRET, &claims(&user.id, 600));
    app.list_tasks(&token).await.assert_unauthorized();
}
}

e2e! {
async fn a_token_from_another_issuer_is_401() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut foreign = claims(&user.id, 600);
    foreign["iss"] = "someone-else".into();
    let token = sign(Algorithm::HS256, JWT_SECRET, &foreign);
    app.list_tasks(&token).await.assert_unauthorized();
}
}

e2e! {
async fn a_valid_token_of_a_user_that_does_not_exist_is_401() {
    let app = TestApp::spawn().await;
    let token = sign(Algorithm::HS256, JWT_SECRET, &claims(&random_id(), 600));
    app.list_tasks(&token).await.assert_unauthorized();
    app.get_me(&token).await.assert_unauthorized();
}
}

e2e! {
async fn a_token_whose_subject_is_not_a_user_id_is_401() {
    let app = TestApp::spawn().await;
    let token = sign(Algorithm::HS256, JWT_SECRET, &claims("42", 600));
    app.list_tasks(&token).await.assert_unauthorized();
}
}
