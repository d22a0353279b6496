package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/scimserver"
)

// damages are the ways a state file is found damaged: emptied, cut
// short at several places, or one page in use overwritten with garbage.
func damages(t *testing.T, path string) map[string][]byte {
	t.Helper()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	used, pageSize, leaf := layout(t, path)
	garbage := bytes.Clone(good)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := leaf * pageSize; i < (leaf+1)*pageSize; i++ {
		garbage[i] = byte(rng.UintN(256))
	}
	return map[string][]byte{
		"zero length":               {},
		"truncated to 100 bytes":    good[:100],
		"truncated to 2 pages":      good[:2*pageSize],
		"truncated to half":         good[:used/2],
		"one byte short":            good[:used-1],
		"a page in use overwritten": garbage,
	}
}

// layout is the size of the pages in use, the page size, and a leaf page.
func layout(t *testing.T, path string) (used, pageSize, leaf int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	leaf = -1
	err = db.View(func(tx *bolt.Tx) error {
		used = int(tx.Size())
		for id := 2; ; id++ {
			p, err := tx.Page(id)
			if err != nil || p == nil {
				return err
			}
			if p.Type == "leaf" && leaf < 0 {
				leaf = id
			}
		}
	})
	if err != nil || leaf < 0 {
		t.Fatalf("no leaf page in %s: %v", path, err)
	}
	return used, db.Info().PageSize, leaf
}

// wantRefused checks a run refused by a damaged file: exit 1, a message
// naming the file and the way out.
func wantRefused(t *testing.T, p *proc, path string) {
	t.Helper()
	out := p.stdout.String() + p.stderr.String()
	if p.code != exitFailure || !strings.Contains(out, path) || !strings.Contains(out, "--reset-state") {
		t.Errorf("want exit 1 and a message naming %s and --reset-state:\n%s", path, p)
	}
}

// wantMovedAside checks that --reset-state kept the damaged file aside,
// said where, and left no other copy.
func wantMovedAside(t *testing.T, p *proc, path string, damaged []byte) {
	t.Helper()
	moved, _ := filepath.Glob(path + ".damaged-*")
	if len(moved) != 1 {
		t.Fatalf("want the damaged file moved aside once, found %v:\n%s", moved, p)
	}
	if !strings.Contains(p.stderr.String(), "moved it to "+moved[0]) {
		t.Errorf("the run does not say where the damaged file went:\n%s", p)
	}
	if got, err := os.ReadFile(moved[0]); err != nil || !bytes.Equal(got, damaged) {
		t.Errorf("the file moved aside is not the damaged file (%v)", err)
	}
	_ = os.Remove(moved[0])
}

// TestDamagedStateFile: a damaged syncd.db stops every command that uses
// the state with exit 1 and a message naming the file and --reset-state
// (never a panic, never exit 2); nothing is written to Teams; and
// --reset-state moves it aside and the run succeeds.
func TestDamagedStateFile(t *testing.T) {
	w := newStateWorld(t, false)
	w.run(exitOK, "sync", "--apply")
	w.run(exitOK, "sync", "--apply") // a second run gives the file free pages too
	good, err := os.ReadFile(w.dbPath())
	if err != nil {
		t.Fatal(err)
	}
	for name, damaged := range damages(t, w.dbPath()) {
		t.Run(name, func(t *testing.T) {
			w.t = t
			if err := os.WriteFile(w.dbPath(), damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			writes := len(w.writes())
			for _, args := range [][]string{{"sync"}, {"sync", "--apply"}, {"explain", "alice@example.com"}, {"run", "--apply"}} {
				wantRefused(t, w.start(args...).wait(t), w.dbPath())
			}
			if got := len(w.writes()); got != writes {
				t.Errorf("%d writes sent with a damaged state", got-writes)
			}
			p := w.run(exitOK, "sync", "--apply", "--reset-state")
			wantMovedAside(t, p, w.dbPath(), damaged)
			w.wantTeams("after --reset-state", converged())
			if err := os.WriteFile(w.dbPath(), good, 0o600); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// receiverWorld adds a SCIM receiver source to a state world, with a
// store file holding what an identity provider sent, and a daemon listen
// address.
func receiverWorld(t *testing.T) (*stateWorld, string, string) {
	w := newStateWorld(t, false)
	listen := freeAddr(t)
	path := scimserver.StorePath(w.stateDir(), "entra")
	store, err := scimserver.OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(scimserver.NewHandler("entra", store, "receiver-token-0123456789abcdef", func() {}, zap.NewNop()))
	defer srv.Close()
	var ids []string
	for _, p := range statePeople[:5] {
		body := fmt.Sprintf(`{"userName": %q, "emails": [{"value": %q}], "displayName": %q}`, p.Email, p.Email, p.Name)
		ids = append(ids, scimPost(t, srv.URL+"/Users", body))
	}
	scimPost(t, srv.URL+"/Groups", fmt.Sprintf(`{"displayName": "eng", "members": [{"value": %q}, {"value": %q}]}`, ids[0], ids[1]))
	cfg, err := os.ReadFile(w.configPath())
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(cfg), "groups:\n", "  - name: entra\n    scim_receiver: {token: receiver-token-0123456789abcdef}\ngroups:\n  - {source: entra, from: eng, to: Eng}\n", 1)
	s += "server:\n  listen: " + listen + "\n"
	if err := os.WriteFile(w.configPath(), []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return w, path, listen
}

func scimPost(t *testing.T, url, body string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer receiver-token-0123456789abcdef")
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("POST %s: %d", url, resp.StatusCode)
	}
	return out.ID
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDamagedReceiverFile: the SCIM receiver's store (what syncd told the
// identity provider it had stored) damaged: the daemon refuses to start
// and a sync refuses to use it, each with exit 1 and a message naming the
// file and --reset-state; `syncd run --reset-state` moves it aside and
// starts.
func TestDamagedReceiverFile(t *testing.T) {
	w, path, listen := receiverWorld(t)
	w.run(exitOK, "sync")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, damaged := range damages(t, path) {
		t.Run(name, func(t *testing.T) {
			w.t = t
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, w.start("sync").wait(t), path)
			wantRefused(t, w.start("run").wait(t), path)

			d := w.start("run", "--reset-state")
			waitHealthy(t, d, listen)
			_ = d.cmd.Process.Signal(syscall.SIGTERM)
			d.wait(t)
			if d.code != exitOK {
				t.Fatalf("daemon after --reset-state:\n%s", d)
			}
			wantMovedAside(t, d, path, damaged)
			if err := os.WriteFile(path, good, 0o600); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Nothing was written on the evidence of a damaged file, and what the
	// receiver stored is all there once the file is sound again.
	if n := len(w.writes()); n != 0 {
		t.Errorf("%d writes sent", n)
	}
	if p := w.run(exitOK, "sync"); !strings.Contains(p.stdout.String(), "Eng") {
		t.Errorf("the receiver's group is not read back:\n%s", p)
	}
}

func waitHealthy(t *testing.T, d *proc, listen string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + listen + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-d.done:
			t.Fatalf("the daemon exited:\n%s", d)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not become healthy:\n%s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
