package baseline

import (
	"io/fs"
	"path"
	"strings"
)

const (
	sshdConfig      = "etc/ssh/sshd_config"
	maxIncludeDepth = 8
	maxSSHDLines    = 100_000
)

// sshdSetting is one keyword's value as sshd would see it.
type sshdSetting struct {
	value string
	file  string // io/fs path
	match bool   // set inside a Match block: applies to some connections
}

// sshdConfigValues collects, for the keywords asked (lower case), the
// global value sshd uses (the first one it reads, includes expanded in
// place) and every value set inside Match blocks.
type sshdConfigValues struct {
	global  map[string]sshdSetting
	inMatch map[string][]sshdSetting
	lines   int
}

// readSSHDConfig parses sshd_config and the files it includes. Includes
// are resolved inside the image against the files the analyzer kept
// (etc/ssh/sshd_config.d/*); others are not followed.
func readSSHDConfig(fsys fs.FS, keywords ...string) (*sshdConfigValues, bool) {
	b, err := readKept(fsys, sshdConfig, maxConfigFile)
	if err != nil {
		return nil, false
	}
	want := map[string]bool{}
	for _, k := range keywords {
		want[strings.ToLower(k)] = true
	}
	v := &sshdConfigValues{global: map[string]sshdSetting{}, inMatch: map[string][]sshdSetting{}}
	inMatch := false
	v.parse(fsys, sshdConfig, b, want, &inMatch, 0)
	return v, true
}

func (v *sshdConfigValues) parse(fsys fs.FS, file string, b []byte, want map[string]bool, inMatch *bool, depth int) {
	eachLine(b, func(line string) {
		v.lines++
		if v.lines > maxSSHDLines {
			return
		}
		key, val := splitSSHDLine(line)
		switch key {
		case "":
			return
		case "match":
			// A Match block ends at the next Match or at the end of the
			// file that opened it ("Match all" returns to global scope in
			// effect, and is treated as global here).
			*inMatch = strings.ToLower(strings.TrimSpace(val)) != "all"
			return
		case "include":
			if depth >= maxIncludeDepth {
				return
			}
			for _, name := range sshdIncludes(fsys, val) {
				if inc, err := readKept(fsys, name, maxConfigFile); err == nil {
					// An included file's own Match blocks end with it.
					m := *inMatch
					v.parse(fsys, name, inc, want, &m, depth+1)
				}
			}
			return
		}
		if !want[key] {
			return
		}
		s := sshdSetting{value: strings.ToLower(firstField(val)), file: file, match: *inMatch}
		if s.match {
			v.inMatch[key] = append(v.inMatch[key], s)
			return
		}
		if _, set := v.global[key]; !set {
			v.global[key] = s
		}
	})
}

// splitSSHDLine splits "Keyword value" or "Keyword=value"; keywords are
// case-insensitive.
func splitSSHDLine(line string) (string, string) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", ""
	}
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return strings.ToLower(line), ""
	}
	key := strings.ToLower(line[:i])
	val := strings.TrimLeft(line[i:], " \t")
	val = strings.TrimPrefix(val, "=")
	return key, strings.TrimSpace(val)
}

func firstField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return strings.Trim(f[0], `"`)
}

// sshdIncludes expands Include arguments: relative names are under
// /etc/ssh, globs are matched against the directory's entries, in lexical
// order as glob(3) returns them.
func sshdIncludes(fsys fs.FS, val string) []string {
	var out []string
	for _, pat := range strings.Fields(val) {
		pat = strings.Trim(pat, `"`)
		if strings.HasPrefix(pat, "/") {
			pat = strings.TrimPrefix(path.Clean(pat), "/")
		} else {
			pat = path.Join("etc/ssh", pat)
		}
		if !fs.ValidPath(pat) {
			continue
		}
		dir, base := path.Split(pat)
		dir = strings.TrimSuffix(dir, "/")
		if strings.ContainsAny(dir, "*?[") {
			continue // globs in directory names: not worth the risk of a walk
		}
		if !strings.ContainsAny(base, "*?[") {
			out = append(out, pat)
			continue
		}
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if ok, _ := path.Match(base, e.Name()); ok {
				out = append(out, path.Join(dir, e.Name()))
			}
		}
	}
	return out
}
