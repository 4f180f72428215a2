package main

import (
	"github.com/openhss/openhss/internal/console"
	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner/malware"
	"github.com/openhss/openhss/internal/schedule"
	"github.com/openhss/openhss/internal/store"
	"github.com/openhss/openhss/internal/trend"
	"github.com/openhss/openhss/internal/vulndb"
	"github.com/openhss/openhss/internal/vulnupdate"
)

// The store the binary opens (store.Store, the union) satisfies every role
// its consumers declare, each in its own package: the check is here, where
// both sides are visible, because internal/store must not import its
// consumers (the API least of all).
var (
	_ console.Store        = store.Store(nil)
	_ hssapi.Store         = store.Store(nil)
	_ hssapi.ScanReader    = store.Store(nil)
	_ hssapi.FindingReader = store.Store(nil)
	_ hssapi.Pinger        = store.Store(nil)
	_ hssapi.TaskStore     = store.Store(nil)

	_ scanjob.ScanStore    = store.Store(nil)
	_ scanjob.RematchStore = store.Store(nil)
	_ scanjob.RecheckStore = store.Store(nil)
	_ scanjob.SweepStore   = store.Store(nil)
	_ scanjob.ImageLister  = store.Store(nil)
	_ scanjob.TaskStore    = store.Store(nil)

	_ registry.SyncStore    = store.Store(nil)
	_ registry.Queue        = store.Store(nil)
	_ registry.TaskRecorder = store.Store(nil)

	_ schedule.Store = store.Store(nil)
	_ trend.Store    = store.Store(nil)

	_ jobs.Store         = store.Store(nil)
	_ vulnupdate.Queue   = store.Store(nil)
	_ vulndb.Store       = store.Store(nil)
	_ malware.Signatures = store.Store(nil)
	_ inventory.Access   = store.Store(nil) // iam.Options.Store
)
