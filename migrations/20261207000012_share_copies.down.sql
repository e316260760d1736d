DROP INDEX IF EXISTS conversations_copied_from;
ALTER TABLE conversations DROP COLUMN IF EXISTS copied_from;
