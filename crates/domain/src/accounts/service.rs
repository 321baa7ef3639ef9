//! Accounts: users, credentials, access tokens, and the `AccountService` use cases.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    AccountDeletion, AccountError, AuthError, Clock, Email, IdGenerator, InsertUserError,
    NewRefreshToken, NewUser, Password, PasswordHasher, Principal, Role, RotateOutcome, Session,
    SessionCache, SessionId, SessionRepository, StoreError, TokenPair, TokenService, User, UserId,
    UserRepository,
};

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Lifetime of a refresh token (each rotation starts a new one).
    pub refresh_ttl: Duration,
    /// How recent a session's password login must be for the changes that need one
    /// (deleting the account); refreshing does not renew it.
    pub reauth_window: Duration,
}

/// The account use cases: register, log in, refresh, log out, authenticate a request, read,
/// re-password and delete one's own account.
#[derive(Clone)]
pub struct AccountService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenService>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    cache: Arc<SessionCache>,
    refresh_ttl: chrono::Duration,
    reauth_window: chrono::Duration,
    verified_email_required: bool,
}

impl fmt::Debug for AccountService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountService").finish_non_exhaustive()
    }
}

/// The ports the account service needs.
#[derive(Clone)]
pub struct AccountPorts {
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// Sessions and refresh tokens.
    pub sessions: Arc<dyn SessionRepository>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Tokens.
    pub tokens: Arc<dyn TokenService>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Ids.
    pub ids: Arc<dyn IdGenerator>,
}

impl fmt::Debug for AccountPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountPorts").finish_non_exhaustive()
    }
}

impl AccountService {
    /// Longest refresh token looked up; anything longer cannot be one of ours.
    const MAX_REFRESH_TOKEN_LEN: usize = 512;

    /// Builds the service from its ports; `cache` is shared with the admin service so that
    /// what either ends is forgotten at once.
    pub fn new(ports: AccountPorts, settings: SessionSettings, cache: Arc<SessionCache>) -> Self {
        Self {
            users: ports.users,
            sessions: ports.sessions,
            hasher: ports.hasher,
            tokens: ports.tokens,
            clock: ports.clock,
            ids: ports.ids,
            cache,
            refresh_ttl: chrono::Duration::from_std(settings.refresh_ttl)
                .unwrap_or(chrono::Duration::MAX),
            reauth_window: chrono::Duration::from_std(settings.reauth_window)
                .unwrap_or(chrono::Duration::MAX),
            verified_email_required: false,
        }
    }

    /// The same service, refusing logins of accounts whose address is not verified when
    /// `required` (`auth.email_verification = required`).
    #[must_use]
    pub fn requiring_verified_email(mut self, required: bool) -> Self {
        self.verified_email_required = required;
        self
    }

    /// Registers a new account with role `user`.
    ///
    /// # Errors
    /// [`AccountError::EmailTaken`] if the email is already registered.
    pub async fn register(&self, email: Email, password: Password) -> Result<User, AccountError> {
        self.register_with_role(email, password, Role::User).await
    }

    /// Creates an administrator account (the `taskapi admin create` command).
    ///
    /// # Errors
    /// [`AccountError::EmailTaken`] if the email is already registered.
    pub async fn register_admin(
        &self,
        email: Email,
        password: Password,
    ) -> Result<User, AccountError> {
        self.register_with_role(email, password, Role::Admin).await
    }

    async fn register_with_role(
        &self,
        email: Email,
        password: Password,
        role: Role,
    ) -> Result<User, AccountError> {
        let password_hash = self.hasher.hash(password).await?;
        let new_user = NewUser {
            id: UserId::from_uuid(self.ids.new_id()),
            email,
            password_hash,
            role,
            created_at: self.clock.now(),
            // An account an operator makes from the command line needs no proof.
            email_verified: role == Role::Admin,
        };
        self.users.insert(new_user).await.map_err(|e| match e {
            InsertUserError::EmailTaken => AccountError::EmailTaken,
            InsertUserError::Store(e) => AccountError::Store(e),
        })
    }

