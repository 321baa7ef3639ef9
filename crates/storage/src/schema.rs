//! The diesel schema, shared by every backend: `migrations/<backend>/` must produce tables
//! that these declarations describe. Ids and instants use the custom SQL types of
//! [`crate::sql_types`]: native `uuid`/`timestamptz` on PostgreSQL, text on SQLite.

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// Registered accounts.
    users (id) {
        /// UUID v7.
        id -> DbUuid,
        /// Normalised (trimmed, lower-case) email; unique.
        email -> Text,
        /// The hasher's encoded password hash.
        password_hash -> Text,
        /// `user` or `admin`.
        role -> Text,
        /// Disabled by an administrator.
        disabled -> Bool,
        /// When it was created.
        created_at -> DbTimestamp,
        /// When it last changed.
        updated_at -> DbTimestamp,
        /// Bumped to end every session of the account at once.
        session_epoch -> BigInt,
        /// Whether its owner proved to read mail at its address.
        email_verified -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// Single-use tickets opening `GET /events` for a session, as hashes.
    event_tickets (ticket_hash) {
        /// SHA-256 of the ticket, hex.
        ticket_hash -> Text,
        /// The account's id.
        user_id -> DbUuid,
        /// The session the ticket stands for.
        session_id -> DbUuid,
        /// When it stops working.
        expires_at -> DbTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// One-time account tokens (password reset, e-mail verification), as hashes.
    account_tokens (token_hash) {
        /// SHA-256 of the token, hex.
        token_hash -> Text,
        /// The account's id.
        user_id -> DbUuid,
        /// `password_reset` or `email_verification`.
        purpose -> Text,
        /// The address it verifies (for a reset: the account's).
        email -> Text,
        /// When it was made.
        created_at -> DbTimestamp,
        /// When it stops working.
        expires_at -> DbTimestamp,
        /// When it was used; null while unused.
        used_at -> Nullable<DbTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// Outgoing mail waiting for delivery (or delivered / given up, until purged).
    outbound_mail (id) {
        /// UUID v7.
        id -> DbUuid,
        /// The recipient's address.
        recipient -> Text,
        /// Subject line.
        subject -> Text,
        /// Plain-text body; emptied once delivered or given up.
        body -> Text,
        /// When it was queued.
        created_at -> DbTimestamp,
        /// Delivery attempts so far.
        attempts -> Integer,
        /// When it is next due (a claim moves it one lease ahead).
        next_attempt_at -> DbTimestamp,
        /// The claim of the sender holding it.
        claim -> Nullable<DbUuid>,
        /// When it was delivered or given up.
        finished_at -> Nullable<DbTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// Sessions: one login and its refresh-token family.
    sessions (id) {
        /// UUID v7; the access tokens' `sid`.
        id -> DbUuid,
        /// The account's id.
        user_id -> DbUuid,
        /// `users.session_epoch` when the session started.
        epoch -> BigInt,
        /// When it started.
        created_at -> DbTimestamp,
        /// When its newest refresh token expires.
        expires_at -> DbTimestamp,
        /// When it was ended, if it was.
        revoked_at -> Nullable<DbTimestamp>,
        /// When its password login happened (none for sessions older than the column).
        password_login_at -> Nullable<DbTimestamp>,
        /// Its login or latest refresh.
        last_used_at -> Nullable<DbTimestamp>,
        /// The `User-Agent` of its login, bounded.
        user_agent -> Nullable<Text>,
        /// The client address of its login, as the throttle saw it.
        address -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// Refresh tokens, as hashes.
    refresh_tokens (token_hash) {
        /// SHA-256 of the token, hex.
        token_hash -> Text,
        /// Its session.
        session_id -> DbUuid,
        /// When it was issued.
        issued_at -> DbTimestamp,
        /// When it stops working.
        expires_at -> DbTimestamp,
        /// When it was rotated; null while unused.
        used_at -> Nullable<DbTimestamp>,
        /// With a refresh grace period: the hash of the token it was rotated into.
        successor_hash -> Nullable<Text>,
        /// With a refresh grace period: that token, sealed with this one.
        successor_sealed -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// Personal API tokens, as hashes, found by their non-secret prefix.
    api_tokens (id) {
        /// UUID v7.
        id -> DbUuid,
        /// The owner's id.
        user_id -> DbUuid,
        /// The owner's name for it.
        name -> Text,
        /// Scope names separated by spaces.
        scopes -> Text,
        /// `tka_` and 16 hex digits; unique.
        prefix -> Text,
        /// SHA-256 of the whole token, hex.
        token_hash -> Text,
        /// When it was created.
        created_at -> DbTimestamp,
        /// When it stops working, if ever.
        expires_at -> Nullable<DbTimestamp>,
        /// When it was last used (written at most once a minute).
        last_used_at -> Nullable<DbTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// Tasks, each in a list.
    tasks (id) {
        /// UUID v7.
        id -> DbUuid,
        /// The id of the account that created it (kept after the account is deleted).
        created_by -> DbUuid,
        /// Trimmed title.
        title -> Text,
        /// Description, possibly empty.
        description -> Text,
        /// Done?
        is_done -> Bool,
        /// When it was marked done; null while not done.
        completed_at -> Nullable<DbTimestamp>,
        /// `Priority::rank`: 0 low, 1 medium, 2 high.
        priority -> SmallInt,
        /// When it is due, if ever.
        due_at -> Nullable<DbTimestamp>,
        /// When it was created.
        created_at -> DbTimestamp,
        /// When it last changed.
        updated_at -> DbTimestamp,
        /// Optimistic-concurrency version, starting at 1.
        version -> BigInt,
        /// `TaskTitle::sort_key`: what titles sort by.
        title_key -> Text,
        /// Lower-cased title and description joined by U+0001: what `q` searches.
        search_key -> Text,
        /// Its list.
        list_id -> DbUuid,
        /// The task it is a subtask of; null at the top level.
        parent_id -> Nullable<DbUuid>,
        /// Orders it among its siblings (byte order).
        position -> Text,
        /// The member it is assigned to, if any.
        assignee_id -> Nullable<DbUuid>,
        /// When it went to the trash (with its subtasks); null while it is live.
        trashed_at -> Nullable<DbTimestamp>,
        /// Who trashed it (kept after the account is deleted); null while it is live.
        trashed_by -> Nullable<DbUuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// Lists of tasks, shared by their members.
    lists (id) {
        /// UUID v7; an inbox's is its account's id.
        id -> DbUuid,
        /// Trimmed name.
        name -> Text,
        /// `ListName::sort_key`: what names sort by.
        name_key -> Text,
        /// The account whose inbox this is; null for every other list.
        inbox_of -> Nullable<DbUuid>,
        /// Archived lists refuse task writes.
        archived -> Bool,
        /// When it was created.
        created_at -> DbTimestamp,
        /// When it last changed.
        updated_at -> DbTimestamp,
        /// Optimistic-concurrency version, starting at 1.
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// Who belongs to which list, with which role.
    list_members (list_id, user_id) {
        /// The list.
        list_id -> DbUuid,
        /// The member.
        user_id -> DbUuid,
        /// `viewer`, `editor` or `owner`.
        role -> Text,
        /// When they joined.
        added_at -> DbTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// Pending invitations to lists, by the invitee's normalised email.
    list_invitations (id) {
        /// UUID v7.
        id -> DbUuid,
        /// The list.
        list_id -> DbUuid,
        /// Whom it invites.
        email -> Text,
        /// The role it offers.
        role -> Text,
        /// Who invited (null once that account is deleted).
        invited_by -> Nullable<DbUuid>,
        /// When it was made.
        created_at -> DbTimestamp,
        /// When it stops working.
        expires_at -> DbTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// A task's tags, in the order given by `position`.
    task_tags (task_id, tag) {
        /// The task's id.
        task_id -> DbUuid,
        /// 0-based position in the task's tag list.
        position -> SmallInt,
        /// The normalised tag.
        tag -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// Idempotency keys of task creation, per owner.
    idempotency_keys (owner_id, key) {
        /// The user who sent the key.
        owner_id -> DbUuid,
        /// The key.
        key -> Text,
        /// Fingerprint of the request that first used it.
        fingerprint -> Text,
        /// When it was first used.
        created_at -> DbTimestamp,
        /// The task the first request created, as it was created
        /// ([`crate::task_snapshot`]); NULL while that request runs.
        task -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{DbTimestamp, DbUuid};

    /// The change log: a row per change a user can see, in `(txn, seq)` order (see
    /// `crate::changes`).
    changes (seq) {
        /// The row's number (in commit order on SQLite).
        seq -> BigInt,
        /// The writing transaction's id on PostgreSQL; 0 on SQLite.
        txn -> BigInt,
        /// The user who may see the change.
        user_id -> DbUuid,
        /// `task` or `list`.
        entity -> Text,
        /// `upsert` or `delete`.
        op -> Text,
        /// The entity's id.
        entity_id -> DbUuid,
        /// The task's list, or a list change's own list.
        list_id -> Nullable<DbUuid>,
        /// When the change was made.
        at -> DbTimestamp,
    }
}

diesel::joinable!(changes -> users (user_id));
diesel::joinable!(tasks -> lists (list_id));
diesel::joinable!(list_members -> lists (list_id));
diesel::joinable!(list_members -> users (user_id));
diesel::joinable!(list_invitations -> lists (list_id));
diesel::joinable!(idempotency_keys -> users (owner_id));
diesel::joinable!(task_tags -> tasks (task_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(account_tokens -> users (user_id));
diesel::joinable!(event_tickets -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    api_tokens,
    lists,
    list_members,
    list_invitations,
    tasks,
    task_tags,
    sessions,
    refresh_tokens,
    idempotency_keys,
    changes,
    account_tokens,
    event_tickets,
    outbound_mail
);
