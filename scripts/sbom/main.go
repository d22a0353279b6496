// Command sbom writes a CycloneDX 1.5 software bill of materials (JSON) for
// a Go binary, from the build information the Go toolchain embeds in it:
// exactly the modules linked into that binary, at the versions linked, with
// their go.sum hashes. The release script runs it on each released binary.
//
//	go run ./scripts/sbom BINARY > BINARY.cdx.json
package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sbom BINARY")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Stdout, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "sbom:", err)
		os.Exit(1)
	}
}

func run(path string, w io.Writer, now func() time.Time) error {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(bom(bi, sha256.Sum256(data), now().UTC()))
}

type document struct {
	BOMFormat    string      `json:"bomFormat"`
	SpecVersion  string      `json:"specVersion"`
	SerialNumber string      `json:"serialNumber"`
	Version      int         `json:"version"`
	Metadata     metadata    `json:"metadata"`
	Components   []component `json:"components"`
	Dependencies []dependsOn `json:"dependencies"`
}

type metadata struct {
	Timestamp  string     `json:"timestamp"`
	Component  component  `json:"component"`
	Properties []property `json:"properties"`
}

type component struct {
	Type       string     `json:"type"`
	BOMRef     string     `json:"bom-ref"`
	Name       string     `json:"name"`
	Version    string     `json:"version"`
	PURL       string     `json:"purl"`
	Hashes     []hash     `json:"hashes,omitempty"`
	Properties []property `json:"properties,omitempty"`
}

type hash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type dependsOn struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// bom builds the document. The serial number is derived from the binary's
// digest, so the same binary always gets the same SBOM (timestamp aside).
func bom(bi *debug.BuildInfo, digest [32]byte, now time.Time) document {
	main := module(bi.Main, "application")
	main.Hashes = []hash{{Alg: "SHA-256", Content: fmt.Sprintf("%x", digest)}}
	d := document{BOMFormat: "CycloneDX", SpecVersion: "1.5", SerialNumber: "urn:uuid:" + uuidOf(digest), Version: 1,
		Metadata: metadata{Timestamp: now.Format(time.RFC3339), Component: main,
			Properties: []property{{Name: "go:version", Value: bi.GoVersion}}}}
	for _, s := range bi.Settings {
		switch s.Key {
		case "GOOS", "GOARCH", "CGO_ENABLED", "-trimpath", "vcs.revision", "vcs.time", "vcs.modified":
			d.Metadata.Properties = append(d.Metadata.Properties, property{Name: "go:build:" + s.Key, Value: s.Value})
		}
	}
	root := dependsOn{Ref: main.BOMRef, DependsOn: []string{}}
	d.Components = []component{}
	for _, m := range bi.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		c := module(*m, "library")
		d.Components = append(d.Components, c)
		root.DependsOn = append(root.DependsOn, c.BOMRef)
	}
	d.Dependencies = []dependsOn{root}
	return d
}

func module(m debug.Module, typ string) component {
	version := m.Version
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	purl := "pkg:golang/" + strings.ToLower(m.Path) + "@" + version
	c := component{Type: typ, BOMRef: purl, Name: m.Path, Version: version, PURL: purl}
	if m.Sum != "" {
		c.Properties = []property{{Name: "go:sum", Value: m.Sum}}
	}
	return c
}

// uuidOf formats the first 16 bytes of a digest as a version 8 (custom)
// RFC 9562 UUID.
func uuidOf(d [32]byte) string {
	b := d[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
