-- Read-only links to a conversation. The id is the capability: 128 random bits, URL-safe
-- base64 (22 characters), unrelated to the conversation's id. One live link per conversation;
-- revoking deletes the row, so the id stops working for good (sharing again makes a new one).
-- The link shows the conversation as it was when shared (messages up to `upto_message_id`);
-- sharing again moves that point forward and keeps the link.
CREATE TABLE conversation_shares (
    id              TEXT PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{22}$'),
    conversation_id UUID NOT NULL UNIQUE REFERENCES conversations(id) ON DELETE CASCADE,
    upto_message_id BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
