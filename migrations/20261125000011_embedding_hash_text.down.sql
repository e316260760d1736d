ALTER TABLE embeddings ALTER COLUMN text_hash TYPE char(64);
