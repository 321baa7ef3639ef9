#!/bin/sh
# Runs once, as the PostgreSQL superuser, when the data volume is first initialised (the
# official image runs /docker-entrypoint-initdb.d/*). Creates `taskapi`, the API's role: it
# may log in and owns the database POSTGRES_DB names — so it can create the tables the
# migrations make at start-up in that database's `public` schema — and nothing more: no
# superuser, no CREATEDB, no CREATEROLE, no access to other databases' objects.
set -eu

psql -v ON_ERROR_STOP=1 -v password="$TASKAPI_DB_PASSWORD" -v dbname="$POSTGRES_DB" \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE taskapi LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'password';
ALTER DATABASE :"dbname" OWNER TO taskapi;
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"dbname" TO taskapi;
SQL
