-- Runs once, when the postgres container initialises its data directory.
-- Two roles, neither superuser nor BYPASSRLS (hubworker refuses roles that
-- bypass row-level security): `hub` owns the schema and runs `hubworker
-- migrate` and the tools; `hub_worker` runs the workers with only the row
-- access the migrations grant it (no DDL, owns nothing, always under RLS).
-- The same statements, with real passwords, set up a production cluster.
CREATE ROLE hub LOGIN PASSWORD 'hub' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE hub_worker LOGIN PASSWORD 'hub_worker' NOSUPERUSER NOBYPASSRLS;
CREATE DATABASE hub OWNER hub;
