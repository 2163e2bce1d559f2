// Package sqlite is the drsorch.Store on an SQLite file (modernc.org/sqlite,
// pure Go): the embedded default for running on one machine.
//
// Each record is stored whole as a JSON document, next to the few columns
// that queries and version-checked writes need. The schema is created and
// upgraded by the numbered migrations embedded from migrations/.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drsorch/drsorch"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// BusyTimeout is how long a write waits for another connection or process
// holding the database's write lock before it fails.
const BusyTimeout = 10 * time.Second

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is a drsorch.Store on one SQLite database file. It is safe for
// concurrent use; several Stores (or processes) may share one file.
type Store struct {
	// write has a single connection: SQLite has one writer, so writes queue
	// in database/sql rather than spin on the file lock. Other processes are
	// waited for through busy_timeout.
	write *sql.DB
	// read has several read-only connections; in WAL mode they never block the writer.
	read *sql.DB
}

var _ drsorch.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies pending
// migrations. The path ":memory:" gives a private in-memory database.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, drsorch.Errorf(drsorch.CodeInvalidParameter, "sqlite: empty database path")
	}
	// DSN parameters follow the path; a path that already has some gets ours appended.
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	busy := sep + "_pragma=busy_timeout(" + strconv.FormatInt(BusyTimeout.Milliseconds(), 10) + ")"
	if path == ":memory:" {
		db, err := sql.Open("sqlite", path+busy+"&_txlock=immediate")
		if err != nil {
			return nil, internal(err, "open database")
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s := &Store{write: db, read: db}
		if err := s.migrate(context.Background()); err != nil {
			db.Close()
			return nil, err
		}
		return s, nil
	}

	write, err := sql.Open("sqlite", path+busy+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, internal(err, "open database")
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	s := &Store{write: write}
	// Migrating first also switches the file to WAL before any reader opens it.
	if err := s.migrate(context.Background()); err != nil {
		write.Close()
		return nil, err
	}

	read, err := sql.Open("sqlite", path+busy+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, internal(err, "open database")
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	s.read = read
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	if err != nil {
		return internal(err, "close database")
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_description.sql", name)
		}
		b, err := fs.ReadFile(migrationFiles, path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %q and %q share version %d", out[i-1].name, out[i].name, out[i].version)
		}
	}
	return out, nil
}

// migrate applies the pending migrations in one immediate transaction, so
// concurrent openers of a new file apply them once.
func (s *Store) migrate(ctx context.Context) (err error) {
	ms, err := migrations()
	if err != nil {
		return internal(err, "load migrations")
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return internal(err, "begin migrations")
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL
	)`); err != nil {
		return internal(err, "create schema_migrations")
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return internal(err, "read schema_migrations")
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return internal(err, "read schema_migrations")
		}
		applied[v] = true
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return internal(err, "read schema_migrations")
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return internal(err, "apply migration "+m.name)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return internal(err, "record migration "+m.name)
		}
	}
	if err := tx.Commit(); err != nil {
		return internal(err, "commit migrations")
	}
	return nil
}

// internal wraps a driver failure as INTERNAL_ERROR; the cause is kept for logs.
func internal(err error, op string) error {
	return drsorch.Wrap(drsorch.CodeInternal, err, "storage failure: %s", op)
}

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isPrimaryKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isUniqueViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}
