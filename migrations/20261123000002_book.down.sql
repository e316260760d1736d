DROP AGGREGATE IF EXISTS tsquery_or_agg(tsquery);
DROP TABLE IF EXISTS chunks;
DROP TABLE IF EXISTS documents;
