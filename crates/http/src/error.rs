//! The one place where failures become HTTP statuses: every error a client can see is an
//! [`ApiError`], rendered as RFC 9457 `application/problem+json`.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use paperclip::actix::Apiv2Schema;
use paperclip::v2::schema::Apiv2Errors;
use serde::Serialize;
use taskapi_domain::{
    AccountError, AdminError, AuthError, ChangeError, CredentialError, FieldError, HashError,
    ListError, ListRole, PlacementError, RecoveryError, Scope, StoreError, TaskError,
    ValidationErrors,
};

/// The problem `type` of a change refused for want of a recent password login.
pub const REAUTHENTICATION_REQUIRED: &str = "urn:taskapi:problem:reauthentication-required";
/// The problem `type` of a request whose API token lacks the scope it needs.
pub const MISSING_SCOPE: &str = "urn:taskapi:problem:missing-scope";
/// The problem `type` of an API token on a route only a session may use (account, session,
/// token and admin routes).
pub const SESSION_REQUIRED: &str = "urn:taskapi:problem:session-required";
/// Most invalid fields a 422 lists; past them, `errors_not_listed` says how many more there
/// are, so that a body made of thousands of mistakes cannot make an answer many times its
/// own size.
pub const MAX_LISTED_ERRORS: usize = 20;
/// The problem `type` of a 503 from a route that would send mail on a server without a
/// mail transport (`mail.transport = "none"`).
pub const MAIL_NOT_CONFIGURED: &str = "urn:taskapi:problem:mail-not-configured";
/// The problem `type` of a refused login of an account whose address is not verified.
pub const EMAIL_NOT_VERIFIED: &str = "urn:taskapi:problem:email-not-verified";
/// The problem `type` of a 409 past an account's quota.
pub const QUOTA_EXCEEDED_TYPE: &str = "urn:taskapi:problem:quota-exceeded";

/// Seconds a client should wait before retrying when the database is unavailable.
const UNAVAILABLE_RETRY_AFTER_SECS: u32 = 2;

/// One invalid field of a 422 answer.
#[derive(Debug, Clone, Serialize, Apiv2Schema)]
pub struct ProblemField {
    /// The field (`title`, `tags[2]`) or query parameter that is invalid.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An RFC 9457 problem document: the body of every error response.
#[derive(Debug, Clone, Serialize, Apiv2Schema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub type_: String,
    /// The status's short, human-readable summary.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The request's id (also in the `X-Request-Id` header), to quote when reporting it.
    pub request_id: String,
    /// For 422: the invalid fields, in the order found (at most the first 20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemField>>,
    /// For a 422 with more than 20 invalid fields: how many are not listed in `errors`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_not_listed: Option<usize>,
}

