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

-- What a search costs on rows read without the index. PostgreSQL's planner prices LIKE as one
-- cheap operator per row, whatever the length of the text (or of the pattern), and so would
-- read all of an owner's tasks in order and match each, rather than ask the index and sort
-- what it finds, even where those texts are long: a search's cost would follow the stored
-- texts again. The listing adds this function's check to the LIKE (the same test, so results
-- do not change): its declared COST tells the planner that matching a row is expensive, and
-- plpgsql is never inlined, so the cost stays. It is set high enough (250 × a row's read)
-- that matching even the handful of rows the planner guesses before a table has statistics
-- (a bomb just written, not yet analysed) is priced above one index lookup: the index then
-- serves every search of three or more characters, its cost following what it finds.
CREATE FUNCTION task_search_matches(search_key text, pattern text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 100000
    AS $$ BEGIN RETURN search_key LIKE pattern; END $$;
