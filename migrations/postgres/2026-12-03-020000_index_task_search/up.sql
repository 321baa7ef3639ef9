-- An index for `q`, the substring search of titles and descriptions, so that a search costs
-- what it finds rather than the length of every stored text. Mirrors migrations/sqlite/ of
-- the same name (there an FTS5 trigram table over the same column).
--
-- A pg_trgm GIN index on tasks.search_key (the Unicode lower case of title and description,
-- computed by the application) serves `search_key LIKE '%…%'` for patterns of three or more
-- characters; PostgreSQL rechecks every candidate row, so results are what they were without
-- it. Building it indexes the tasks already there. pg_trgm ships with PostgreSQL and is a
-- trusted extension: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX tasks_search_key_trgm ON tasks USING gin (search_key gin_trgm_ops);