/// Every error the API answers with. Each variant says which status it produces and when.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the body is not well-formed JSON.
    MalformedJson(String),
    /// 401: no token, or one that is malformed, badly signed, expired or revoked.
    /// Carries `WWW-Authenticate: Bearer`.
    Unauthorized(AuthError),
    /// 401: unknown email or wrong password at login (same body either way).
    InvalidCredentials,
    /// 401: a refresh token that is unknown, expired, already rotated or of an ended
    /// session. Carries `WWW-Authenticate: Bearer`.
    InvalidRefreshToken,
    /// 403: the credentials are right but the account is disabled.
    AccountDisabled,
    /// 403: the credentials are right but the account's address is not verified, which
    /// `auth.email_verification = required` demands; its problem `type` is
    /// [`EMAIL_NOT_VERIFIED`].
    EmailNotVerified,
    /// 401: a password-reset or verification token that is unknown, used, voided or
    /// expired. Carries `WWW-Authenticate: Bearer`.
    InvalidAccountToken,
    /// 403: the caller may not do this (not an administrator; a wrong current password).
    Forbidden(&'static str),
    /// 403: this change needs a recent password login and the session's is older; its
    /// problem `type` is [`REAUTHENTICATION_REQUIRED`].
    ReauthenticationRequired,
    /// 403: the request's API token lacks this scope; its problem `type` is
    /// [`MISSING_SCOPE`] and its detail names the scope.
    MissingScope(Scope),
    /// 403: an API token on a route only a session may use; its problem `type` is
    /// [`SESSION_REQUIRED`].
    SessionRequired,
    /// 404: no such resource for this caller (missing, someone else's, or an invalid id),
    /// or no such route.
    NotFound(&'static str),
    /// 405: the route exists but not with this method. Carries `Allow`.
    MethodNotAllowed(&'static str),
    /// 409: the request conflicts with the current state (e.g. email taken).
    Conflict(String),
    /// 409: the first request with this idempotency key is still running. Carries
    /// `Retry-After`.
    InProgress,
    /// 409: the account already has the most tasks it may have (the limit); its problem
    /// `type` is [`QUOTA_EXCEEDED_TYPE`].
    QuotaExceeded(u64),
    /// 409: the account already has the most API tokens it may have (the limit); its
    /// problem `type` is [`QUOTA_EXCEEDED_TYPE`].
    TooManyApiTokens(u64),
    /// 410: a change cursor older than the change log's retention: changes after it may be
    /// forgotten, so the client must read everything again.
    Gone,
    /// 409: the account already owns the most lists it may (the limit); its problem `type`
    /// is [`QUOTA_EXCEEDED_TYPE`].
    ListQuotaExceeded(u64),
    /// 412: the `If-Match` condition does not hold; nothing was changed.
    PreconditionFailed,
    /// 412: the `If-Match` condition on a list does not hold; nothing was changed.
    ListPreconditionFailed,
    /// 408: the request head or body did not arrive within its time
    /// (`server.request_head_timeout`, `server.request_body_timeout`); the connection closes.
    RequestTimeout,
    /// 413: the body is larger than the limit.
    PayloadTooLarge(usize),
    /// 415: a body was sent without `Content-Type: application/json`.
    UnsupportedMediaType,
    /// 422: well-formed input that breaks the rules; lists every invalid field.
    Validation(ValidationErrors),
    /// 429: too many requests from this client address, or failed logins for this email.
    TooManyRequests {
        /// Seconds until a retry can succeed (counted from when the answer is sent).
        retry_after: u64,
        /// How long the answer is held before it is sent (`throttle.refusal_delay`, at most
        /// until the retry could succeed); see [`crate::throttle::hold_refusals`].
        hold: std::time::Duration,
    },
    /// 429: the account already holds the most event streams it may open here (the
    /// limit). Carries `Retry-After`.
    TooManyStreams(u32),
    /// 401: an event ticket that is unknown, used, expired, or whose session ended. Carries
    /// `WWW-Authenticate`.
    InvalidTicket,
    /// 503: the database cannot be reached right now. Carries `Retry-After`.
    Unavailable,
    /// 503: the route would send mail and no mail transport is configured; its problem
    /// `type` is [`MAIL_NOT_CONFIGURED`]. No `Retry-After`: retrying does not help.
    MailNotConfigured,
    /// 503: the request was still running after `server.request_timeout`. Carries
    /// `Retry-After`.
    TimedOut,
    /// 500: a bug or an unexpected failure. The details go to the log, never to the client.
    Internal(String),
}

impl ApiError {
    /// 422 for one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(ValidationErrors::single(field, message))
    }

    /// The problem document this error renders to (without the request id, which the
    /// request-context middleware fills in).
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let detail = match self {
            ApiError::MalformedJson(why) => format!("The request body is not valid JSON: {why}."),
            ApiError::Unauthorized(AuthError::Missing) => {
                "This route needs an access token: send `Authorization: Bearer <token>`.".into()
            }
            ApiError::Unauthorized(AuthError::Expired) => {
                "The access token has expired; log in again.".into()
            }
            ApiError::Unauthorized(AuthError::Invalid) => "The access token is not valid.".into(),
            ApiError::Unauthorized(AuthError::Revoked) => {
                "The access token is no longer valid.".into()
            }
            ApiError::InvalidCredentials => "Invalid email or password.".into(),
            ApiError::InvalidTicket => "The ticket is not valid: it is unknown, already used \
                 or expired, or its session has ended. Ask POST /events/ticket for a new one."
                .into(),
            ApiError::TooManyStreams(limit) => format!(
                "This account already holds {limit} event streams open here, the most it may; \
                 close one first."
            ),
            ApiError::InvalidRefreshToken => {
                "The refresh token is not valid (unknown, expired, already used or revoked); \
                 log in again."
                    .into()
            }
            ApiError::AccountDisabled => "This account is disabled.".into(),
            ApiError::EmailNotVerified => {
                "This account's email address is not verified yet: a new verification token \
                 has been mailed to it. Verify it (POST /email/verify), then log in."
                    .into()
            }
            ApiError::InvalidAccountToken => {
                "The token is not valid (unknown, already used, replaced by a newer one, or \
                 expired); ask for a new one."
                    .into()
            }
            ApiError::MailNotConfigured => {
                "This server sends no mail (mail.transport is \"none\"); ask an administrator \
                 (a reset token: taskapi admin reset-link, or POST \
                 /admin/users/{id}/password-reset)."
                    .into()
            }
            ApiError::Forbidden(why) => (*why).into(),
            ApiError::ReauthenticationRequired => {
                "This needs a recent login: log in again with your password, then retry.".into()
            }
            ApiError::MissingScope(scope) => format!(
                "This API token lacks the scope `{scope}`, which this request needs; create a \
                 token with it."
            ),
            ApiError::SessionRequired => {
                "API tokens cannot be used here: account, session, token and administration \
                 routes need the access token of a login."
                    .into()
            }
            ApiError::NotFound(what) => format!("{what} not found."),
            ApiError::MethodNotAllowed(allow) => format!("This route only answers {allow}."),
            ApiError::Conflict(why) => why.clone(),
            ApiError::InProgress => {
                "A request with this Idempotency-Key is still being processed; retry shortly."
                    .into()
            }
            ApiError::QuotaExceeded(limit) => format!(
                "This account already has {limit} tasks, the most it may have; delete some first."
            ),
            ApiError::TooManyApiTokens(limit) => format!(
                "This account already has {limit} API tokens, the most it may have; delete \
                 some first."
            ),
            ApiError::Gone => "The cursor is older than the change log keeps changes: read \
                               everything again (GET /tasks), then follow the changes from its \
                               X-Changes-Cursor."
                .into(),
            ApiError::ListQuotaExceeded(limit) => format!(
                "This account already owns {limit} lists, the most it may; delete some first."
            ),
            ApiError::ListPreconditionFailed => {
                "The list has changed since the version in If-Match; nothing was changed. \
                 Fetch it again and retry."
                    .into()
            }
            ApiError::PreconditionFailed => {
                "The task has changed since the version in If-Match; nothing was changed. \
                 Fetch it again and retry."
                    .into()
            }
            ApiError::RequestTimeout => {
                "The request did not arrive in time; the connection is closed.".into()
            }
            ApiError::TimedOut => "The request took too long to process; try again shortly.".into(),
            ApiError::PayloadTooLarge(limit) => format!("The request body exceeds {limit} bytes."),
            ApiError::UnsupportedMediaType => {
                "Send the body as JSON with `Content-Type: application/json`.".into()
            }
            ApiError::Validation(errors) => {
                let n = errors.errors().len();
                let plural = if n == 1 { "" } else { "s" };
                if n > MAX_LISTED_ERRORS {
                    format!("{n} invalid field{plural}; the first {MAX_LISTED_ERRORS} are listed.")
                } else {
                    format!("{n} invalid field{plural}.")
                }
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                format!("Too many attempts; retry in {retry_after} seconds.")
            }
            ApiError::Unavailable => {
                "The service is temporarily unavailable; try again shortly.".into()
            }
            ApiError::Internal(_) => "Something went wrong on our side.".into(),
        };
        let errors = match self {
            ApiError::Validation(errors) => Some(
                errors
                    .errors()
                    .iter()
                    .take(MAX_LISTED_ERRORS)
                    .map(|FieldError { field, message }| ProblemField {
                        field: field.clone(),
                        message: message.clone(),
                    })
                    .collect(),
            ),
            _ => None,
        };
        let type_ = match self {
            ApiError::ReauthenticationRequired => REAUTHENTICATION_REQUIRED,
            ApiError::QuotaExceeded(_)
            | ApiError::TooManyApiTokens(_)
            | ApiError::ListQuotaExceeded(_) => QUOTA_EXCEEDED_TYPE,
            ApiError::MissingScope(_) => MISSING_SCOPE,
            ApiError::SessionRequired => SESSION_REQUIRED,
            ApiError::MailNotConfigured => MAIL_NOT_CONFIGURED,
            ApiError::EmailNotVerified => EMAIL_NOT_VERIFIED,
            _ => "about:blank",
        };
        let errors_not_listed = match self {
            ApiError::Validation(errors) => errors
                .errors()
                .len()
                .checked_sub(MAX_LISTED_ERRORS)
                .filter(|n| *n > 0),
            _ => None,
        };
        Problem {
            type_: type_.into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail,
            request_id: String::new(),
            errors,
            errors_not_listed,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Internal(why) => write!(f, "internal error: {why}"),
            other => f.write_str(&other.problem().detail),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_)
            | ApiError::InvalidCredentials
            | ApiError::InvalidRefreshToken
            | ApiError::InvalidAccountToken
            | ApiError::InvalidTicket => StatusCode::UNAUTHORIZED,
            ApiError::AccountDisabled
            | ApiError::EmailNotVerified
            | ApiError::Forbidden(_)
            | ApiError::ReauthenticationRequired
            | ApiError::MissingScope(_)
            | ApiError::SessionRequired => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_)
            | ApiError::InProgress
            | ApiError::QuotaExceeded(_)
            | ApiError::TooManyApiTokens(_)
            | ApiError::ListQuotaExceeded(_) => StatusCode::CONFLICT,
            ApiError::Gone => StatusCode::GONE,
            ApiError::PreconditionFailed | ApiError::ListPreconditionFailed => {
                StatusCode::PRECONDITION_FAILED
            }
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } | ApiError::TooManyStreams(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable | ApiError::TimedOut | ApiError::MailNotConfigured => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(why) = self {
            log::error!("internal error: {why}");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized(reason) => {
                let error = match reason {
                    AuthError::Missing => "",
                    _ => ", error=\"invalid_token\"",
                };
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!("Bearer realm=\"taskapi\"{error}"),
                ));
            }
            ApiError::InvalidCredentials => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"taskapi\""));
            }
            ApiError::InvalidRefreshToken
            | ApiError::InvalidAccountToken
            | ApiError::InvalidTicket => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"taskapi\", error=\"invalid_token\"",
                ));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, (*retry_after).max(1)));
            }
            ApiError::MethodNotAllowed(allow) => {
                response.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
            }
            ApiError::Unavailable | ApiError::TimedOut => {
                response.insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER_SECS));
            }
            ApiError::RequestTimeout => {
                response.force_close();
            }
            ApiError::InProgress => {
                response.insert_header((header::RETRY_AFTER, 1));
            }
            ApiError::TooManyStreams(_) => {
                response.insert_header((header::RETRY_AFTER, TOO_MANY_STREAMS_RETRY_AFTER_SECS));
            }
            _ => {}
        }
        problem_response(response, self.problem())
    }
}

