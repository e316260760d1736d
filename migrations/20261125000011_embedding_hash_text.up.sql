-- The embedding cache is looked up by hashes that are `text` (a section's `vector_hashes`, the
-- ingest's list), but its key column was `char(64)`. Comparing the two, Postgres casts the column
-- to text and can no longer use the primary key: "which of these hashes are missing" became a
-- nested loop over the whole cache for every hash — 157 ms for the development book's 903
-- sections, growing with the square of the book. Same values, same check, one type.
ALTER TABLE embeddings ALTER COLUMN text_hash TYPE text;
