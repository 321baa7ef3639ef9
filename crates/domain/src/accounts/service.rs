//! Accounts: users, credentials, access tokens, and the `AccountService` use cases.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    AccountDeletion, AccountError, ApiToken, ApiTokenDraft, ApiTokenId, ApiTokenInsert,
    ApiTokenRepository, ApiTokenSecret, AuthError, Clock, CreatedApiToken, Credential, Email,
    IdGenerator, InsertUserError, NewRefreshToken, NewUser, Password, PasswordHasher, Principal,
    Role, RotateOutcome, Rotation, Session, SessionCache, SessionClient, SessionId,
    SessionRepository, SessionView, StoreError, TokenPair, TokenService, User, UserId,
    UserRepository,
};

/// How long sessions last, and how many credentials an account may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Lifetime of a refresh token (each rotation starts a new one).
    pub refresh_ttl: Duration,
    /// How recent a session's password login must be for the changes that need one
    /// (deleting the account, creating an API token); refreshing does not renew it.
    pub reauth_window: Duration,
    /// A session ends this long after its login, whatever its refreshes.
    pub session_max_age: Duration,
    /// Most running sessions per account (`0`: no limit); a login beyond it ends the least
    /// recently used.
    pub max_sessions: u64,
    /// How long after its rotation a refresh token presented again gets the same successor
    /// back instead of ending the session (zero: never).
    pub refresh_grace: Duration,
    /// Most personal API tokens per account (`0`: no limit).
    pub max_api_tokens: u64,
}

impl SessionSettings {
    /// The defaults of `config/default.toml`.
    pub const DEFAULT: SessionSettings = SessionSettings {
        refresh_ttl: Duration::from_secs(30 * 86_400),
        reauth_window: Duration::from_secs(600),
        session_max_age: Duration::from_secs(90 * 86_400),
        max_sessions: 100,
        refresh_grace: Duration::ZERO,
        max_api_tokens: 50,
    };
}

/// An API token's `last_used_at` is written at most this often.
const TOKEN_USE_RESOLUTION: chrono::Duration = chrono::Duration::minutes(1);

