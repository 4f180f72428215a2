package scanjob

import (
	"context"
	"fmt"
	"path"
	"time"

	"github.com/openhss/openhss/internal/scanner/malware"
	"github.com/openhss/openhss/internal/scanresult"
)

// RecheckStats counts what a malware re-check did.
type RecheckStats struct {
	Matches  int // stored file hashes a signature names
	Images   int // manifests whose malware findings changed
	Duration time.Duration
}

// RecheckMalware matches the stored file hashes of every scanned manifest
// against the stored signatures and adds a finding (and to
// malicious_file_num) for each file newly named, as a scan would have. It
// reads only the store: no registry or image file is touched. Findings
// are only added: a signature is never removed by an import.
func (s *Service) RecheckMalware(ctx context.Context) (RecheckStats, error) {
	start := s.o.Now()
	var st RecheckStats
	matches, err := s.recheck.HashMatches(ctx)
	if err != nil {
		return st, fmt.Errorf("scanjob: malware re-check: %w", err)
	}
	st.Matches = len(matches)
	byDigest := map[string][]scanresult.HashMatch{}
	var order []string
	for _, m := range matches {
		if _, ok := byDigest[m.Digest]; !ok {
			order = append(order, m.Digest)
		}
		byDigest[m.Digest] = append(byDigest[m.Digest], m)
	}
	for _, d := range order {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		a, err := s.recheck.GetAnalysis(ctx, d)
		if err != nil {
			return st, fmt.Errorf("scanjob: malware re-check of %s: %w", d, err)
		}
		found, changed := withSignatureMatches(a.Malware, byDigest[d])
		if !changed {
			continue
		}
		if err := s.recheck.ReplaceMalware(ctx, d, found, int32(len(found))); err != nil {
			return st, fmt.Errorf("scanjob: malware re-check of %s: %w", d, err)
		}
		st.Images++
	}
	st.Duration = s.o.Now().Sub(start)
	s.o.Log.Info("re-checked stored file hashes", "matches", st.Matches, "images", st.Images, "duration", st.Duration)
	return st, nil
}

// withSignatureMatches applies signature matches to a manifest's findings
// with the analyzer's priority: a signature names a file before EICAR or a
// content rule does, so it replaces their finding of the same path.
func withSignatureMatches(found []scanresult.Malware, ms []scanresult.HashMatch) ([]scanresult.Malware, bool) {
	out := append([]scanresult.Malware(nil), found...)
	at := make(map[string]int, len(out))
	for i, f := range out {
		at[f.FilePath] = i
	}
	changed := false
	for _, m := range ms {
		rule, desc := malware.RuleSignature, "SHA-256 matches a known malware signature"
		if m.Signature.Name != "" {
			rule, desc = m.Signature.Name, "SHA-256 matches the known malware signature "+m.Signature.Name
		}
		f := scanresult.Malware{FileName: path.Base(m.File.Path), FilePath: m.File.Path, Size: m.File.Size,
			SHA256: m.File.SHA256, Rule: rule, Description: desc, LayerDigest: m.File.LayerDigest}
		if i, ok := at[f.FilePath]; ok {
			if out[i] != f {
				out[i], changed = f, true
			}
			continue
		}
		at[f.FilePath] = len(out)
		out = append(out, f)
		changed = true
	}
	return out, changed
}
