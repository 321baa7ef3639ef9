-- When the session's password login happened: account deletion (and later other sensitive
-- changes) needs one at most `auth.reauth_window` old, and refreshing does not renew it.
-- Sessions started before this migration have none, so they count as old: their users log
-- in again before such a change. Mirrors migrations/sqlite/ of the same name.
ALTER TABLE sessions ADD COLUMN password_login_at timestamptz NULL;
