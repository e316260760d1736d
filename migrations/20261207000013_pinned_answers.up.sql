-- Pinned answers: an author's own answer to a group of readers' questions (written on /admin
-- from the coverage-gaps report). A later question close in meaning to one of the pin's
-- questions gets it first, marked as the author's (see src/server/answer/pins.rs).
CREATE TABLE pinned_answers (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Markdown, rendered and sanitised like every answer.
    answer     TEXT NOT NULL CHECK (btrim(answer) <> '' AND char_length(answer) <= 8000),
    -- The passages it cites: [{title, section, url}].
    citations  JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(citations) = 'array'),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The questions a pin answers (the group's wordings), with their embeddings under `model`
-- (recomputed when the model changes).
CREATE TABLE pinned_questions (
    pin_id   UUID NOT NULL REFERENCES pinned_answers(id) ON DELETE CASCADE,
    question TEXT NOT NULL CHECK (btrim(question) <> '' AND char_length(question) <= 2000),
    model    TEXT,
    vector   BYTEA,
    PRIMARY KEY (pin_id, question)
);
