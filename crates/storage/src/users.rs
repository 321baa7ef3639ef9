//! [`UserRepository`] over diesel.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl;
use diesel::prelude::*;
use diesel::query_source::{Alias, AliasedField};
use taskapi_domain::{
    AccountChange, AccountDeletion, AccountUpdate, InsertUserError, UserRepository,
};
use taskapi_domain::{ChangeOp, Clock, SystemClock};
use taskapi_domain::{
    ListRole, NewUser, PasswordHash, Role, StoreError, User, UserCursor, UserId, UserListQuery,
    UserSortField, UserSortKey,
};

use crate::backend::DbConnection;
use crate::changes::record_list_change;
use crate::errors::DbError;
use crate::listing::like_pattern;
use crate::pool::DbPool;
use crate::rows::{ListRow, MemberRow, UserRow, stamp, user_key};
use crate::schema::{api_tokens, list_members, lists, users};
use crate::sql_types::SqlUuid;

diesel::alias!(users as other_users: OtherUsers);

/// `other_users`' column `C`.
type OtherUsersField<C> = AliasedField<OtherUsers, C>;

/// The type of [`another_active_admin`].
type AnotherActiveAdmin = dsl::exists<
    dsl::Filter<
        dsl::Filter<
            dsl::Filter<Alias<OtherUsers>, dsl::Eq<OtherUsersField<users::role>, &'static str>>,
            dsl::Eq<OtherUsersField<users::disabled>, bool>,
        >,
        dsl::NotEq<OtherUsersField<users::id>, SqlUuid>,
    >,
>;

/// Whether another enabled administrator than `id` exists (a subquery, evaluated by the
/// statement that uses it).
fn another_active_admin(id: SqlUuid) -> AnotherActiveAdmin {
    dsl::exists(
        other_users
            .filter(other_users.field(users::role).eq(Role::Admin.as_str()))
            .filter(other_users.field(users::disabled).eq(false))
            .filter(other_users.field(users::id).ne(id)),
    )
}

/// Whether the row is not an enabled administrator.
fn not_an_active_admin()
-> dsl::Or<dsl::NotEq<users::role, &'static str>, dsl::Eq<users::disabled, bool>> {
    users::role
        .ne(Role::Admin.as_str())
        .or(users::disabled.eq(true))
}

fn exists(conn: &mut DbConnection, id: SqlUuid) -> QueryResult<bool> {
    diesel::select(dsl::exists(users::table.find(id))).get_result(conn)
}

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

/// Before `user`'s account is deleted: deletes the lists (but the inbox, which goes with the
/// account) `user` is the only member of, and in each list where `user` is the only owner
/// makes the longest-standing other member an owner, editors before viewers. Each list's
/// row is locked first, as every change of its memberships does. The members who remain in
/// a list get an upsert of it (its member count, perhaps its owner, changed); a deleted
/// list's only member was `user`, whose changes go with the account.
fn hand_over_lists(conn: &mut DbConnection, user: SqlUuid) -> Result<(), DbError> {
    // The domain gives an account deletion no instant: the changes are stamped by the clock
    // the domain uses.
    let now = SystemClock.now();
    let lists: Vec<SqlUuid> = list_members::table
        .inner_join(lists::table)
        .filter(list_members::user_id.eq(user))
        .filter(lists::inbox_of.is_null())
        .select(list_members::list_id)
        .load(conn)?;
    for list in lists {
        conn.engine().lock_list(list)?;
        let others = list_members::table
            .filter(list_members::list_id.eq(list))
            .filter(list_members::user_id.ne(user));
        let successor: Option<(SqlUuid, String)> = others
            .select((list_members::user_id, list_members::role))
            .order((
                list_members::role.eq(ListRole::Owner.as_str()).desc(),
                list_members::role.eq(ListRole::Editor.as_str()).desc(),
                list_members::added_at,
                list_members::user_id,
            ))
            .first(conn)
            .optional()?;
        if successor.is_some() {
            let remaining: Vec<SqlUuid> = others.select(list_members::user_id).load(conn)?;
            record_list_change(conn, list, ChangeOp::Upsert, now, &remaining)?;
        }
        match successor {
            None => {
                // Its tasks (and their tags) go with it.
                diesel::delete(lists::table.filter(lists::id.eq(list))).execute(conn)?;
            }
            Some((_, role)) if role == ListRole::Owner.as_str() => {}
            Some((next, _)) => {
                let is_owner: bool = diesel::select(dsl::exists(
                    list_members::table
                        .filter(list_members::list_id.eq(list))
                        .filter(list_members::user_id.eq(user))
                        .filter(list_members::role.eq(ListRole::Owner.as_str())),
                ))
                .get_result(conn)?;
                if is_owner {
                    diesel::update(
                        list_members::table
                            .filter(list_members::list_id.eq(list))
                            .filter(list_members::user_id.eq(next)),
                    )
                    .set(list_members::role.eq(ListRole::Owner.as_str()))
                    .execute(conn)?;
                }
            }
        }
    }
    Ok(())
}

