//! Request and response bodies as the API shows them. Separate from domain types: these are
//! the wire format (serde) and its documentation (paperclip); the domain never sees them.

use chrono::{DateTime, Utc};
use paperclip::actix::Apiv2Schema;
use serde::Serialize;
use taskapi_domain::AccountChange;
use taskapi_domain::{
    Description, Email, Password, Priority, Role, TagProblem, Tags, TagsError, Task, TaskDraft,
    TaskPatch, TaskTitle, TokenPair, User, ValidationErrors,
};
use uuid::Uuid;

use crate::body::{Fields, RequestBody, Slot};

/// `{"status":"ok"}`, as the original service answered.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct StatusResponse {
    /// Always `ok`.
    pub status: &'static str,
}

/// A user's role.
#[derive(Debug, Clone, Copy, Serialize, Apiv2Schema)]
#[serde(rename_all = "lowercase")]
pub enum RoleDto {
    /// Manages their own tasks.
    User,
    /// Also manages accounts.
    Admin,
}

impl From<Role> for RoleDto {
    fn from(role: Role) -> Self {
        match role {
            Role::User => RoleDto::User,
            Role::Admin => RoleDto::Admin,
        }
    }
}

/// A task's priority.
#[derive(Debug, Clone, Copy, Serialize, Apiv2Schema)]
#[serde(rename_all = "lowercase")]
pub enum PriorityDto {
    /// Can wait.
    Low,
    /// The default.
    Medium,
    /// Urgent.
    High,
}

impl From<Priority> for PriorityDto {
    fn from(p: Priority) -> Self {
        match p {
            Priority::Low => PriorityDto::Low,
            Priority::Medium => PriorityDto::Medium,
            Priority::High => PriorityDto::High,
        }
    }
}

/// A user account. Never carries a password or its hash.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct UserResponse {
    /// The account's id (UUID v7).
    pub id: Uuid,
    /// The normalised (trimmed, lower-case) email.
    pub email: String,
    /// The account's role.
    pub role: RoleDto,
    /// Whether an administrator disabled the account.
    pub disabled: bool,
    /// When the account was registered.
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_uuid(),
            email: u.email.as_str().to_owned(),
            role: u.role.into(),
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// The tokens a successful login or refresh returns.
#[derive(Serialize, Apiv2Schema)]
pub struct TokenResponse {
    /// The access token: send it as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Exchange it at `POST /token/refresh` for a new pair (once: it is rotated).
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl From<TokenPair> for TokenResponse {
    fn from(t: TokenPair) -> Self {
        Self {
            access_token: t.access.token,
            token_type: "bearer",
            expires_in: t.access.expires_in,
            refresh_token: t.refresh_token.expose().to_owned(),
        }
    }
}

/// A refresh token, to rotate (`POST /token/refresh`) or to end its session
/// (`POST /logout`).
#[derive(Apiv2Schema)]
pub struct RefreshRequest {
    /// The `refresh_token` of the latest token pair.
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest(<redacted>)")
    }
}

/// A refresh token as sent (only its type is checked: any wrong token is the same 401).
pub struct PresentedRefreshToken(pub String);

impl std::fmt::Debug for PresentedRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PresentedRefreshToken(<redacted>)")
    }
}

impl RequestBody for RefreshRequest {
    type Parsed = PresentedRefreshToken;

    fn parse(f: &mut Fields) -> Option<PresentedRefreshToken> {
        let token = f.string("refresh_token");
        f.required("refresh_token", token)
            .map(PresentedRefreshToken)
    }
}

/// A password change.
#[derive(Apiv2Schema)]
pub struct ChangePasswordRequest {
    /// The password now.
    pub current_password: String,
    /// The new password, 8–72 bytes.
    pub new_password: String,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePasswordRequest(<redacted>)")
    }
}

/// A valid password change.
#[derive(Debug)]
pub struct PasswordChange {
    /// The current password as sent (a wrong one is a 403, whatever its shape).
    pub current: CurrentPassword,
    /// The new password, checked against the policy.
    pub new: Password,
}

/// A current password as sent. Its `Debug` never shows it.
pub struct CurrentPassword(pub String);

impl std::fmt::Debug for CurrentPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CurrentPassword(<redacted>)")
    }
}

impl RequestBody for ChangePasswordRequest {
    type Parsed = PasswordChange;

    fn parse(f: &mut Fields) -> Option<PasswordChange> {
        let current = f.string("current_password");
        let current = f.required("current_password", current);
        let new = f.string("new_password");
        let new = f
            .required("new_password", new)
            .and_then(|p| f.check("new_password", Password::parse(p)));
        Some(PasswordChange {
            current: CurrentPassword(current?),
            new: new?,
        })
    }
}

