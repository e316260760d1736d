DROP INDEX IF EXISTS users_email_idx;
-- Keep one holder per address (the oldest) so the old uniqueness can come back.
UPDATE users u SET email = NULL
 WHERE email IS NOT NULL AND EXISTS (SELECT 1 FROM users o WHERE o.email = u.email AND (o.created_at, o.id) < (u.created_at, u.id));
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