    /// Checks credentials, starts a session and issues its first token pair.
    ///
    /// An unknown email, a malformed one and a wrong password are the same
    /// [`AccountError::InvalidCredentials`], and an unknown email still costs one password
    /// verification (against a dummy hash), so neither the answer nor its timing tells
    /// whether an account exists.
    ///
    /// # Errors
    /// `InvalidCredentials`; `AccountDisabled` for the right password of a disabled account;
    /// `EmailNotVerified` for the right password of an unverified account while verified
    /// addresses are required.
    pub async fn login(&self, email: &str, password: String) -> Result<TokenPair, AccountError> {
        let user = match Email::parse(email) {
            Ok(email) => self.users.find_by_email(email.as_str()).await?,
            Err(_) => None,
        };
        // A password outside the policy cannot match any stored hash, but it is still
        // verified (truncated to the policy's bounds) so that timing stays uniform.
        let candidate = Password::candidate(password);
        let Some(user) = user else {
            self.hasher
                .verify(candidate, self.hasher.dummy_hash())
                .await?;
            return Err(AccountError::InvalidCredentials);
        };
        let matches = self
            .hasher
            .verify(candidate.clone(), user.password_hash.clone())
            .await?;
        if !matches {
            return Err(AccountError::InvalidCredentials);
        }
        if user.disabled {
            return Err(AccountError::AccountDisabled);
        }
        if self.verified_email_required && !user.email_verified {
            return Err(AccountError::EmailNotVerified(user.id));
        }
        if self.hasher.needs_rehash(&user.password_hash) {
            self.rehash(&user, candidate).await;
        }
        let now = self.clock.now();
        let expires_at = now + self.refresh_ttl;
        // The session records the account's epoch as read before the password was checked:
        // if the password changes meanwhile, the session is born ended.
        let session = Session {
            id: SessionId::from_uuid(self.ids.new_id()),
            user_id: user.id,
            epoch: user.session_epoch,
            created_at: now,
            expires_at,
            revoked_at: None,
            password_login_at: Some(now),
        };
        let refresh_token = self.tokens.new_refresh_token();
        let first = NewRefreshToken {
            hash: self.tokens.hash_refresh_token(refresh_token.expose()),
            issued_at: now,
            expires_at,
        };
        let session_id = session.id;
        self.sessions.create(session, first).await?;
        let access = self.tokens.issue(&user, session_id, now)?;
        Ok(TokenPair {
            access,
            refresh_token,
        })
    }

    /// Stores a new hash of the password just verified, at the hasher's cost (after
    /// `auth.bcrypt_cost` changed), only over the hash it was verified against. Best effort:
    /// the login goes on whatever happens, and a later login tries again.
    async fn rehash(&self, user: &User, password: Password) {
        let Ok(hash) = self.hasher.hash(password).await else {
            return;
        };
        let _ = self
            .users
            .rehash_password(user.id, user.password_hash.clone(), hash)
            .await;
    }

    /// Rotates a refresh token: the presented one stops working and a new pair is issued in
    /// the same session. Presenting a token that was already rotated ends its session (it
    /// was stolen, or the client is replaying it).
    ///
    /// # Errors
    /// `InvalidRefreshToken` for an unknown, expired, rotated or revoked token, or one whose
    /// account is gone, disabled or has ended its sessions since.
    pub async fn refresh(&self, presented: &str) -> Result<TokenPair, AccountError> {
        if presented.is_empty() || presented.len() > Self::MAX_REFRESH_TOKEN_LEN {
            return Err(AccountError::InvalidRefreshToken);
        }
        let now = self.clock.now();
        let refresh_token = self.tokens.new_refresh_token();
        let next = NewRefreshToken {
            hash: self.tokens.hash_refresh_token(refresh_token.expose()),
            issued_at: now,
            expires_at: now + self.refresh_ttl,
        };
        let presented = self.tokens.hash_refresh_token(presented);
        let session = match self.sessions.rotate(presented, next, now).await? {
            RotateOutcome::Rotated(session) => session,
            RotateOutcome::Reused(session) => {
                self.end_session(session, now).await?;
                return Err(AccountError::InvalidRefreshToken);
            }
            RotateOutcome::Invalid => return Err(AccountError::InvalidRefreshToken),
        };
        let user = self.users.find_by_id(session.user_id).await?;
        let Some(user) = user.filter(|u| session.is_live_for(u.id, u, now)) else {
            self.end_session(session.id, now).await?;
            return Err(AccountError::InvalidRefreshToken);
        };
        let access = self.tokens.issue(&user, session.id, now)?;
        Ok(TokenPair {
            access,
            refresh_token,
        })
    }

    async fn end_session(&self, session: SessionId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.sessions.revoke(session, now).await?;
        self.cache.invalidate_session(session);
        Ok(())
    }

    /// Ends the caller's session that `presented` belongs to: its refresh tokens and its
    /// access tokens stop working; other sessions go on.
    ///
    /// # Errors
    /// `InvalidRefreshToken` when the token is unknown, expired, of an ended session or of
    /// someone else's.
    pub async fn logout(&self, caller: &Principal, presented: &str) -> Result<(), AccountError> {
        if presented.is_empty() || presented.len() > Self::MAX_REFRESH_TOKEN_LEN {
            return Err(AccountError::InvalidRefreshToken);
        }
        let hash = self.tokens.hash_refresh_token(presented);
        let ended = self
            .sessions
            .revoke_by_token(hash, caller.user_id, self.clock.now())
            .await?;
        match ended {
            Some(session) => {
                self.cache.invalidate_session(session);
                Ok(())
            }
            None => Err(AccountError::InvalidRefreshToken),
        }
    }

    /// Ends every session of the caller.
    ///
    /// # Errors
    /// `Unauthenticated(Revoked)` if the account vanished meanwhile.
    pub async fn logout_all(&self, caller: &Principal) -> Result<(), AccountError> {
        let found = self
            .users
            .end_all_sessions(caller.user_id, self.clock.now())
            .await?;
        self.cache.invalidate_user(caller.user_id);
        if found {
            Ok(())
        } else {
            Err(AuthError::Revoked.into())
        }
    }