/// Builds a problem+json response; the request-context middleware later adds the request id.
pub(crate) fn problem_response(
    mut builder: actix_web::HttpResponseBuilder,
    problem: Problem,
) -> HttpResponse {
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = builder.content_type("application/problem+json").body(body);
    response.extensions_mut().insert(problem);
    response
}

/// Error responses are declared per operation when the OpenAPI document is finished
/// (see `openapi.rs`), from one table, so nothing is declared here.
impl Apiv2Errors for ApiError {}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(why) => {
                log::warn!("database unavailable: {why}");
                ApiError::Unavailable
            }
            StoreError::Internal(cause) => ApiError::Internal(with_causes(&*cause)),
        }
    }
}

/// An error's message followed by those of its causes, for the log.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        // Messages that already end with their cause's need not repeat it.
        let shown = c.to_string();
        if !text.ends_with(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        cause = c.source();
    }
    text
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::EmailTaken => {
                ApiError::Conflict("An account with this email already exists.".into())
            }
            AccountError::InvalidCredentials => ApiError::InvalidCredentials,
            AccountError::AccountDisabled => ApiError::AccountDisabled,
            AccountError::EmailNotVerified(_) => ApiError::EmailNotVerified,
            AccountError::InvalidRefreshToken => ApiError::InvalidRefreshToken,
            AccountError::WrongPassword => ApiError::Forbidden("The current password is wrong."),
            AccountError::LastAdmin => ApiError::Conflict(LAST_ADMIN.into()),
            AccountError::ReauthenticationRequired => ApiError::ReauthenticationRequired,
            AccountError::Unauthenticated(reason) => ApiError::Unauthorized(reason),
            AccountError::Credential(e) => e.into(),
            AccountError::TooManyApiTokens { limit } => ApiError::TooManyApiTokens(limit),
            AccountError::ExpiryInPast => ApiError::invalid("expires_at", "must be in the future"),
            AccountError::ApiTokenNotFound => ApiError::NotFound("API token"),
            AccountError::SessionNotFound => ApiError::NotFound("Session"),
            AccountError::Store(e) => e.into(),
            // Every hashing thread is busy and its queue full: refused at once, not queued.
            AccountError::Hashing(HashError::Busy) => ApiError::Unavailable,
            e @ (AccountError::Hashing(_) | AccountError::Signing(_)) => {
                ApiError::Internal(with_causes(&e))
            }
        }
    }
}

