package scanner

import (
	"regexp"
	"strings"
)

// stepMask replaces what redactStep hides: HSS's mask of a weak password
// (scanresult.WeakPasswordMask), so a masked value looks the same
// everywhere.
const stepMask = "******"

// A history step (created_by) is the build's command line as written, and
// build arguments are expanded into it (BuildKit's "RUN |2 TOKEN=… /bin/sh
// -c …"): it can hold a password or a token. Anyone who can pull the image
// can read it, but the console shows steps to everyone with read access to
// the project, so the store keeps them with the likely secrets masked:
// values of variables and flags whose name says they hold one, the
// password of a URL, and the credentials of an Authorization header.
var (
	// NAME=value, where NAME says it is a secret (as the baseline's
	// secret-in-ENV check reads names, plus the usual API key spellings).
	secretAssign = regexp.MustCompile(`(?i)\b([A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)[A-Z0-9_]*)=("[^"]*"|'[^']*'|[^\s"';&|]+)`)
	// --password=value, --token value, and the like.
	secretFlag = regexp.MustCompile(`(?i)(--?[a-z0-9-]*(?:password|passwd|secret|token|api-?key)[a-z0-9-]*)(=|\s+)("[^"]*"|'[^']*'|[^\s"';&|]+)`)
	// scheme://user:password@host
	urlPassword = regexp.MustCompile(`(://[^/\s:@]*):[^/\s@]*@`)
	// Authorization: Bearer abc, Authorization: Basic abc
	authHeader = regexp.MustCompile(`(?i)(authorization:\s*(?:[a-z]+\s+)?)[^\s"']+`)
)

// redactStep is a history step with its likely secrets masked.
func redactStep(s string) string {
	if !strings.ContainsAny(s, "=@:-") {
		return s
	}
	s = secretAssign.ReplaceAllString(s, "${1}="+stepMask)
	s = secretFlag.ReplaceAllString(s, "${1}${2}"+stepMask)
	s = urlPassword.ReplaceAllString(s, "${1}:"+stepMask+"@")
	return authHeader.ReplaceAllString(s, "${1}"+stepMask)
}
