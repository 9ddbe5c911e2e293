#pragma once
// Schema migrations: plain SQL files applied in name order and recorded in
// `schema_migrations`.
//
// Safe from many processes at once (every pod may run `hubworker migrate` at
// start): ApplyMigrations first takes a session-level pg_advisory_lock with a
// fixed key, so concurrent runs queue up; whoever gets the lock second finds
// everything applied.  Each pending file runs in its own transaction together
// with its schema_migrations row, so a failing file leaves no trace and a
// crash mid-run is simply resumed by the next run.
//
// Rules for a migration file: a name that sorts after every existing one
// (NNNN_what.sql); no transaction control (BEGIN/COMMIT) and nothing that
// cannot run inside a transaction (CREATE INDEX CONCURRENTLY, ALTER TYPE ...
// ADD VALUE followed by a use of the value); never edited once released -- a
// changed checksum of an applied file is an error, add a new file instead.
#include <string>

namespace hub::store {

struct MigrationReport {
  int applied = 0;  // files applied by this call
  int already = 0;  // files found already applied
};

// Applies every pending `*.sql` file of `dir` to the database at
// `database_url`.  Throws std::runtime_error when the folder cannot be read,
// when an applied file was changed since, or when a file fails; the message
// names the file and carries PostgreSQL's message.  Connection failures are
// the pqxx exceptions (e.g. pqxx::broken_connection).
MigrationReport ApplyMigrations(const std::string& database_url, const std::string& dir);

// The default folder given the source tree's root: `source_dir`/schemas/sql
// if it exists, else /usr/share/hubworker/schemas/sql (installed layout).
std::string DefaultMigrationsDirFrom(const std::string& source_dir);

// HUB_SOURCE_DIR is a compile definition of the worker's targets (and of
// everything linking them); it names the same folder wherever it is defined.
#if defined(HUB_SOURCE_DIR)
inline std::string DefaultMigrationsDir() { return DefaultMigrationsDirFrom(HUB_SOURCE_DIR); }
#endif

}  // namespace hub::store
