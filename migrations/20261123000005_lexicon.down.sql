DROP FUNCTION IF EXISTS rebuild_book_words();
DROP TABLE IF EXISTS book_words;
-- pg_trgm stays: other objects of the database may have come to depend on it.
