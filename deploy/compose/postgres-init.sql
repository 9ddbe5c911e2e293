-- Runs once, when the postgres container initialises its data directory.
-- The worker's role owns its tables but is neither superuser nor BYPASSRLS:
-- hubworker refuses to run as a role that bypasses row-level security.
CREATE ROLE hub LOGIN PASSWORD 'hub' NOSUPERUSER NOBYPASSRLS;
CREATE DATABASE hub OWNER hub;
