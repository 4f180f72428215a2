package scanresult

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Subject names the image an SBOM document describes.
type Subject struct {
	Name string // "namespace/name:tag" of the row asked about
}

// cdxProperty and the types below are the subset of CycloneDX 1.5 JSON
// openhss emits.
type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxComponent struct {
	Type       string        `json:"type"`
	BOMRef     string        `json:"bom-ref"`
	Name       string        `json:"name"`
	Version    string        `json:"version,omitempty"`
	PURL       string        `json:"purl,omitempty"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

type cdxTool struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type cdxDependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

type cdxBOM struct {
	BOMFormat    string `json:"bomFormat"`
	SpecVersion  string `json:"specVersion"`
	SerialNumber string `json:"serialNumber"`
	Version      int    `json:"version"`
	Metadata     struct {
		Timestamp string `json:"timestamp"`
		Tools     struct {
			Components []cdxTool `json:"components"`
		} `json:"tools"`
		Component cdxComponent `json:"component"`
	} `json:"metadata"`
	Components   []cdxComponent  `json:"components"`
	Dependencies []cdxDependency `json:"dependencies"`
}

// CycloneDX encodes sb as a CycloneDX 1.5 JSON document: the image is the
// metadata component (type container), the operating system and every
// package are components, with openhss:path, openhss:layer_digest and
// openhss:type properties saying where each was found.
func CycloneDX(sb SBOM, subj Subject) ([]byte, error) {
	var b cdxBOM
	b.BOMFormat, b.SpecVersion, b.Version = "CycloneDX", "1.5", 1
	b.SerialNumber = "urn:uuid:" + documentUUID(sb)
	b.Metadata.Timestamp = time.UnixMilli(sb.ScannedAt).UTC().Format(time.RFC3339)
	b.Metadata.Tools.Components = []cdxTool{{Type: "application", Name: "openhss"}}
	b.Metadata.Component = cdxComponent{Type: "container", BOMRef: "image", Name: subjectName(sb, subj), Version: sb.Digest}
	b.Components = []cdxComponent{}
	deps := cdxDependency{Ref: "image", DependsOn: []string{}}
	if sb.OSID != "" {
		b.Components = append(b.Components, cdxComponent{Type: "operating-system", BOMRef: "os", Name: sb.OSID, Version: sb.OSVersion,
			Properties: props("openhss:pretty_name", sb.OSName)})
		deps.DependsOn = append(deps.DependsOn, "os")
	}
	for i, p := range sb.Packages {
		ref := fmt.Sprintf("pkg-%d", i)
		b.Components = append(b.Components, cdxComponent{
			Type: "library", BOMRef: ref, Name: p.Name, Version: p.Version, PURL: p.PURL,
			Properties: props("openhss:type", p.Type, "openhss:ecosystem", p.Ecosystem, "openhss:path", p.Path,
				"openhss:layer_digest", p.LayerDigest, "openhss:source_name", p.SourceName),
		})
		deps.DependsOn = append(deps.DependsOn, ref)
	}
	b.Dependencies = []cdxDependency{deps}
	return json.Marshal(b)
}

func props(kv ...string) []cdxProperty {
	var out []cdxProperty
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, cdxProperty{Name: kv[i], Value: kv[i+1]})
		}
	}
	return out
}

// The subset of SPDX 2.3 JSON openhss emits.
type spdxExternalRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxPackage struct {
	SPDXID           string            `json:"SPDXID"`
	Name             string            `json:"name"`
	VersionInfo      string            `json:"versionInfo,omitempty"`
	DownloadLocation string            `json:"downloadLocation"`
	FilesAnalyzed    bool              `json:"filesAnalyzed"`
	SourceInfo       string            `json:"sourceInfo,omitempty"`
	PrimaryPurpose   string            `json:"primaryPackagePurpose,omitempty"`
	ExternalRefs     []spdxExternalRef `json:"externalRefs,omitempty"`
}

type spdxRelationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

type spdxDocument struct {
	SPDXVersion       string `json:"spdxVersion"`
	DataLicense       string `json:"dataLicense"`
	SPDXID            string `json:"SPDXID"`
	Name              string `json:"name"`
	DocumentNamespace string `json:"documentNamespace"`
	CreationInfo      struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
	} `json:"creationInfo"`
	Packages      []spdxPackage      `json:"packages"`
	Relationships []spdxRelationship `json:"relationships"`
}

// SPDX encodes sb as an SPDX 2.3 JSON document: the image is a package
// (purpose CONTAINER) the document DESCRIBES, which CONTAINS every
// software package; sourceInfo says where each was found.
func SPDX(sb SBOM, subj Subject) ([]byte, error) {
	var d spdxDocument
	d.SPDXVersion, d.DataLicense, d.SPDXID = "SPDX-2.3", "CC0-1.0", "SPDXRef-DOCUMENT"
	d.Name = subjectName(sb, subj)
	d.DocumentNamespace = "https://openhss.invalid/spdx/" + strings.ReplaceAll(sb.Digest, ":", "-") + "/" + documentUUID(sb)
	d.CreationInfo.Created = time.UnixMilli(sb.ScannedAt).UTC().Format(time.RFC3339)
	d.CreationInfo.Creators = []string{"Tool: openhss"}
	d.Packages = []spdxPackage{{
		SPDXID: "SPDXRef-Image", Name: d.Name, VersionInfo: sb.Digest, DownloadLocation: "NOASSERTION", PrimaryPurpose: "CONTAINER",
	}}
	d.Relationships = []spdxRelationship{{Element: "SPDXRef-DOCUMENT", Type: "DESCRIBES", Related: "SPDXRef-Image"}}
	if sb.OSID != "" {
		d.Packages = append(d.Packages, spdxPackage{SPDXID: "SPDXRef-OS", Name: sb.OSID, VersionInfo: sb.OSVersion,
			DownloadLocation: "NOASSERTION", PrimaryPurpose: "OPERATING-SYSTEM"})
		d.Relationships = append(d.Relationships, spdxRelationship{Element: "SPDXRef-Image", Type: "CONTAINS", Related: "SPDXRef-OS"})
	}
	for i, p := range sb.Packages {
		id := fmt.Sprintf("SPDXRef-Package-%d", i)
		pkg := spdxPackage{SPDXID: id, Name: p.Name, VersionInfo: p.Version, DownloadLocation: "NOASSERTION",
			SourceInfo: "found by openhss (" + p.Type + ") at " + p.Path + " in layer " + p.LayerDigest}
		if p.PURL != "" {
			pkg.ExternalRefs = []spdxExternalRef{{Category: "PACKAGE-MANAGER", Type: "purl", Locator: p.PURL}}
		}
		d.Packages = append(d.Packages, pkg)
		d.Relationships = append(d.Relationships, spdxRelationship{Element: "SPDXRef-Image", Type: "CONTAINS", Related: id})
	}
	return json.Marshal(d)
}

func subjectName(sb SBOM, subj Subject) string {
	if subj.Name != "" {
		return subj.Name
	}
	return sb.Digest
}

// documentUUID is a stable UUID (version 4 layout) for one scan of one
// digest: the same stored SBOM always gives the same document identity.
func documentUUID(sb SBOM) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s@%d", sb.Digest, sb.ScannedAt))
	u := h[:16]
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
