DROP TRIGGER IF EXISTS embeddings_changed ON embeddings;
DROP TRIGGER IF EXISTS chunks_changed ON chunks;
DROP TRIGGER IF EXISTS documents_changed ON documents;
DROP FUNCTION IF EXISTS bump_book_revision();
DROP TABLE IF EXISTS book_state;
DROP TABLE IF EXISTS embeddings;

-- The SQL ranking's objects, as migrations 2, 3 and 5 made them.
CREATE TABLE book_acronyms (
    acronym    TEXT NOT NULL,
    expansion  TEXT NOT NULL,
    PRIMARY KEY (acronym, expansion)
);
CREATE TABLE book_words (
    word TEXT PRIMARY KEY,
    ndoc INTEGER NOT NULL CHECK (ndoc > 0)
);
CREATE INDEX book_words_shape ON book_words (left(word, 1), length(word));
CREATE FUNCTION chunk_tsv(doc_title TEXT, heading TEXT, body TEXT) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english', doc_title), 'B') ||
           setweight(to_tsvector('english', heading), 'A') ||
           setweight(to_tsvector('english', body), 'D')
$$;
CREATE FUNCTION bm25_weight(w TEXT) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE w WHEN 'A' THEN 2.0 WHEN 'B' THEN 0.5 ELSE 1.0 END
$$;
CREATE FUNCTION tsv_weighted_length(v tsvector) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(bm25_weight(w)), 0) FROM unnest(v) AS u, unnest(u.weights) AS w
$$;
CREATE AGGREGATE tsquery_or_agg(tsquery) (SFUNC = tsquery_or, STYPE = tsquery);

ALTER TABLE chunks DROP COLUMN vector_hashes, DROP COLUMN blocks, DROP COLUMN heading_path, DROP COLUMN level;
ALTER TABLE chunks
    ADD COLUMN tsv TSVECTOR GENERATED ALWAYS AS (chunk_tsv(doc_title, heading, body)) STORED,
    ADD COLUMN doc_len FLOAT8 GENERATED ALWAYS AS (tsv_weighted_length(chunk_tsv(doc_title, heading, body))) STORED;
CREATE INDEX chunks_tsv_idx ON chunks USING GIN (tsv);

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
SELECT rebuild_book_words();

ALTER TABLE documents DROP COLUMN parser_version;
DROP INDEX IF EXISTS documents_content_hash_idx;
-- Copies of one page under two paths cannot both stay under the old uniqueness rule.
DELETE FROM documents d USING documents e WHERE d.content_hash = e.content_hash AND d.source_path > e.source_path;
ALTER TABLE documents ADD CONSTRAINT documents_content_hash_key UNIQUE (content_hash);
