-- A reader's copy of a shared conversation remembers the link it came from, so continuing the
-- same link again opens that copy instead of making another (each copy had cost up to a
-- thousand message rows and their full-text index entries, for one click).
ALTER TABLE conversations ADD COLUMN copied_from TEXT;
CREATE INDEX conversations_copied_from ON conversations (copied_from) WHERE copied_from IS NOT NULL;
