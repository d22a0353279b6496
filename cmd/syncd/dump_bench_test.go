package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/syncd/syncd/e2e/harness"
	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/dump"
	"github.com/syncd/syncd/internal/scalegen"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

// dumpSizes are the directories BenchmarkSourceDumpVsLdapsearch reads:
// 100 members per group, no nesting.
var dumpSizes = []scalegen.Size{
	{Users: 10_000, Groups: 500, PerGroup: 100},
	{Users: 100_000, Groups: 2_000, PerGroup: 100},
}

// dumpGoal is the goal: the whole `syncd source dump` command at
// most this many times ldapsearch's, JSON and text.
const dumpGoal = 1.2

// BenchmarkSourceDumpVsLdapsearch times the whole `syncd source dump`
// command (the built binary: start, bind, paged searches, decoding,
// nesting, rendering, writing) against ldapsearch -E pr=500/noprompt
// fetching the same entries with the same base, filter, attributes, page
// size and bind (two commands, users then groups), both writing to
// /dev/null, against one slapd loaded with slapadd -q from a generated
// directory (scalegen). Each iteration is one round of both, alternating
// which goes first; it prints the medians of wall and CPU time (user +
// system of the command's process; slapd's work is in the wall time) and
// the medians of the rounds' ratios beside the goal. Run several rounds:
//
//	go test ./cmd/syncd -run '^$' -bench BenchmarkSourceDumpVsLdapsearch -benchtime 15x
func BenchmarkSourceDumpVsLdapsearch(b *testing.B) {
	if _, err := exec.LookPath("ldapsearch"); err != nil {
		b.Skip("ldapsearch not installed (apt-get install ldap-utils)")
	}
	slapdtest.Require(b)
	bin, err := harness.Build(b.TempDir(), "syncd")
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range dumpSizes {
		b.Run(fmt.Sprintf("users=%d,groups=%d,memberships=%d", size.Users, size.Groups, size.Memberships()), func(b *testing.B) {
			co := scalegen.Generate(size)
			srv := slapdtest.Start(b, slapdtest.Options{LDIFFile: writeCompanyLDIF(b, co)})
			cfg, cfgFile := dumpBenchConfig(b, srv.URL)
			for _, format := range []string{"json", "text"} {
				b.Run("format="+format, func(b *testing.B) {
					dumpCmd := []string{bin, "source", "dump", "--config", cfgFile, "--format", format}
					checkDump(b, co, format, dumpCmd) // and warms slapd's caches
					benchVsLdapsearch(b, dumpCmd, ldapsearchCmds(srv.URL, cfg))
				})
			}
		})
	}
}

func writeCompanyLDIF(b testing.TB, co *scalegen.Company) string {
	path := filepath.Join(b.TempDir(), "company.ldif")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := co.WriteLDIF(f); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// dumpBenchConfig writes the config of the generated directory's source
// (ids from uid, so that the dump names the generated ids) and returns
// its LDAP settings with syncd's defaults applied, for ldapsearch.
func dumpBenchConfig(b testing.TB, url string) (config.LDAP, string) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ldap-password"), []byte(slapdtest.ReaderPW+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg := config.LDAP{URLs: []string{url}, BindDN: slapdtest.ReaderDN, PageSize: 500,
		Users:  config.LDAPUsers{BaseDN: scalegen.PeopleDN, IDAttribute: "uid"},
		Groups: config.LDAPGroups{BaseDN: scalegen.GroupsDN, Nested: true}}
	ldap.ApplyUserDefaults(&cfg.Users)
	ldap.ApplyGroupDefaults(&cfg.Groups)
	text := fmt.Sprintf(`teams:
  url: https://api.stackoverflowteams.com/v3/teams/acme
  token: not-used
sources:
  - name: %s
    ldap:
      url: %s
      bind_dn: %s
      bind_password_file: ldap-password
      page_size: %d
      users: {base_dn: %q, id_attribute: uid}
      groups: {base_dn: %q, nested: true}
`, scalegen.Source, url, cfg.BindDN, cfg.PageSize, cfg.Users.BaseDN, cfg.Groups.BaseDN)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	return cfg, path
}

