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

// globals are the flags every stateful command shares (CLI.md).
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
}

func (g *globals) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
}

// open opens the data directory and the store.
func (g *globals) open(ctx context.Context) (*app, error) {
	if err := os.MkdirAll(g.data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	dbURL := g.db
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(g.data, "openhss.db")
	}
	box, err := secret.LoadBox(g.data)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	return &app{
		log:   g.logger(os.Stderr),
		store: st,
		box:   box,
		iam:   iam.New(st, box, iam.Options{}),
	}, nil
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
