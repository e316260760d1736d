ALTER TABLE messages DROP COLUMN generation;
