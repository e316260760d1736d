-- The book's vocabulary: its distinct words as written (lower-cased, unstemmed — typos happen in
-- words, not in stems), for correcting misspelled question words ("sensr" → "sensor"). Trigram
-- similarity orders the candidates (words with the same first letter and a similar length,
-- found through an index on both); the edit-distance check is done in Rust. pg_trgm ships with
-- Postgres (contrib) and is available on Neon.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE book_words (
    word TEXT PRIMARY KEY,
    -- number of chunks the word occurs in (ties between candidates go to the commoner word)
    ndoc INTEGER NOT NULL CHECK (ndoc > 0)
);
CREATE INDEX book_words_shape ON book_words (left(word, 1), length(word));

-- The words of every chunk (title, heading, body); ingest runs the same statement.
CREATE FUNCTION rebuild_book_words() RETURNS bigint LANGUAGE sql AS $$
    DELETE FROM book_words;
    WITH ins AS (
        INSERT INTO book_words (word, ndoc)
        SELECT word, ndoc FROM ts_stat(
            $q$SELECT to_tsvector('simple', doc_title || ' ' || heading || ' ' || body) FROM chunks$q$)
        RETURNING 1
    )
    SELECT count(*) FROM ins;
$$;

-- Books ingested before this migration get their vocabulary now.
SELECT rebuild_book_words();