impl From<CredentialError> for ApiError {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::MissingScope(scope) => ApiError::MissingScope(scope),
            CredentialError::SessionRequired => ApiError::SessionRequired,
        }
    }
}

impl From<RecoveryError> for ApiError {
    fn from(e: RecoveryError) -> Self {
        match e {
            RecoveryError::MailNotConfigured => ApiError::MailNotConfigured,
            RecoveryError::InvalidToken => ApiError::InvalidAccountToken,
            RecoveryError::EmailTaken => {
                ApiError::Conflict("An account with this email already exists.".into())
            }
            RecoveryError::WrongPassword => ApiError::Forbidden("The current password is wrong."),
            RecoveryError::AlreadyVerified => {
                ApiError::Conflict("This account's email address is already verified.".into())
            }
            RecoveryError::NotFound => ApiError::NotFound("User"),
            RecoveryError::Forbidden => ApiError::Forbidden(ADMINS_ONLY),
            RecoveryError::Credential(e) => e.into(),
            RecoveryError::Account(e) => e.into(),
            RecoveryError::Store(e) => e.into(),
            RecoveryError::Hashing(HashError::Busy) => ApiError::Unavailable,
            e @ RecoveryError::Hashing(_) => ApiError::Internal(with_causes(&e)),
        }
    }
}

