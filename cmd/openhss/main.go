// Command openhss is a self-hosted container image security service that
// speaks the Huawei Cloud HSS v5 image API.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "openhss:", err)
		os.Exit(1)
	}
}
