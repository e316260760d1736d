-- Answers that stream, can be stopped and resumed, and are logged for the book's authors.

-- Heartbeat of an answer being generated: a 'streaming' row not updated for a while belongs to
-- a generator that died and is marked failed instead of spinning forever.
ALTER TABLE messages ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();
CREATE INDEX messages_streaming_idx ON messages (updated_at) WHERE status = 'streaming';

-- The query log (the seeds' rag_queries): one row per answer produced.
CREATE TABLE rag_queries (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Kept for per-reader statistics; NULL once the session is gone or the row is anonymised.
    session_id       UUID REFERENCES chat_sessions(id) ON DELETE SET NULL,
    -- A reader deleting a conversation deletes what it logged too.
    conversation_id  UUID REFERENCES conversations(id) ON DELETE CASCADE,
    message_id       BIGINT REFERENCES messages(id) ON DELETE SET NULL,
    question         TEXT NOT NULL CHECK (btrim(question) <> ''),
    -- Retrieved passages with their scores: [{chunk_id, title, section, url, score}].
    retrieved        JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(retrieved) = 'array'),
    -- The passages the answer cites (subset of retrieved), same shape.
    cited            JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(cited) = 'array'),
    answer           TEXT NOT NULL,
    provider         TEXT NOT NULL CHECK (provider <> ''),
    model            TEXT,
    status           TEXT NOT NULL CHECK (status IN ('complete', 'stopped', 'failed')),
    refused          BOOLEAN NOT NULL DEFAULT false,
    response_time_ms INTEGER NOT NULL CHECK (response_time_ms > 0),
    first_token_ms   INTEGER CHECK (first_token_ms >= 0 AND first_token_ms <= response_time_ms),
    -- Share of the question's content terms found in the best retrieved passage (see README).
    relevance_score  DOUBLE PRECISION NOT NULL CHECK (relevance_score >= 0 AND relevance_score <= 1),
    anonymized_at    TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX rag_queries_created_idx ON rag_queries (created_at);
CREATE INDEX rag_queries_session_idx ON rag_queries (session_id) WHERE session_id IS NOT NULL;
CREATE UNIQUE INDEX rag_queries_message_idx ON rag_queries (message_id) WHERE message_id IS NOT NULL;

-- Thumbs up/down on an answer, changeable, with an optional comment.
CREATE TABLE message_feedback (
    message_id BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    rating     SMALLINT NOT NULL CHECK (rating IN (-1, 1)),
    comment    TEXT CHECK (comment IS NULL OR char_length(comment) <= 1000),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Acronyms the book defines ("Zero-Moment Point (ZMP)"), found at ingest: a question using one
-- form also searches for the other.
CREATE TABLE book_acronyms (
    acronym    TEXT NOT NULL,
    expansion  TEXT NOT NULL,
    PRIMARY KEY (acronym, expansion)
);