/// An administrator's change of an account: absent fields stay as they are.
#[derive(Debug, Apiv2Schema)]
pub struct UpdateUserRequest {
    /// The new role.
    pub role: Option<RoleDto>,
    /// True disables the account (it cannot log in, its sessions end); false enables it.
    pub disabled: Option<bool>,
}

/// Fields of a user a client may send back unchanged from a response; ignored on input.
const USER_READ_ONLY: &[&str] = &["id", "email", "created_at"];

impl RequestBody for UpdateUserRequest {
    type Parsed = AccountChange;
    const READ_ONLY: &'static [&'static str] = USER_READ_ONLY;

    fn parse(f: &mut Fields) -> Option<AccountChange> {
        let role = f.string("role");
        let role = match f.optional("role", role) {
            Some(Some(r)) => f.check("role", Role::parse(&r)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let disabled = f.boolean("disabled");
        let disabled = f.optional("disabled", disabled);
        Some(AccountChange {
            role: role?,
            disabled: disabled?,
        })
    }
}

/// A task.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct TaskResponse {
    /// The task's id (UUID v7).
    pub id: Uuid,
    /// 1–200 characters.
    pub title: String,
    /// Up to 10 000 characters; empty by default.
    pub description: String,
    /// Whether the task is done.
    pub is_done: bool,
    /// When the task was marked done; null while it is not.
    pub completed_at: Option<DateTime<Utc>>,
    /// The task's priority.
    pub priority: PriorityDto,
    /// When the task is due, if ever.
    pub due_at: Option<DateTime<Utc>>,
    /// Lower-case tags, at most 20.
    pub tags: Vec<String>,
    /// When the task was created.
    pub created_at: DateTime<Utc>,
    /// When the task last changed.
    pub updated_at: DateTime<Utc>,
    /// Starts at 1 and grows by one on every change; the `ETag` is `"<version>"`.
    pub version: i64,
}

impl From<Task> for TaskResponse {
    fn from(t: Task) -> Self {
        Self {
            id: t.id.as_uuid(),
            title: t.title.as_str().to_owned(),
            description: t.description.as_str().to_owned(),
            is_done: t.is_done,
            completed_at: t.completed_at,
            priority: t.priority.into(),
            due_at: t.due_at,
            tags: t.tags.iter().map(str::to_owned).collect(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            version: t.version,
        }
    }
}

/// Registration: a new account's email and password.
#[derive(Debug, Apiv2Schema)]
pub struct RegisterRequest {
    /// A valid email address; trimmed and lower-cased. Must not be registered yet.
    pub email: String,
    /// 8–72 bytes.
    pub password: String,
}

/// A valid registration.
#[derive(Debug)]
pub struct Registration {
    /// The normalised email.
    pub email: Email,
    /// The password, checked against the policy.
    pub password: Password,
}

impl RequestBody for RegisterRequest {
    type Parsed = Registration;

    fn parse(f: &mut Fields) -> Option<Registration> {
        let email = f.string("email");
        let email = f
            .required("email", email)
            .and_then(|e| f.check("email", Email::parse(&e)));
        let password = f.string("password");
        let password = f
            .required("password", password)
            .and_then(|p| f.check("password", Password::parse(p)));
        Some(Registration {
            email: email?,
            password: password?,
        })
    }
}

/// Login: an account's email and password.
#[derive(Debug, Apiv2Schema)]
pub struct LoginRequest {
    /// The account's email (any case).
    pub email: String,
    /// The account's password.
    pub password: String,
}

/// Login credentials as sent: only their types are checked, so that a malformed email or
/// password is the same 401 as a wrong one. Its `Debug` never shows the password.
pub struct Credentials {
    /// The email as sent.
    pub email: String,
    /// The password as sent.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl RequestBody for LoginRequest {
    type Parsed = Credentials;

    fn parse(f: &mut Fields) -> Option<Credentials> {
        let email = f.string("email");
        let email = f.required("email", email);
        let password = f.string("password");
        let password = f.required("password", password);
        Some(Credentials {
            email: email?,
            password: password?,
        })
    }
}

/// Fields of a task a client may send back unchanged from a response; ignored on input.
const TASK_READ_ONLY: &[&str] = &["id", "created_at", "updated_at", "completed_at", "version"];

/// A new task. Only `title` is required.
#[derive(Debug, Apiv2Schema)]
pub struct CreateTaskRequest {
    /// 1–200 characters after trimming.
    pub title: String,
    /// Up to 10 000 characters, kept as written; default empty.
    pub description: Option<String>,
    /// Default false; true also sets `completed_at`.
    pub is_done: Option<bool>,
    /// Default `medium`.
    pub priority: Option<PriorityDto>,
    /// RFC 3339 date-time, or null.
    pub due_at: Option<DateTime<Utc>>,
    /// At most 20 tags of 1–40 characters; trimmed, lower-cased, duplicates folded.
    pub tags: Option<Vec<String>>,
}

impl RequestBody for CreateTaskRequest {
    type Parsed = TaskDraft;
    const READ_ONLY: &'static [&'static str] = TASK_READ_ONLY;