/// Most sessions `GET /me/sessions` shows, and most API tokens `GET /me/tokens` shows, when
/// their cap is off.
const MAX_LISTED: u32 = 1_000;

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The account use cases: register, log in, refresh, log out, authenticate a request, read,
/// re-password and delete one's own account.
#[derive(Clone)]
pub struct AccountService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    api_tokens: Arc<dyn ApiTokenRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenService>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    cache: Arc<SessionCache>,
    refresh_ttl: chrono::Duration,
    reauth_window: chrono::Duration,
    session_max_age: chrono::Duration,
    max_sessions: Option<u64>,
    refresh_grace: chrono::Duration,
    max_api_tokens: Option<u64>,
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
    /// Personal API tokens.
    pub api_tokens: Arc<dyn ApiTokenRepository>,
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
            api_tokens: ports.api_tokens,
            hasher: ports.hasher,
            tokens: ports.tokens,
            clock: ports.clock,
            ids: ports.ids,
            cache,
            refresh_ttl: to_chrono(settings.refresh_ttl),
            reauth_window: to_chrono(settings.reauth_window),
            session_max_age: to_chrono(settings.session_max_age),
            max_sessions: (settings.max_sessions > 0).then_some(settings.max_sessions),
            refresh_grace: to_chrono(settings.refresh_grace),
            max_api_tokens: (settings.max_api_tokens > 0).then_some(settings.max_api_tokens),
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
        self.login_from(email, password, SessionClient::default())
            .await
    }

    /// [`AccountService::login`], recording the client the session starts from. Beyond
    /// `auth.max_sessions`, the account's least recently used sessions end in the same
    /// transaction as the new one starts.
    ///
    /// # Errors
    /// Those of [`AccountService::login`].
    pub async fn login_from(
        &self,
        email: &str,
        password: String,
        client: SessionClient,
    ) -> Result<TokenPair, AccountError> {
        // With every hashing thread busy and the queue full, the check below would be
        // refused anyway: refuse before the account lookup, so that a flood of logins
        // beyond the hashing capacity costs no database work.
        if self.hasher.is_at_capacity() {
            return Err(AccountError::Hashing(crate::HashError::Busy));
        }
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
        let expires_at = now + self.refresh_ttl.min(self.session_max_age);
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
            last_used_at: Some(now),
            user_agent: client.user_agent,
            address: client.address,
        };
        let refresh_token = self.tokens.new_refresh_token();
        let first = NewRefreshToken {
            hash: self.tokens.hash_refresh_token(refresh_token.expose()),
            issued_at: now,
            expires_at,
        };
        let session_id = session.id;
        let ended = self
            .sessions
            .create(session, first, self.max_sessions)
            .await?;
        for old in ended {
            self.cache.invalidate_session(old);
        }
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
        let grace = self.refresh_grace > chrono::Duration::zero();
        let rules = Rotation {
            max_age: self.session_max_age,
            grace: self.refresh_grace,
            sealed_successor: grace.then(|| self.tokens.seal_successor(presented, &refresh_token)),
        };
        let presented_hash = self.tokens.hash_refresh_token(presented);
        let (session, refresh_token) = match self
            .sessions
            .rotate(presented_hash, next, now, rules)
            .await?
        {
            RotateOutcome::Rotated(session) => (session, refresh_token),
            RotateOutcome::Replayed { session, sealed } => {
                // Within the grace period: the same successor again (a lost answer, a
                // second tab). Only the presented token unseals it.
                match self.tokens.unseal_successor(presented, &sealed) {
                    Some(successor) => (session, successor),
                    None => {
                        self.end_session(session.id, now).await?;
                        return Err(AccountError::InvalidRefreshToken);
                    }
                }
            }
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
        caller.require_session()?;
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
        caller.require_session()?;
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

    /// Deletes the caller's account with its tasks, sessions and API tokens. The caller's
    /// session's password login must be at most `reauth_window` old.
    ///
    /// # Errors
    /// `ReauthenticationRequired` when the login is older; `LastAdmin` when the caller is
    /// the last enabled administrator; `Credential` for an API token.
    pub async fn delete_me(&self, caller: &Principal) -> Result<(), AccountError> {
        self.require_recent_login(caller).await?;
        match self.users.delete(caller.user_id).await? {
            AccountDeletion::Deleted => {
                self.cache.invalidate_user(caller.user_id);
                Ok(())
            }
            AccountDeletion::NotFound => Err(AuthError::Revoked.into()),
            AccountDeletion::LastAdmin => Err(AccountError::LastAdmin),
        }
    }

    /// Checks that the caller came with a session that started with a password login at
    /// most `reauth_window` ago. Refreshing a session does not renew its login, and a
    /// session stored before logins were recorded counts as old. Read from storage, never
    /// from the session cache: the rule is about this very session.
    ///
    /// # Errors
    /// `Credential` for an API token; `ReauthenticationRequired` when the login is older;
    /// `Unauthenticated` when the session is no longer good.
    pub async fn require_recent_login(&self, caller: &Principal) -> Result<(), AccountError> {
        let session_id = caller.require_session()?;
        let now = self.clock.now();
        let found = self.sessions.find_with_user(session_id).await?;
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

    /// Turns a presented bearer token into the caller. An access token must verify, and its
    /// session must still be live (not ended, not past `auth.session_max_age`, its account
    /// enabled and unchanged since); sessions found live are remembered for
    /// `auth.revocation_cache_ttl`. A personal API token (`tka_…`) is looked up in storage on
    /// every request, so that deleting it takes effect at once everywhere.
    ///
    /// # Errors
    /// [`AccountError::Unauthenticated`] with the reason; `Store` if the lookup failed.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AccountError> {
        if ApiTokenSecret::is_api_token(token) {
            return self.authenticate_api_token(token).await;
        }
        let claims = self.tokens.verify(token)?;
        let now = self.clock.now();
        if let Some(principal) = self.cache.get(claims.session_id, claims.user_id, now) {
            return Ok(principal);
        }
        let generation = self.cache.generation();
        let found = self.sessions.find_with_user(claims.session_id).await?;
        match found {
            Some((session, user))
                if session.is_live_for(claims.user_id, &user, now)
                    && now - session.created_at < self.session_max_age =>
            {
                let principal = Principal {
                    user_id: user.id,
                    role: user.role,
                    credential: Credential::Session(session.id),
                };
                self.cache.put(session.id, principal, now, generation);
                Ok(principal)
            }
            _ => Err(AuthError::Revoked.into()),
        }
    }

    /// Authenticates a personal API token: found by its non-secret prefix, its hash
    /// compared in constant time, its account enabled, not expired. Its `last_used_at` is
    /// written at most once a minute.
    async fn authenticate_api_token(&self, token: &str) -> Result<Principal, AccountError> {
        let Some(prefix) = ApiTokenSecret::lookup_prefix(token) else {
            return Err(AuthError::Invalid.into());
        };
        let Some((stored, hash, user)) = self.api_tokens.find_by_prefix(prefix).await? else {
            return Err(AuthError::Invalid.into());
        };
        if !self.tokens.api_token_matches(token, &hash) {
            return Err(AuthError::Invalid.into());
        }
        if user.disabled || user.id != stored.user_id {
            return Err(AuthError::Revoked.into());
        }
        let now = self.clock.now();
        if stored.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::Expired.into());
        }
        let stale = now - TOKEN_USE_RESOLUTION;
        if stored.last_used_at.is_none_or(|at| at <= stale) {
            // Best effort: a failed write must not fail the request it only records; the
            // next use tries again.
            let _ = self.api_tokens.touch(stored.id, now, stale).await;
        }
        Ok(Principal {
            user_id: user.id,
            role: user.role,
            credential: Credential::ApiToken {
                id: stored.id,
                scopes: stored.scopes,
            },
        })
    }

    /// Creates a personal API token for the caller. Needs a session with a recent password
    /// login (as deleting the account does); at most `auth.max_api_tokens` per account. The
    /// secret is in the answer only: it is stored hashed.
    ///
    /// # Errors
    /// `Credential` for an API token; `ReauthenticationRequired`; `ExpiryInPast`;
    /// `TooManyApiTokens`; `Store`.
    pub async fn create_api_token(
        &self,
        caller: &Principal,
        draft: ApiTokenDraft,
    ) -> Result<CreatedApiToken, AccountError> {
        self.require_recent_login(caller).await?;
        let now = self.clock.now();
        if draft.expires_at.is_some_and(|at| at <= now) {
            return Err(AccountError::ExpiryInPast);
        }
        let secret = self.tokens.new_api_token();
        let hash = self.tokens.hash_api_token(secret.expose());
        let prefix = ApiTokenSecret::lookup_prefix(secret.expose())
            .ok_or_else(|| StoreError::internal("a new API token is malformed"))?
            .to_owned();
        let token = ApiToken {
            id: ApiTokenId::from_uuid(self.ids.new_id()),
            user_id: caller.user_id,
            name: draft.name,
            scopes: draft.scopes,
            prefix,
            created_at: now,
            expires_at: draft.expires_at,
            last_used_at: None,
        };
        match self
            .api_tokens
            .insert(token.clone(), hash, self.max_api_tokens, now)
            .await?
        {
            ApiTokenInsert::Inserted => Ok(CreatedApiToken { token, secret }),
            ApiTokenInsert::CapReached => Err(AccountError::TooManyApiTokens {
                limit: self.max_api_tokens.unwrap_or(u64::MAX),
            }),
        }
    }

    /// The caller's API tokens, newest first (never their secrets).
    ///
    /// # Errors
    /// `Credential` for an API token; `Store`.
    pub async fn list_api_tokens(&self, caller: &Principal) -> Result<Vec<ApiToken>, AccountError> {
        caller.require_session()?;
        let limit = self.listing_limit(self.max_api_tokens);
        Ok(self.api_tokens.list_for_user(caller.user_id, limit).await?)
    }

    /// Deletes one of the caller's API tokens: it stops working at once, on every instance.
    ///
    /// # Errors
    /// `Credential` for an API token; `ApiTokenNotFound`; `Store`.
    pub async fn revoke_api_token(
        &self,
        caller: &Principal,
        id: ApiTokenId,
    ) -> Result<(), AccountError> {
        caller.require_session()?;
        if self.api_tokens.delete(caller.user_id, id).await? {
            Ok(())
        } else {
            Err(AccountError::ApiTokenNotFound)
        }
    }

    /// The caller's running sessions, the most recently used first, the caller's own marked.
    ///
    /// # Errors
    /// `Credential` for an API token; `Store`.
    pub async fn list_sessions(
        &self,
        caller: &Principal,
    ) -> Result<Vec<SessionView>, AccountError> {
        let current = caller.require_session()?;
        let now = self.clock.now();
        let limit = self.listing_limit(self.max_sessions);
        let sessions = self
            .sessions
            .list_running(caller.user_id, now, limit)
            .await?;
        Ok(sessions
            .into_iter()
            .filter(|s| now - s.created_at < self.session_max_age)
            .map(|session| SessionView {
                current: session.id == current,
                session,
            })
            .collect())
    }

    /// Ends one of the caller's running sessions (the caller's own included): its refresh
    /// and access tokens stop working.
    ///
    /// # Errors
    /// `Credential` for an API token; `SessionNotFound`; `Store`.
    pub async fn end_session_of(
        &self,
        caller: &Principal,
        id: SessionId,
    ) -> Result<(), AccountError> {
        caller.require_session()?;
        let ended = self
            .sessions
            .revoke_for_owner(id, caller.user_id, self.clock.now())
            .await?;
        self.cache.invalidate_session(id);
        if ended {
            Ok(())
        } else {
            Err(AccountError::SessionNotFound)
        }
    }

    /// How many items a listing bounded by `cap` fetches.
    fn listing_limit(&self, cap: Option<u64>) -> u32 {
        cap.and_then(|c| u32::try_from(c).ok())
            .map_or(MAX_LISTED, |c| c.min(MAX_LISTED))
    }

    /// The caller's own account.
    ///
    /// # Errors
    /// `Unauthenticated(Revoked)` if the account vanished since authentication.
    pub async fn me(&self, principal: &Principal) -> Result<User, AccountError> {
        principal.require_session()?;
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
