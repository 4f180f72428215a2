package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// TestServePurgesExpiredTokens: the loop serve runs deletes the expired
// tokens at once on start, and keeps the live ones.
func TestServePurgesExpiredTokens(t *testing.T) {
	t.Setenv("OPENHSS_MASTER_KEY", "")
	g := &globals{data: t.TempDir(), logLevel: "error"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := g.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	now := time.Now().UnixMilli()
	for _, tok := range []inventory.Token{
		{Hash: "expired", ExpiresAt: now - 1000},
		{Hash: "live", ExpiresAt: now + time.Hour.Milliseconds()},
	} {
		tok.UserID, tok.ProjectID = 1, "p1"
		if err := a.store.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { defer close(done); a.purgeTokens(ctx, time.Hour) }()
	for {
		_, err := a.store.GetToken(ctx, "expired")
		if errors.Is(err, inventory.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // the first purge has not run yet
	}
	cancel()
	<-done
	if _, err := a.store.GetToken(context.Background(), "live"); err != nil {
		t.Fatalf("a live token was purged: %v", err)
	}
}
