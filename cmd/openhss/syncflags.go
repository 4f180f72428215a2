package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/openhss/openhss/internal/registry"
)

// syncOptions are the caps of a registry sync (docs/api.md, "Limits of a
// sync"). Zero values mean the registry package's defaults, so commands
// that take no flags (quickstart, registry sync) get them too.
type syncOptions struct {
	maxRepositories  int
	maxTags          int
	maxTotalTags     int
	maxResponseBytes byteSize
}

// addSyncFlags registers the sync workers' caps on a command that runs them.
func addSyncFlags(f *pflag.FlagSet, o *syncOptions) {
	o.maxResponseBytes = registry.DefaultMaxResponseBytes
	f.IntVar(&o.maxRepositories, "sync-max-repositories", registry.DefaultMaxRepositories,
		"most repositories one registry connection may list; a sync over it fails and changes nothing")
	f.IntVar(&o.maxTags, "sync-max-tags", registry.DefaultMaxTags,
		"most tags one repository may have; a sync over it fails and changes nothing")
	f.IntVar(&o.maxTotalTags, "sync-max-total-tags", registry.DefaultMaxTotalTags,
		"most tags of all repositories of one connection; a sync over it fails and changes nothing")
	f.Var(&o.maxResponseBytes, "sync-max-response-size",
		"largest catalog page, tag list page or manifest read from a registry, e.g. 4MiB")
}

// listerOptions are the registry.Lister caps of o.
func (o syncOptions) listerOptions() registry.ListerOptions {
	return registry.ListerOptions{
		MaxRepositories:  o.maxRepositories,
		MaxTags:          o.maxTags,
		MaxTotalTags:     o.maxTotalTags,
		MaxResponseBytes: int64(o.maxResponseBytes),
	}
}

// validate refuses caps that are not positive: a zero would not mean
// "unlimited", and silently taking the default would surprise.
func (o syncOptions) validate() error {
	for _, c := range []struct {
		flag string
		v    int64
	}{
		{"--sync-max-repositories", int64(o.maxRepositories)},
		{"--sync-max-tags", int64(o.maxTags)},
		{"--sync-max-total-tags", int64(o.maxTotalTags)},
		{"--sync-max-response-size", int64(o.maxResponseBytes)},
	} {
		if c.v <= 0 {
			return fmt.Errorf("%s must be positive, not %d", c.flag, c.v)
		}
	}
	return nil
}
