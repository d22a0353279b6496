package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/report"
)

// SavedPlanVersion is the format version of a saved plan file.
const SavedPlanVersion = 1

// SavedPlan is a plan written by `syncd sync --plan-out` for a later
// `syncd apply --plan`: the changes, who the ids are, and a fingerprint of
// every Teams group and tag the plan touches, to refuse a stale plan.
type SavedPlan struct {
	Version     int                 `json:"version"`
	CreatedAt   time.Time           `json:"created_at"`
	Plan        Plan                `json:"plan"`
	Fingerprint map[string]string   `json:"fingerprint"`
	Users       map[int]report.User `json:"users"`
	Pending     []report.Pending    `json:"pending"`
	Sources     []SourceStat        `json:"-"`
	Matched     int                 `json:"matched_users"`
	Errors      []string            `json:"errors"`
}

// Save returns the prepared run as a plan file's content.
func (p *Prepared) Save() *SavedPlan {
	return &SavedPlan{Version: SavedPlanVersion, CreatedAt: p.StartedAt, Plan: p.Plan, Fingerprint: p.Fingerprint,
		Users: p.Users, Pending: p.Pending, Matched: p.Matched, Errors: p.Errors}
}

// WriteTo writes the plan as indented JSON.
func (s *SavedPlan) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// ReadSavedPlan reads a plan file.
func ReadSavedPlan(r io.Reader) (*SavedPlan, error) {
	var s SavedPlan
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if s.Version != SavedPlanVersion {
		return nil, fmt.Errorf("read plan: format version %d, this syncd reads %d", s.Version, SavedPlanVersion)
	}
	return &s, nil
}

// fingerprint hashes the current state of every group and tag the plan
// writes (or creates: a group that must still be absent).
func fingerprint(p *Plan, cur Current) map[string]string {
	out := map[string]string{}
	byID := map[int]*CurrentGroup{}
	for i := range cur.Groups {
		byID[cur.Groups[i].ID] = &cur.Groups[i]
	}
	for _, g := range p.Groups {
		if g.Empty() {
			continue
		}
		out["group:"+g.Name] = groupPrint(g.Create, byID[g.ID], cur.Groups, g.Name)
	}
	for _, t := range p.Tags {
		if t.Empty() {
			continue
		}
		out["tag:"+t.Tag] = tagPrint(cur.Tags[strings.ToLower(t.Tag)])
	}
	return out
}

func groupPrint(create bool, g *CurrentGroup, all []CurrentGroup, name string) string {
	if create {
		for _, x := range all {
			if strings.EqualFold(x.Name, name) {
				return hashOf("present", x.ID)
			}
		}
		return "absent"
	}
	if g == nil {
		return "absent"
	}
	return hashOf(g.ID, g.Name, g.Description, g.Members)
}

func tagPrint(t *CurrentTag) string {
	if t == nil || t.Err != "" {
		return "unreadable"
	}
	return hashOf(t.ID, t.Users, t.Groups)
}

func hashOf(v ...any) string {
	data, _ := json.Marshal(v)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:12])
}

// ApplySaved re-reads the Teams state a saved plan touches and, when
// nothing drifted, applies exactly that plan. Drift is an error naming
// what changed; nothing is written then.
func (e *Engine) ApplySaved(ctx context.Context, s *SavedPlan) (*Result, error) {
	p := &Prepared{StartedAt: e.now(), Calls0: e.api.Calls(), Plan: s.Plan, Users: s.Users, Pending: s.Pending, Matched: s.Matched}
	var tagNames []string
	for _, t := range s.Plan.Tags {
		if !t.Empty() {
			tagNames = append(tagNames, t.Tag)
		}
	}
	view, err := e.readCurrent(ctx, tagNames)
	if err != nil {
		return e.Fail(p, err), err
	}
	if drift := Drift(s.Fingerprint, fingerprint(&s.Plan, view.cur)); len(drift) > 0 {
		err := fmt.Errorf("the plan is stale: Teams changed since it was made (%s); run syncd sync again", strings.Join(drift, "; "))
		return e.Fail(p, err), err
	}
	if p.Users == nil {
		p.Users = map[int]report.User{}
	}
	return e.Execute(ctx, p), nil
}

// Drift names the entries whose fingerprint differs.
func Drift(saved, now map[string]string) []string {
	var out []string
	for k, v := range saved {
		if now[k] != v {
			kind, name, _ := strings.Cut(k, ":")
			what := "user group"
			if kind == "tag" {
				what = "SMEs of tag"
			}
			out = append(out, fmt.Sprintf("%s %q changed", what, name))
		}
	}
	slices.Sort(out)
	return out
}
