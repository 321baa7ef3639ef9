//! Identifiers. Ids are UUID v7 (time-ordered) so that sorting by id follows creation order
//! and index pages stay warm.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID (e.g. one read back from storage).
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            /// Parses any UUID notation `uuid` accepts (hyphenated, simple, braced, URN).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// The id of a user account.
    UserId
);
id_type!(
    /// The id of a task.
    TaskId
);
id_type!(
    /// The id of a session: one login and the refresh-token family it started.
    SessionId
);
id_type!(
    /// The id of a personal API token.
    ApiTokenId
);
id_type!(
    /// The id of a list of tasks. An account's inbox has the account's own id: one inbox
    /// per account by construction, found without a lookup.
    ListId
);
id_type!(
    /// The id of an invitation to a list.
    InvitationId
);

impl ListId {
    /// The id of `user`'s inbox.
    pub fn inbox_of(user: UserId) -> Self {
        Self(user.as_uuid())
    }
}
