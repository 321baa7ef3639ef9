ALTER TABLE sessions DROP COLUMN password_login_at;
