-- A user's e-mail is an unverified hint from the host page (only the user id is signed): it
-- must not be a unique key, or a reader could claim another reader's address first.
ALTER TABLE users DROP CONSTRAINT users_email_key;
CREATE INDEX users_email_idx ON users (email) WHERE email IS NOT NULL;