/// Why a change to the last enabled administrator is refused.
const LAST_ADMIN: &str = "The last active administrator cannot be demoted, disabled or \
                          deleted; make another administrator first.";

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Forbidden => ApiError::Forbidden(ADMINS_ONLY),
            AdminError::NotFound => ApiError::NotFound("User"),
            AdminError::LastAdmin => ApiError::Conflict(LAST_ADMIN.into()),
            AdminError::Credential(e) => e.into(),
            AdminError::Store(e) => e.into(),
        }
    }
}

/// Why a non-administrator is refused an admin route.
pub(crate) const ADMINS_ONLY: &str = "Only administrators may do this.";

impl From<TaskError> for ApiError {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::NotFound => ApiError::NotFound("Task"),
            TaskError::Store(e) => e.into(),
            TaskError::Credential(e) => e.into(),
            TaskError::VersionMismatch => ApiError::PreconditionFailed,
            TaskError::IdempotencyKeyReused => ApiError::invalid(
                "Idempotency-Key",
                "was already used with a different request body; use a new key for a new request",
            ),
            TaskError::IdempotencyKeyInProgress => ApiError::InProgress,
            TaskError::QuotaExceeded { limit } => ApiError::QuotaExceeded(limit),
            TaskError::UnknownList => ApiError::invalid("list_id", NO_SUCH_LIST),
            TaskError::Forbidden { needs } => ApiError::Forbidden(needs_role(needs)),
            TaskError::ListArchived => ApiError::Conflict(LIST_ARCHIVED.into()),
            TaskError::UnknownAssignee => {
                ApiError::invalid("assignee_id", "is not a member of the task's list")
            }
            TaskError::Placement(placement) => match placement {
                PlacementError::UnknownParent => {
                    ApiError::invalid("parent_id", "no such task in the target list")
                }
                PlacementError::UnknownSibling => ApiError::invalid(
                    "after_id",
                    "no such task under the target parent (other than the task itself)",
                ),
                PlacementError::Tree(tree) => ApiError::invalid("parent_id", tree.to_string()),
                PlacementError::NoRoom => ApiError::Conflict(NO_ROOM.into()),
            },
        }
    }
}

