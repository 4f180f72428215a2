package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store"
)

// globals are the flags every stateful command shares (--data, --db, --json):
// where the store and the master key are, and how results are printed.
type globals struct {
	data     string
	db       string
	json     bool
	logLevel string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "openhss",
		Short:         "Self-hosted container image security service speaking the Huawei Cloud HSS v5 image API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.data, "data", envOr("OPENHSS_DATA", "./openhss-data"), "data directory (env OPENHSS_DATA)")
	pf.StringVar(&g.db, "db", os.Getenv("OPENHSS_DB"), "database URL: sqlite://PATH or postgres://...[?pool_max_conns=N&pool_acquire_timeout=10s] (env OPENHSS_DB; default sqlite://<data>/openhss.db)")
	pf.BoolVar(&g.json, "json", false, "print machine-readable JSON")
	pf.StringVar(&g.logLevel, "log-level", envOr("OPENHSS_LOG_LEVEL", "info"), "log level: debug, info, warn, error")

	root.AddCommand(
		newServeCmd(g),
		newQuickstartCmd(g),
		newCredentialCmd(g),
		newUserCmd(g),
		newRegistryCmd(g),
		newSyncCmd(g),
		newScanCmd(g),
		newImagesCmd(g),
		newDBCmd(g),
		newMalwareCmd(g),
	)
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// app is what a stateful command works with.
type app struct {
	log   *slog.Logger
	store store.Store
	box   *secret.Box
	iam   *iam.Service
	// tempDir is the data directory's tmp, where vulnerability downloads
	// wait (see vulnDB).
	tempDir string
}

func (g *globals) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
}

// open resolves the paths of g, then opens the data directory and the store.
func (g *globals) open(ctx context.Context) (*app, error) {
	if err := g.resolvePaths(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(g.data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	st, err := store.Open(ctx, g.db)
	if err != nil {
		return nil, err
	}
	// The master key must open what the database already holds sealed: a
	// lost or wrong key stops the start here, instead of a fresh key making
	// every AK/SK call and registry sync fail later.
	sealed, err := st.AnySealedSecret(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	box, err := secret.LoadBox(g.data, sealed)
	if err != nil {
		st.Close()
		return nil, err
	}
	svc, err := iam.New(iam.Options{Store: st, Box: box})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &app{
		log:     g.logger(os.Stderr),
		store:   st,
		box:     box,
		iam:     svc,
		tempDir: filepath.Join(g.data, "tmp"),
	}, nil
}

// resolvePaths makes the data directory and an SQLite database path
// absolute, and fills in the default database. The commands hand these
// paths to other processes (the go command of the quickstart runs in a
// directory of its own) and print them to be used from elsewhere, where a
// relative path names another place.
func (g *globals) resolvePaths() error {
	data, err := filepath.Abs(g.data)
	if err != nil {
		return fmt.Errorf("data directory %q: %w", g.data, err)
	}
	g.data = data
	// An SQLite database is "sqlite://PATH" or a bare path (store.Open);
	// any other URL is left to store.Open.
	path, isSQLite := strings.CutPrefix(g.db, "sqlite://")
	switch {
	case g.db == "":
		g.db = "sqlite://" + filepath.Join(g.data, "openhss.db")
	case path != "" && (isSQLite || !strings.Contains(g.db, "://")):
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("database %q: %w", g.db, err)
		}
		g.db = "sqlite://" + abs
	}
	return nil
}

func (a *app) Close() error { return a.store.Close() }

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// splitList parses "a,b, c" into its non-empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
