ALTER TABLE messages ALTER COLUMN conversation_id RESET (n_distinct);
ANALYZE messages;