/// When a client refused a stream may try again: by then a stream of its that went away
/// unnoticed (a dropped connection) has been found closed at its next write.
const TOO_MANY_STREAMS_RETRY_AFTER_SECS: u64 = 15;

/// Why a task cannot be placed between two neighbours.
const NO_ROOM: &str = "There is no room for another task between these neighbours (after very \
                       many placements into one gap): move one of the neighbours first.";

/// Why a task names a list the caller cannot use: missing, or not theirs (the same words).
pub(crate) const NO_SUCH_LIST: &str = "no such list";

/// Why a task write to an archived list is refused.
const LIST_ARCHIVED: &str = "The list is archived: its tasks cannot be created, changed, moved \
                             or deleted until an owner restores it.";

/// Why a change that would leave a list without an owner is refused.
const LAST_OWNER: &str = "A list keeps at least one owner: make another member an owner first.";

/// Why the inbox refuses a change.
const INBOX_IS_FIXED: &str = "The inbox cannot be renamed, archived, shared or deleted.";

/// Why a member's role does not allow what they asked.
fn needs_role(needs: ListRole) -> &'static str {
    match needs {
        ListRole::Viewer => "This needs membership of the list.",
        ListRole::Editor => "This needs the editor or owner role in the list.",
        ListRole::Owner => "This needs the owner role in the list.",
    }
}

impl From<ListError> for ApiError {
    fn from(e: ListError) -> Self {
        match e {
            ListError::Credential(e) => e.into(),
            ListError::NotFound => ApiError::NotFound("List"),
            ListError::MemberNotFound => ApiError::NotFound("Member"),
            ListError::InvitationNotFound => ApiError::NotFound("Invitation"),
            ListError::LastOwner => ApiError::Conflict(LAST_OWNER.into()),
            ListError::Forbidden { needs } => ApiError::Forbidden(needs_role(needs)),
            ListError::Inbox => ApiError::Conflict(INBOX_IS_FIXED.into()),
            ListError::VersionMismatch => ApiError::ListPreconditionFailed,
            ListError::QuotaExceeded { limit } => ApiError::ListQuotaExceeded(limit),
            ListError::Full { limit } => ApiError::Conflict(format!(
                "This list already has {limit} members and pending invitations, the most a \
                 list may have: remove a member or withdraw an invitation first."
            )),
            ListError::Store(e) => e.into(),
        }
    }
}

impl From<taskapi_domain::EventTicketError> for ApiError {
    fn from(e: taskapi_domain::EventTicketError) -> Self {
        match e {
            taskapi_domain::EventTicketError::Invalid => ApiError::InvalidTicket,
            taskapi_domain::EventTicketError::Credential(e) => e.into(),
            taskapi_domain::EventTicketError::Store(e) => e.into(),
        }
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Gone => ApiError::Gone,
            ChangeError::Credential(e) => e.into(),
            ChangeError::Store(e) => e.into(),
        }
    }
}
