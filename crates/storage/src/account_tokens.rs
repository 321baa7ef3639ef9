//! [`AccountTokenRepository`] over diesel: one-time tokens in `account_tokens`, their mail
//! queued in `outbound_mail` in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl;
use diesel::prelude::*;
use taskapi_domain::{
    AccountTokenHash, Email, NewAccountToken, OutgoingMail, PasswordHash, StoreError, TokenPurpose,
    UserId,
};
use taskapi_domain::{AccountTokenRepository, IssueOutcome, VerifyOutcome};
use uuid::Uuid;

use crate::backend::DbConnection;
use crate::errors::DbError;
use crate::pool::DbPool;
use crate::purge::{self, Purge};
use crate::rows::{AccountTokenRow, OutboundMailRow, UserRow, stamp};
use crate::schema::{account_tokens, api_tokens, users};
use crate::sql_types::{SqlTimestamp, SqlUuid};

/// One-time tokens and the mail that carries them.
#[derive(Debug, Clone)]
pub(crate) struct DieselAccountTokenRepository {
    pool: DbPool,
}

impl DieselAccountTokenRepository {
    /// A repository over `pool`.
    pub(crate) fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

/// Stores `token` after deleting the account's unused tokens of its purpose, and queues
/// `mail`; the caller holds the account's row lock (or SQLite's write lock).
fn store(
    conn: &mut DbConnection,
    token: &AccountTokenRow,
    mail: Option<&OutboundMailRow>,
) -> Result<(), DbError> {
    diesel::delete(
        account_tokens::table
            .filter(account_tokens::user_id.eq(token.user_id))
            .filter(account_tokens::purpose.eq(&token.purpose))
            .filter(account_tokens::used_at.is_null()),
    )
    .execute(conn)?;
    diesel::insert_into(account_tokens::table)
        .values(token)
        .execute(conn)?;
    if let Some(mail) = mail {
        diesel::insert_into(crate::schema::outbound_mail::table)
            .values(mail)
            .execute(conn)?;
    }
    Ok(())
}

/// Marks the token used if it is a live token of `purpose`; returns its account and
/// address.
fn use_token(
    conn: &mut DbConnection,
    hash: &str,
    purpose: TokenPurpose,
    now: SqlTimestamp,
) -> Result<Option<(SqlUuid, String)>, DbError> {
    // The one statement that decides: of concurrent uses of one token, only the first
    // finds `used_at` still null.
    Ok(diesel::update(
        account_tokens::table
            .filter(account_tokens::token_hash.eq(hash))
            .filter(account_tokens::purpose.eq(purpose.as_str()))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::expires_at.gt(now)),
    )
    .set(account_tokens::used_at.eq(now))
    .returning((account_tokens::user_id, account_tokens::email))
    .get_result(conn)
    .optional()?)
}

#[async_trait]
impl AccountTokenRepository for DieselAccountTokenRepository {
    async fn issue(
        &self,
        token: NewAccountToken,
        mail: Option<OutgoingMail>,
    ) -> Result<IssueOutcome, StoreError> {
        let row = AccountTokenRow::from_new(&token);
        let mail = mail.map(|m| OutboundMailRow::queued(Uuid::now_v7(), &m, token.created_at));
        let verifies = token.purpose == TokenPurpose::EmailVerification;
        self.pool
            .write(move |conn| {
                conn.engine().lock_owner(row.user_id)?;
                let found: bool =
                    diesel::select(dsl::exists(users::table.find(row.user_id))).get_result(conn)?;
                if !found {
                    return Ok(IssueOutcome::NoAccount);
                }
                if verifies {
                    let taken: bool = diesel::select(dsl::exists(
                        users::table
                            .filter(users::email.eq(&row.email))
                            .filter(users::id.ne(row.user_id)),
                    ))
                    .get_result(conn)?;
                    if taken {
                        return Ok(IssueOutcome::EmailTaken);
                    }
                }
                store(conn, &row, mail.as_ref())?;
                Ok(IssueOutcome::Issued)
            })
            .await
            .map_err(StoreError::from)
    }

