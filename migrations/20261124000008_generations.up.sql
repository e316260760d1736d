-- Fencing for answers: every (re)generation of an answer has a number. A generator writes its
-- partial text, its final text and its query-log row only while the row still carries its
-- number, so after Stop → Regenerate (on any instance) only the newest generation writes.
ALTER TABLE messages ADD COLUMN generation INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0);
