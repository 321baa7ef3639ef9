//! The diesel schema, shared by every backend: `migrations/<backend>/` must produce tables
//! that these declarations describe (ids and timestamps as text, see [`crate::codec`]).

diesel::table! {
    /// Registered accounts.
    users (id) {
        /// Hyphenated lower-case UUID.
        id -> Text,
        /// Normalised (trimmed, lower-case) email; unique.
        email -> Text,
        /// The hasher's encoded password hash.
        password_hash -> Text,
        /// `user` or `admin`.
        role -> Text,
        /// Disabled by an administrator.
        disabled -> Bool,
        /// Stored timestamp text.
        created_at -> Text,
        /// Stored timestamp text.
        updated_at -> Text,
    }
}

diesel::table! {
    /// Tasks, each private to its owner.
    tasks (id) {
        /// Hyphenated lower-case UUID.
        id -> Text,
        /// The owning user's id.
        owner_id -> Text,
        /// Trimmed title.
        title -> Text,
        /// Description, possibly empty.
        description -> Text,
        /// Done?
        is_done -> Bool,
        /// When it was marked done; null while not done.
        completed_at -> Nullable<Text>,
        /// `Priority::rank`: 0 low, 1 medium, 2 high.
        priority -> SmallInt,
        /// When it is due, if ever.
        due_at -> Nullable<Text>,
        /// Stored timestamp text.
        created_at -> Text,
        /// Stored timestamp text.
        updated_at -> Text,
        /// Optimistic-concurrency version, starting at 1.
        version -> BigInt,
    }
}

diesel::table! {
    /// A task's tags, in the order given by `position`.
    task_tags (task_id, tag) {
        /// The task's id.
        task_id -> Text,
        /// 0-based position in the task's tag list.
        position -> SmallInt,
        /// The normalised tag.
        tag -> Text,
    }
}

diesel::joinable!(tasks -> users (owner_id));
diesel::joinable!(task_tags -> tasks (task_id));
diesel::allow_tables_to_appear_in_same_query!(users, tasks, task_tags);