// ldapsearchCmds are the two searches syncd makes, as ldapsearch commands.
func ldapsearchCmds(url string, cfg config.LDAP) [][]string {
	search := func(base, filter string, attrs []string) []string {
		return append([]string{"ldapsearch", "-LLL", "-x", "-H", url, "-D", cfg.BindDN, "-w", slapdtest.ReaderPW,
			"-b", base, "-s", "sub", "-E", fmt.Sprintf("pr=%d/noprompt", cfg.PageSize), filter}, attrs...)
	}
	return [][]string{
		search(cfg.Users.BaseDN, cfg.Users.Filter, ldap.UserAttributes(cfg.Users, nil)),
		search(cfg.Groups.BaseDN, cfg.Groups.Filter, ldap.GroupAttributes(cfg.Groups, nil)),
	}
}

// checkDump runs the dump once and checks that it shows the generated
// directory: the JSON form is the Document of the company, the text form
// names every membership.
func checkDump(b *testing.B, co *scalegen.Company, format string, args []string) {
	var out bytes.Buffer
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%v: %v", args, err)
	}
	if format == "text" {
		if lines := bytes.Count(out.Bytes(), []byte("@example.com")); lines != co.Size.Memberships() {
			b.Fatalf("the text dump shows %d memberships, want %d", lines, co.Size.Memberships())
		}
		return
	}
	var got dump.Document
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		b.Fatal(err)
	}
	if want := dump.New(co.Dir); !reflect.DeepEqual(got, want) {
		b.Fatalf("the JSON dump is not the generated directory (%d groups, %d users; want %d, %d)",
			len(got.Groups), got.Users, len(want.Groups), want.Users)
	}
}

// benchVsLdapsearch runs one round per iteration and reports the medians.
func benchVsLdapsearch(b *testing.B, dumpCmd []string, searches [][]string) {
	var syncdWall, syncdCPU, toolWall, toolCPU []time.Duration
	round := 0
	for b.Loop() {
		runDump := func() {
			w, c := timeCommand(b, dumpCmd)
			syncdWall, syncdCPU = append(syncdWall, w), append(syncdCPU, c)
		}
		runTool := func() {
			var w, c time.Duration
			for _, s := range searches {
				sw, sc := timeCommand(b, s)
				w, c = w+sw, c+sc
			}
			toolWall, toolCPU = append(toolWall, w), append(toolCPU, c)
		}
		if round%2 == 0 {
			runDump()
			runTool()
		} else {
			runTool()
			runDump()
		}
		round++
	}
	b.ReportMetric(float64(median(syncdWall).Milliseconds()), "syncd-ms")
	b.ReportMetric(float64(median(toolWall).Milliseconds()), "ldapsearch-ms")
	b.ReportMetric(medianRatio(syncdWall, toolWall), "syncd/ldapsearch")
	b.ReportMetric(dumpGoal, "goal")
	b.ReportMetric(float64(median(syncdCPU).Milliseconds()), "syncd-cpu-ms")
	b.ReportMetric(float64(median(toolCPU).Milliseconds()), "ldapsearch-cpu-ms")
	b.ReportMetric(medianRatio(syncdCPU, toolCPU), "cpu-syncd/ldapsearch")
	b.ReportMetric(0, "ns/op") // the medians are the figures
}

// medianRatio is the median of the rounds' ratios a[i]/b[i]: each round
// runs both back to back, so a ratio is taken under one load of a shared
// machine, which drifts between rounds.
func medianRatio(a, b []time.Duration) float64 {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = a[i].Seconds() / b[i].Seconds()
	}
	slices.Sort(r)
	return r[len(r)/2]
}

// timeCommand runs args with its output to /dev/null and returns its wall
// time and its CPU time.
func timeCommand(b *testing.B, args []string) (wall, cpu time.Duration) {
	cmd := exec.Command(args[0], args[1:]...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut // Stdout nil: /dev/null
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", args[0], err, errOut.Bytes())
	}
	return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
