package baseline

import (
	"bytes"
	"strconv"
	"strings"
)

// account is one OS account as /etc/passwd and /etc/shadow describe it.
type account struct {
	name       string
	uid        int // -1 when /etc/passwd does not list the account
	inPasswd   bool
	passwdHash string // the password field of /etc/passwd ("x" when shadowed)
	inShadow   bool
	shadowHash string
}

// userType is HSS's account type for a weak-password row.
func (a *account) userType() string {
	switch {
	case a.uid == 0:
		return "root"
	case a.uid > 0 && a.uid < 1000:
		return "system"
	default:
		return "user"
	}
}

// emptyPassword reports whether the account logs in without a password,
// and from which file that follows. An empty field in /etc/passwd wins:
// PAM and busybox consult /etc/shadow only when the field is "x".
func (a *account) emptyPassword() (string, bool) {
	switch {
	case a.inPasswd && a.passwdHash == "":
		return pathPasswd, true
	case a.inShadow && a.shadowHash == "" && (!a.inPasswd || a.passwdHash == "x"):
		return pathShadow, true
	}
	return "", false
}

// hash is the password hash that login checks, and the file it is in.
func (a *account) hash() (string, string) {
	if a.inPasswd && a.passwdHash != "x" {
		return a.passwdHash, pathPasswd
	}
	if a.inShadow {
		return a.shadowHash, pathShadow
	}
	return "", ""
}

// accounts is the merged view of passwd and shadow, in file order
// (passwd first, then shadow-only names).
type accounts struct {
	list   []*account
	byName map[string]*account
}

func (as *accounts) get(name string) *account {
	if a := as.byName[name]; a != nil {
		return a
	}
	a := &account{name: name, uid: -1}
	as.byName[name] = a
	as.list = append(as.list, a)
	return a
}

// parseAccounts reads passwd and shadow content. Malformed lines are
// skipped, as glibc's parser skips them.
func parseAccounts(passwd, shadow []byte) *accounts {
	as := &accounts{byName: map[string]*account{}}
	eachLine(passwd, func(line string) {
		f := strings.SplitN(line, ":", 7)
		if len(f) < 4 || f[0] == "" || strings.HasPrefix(f[0], "+") || strings.HasPrefix(f[0], "-") {
			return
		}
		uid, err := strconv.Atoi(f[2])
		if err != nil || uid < 0 {
			return
		}
		a := as.get(f[0])
		if a.inPasswd { // the first entry is the one getpwnam returns
			return
		}
		a.inPasswd, a.passwdHash, a.uid = true, f[1], uid
	})
	eachLine(shadow, func(line string) {
		f := strings.SplitN(line, ":", 9)
		if len(f) < 2 || f[0] == "" || strings.HasPrefix(f[0], "+") || strings.HasPrefix(f[0], "-") {
			return
		}
		a := as.get(f[0])
		if a.inShadow {
			return
		}
		a.inShadow, a.shadowHash = true, f[1]
	})
	return as
}

// eachLine calls fn for every non-empty, non-comment line. Lines have no
// length limit (b is bounded by the file size limits): a bufio.Scanner
// stopped at its first over-long line, so that one junk line hid every
// account after it, as glibc's parser, which reads any length, does not.
func eachLine(b []byte, fn func(string)) {
	for len(b) > 0 {
		raw, rest, _ := bytes.Cut(b, []byte{'\n'})
		b = rest
		line := strings.TrimRight(string(raw), "\r")
		if line == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		fn(line)
	}
}

// loginDefs reads /etc/login.defs: "KEY value" lines, the last one wins
// (shadow-utils' getdef overwrites on each line).
func loginDefs(b []byte) map[string]string {
	defs := map[string]string{}
	eachLine(b, func(line string) {
		f := strings.Fields(line)
		if len(f) >= 2 {
			defs[f[0]] = strings.Trim(f[1], `"`)
		}
	})
	return defs
}
