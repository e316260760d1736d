DROP TRIGGER IF EXISTS messages_counters ON messages;
DROP FUNCTION IF EXISTS messages_maintain_counters();
DROP TABLE IF EXISTS messages;
DROP TABLE IF EXISTS conversations;
DROP TABLE IF EXISTS chat_sessions;
DROP TABLE IF EXISTS users;
