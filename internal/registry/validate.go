package registry

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/netpolicy"
)

// Field limits of a registry connection, the same for every way one is
// added or changed (the API's AddRegistry/UpdateRegistry and the web
// console): docs/api.md.
const (
	MaxNameLen      = 128
	MaxAddrLen      = 256
	MaxUserLen      = 128
	MaxPasswordLen  = 128
	MaxNamespaceLen = 128
	MaxClusterIDLen = 64
)

// FieldError is a refused field of a connection: the parameter's name and
// why, a reason safe to show the caller.
type FieldError struct {
	Param  string
	Reason string
}

func (e *FieldError) Error() string { return "invalid parameter " + e.Param + ": " + e.Reason }

func fieldErr(param, format string, args ...any) *FieldError {
	return &FieldError{Param: param, Reason: fmt.Sprintf(format, args...)}
}

// namespacePattern is an OCI repository path prefix: lowercase components
// separated by "/", each made of alphanumerics joined by ".", "_", "__" or
// dashes. The sync builds registry URLs from it.
var namespacePattern = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)

// CheckConnection validates the fields that adding and changing a
// connection share, and canonicalizes the address (ParseAddr, the one
// parser of addresses: what is stored is what the syncer and the scanner
// connect to). An address policy denies is refused without naming the
// rule: the rule is the operator's business. A refusal is a *FieldError.
func CheckConnection(reg *inventory.Registry, policy *netpolicy.Policy) error {
	// HSS documents V1 and V2; clients also send the registry API's own
	// spelling, v2, so the case is not significant.
	reg.APIVersion = strings.ToUpper(reg.APIVersion)
	switch reg.APIVersion {
	case "V1", "V2":
	default:
		return fieldErr("api_version", "must be V1 or V2")
	}
	switch reg.Protocol {
	case "http", "https":
	default:
		return fieldErr("protocol", "must be http or https")
	}
	if len(reg.Addr) > MaxAddrLen {
		return fieldErr("registry_addr", "longer than %d bytes", MaxAddrLen)
	}
	addr, err := ParseAddr(reg.Addr)
	if err != nil {
		return fieldErr("registry_addr", "%s", addrReason(err))
	}
	if err := policy.CheckAddr(addr); err != nil {
		if errors.Is(err, netpolicy.ErrDenied) {
			return fieldErr("registry_addr", "is an address this server does not connect to (network policy)")
		}
		return fieldErr("registry_addr", "%s", addrReason(err))
	}
	reg.Addr = addr
	if err := CheckText("registry_username", reg.Username, 0, MaxUserLen); err != nil {
		return err
	}
	if reg.Namespace != "" {
		if len(reg.Namespace) > MaxNamespaceLen {
			return fieldErr("namespace", "longer than %d bytes", MaxNamespaceLen)
		}
		if !namespacePattern.MatchString(reg.Namespace) {
			return fieldErr("namespace", "must be a repository path prefix such as library or team/app")
		}
	}
	if err := CheckText("connect_cluster_id", reg.ConnectClusterID, 0, MaxClusterIDLen); err != nil {
		return err
	}
	switch reg.GetScanImageChannel {
	case "", "Swr", "Other":
	default:
		return fieldErr("get_scan_image_channel", "must be Swr or Other")
	}
	return nil
}

// NewCredentialTarget reports whether a change points a connection's
// credentials somewhere else: a registry address, protocol or user name
// different from the stored one. Both are compared after CheckConnection's
// normalisation, so the stored values sent back in any spelling that
// normalises to them change nothing. A new target needs the password given
// again: the sealed one was given for the stored target, and sending it
// anywhere else would hand it to whoever runs the new address.
func NewCredentialTarget(stored, updated inventory.Registry) bool {
	return stored.Addr != updated.Addr || stored.Protocol != updated.Protocol || stored.Username != updated.Username
}

// addrReason keeps a validator's message if it is short plain text; a
// validator from elsewhere might wrap errors that name internals.
func addrReason(err error) string {
	msg := err.Error()
	if len(msg) > 512 || !utf8.ValidString(msg) {
		return "must be host[:port]"
	}
	return msg
}

// CheckText enforces a length range (bytes) and refuses control characters,
// which have no business in names, users or passwords and break logs. A
// refusal is a *FieldError.
func CheckText(name, v string, min, max int) error {
	if len(v) < min {
		if min == 1 {
			return fieldErr(name, "is required")
		}
		return fieldErr(name, "shorter than %d bytes", min)
	}
	if len(v) > max {
		return fieldErr(name, "longer than %d bytes", max)
	}
	if !utf8.ValidString(v) {
		return fieldErr(name, "not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fieldErr(name, "contains a control character")
		}
	}
	return nil
}
