// Package inventory holds the domain of openhss's image inventory: the rows of
// the HSS swr-repository list, the manifests they point at, the registry
// connections they come from, and the Store interfaces that persist them.
//
// The package depends on nothing else of openhss. Storage engines
// (internal/store/sqlite, internal/store/postgres) implement its interfaces;
// the HTTP layer, the sync and the scanner only ever see these types.
package inventory

import (
	"errors"
	"time"
)

// Errors a Store returns; callers test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// ImageType is the HSS image_type of a row.
type ImageType string

const (
	PrivateImage  ImageType = "private_image"
	SharedImage   ImageType = "shared_image"
	LocalImage    ImageType = "local_image"
	InstanceImage ImageType = "instance_image"
)

// Valid reports whether t is one of the four HSS image types.
func (t ImageType) Valid() bool {
	switch t {
	case PrivateImage, SharedImage, LocalImage, InstanceImage:
		return true
	}
	return false
}

// ImageTypes lists the four HSS image types. The store's queries take one
// type at a time (Filter.Type is required, and the indexes lead with it),
// so a caller wanting every type loops over these.
func ImageTypes() []ImageType {
	return []ImageType{PrivateImage, SharedImage, LocalImage, InstanceImage}
}

// ScanStatus is the HSS scan_status of a manifest.
type ScanStatus string

const (
	Unscan         ScanStatus = "unscan"
	WaitingForScan ScanStatus = "waiting_for_scan"
	Scanning       ScanStatus = "scanning"
	ScanSuccess    ScanStatus = "success"
	ScanFailed     ScanStatus = "failed"
	DownloadFailed ScanStatus = "download_failed"
	ImageOversized ScanStatus = "image_oversized"
)

// Valid reports whether s is a scan status HSS clients may filter on.
func (s ScanStatus) Valid() bool {
	switch s {
	case Unscan, WaitingForScan, Scanning, ScanSuccess, ScanFailed, DownloadFailed, ImageOversized:
		return true
	}
	return false
}

// Default enterprise project id, as HSS names it.
const DefaultEnterpriseProject = "0"

// Millis converts t to milliseconds since the Unix epoch, the unit of every
// HSS time field. The zero time is 0.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
