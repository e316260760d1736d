-- Answers are read far more often than written: keep their sanitised HTML next to the Markdown
-- (rendered once, when the answer is finished) instead of rendering on every history read.
ALTER TABLE messages ADD COLUMN html TEXT;
