package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/openhss/openhss/internal/netpolicy"
)

// netOptions are the network policy flags of the commands that contact
// registries (docs/api.md, "Network policy").
type netOptions struct {
	allow, deny, credHosts []string
}

// addNetFlags registers --registry-allow, --registry-deny and
// --registry-credential-hosts. Their environment variables give the
// initial value; flags add to it.
func addNetFlags(f *pflag.FlagSet, o *netOptions) {
	o.allow = splitList(os.Getenv("OPENHSS_REGISTRY_ALLOW"))
	o.deny = splitList(os.Getenv("OPENHSS_REGISTRY_DENY"))
	o.credHosts = splitList(os.Getenv("OPENHSS_REGISTRY_CREDENTIAL_HOSTS"))
	f.Var(&entryFlag{list: &o.allow, check: netpolicy.ParseEntry}, "registry-allow",
		"CIDRs, addresses or host globs registries may be reached at although the default denies them, e.g. 127.0.0.1/32,*.lab.example (repeatable, comma separated; env OPENHSS_REGISTRY_ALLOW)")
	f.Var(&entryFlag{list: &o.deny, check: netpolicy.ParseEntry}, "registry-deny",
		"CIDRs, addresses or host globs registries are never reached at; wins over --registry-allow (repeatable, comma separated; env OPENHSS_REGISTRY_DENY)")
	f.Var(&entryFlag{list: &o.credHosts, check: netpolicy.ParseCredentialHost}, "registry-credential-hosts",
		"host globs of token servers that may receive a connection's credentials although they are not on the registry's host, e.g. auth.docker.io (repeatable, comma separated; env OPENHSS_REGISTRY_CREDENTIAL_HOSTS)")
}

// policy compiles the flags; a bad entry (from the environment: flags are
// checked as they are parsed) stops the command.
func (o *netOptions) policy(extraAllow ...string) (*netpolicy.Policy, error) {
	p, err := netpolicy.New(netpolicy.Options{
		Allow:           append(append([]string(nil), o.allow...), extraAllow...),
		Deny:            o.deny,
		CredentialHosts: o.credHosts,
	})
	if err != nil {
		return nil, fmt.Errorf("network policy (--registry-allow, --registry-deny, --registry-credential-hosts): %w", err)
	}
	return p, nil
}

// entryFlag is a repeatable, comma separated list whose every entry is
// checked as the flag is parsed, so a typo stops the command at start.
type entryFlag struct {
	list  *[]string
	check func(string) error
}

func (f *entryFlag) String() string {
	if f.list == nil {
		return ""
	}
	return strings.Join(*f.list, ",")
}

func (f *entryFlag) Set(v string) error {
	for _, e := range splitList(v) {
		if err := f.check(e); err != nil {
			return err
		}
		*f.list = append(*f.list, e)
	}
	return nil
}

func (f *entryFlag) Type() string { return "list" }
