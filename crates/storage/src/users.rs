//! [`UserRepository`] over diesel.

use async_trait::async_trait;
use diesel::prelude::*;
use taskapi_domain::ports::{InsertUserError, UserRepository};
use taskapi_domain::{NewUser, StoreError, User, UserId};

use crate::backend::{DbPool, write_transaction};
use crate::pool::with_connection;
use crate::rows::{UserRow, user_key};
use crate::schema::users;

/// Accounts in the `users` table.
#[derive(Debug, Clone)]
pub(crate) struct DieselUserRepository {
    pool: DbPool,
}

impl DieselUserRepository {
    /// A repository over `pool`.
    pub(crate) fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl UserRepository for DieselUserRepository {
    async fn insert(&self, user: NewUser) -> Result<User, InsertUserError> {
        let row = UserRow::from_new(&user)?;
        // A taken email is detected by the UNIQUE constraint, never by looking first, so
        // that of two concurrent registrations exactly one wins.
        let stored = with_connection(&self.pool, move |conn| {
            write_transaction(conn, |conn| {
                diesel::insert_into(users::table)
                    .values(&row)
                    .execute(conn)?;
                Ok(row)
            })
        })
        .await
        .map_err(|e| {
            if e.is_unique_violation_on("email") {
                InsertUserError::EmailTaken
            } else {
                InsertUserError::Store(e.into())
            }
        })?;
        // Returned as it reads back (e.g. timestamps at stored precision).
        Ok(stored.into_domain()?)
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let email = email.to_owned();
        let row = with_connection(&self.pool, move |conn| {
            Ok(users::table
                .filter(users::email.eq(&email))
                .select(UserRow::as_select())
                .first(conn)
                .optional()?)
        })
        .await?;
        row.map(UserRow::into_domain).transpose()
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let id = user_key(id);
        let row = with_connection(&self.pool, move |conn| {
            Ok(users::table
                .find(&id)
                .select(UserRow::as_select())
                .first(conn)
                .optional()?)
        })
        .await?;
        row.map(UserRow::into_domain).transpose()
    }
}