    /// Changes the caller's password after checking the current one, and ends every session
    /// of the account (this one included).
    ///
    /// # Errors
    /// `WrongPassword` when `current` is wrong.
    pub async fn change_password(
        &self,
        caller: &Principal,
        current: String,
        new: Password,
    ) -> Result<(), AccountError> {
        let user = self.me(caller).await?;
        let current = Password::candidate(current);
        let matches = self
            .hasher
            .verify(current, user.password_hash.clone())
            .await?;
        if !matches {
            return Err(AccountError::WrongPassword);
        }
        let hash = self.hasher.hash(new).await?;
        // Only over the hash just checked: of two changes racing with the same current
        // password, the second finds it replaced. The winner (or the account's deletion)
        // has ended every session, this request's included: it is unauthenticated now.
        let replaced = self
            .users
            .set_password(user.id, user.password_hash, hash, self.clock.now())
            .await?;
        self.cache.invalidate_user(user.id);
        if replaced {
            Ok(())
        } else {
            Err(AuthError::Revoked.into())
        }
    }

    /// Deletes the caller's account with its tasks and sessions. `access_token` is the
    /// request's (already authenticated as `caller`): its session's password login must be
    /// at most `reauth_window` old.
    ///
    /// # Errors
    /// `ReauthenticationRequired` when the login is older; `LastAdmin` when the caller is
    /// the last enabled administrator.
    pub async fn delete_me(
        &self,
        caller: &Principal,
        access_token: &str,
    ) -> Result<(), AccountError> {
        self.require_recent_login(caller, access_token).await?;
        match self.users.delete(caller.user_id).await? {
            AccountDeletion::Deleted => {
                self.cache.invalidate_user(caller.user_id);
                Ok(())
            }
            AccountDeletion::NotFound => Err(AuthError::Revoked.into()),
            AccountDeletion::LastAdmin => Err(AccountError::LastAdmin),
        }
    }

    /// Checks that the session of `access_token` (a token of `caller`) started with a
    /// password login at most `reauth_window` ago. Refreshing a session does not renew its
    /// login, and a session stored before logins were recorded counts as old. Read from
    /// storage, never from the session cache: the rule is about this very session.
    ///
    /// # Errors
    /// `ReauthenticationRequired` when the login is older; `Unauthenticated` when the token
    /// or its session is no longer good.
    pub(crate) async fn require_recent_login(
        &self,
        caller: &Principal,
        access_token: &str,
    ) -> Result<(), AccountError> {
        let claims = self.tokens.verify(access_token)?;
        if claims.user_id != caller.user_id {
            return Err(AuthError::Invalid.into());
        }
        let now = self.clock.now();
        let found = self.sessions.find_with_user(claims.session_id).await?;
        let Some((session, _)) = found.filter(|(s, u)| s.is_live_for(caller.user_id, u, now))
        else {
            return Err(AuthError::Revoked.into());
        };
        // A login "in the future" (clocks of two instances apart) counts as recent.
        match session.password_login_at {
            Some(at) if now - at <= self.reauth_window => Ok(()),
            _ => Err(AccountError::ReauthenticationRequired),
        }
    }

    /// Turns a presented access token into the caller: the token must verify, and its
    /// session must still be live (not ended, its account enabled and unchanged since).
    /// Sessions found live are remembered for `auth.revocation_cache_ttl`.
    ///
    /// # Errors
    /// [`AccountError::Unauthenticated`] with the reason; `Store` if the lookup failed.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AccountError> {
        let claims = self.tokens.verify(token)?;
        let now = self.clock.now();
        if let Some(principal) = self.cache.get(claims.session_id, claims.user_id, now) {
            return Ok(principal);
        }
        let generation = self.cache.generation();
        let found = self.sessions.find_with_user(claims.session_id).await?;
        match found {
            Some((session, user)) if session.is_live_for(claims.user_id, &user, now) => {
                let principal = Principal {
                    user_id: user.id,
                    role: user.role,
                };
                self.cache.put(session.id, principal, now, generation);
                Ok(principal)
            }
            _ => Err(AuthError::Revoked.into()),
        }
    }

    /// The caller's own account.
    ///
    /// # Errors
    /// `Unauthenticated(Revoked)` if the account vanished since authentication.
    pub async fn me(&self, principal: &Principal) -> Result<User, AccountError> {
        self.users
            .find_by_id(principal.user_id)
            .await?
            .ok_or(AccountError::Unauthenticated(AuthError::Revoked))
    }

    /// Deletes expired and ended sessions and expired refresh tokens; run it now and then,
    /// off the request path.
    ///
    /// # Errors
    /// `Store` when storage fails.
    pub async fn purge_expired_sessions(&self) -> Result<u64, AccountError> {
        Ok(self.sessions.purge_expired(self.clock.now()).await?)
    }
}
