// Command openhss is a self-hosted container image security service that
// speaks the Huawei Cloud HSS v5 image API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses, as CI pipelines read them (README "Gate a pipeline").
const (
	exitOK     = 0
	exitPolicy = 1 // scan --fail-on found blocking vulnerabilities
	exitError  = 2 // anything else went wrong: usage, store, a failed scan
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs the command line args and returns the exit status.
func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	return exitCode(cmd.ExecuteContext(ctx), stderr)
}

// exitCode reports err on stderr and maps it to an exit status: only a
// policy failure is 1, so a pipeline tells "vulnerable" from "broken".
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "openhss:", err)
	if pe := (*policyError)(nil); errors.As(err, &pe) {
		return exitPolicy
	}
	return exitError
}
