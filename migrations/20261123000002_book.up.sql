-- The book BookChat answers from: one row per source page, split into heading-sized chunks that
-- carry their own full-text vector. content_hash makes re-ingesting unchanged content a no-op.

CREATE TABLE documents (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    source_path  TEXT NOT NULL UNIQUE CHECK (source_path <> ''),
    -- The page's route on the host site (e.g. /docs/part-2/chapter-6), without the site base URL,
    -- so one ingested book serves a local preview and the public site.
    route        TEXT NOT NULL,
    title        VARCHAR(500) NOT NULL CHECK (btrim(title) <> ''),
    content_hash CHAR(64) NOT NULL UNIQUE CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    content      TEXT NOT NULL,
    uploaded_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The searchable text of a chunk: section heading (weight A), page title (B), body (D).
CREATE FUNCTION chunk_tsv(doc_title TEXT, heading TEXT, body TEXT) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english', doc_title), 'B') ||
           setweight(to_tsvector('english', heading), 'A') ||
           setweight(to_tsvector('english', body), 'D')
$$;

-- How much one occurrence counts for BM25: heading words double, the page title (repeated in
-- every chunk of a page) half, body words once. Used for term frequency and document length.
CREATE FUNCTION bm25_weight(w TEXT) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE w WHEN 'A' THEN 2.0 WHEN 'B' THEN 0.5 ELSE 1.0 END
$$;

CREATE FUNCTION tsv_weighted_length(v tsvector) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(bm25_weight(w)), 0) FROM unnest(v) AS u, unnest(u.weights) AS w
$$;

CREATE TABLE chunks (
    id          BIGSERIAL PRIMARY KEY,
    document_id UUID NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal     INTEGER NOT NULL CHECK (ordinal >= 0),
    doc_title   TEXT NOT NULL,
    -- The section heading ('' for a page's preamble).
    heading     TEXT NOT NULL,
    -- Docusaurus/GitHub slug of the section heading ('' for the page top).
    anchor      TEXT NOT NULL,
    body        TEXT NOT NULL,
    tsv         TSVECTOR GENERATED ALWAYS AS (chunk_tsv(doc_title, heading, body)) STORED,
    -- BM25 document length (weighted token count).
    doc_len     FLOAT8 GENERATED ALWAYS AS (tsv_weighted_length(chunk_tsv(doc_title, heading, body))) STORED,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX chunks_tsv_idx ON chunks USING GIN (tsv);

-- OR-combine tsqueries: questions are natural language, and AND semantics (websearch_to_tsquery)
-- almost never match a whole question; ranking then decides which passages answer it.
CREATE AGGREGATE tsquery_or_agg(tsquery) (SFUNC = tsquery_or, STYPE = tsquery);
