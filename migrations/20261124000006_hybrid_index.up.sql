-- Ranking moves to an in-memory index (BM25 + sentence embeddings) built from these tables, so
-- Postgres keeps what the index is built from rather than computing ranks:
--  * a section keeps its content as Markdown blocks (lists, tables, code, admonitions), its
--    heading path and level, and the hashes of the texts it was embedded as;
--  * embeddings are cached by (model, text hash): re-ingesting an unchanged book, or a copy of
--    a page, embeds nothing again;
--  * book_state.revision changes with every change to the book, which is how every instance
--    knows to rebuild its index;
--  * the full-text columns, the vocabulary and acronym tables the old SQL ranking used go: the
--    index derives them from the sections.

ALTER TABLE documents DROP CONSTRAINT documents_content_hash_key;
CREATE INDEX documents_content_hash_idx ON documents (content_hash);
-- Pages parsed by an older parser are parsed again even when their file is unchanged.
ALTER TABLE documents ADD COLUMN parser_version INTEGER NOT NULL DEFAULT 0 CHECK (parser_version >= 0);

ALTER TABLE chunks DROP COLUMN doc_len;
ALTER TABLE chunks DROP COLUMN tsv;
ALTER TABLE chunks
    ADD COLUMN level SMALLINT NOT NULL DEFAULT 2 CHECK (level BETWEEN 1 AND 3),
    ADD COLUMN heading_path TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN blocks JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(blocks) = 'array'),
    ADD COLUMN vector_hashes TEXT[] NOT NULL DEFAULT '{}';

DROP FUNCTION tsv_weighted_length(tsvector);
DROP FUNCTION bm25_weight(TEXT);
DROP FUNCTION chunk_tsv(TEXT, TEXT, TEXT);
DROP AGGREGATE tsquery_or_agg(tsquery);
DROP FUNCTION rebuild_book_words();
DROP TABLE book_words;
DROP TABLE book_acronyms;

CREATE TABLE embeddings (
    -- The model and its exact weights (e.g. all-MiniLM-L6-v2@53aa51172d142c89).
    model      TEXT NOT NULL CHECK (model <> ''),
    text_hash  CHAR(64) NOT NULL CHECK (text_hash ~ '^[0-9a-f]{64}$'),
    -- Little-endian f32s.
    vector     BYTEA NOT NULL CHECK (length(vector) > 0 AND length(vector) % 4 = 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (model, text_hash)
);

CREATE TABLE book_state (
    id       BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    revision BIGINT NOT NULL CHECK (revision > 0)
);
INSERT INTO book_state (id, revision) VALUES (true, 1);

CREATE FUNCTION bump_book_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE book_state SET revision = revision + 1;
    RETURN NULL;
END $$;

-- Statement-level: one bump per statement, and a whole page's transaction makes the change
-- visible at once.
CREATE TRIGGER documents_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON documents
    FOR EACH STATEMENT EXECUTE FUNCTION bump_book_revision();
CREATE TRIGGER chunks_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON chunks
    FOR EACH STATEMENT EXECUTE FUNCTION bump_book_revision();
-- New vectors for an unchanged page (a model added later) change what the index holds too.
CREATE TRIGGER embeddings_changed AFTER INSERT OR DELETE OR TRUNCATE ON embeddings
    FOR EACH STATEMENT EXECUTE FUNCTION bump_book_revision();