#[async_trait]
impl UserRepository for DieselUserRepository {
    async fn insert(&self, user: NewUser) -> Result<User, InsertUserError> {
        let row = UserRow::from_new(&user)?;
        let inbox = ListRow::inbox(user.id, user.created_at);
        let owner = MemberRow {
            list_id: inbox.id,
            user_id: row.id,
            role: ListRole::Owner.as_str().to_owned(),
            added_at: row.created_at,
        };
        // A taken email is detected by the UNIQUE constraint, never by looking first, so
        // that of two concurrent registrations exactly one wins. The account's inbox is
        // made in the same transaction: no account is ever without one.
        let stored = self
            .pool
            .write(move |conn| {
                diesel::insert_into(users::table)
                    .values(&row)
                    .execute(conn)?;
                diesel::insert_into(lists::table)
                    .values(&inbox)
                    .execute(conn)?;
                diesel::insert_into(list_members::table)
                    .values(&owner)
                    .execute(conn)?;
                // The account's first change: it has its inbox.
                record_list_change(
                    conn,
                    owner.list_id,
                    ChangeOp::Upsert,
                    user.created_at,
                    &[owner.user_id],
                )?;
                Ok(row)
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
        let row = self
            .pool
            .run(move |conn| {
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
        let row = self
            .pool
            .run(move |conn| {
                Ok(users::table
                    .find(&id)
                    .select(UserRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        row.map(UserRow::into_domain).transpose()
    }

    async fn set_password(
        &self,
        id: UserId,
        replacing: PasswordHash,
        hash: PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (id, hash) = (user_key(id), hash.as_str().to_owned());
        let replacing = replacing.as_str().to_owned();
        let updated = self
            .pool
            .write(move |conn| {
                Ok::<_, DbError>(
                    diesel::update(
                        users::table
                            .find(id)
                            .filter(users::password_hash.eq(&replacing)),
                    )
                    .set((
                        users::password_hash.eq(&hash),
                        users::session_epoch.eq(users::session_epoch + 1),
                        users::updated_at.eq(stamp(now)),
                    ))
                    .execute(conn)?,
                )
            })
            .await?;
        Ok(updated > 0)
    }

    async fn rehash_password(
        &self,
        id: UserId,
        replacing: PasswordHash,
        hash: PasswordHash,
    ) -> Result<bool, StoreError> {
        let (id, hash) = (user_key(id), hash.as_str().to_owned());
        let replacing = replacing.as_str().to_owned();
        // The same password, so no session ends and `updated_at` stays: only the hash's
        // form changes, and only if no password change got there first.
        let updated = self
            .pool
            .write(move |conn| {
                Ok::<_, DbError>(
                    diesel::update(
                        users::table
                            .find(id)
                            .filter(users::password_hash.eq(&replacing)),
                    )
                    .set(users::password_hash.eq(&hash))
                    .execute(conn)?,
                )
            })
            .await?;
        Ok(updated > 0)
    }

    async fn end_all_sessions(&self, id: UserId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let id = user_key(id);
        let updated = self
            .pool
            .write(move |conn| {
                Ok::<_, DbError>(
                    diesel::update(users::table.find(id))
                        .set((
                            users::session_epoch.eq(users::session_epoch + 1),
                            users::updated_at.eq(stamp(now)),
                        ))
                        .execute(conn)?,
                )
            })
            .await?;
        Ok(updated > 0)
    }

    async fn update_account(
        &self,
        id: UserId,
        change: AccountChange,
        now: DateTime<Utc>,
    ) -> Result<AccountUpdate, StoreError> {
        let id = user_key(id);
        // Whether the change takes an enabled administrator's standing away (if the account
        // is one); then it must leave another one.
        let removes_admin = change.role == Some(Role::User) || change.disabled == Some(true);
        let outcome = self
            .pool
            .write(move |conn| {
                conn.engine().lock_active_admins()?;
                let target = users::table.filter(users::id.eq(id));
                let role = change.role.map(|r| users::role.eq(r.as_str()));
                let disabled = change.disabled.map(|d| users::disabled.eq(d));
                let bump = (
                    users::session_epoch.eq(users::session_epoch + 1),
                    users::updated_at.eq(stamp(now)),
                );
                // All columns in `UserRow`'s order: the multi-backend connection cannot
                // return a `Selectable`.
                let updated: Option<UserRow> = if removes_admin {
                    diesel::update(
                        target.filter(not_an_active_admin().or(another_active_admin(id))),
                    )
                    .set((role, disabled, bump))
                    .returning(users::all_columns)
                    .get_result(conn)
                    .optional()?
                } else {
                    diesel::update(target)
                        .set((role, disabled, bump))
                        .returning(users::all_columns)
                        .get_result(conn)
                        .optional()?
                };
                if updated.is_some() && change.disabled == Some(true) {
                    // Disabling ends the account's API tokens for good, with its sessions.
                    diesel::delete(api_tokens::table.filter(api_tokens::user_id.eq(id)))
                        .execute(conn)?;
                }
                Ok::<_, DbError>(
                    match updated {
                        Some(row) => Some(row),
                        None if exists(conn, id)? => None,
                        None => return Ok(Err(AccountUpdate::NotFound)),
                    }
                    .ok_or(AccountUpdate::LastAdmin),
                )
            })
            .await?;
        match outcome {
            Ok(row) => Ok(AccountUpdate::Updated(row.into_domain()?)),
            Err(refused) => Ok(refused),
        }
    }

    async fn delete(&self, id: UserId) -> Result<AccountDeletion, StoreError> {
        let id = user_key(id);
        self.pool
            .write(move |conn| {
                conn.engine().lock_active_admins()?;
                let allowed = diesel::select(dsl::exists(
                    users::table
                        .filter(users::id.eq(id))
                        .filter(not_an_active_admin().or(another_active_admin(id))),
                ))
                .get_result::<bool>(conn)?;
                if allowed {
                    hand_over_lists(conn, id)?;
                }
                // The inbox with its tasks, memberships, sessions, refresh tokens and API tokens go with
                // it (ON DELETE CASCADE).
                let deleted = diesel::delete(
                    users::table
                        .filter(users::id.eq(id))
                        .filter(not_an_active_admin().or(another_active_admin(id))),
                )
                .execute(conn)?;
                Ok::<_, DbError>(if deleted > 0 {
                    AccountDeletion::Deleted
                } else if exists(conn, id)? {
                    AccountDeletion::LastAdmin
                } else {
                    AccountDeletion::NotFound
                })
            })
            .await
            .map_err(StoreError::from)
    }

    async fn list(&self, query: UserListQuery) -> Result<Vec<User>, StoreError> {
        let fetch = i64::from(query.size.fetch_limit());
        let rows = self
            .pool
            .run(move |conn| {
                let mut q = users::table.select(users::all_columns).into_boxed();
                if let Some(text) = &query.email_contains {
                    // Emails are stored lower-case; so is the filter, on both backends alike.
                    q = q.filter(
                        users::email
                            .like(like_pattern(&text.to_lowercase()))
                            .escape('\\'),
                    );
                }
                if let Some(role) = query.role {
                    q = q.filter(users::role.eq(role.as_str()));
                }
                if let Some(disabled) = query.disabled {
                    q = q.filter(users::disabled.eq(disabled));
                }
                let descending = query.sort.descending;
                match query.after {
                    Some(UserCursor {
                        key: UserSortKey::CreatedAt(at),
                        id,
                    }) => {
                        let (at, id) = (stamp(at), user_key(id));
                        q = if descending {
                            q.filter(
                                users::created_at
                                    .lt(at)
                                    .or(users::created_at.eq(at).and(users::id.lt(id))),
                            )
                        } else {
                            q.filter(
                                users::created_at
                                    .gt(at)
                                    .or(users::created_at.eq(at).and(users::id.gt(id))),
                            )
                        };
                    }
                    Some(UserCursor {
                        key: UserSortKey::Email(email),
                        id,
                    }) => {
                        let id = user_key(id);
                        q = if descending {
                            q.filter(
                                users::email
                                    .lt(email.clone())
                                    .or(users::email.eq(email).and(users::id.lt(id))),
                            )
                        } else {
                            q.filter(
                                users::email
                                    .gt(email.clone())
                                    .or(users::email.eq(email).and(users::id.gt(id))),
                            )
                        };
                    }
                    None => {}
                }
                q = match (query.sort.field, descending) {
                    (UserSortField::CreatedAt, false) => q.order((users::created_at, users::id)),
                    (UserSortField::CreatedAt, true) => {
                        q.order((users::created_at.desc(), users::id.desc()))
                    }
                    (UserSortField::Email, false) => q.order((users::email, users::id)),
                    (UserSortField::Email, true) => {
                        q.order((users::email.desc(), users::id.desc()))
                    }
                };
                Ok::<_, DbError>(q.limit(fetch).load::<UserRow>(conn)?)
            })
            .await?;
        rows.into_iter().map(UserRow::into_domain).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_the_wildcards() {
        assert_eq!(like_pattern("bob"), "%bob%");
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