    async fn issue_reset_for_email(
        &self,
        email: &Email,
        hash: AccountTokenHash,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mail: OutgoingMail,
    ) -> Result<bool, StoreError> {
        let email = email.as_str().to_owned();
        let hash = hash.as_str().to_owned();
        let mail = OutboundMailRow::queued(Uuid::now_v7(), &mail, now);
        self.pool
            .write(move |conn| {
                let account: Option<SqlUuid> = users::table
                    .filter(users::email.eq(&email))
                    .filter(users::disabled.eq(false))
                    .select(users::id)
                    .first(conn)
                    .optional()?;
                let Some(account) = account else {
                    return Ok(false);
                };
                conn.engine().lock_owner(account)?;
                let row = AccountTokenRow {
                    token_hash: hash,
                    user_id: account,
                    purpose: TokenPurpose::PasswordReset.as_str().to_owned(),
                    email,
                    created_at: stamp(now),
                    expires_at: stamp(expires_at),
                    used_at: None,
                };
                store(conn, &row, Some(&mail))?;
                Ok(true)
            })
            .await
            .map_err(StoreError::from)
    }

    async fn find_live(
        &self,
        hash: &AccountTokenHash,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        let hash = hash.as_str().to_owned();
        let found: Option<SqlUuid> = self
            .pool
            .run(move |conn| {
                Ok::<_, DbError>(
                    account_tokens::table
                        .filter(account_tokens::token_hash.eq(&hash))
                        .filter(account_tokens::purpose.eq(purpose.as_str()))
                        .filter(account_tokens::used_at.is_null())
                        .filter(account_tokens::expires_at.gt(stamp(now)))
                        .select(account_tokens::user_id)
                        .first(conn)
                        .optional()?,
                )
            })
            .await?;
        Ok(found.map(|id| UserId::from_uuid(id.0)))
    }

    async fn reset_password(
        &self,
        hash: &AccountTokenHash,
        password: PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        let hash = hash.as_str().to_owned();
        let password = password.as_str().to_owned();
        let now = stamp(now);
        let reset = self
            .pool
            .write(move |conn| {
                let Some((account, _)) = use_token(conn, &hash, TokenPurpose::PasswordReset, now)?
                else {
                    return Ok(None);
                };
                // Every session ends with the epoch's bump, in the same transaction.
                let updated = diesel::update(users::table.find(account))
                    .set((
                        users::password_hash.eq(&password),
                        users::session_epoch.eq(users::session_epoch + 1),
                        users::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                // A reset ends the account's API tokens too, in the same transaction: whoever
                // reset the password may be locking out someone who had taken the account.
                diesel::delete(api_tokens::table.filter(api_tokens::user_id.eq(account)))
                    .execute(conn)?;
                // Other reset tokens of the account are void now.
                diesel::delete(
                    account_tokens::table
                        .filter(account_tokens::user_id.eq(account))
                        .filter(account_tokens::purpose.eq(TokenPurpose::PasswordReset.as_str()))
                        .filter(account_tokens::used_at.is_null()),
                )
                .execute(conn)?;
                Ok::<_, DbError>((updated > 0).then_some(UserId::from_uuid(account.0)))
            })
            .await?;
        Ok(reset)
    }

    async fn verify_email(
        &self,
        hash: &AccountTokenHash,
        now: DateTime<Utc>,
    ) -> Result<VerifyOutcome, StoreError> {
        let hash = hash.as_str().to_owned();
        let now = stamp(now);
        let outcome = self
            .pool
            .write(move |conn| {
                let Some((account, email)) =
                    use_token(conn, &hash, TokenPurpose::EmailVerification, now)?
                else {
                    return Ok(None);
                };
                let before: Option<String> = users::table
                    .find(account)
                    .select(users::email)
                    .first(conn)
                    .optional()?;
                // A taken address fails the UNIQUE constraint: the transaction rolls back,
                // and the token stays unused.
                let row: Option<UserRow> = diesel::update(users::table.find(account))
                    .set((
                        users::email.eq(&email),
                        users::email_verified.eq(true),
                        users::updated_at.eq(now),
                    ))
                    .returning(users::all_columns)
                    .get_result(conn)
                    .optional()?;
                // When the address changed, tokens mailed to the old one are void now.
                if before.is_some_and(|before| before != email) {
                    diesel::delete(
                        account_tokens::table
                            .filter(account_tokens::user_id.eq(account))
                            .filter(account_tokens::used_at.is_null()),
                    )
                    .execute(conn)?;
                }
                Ok::<_, DbError>(row)
            })
            .await;
        match outcome {
            Ok(Some(row)) => Ok(VerifyOutcome::Verified(row.into_domain()?)),
            Ok(None) => Ok(VerifyOutcome::Invalid),
            Err(e) if e.is_unique_violation_on("email") => Ok(VerifyOutcome::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(purge::in_batches(&self.pool, Purge::ExpiredAccountTokens, now).await?)
    }
}