    fn parse(f: &mut Fields) -> Option<TaskDraft> {
        let title = f.string("title");
        let title = f
            .required("title", title)
            .and_then(|t| f.check("title", TaskTitle::parse(&t)));
        let description = match f.string("description") {
            Some(Slot::Present(d)) => f.check("description", Description::parse(d)),
            Some(Slot::Absent | Slot::Null) => Some(Description::empty()),
            None => None,
        };
        let is_done = f.boolean("is_done");
        let is_done = f
            .optional("is_done", is_done)
            .map(Option::unwrap_or_default);
        let priority = f.string("priority");
        let priority = match f.optional("priority", priority) {
            Some(Some(p)) => f.check("priority", Priority::parse(&p)),
            Some(None) => Some(Priority::default()),
            None => None,
        };
        let due_at = match f.timestamp("due_at") {
            Some(Slot::Present(d)) => Some(Some(d)),
            Some(Slot::Absent | Slot::Null) => Some(None),
            None => None,
        };
        let tags = f.strings("tags");
        let tags = match f.optional("tags", tags) {
            Some(Some(t)) => f.check_many(tags_of(&t)),
            Some(None) => Some(Tags::default()),
            None => None,
        };
        Some(TaskDraft {
            title: title?,
            description: description?,
            is_done: is_done?,
            priority: priority?,
            due_at: due_at?,
            tags: tags?,
        })
    }
}

/// A partial update: absent fields stay as they are; `null` clears `due_at` and
/// `description`. Read-only fields (`id`, `created_at`, `updated_at`, `completed_at`,
/// `version`) are ignored, so a task read from the API may be sent back as is.
#[derive(Debug, Apiv2Schema)]
pub struct UpdateTaskRequest {
    /// 1–200 characters after trimming.
    pub title: Option<String>,
    /// Up to 10 000 characters; null clears it to "".
    pub description: Option<String>,
    /// True sets `completed_at` (kept if already done); false clears it.
    pub is_done: Option<bool>,
    /// The new priority.
    pub priority: Option<PriorityDto>,
    /// RFC 3339 date-time; null clears it.
    pub due_at: Option<DateTime<Utc>>,
    /// Replaces every tag.
    pub tags: Option<Vec<String>>,
}

impl RequestBody for UpdateTaskRequest {
    type Parsed = TaskPatch;
    const READ_ONLY: &'static [&'static str] = TASK_READ_ONLY;

    fn parse(f: &mut Fields) -> Option<TaskPatch> {
        let title = f.string("title");
        let title = match f.optional("title", title) {
            Some(Some(t)) => f.check("title", TaskTitle::parse(&t)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let description = match f.string("description") {
            Some(Slot::Present(d)) => f.check("description", Description::parse(d)).map(Some),
            Some(Slot::Null) => Some(Some(Description::empty())),
            Some(Slot::Absent) => Some(None),
            None => None,
        };
        let is_done = f.boolean("is_done");
        let is_done = f.optional("is_done", is_done);
        let priority = f.string("priority");
        let priority = match f.optional("priority", priority) {
            Some(Some(p)) => f.check("priority", Priority::parse(&p)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let due_at = match f.timestamp("due_at") {
            Some(Slot::Present(d)) => Some(Some(Some(d))),
            Some(Slot::Null) => Some(Some(None)),
            Some(Slot::Absent) => Some(None),
            None => None,
        };
        let tags = f.strings("tags");
        let tags = match f.optional("tags", tags) {
            Some(Some(t)) => f.check_many(tags_of(&t)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        Some(TaskPatch {
            title: title?,
            description: description?,
            is_done: is_done?,
            priority: priority?,
            due_at: due_at?,
            tags: tags?,
        })
    }
}

/// Parses a task's tags, naming each invalid tag by its position in the list as sent
/// (`tags[3]`) and the count as `tags`.
fn tags_of(raw: &[String]) -> Result<Tags, ValidationErrors> {
    Tags::parse(raw).map_err(|TagsError(problems)| {
        let mut errors = ValidationErrors::new();
        for problem in problems {
            match problem {
                TagProblem::Invalid { index, error } => {
                    errors.push(format!("tags[{index}]"), error.to_string());
                }
                TagProblem::TooMany { .. } => errors.push("tags", problem.to_string()),
            }
        }
        errors
    })
}
