DROP TABLE IF EXISTS book_acronyms;
DROP TABLE IF EXISTS message_feedback;
DROP TABLE IF EXISTS rag_queries;
DROP INDEX IF EXISTS messages_streaming_idx;
ALTER TABLE messages DROP COLUMN IF EXISTS updated_at;
