package approval

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
)

var now = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func keep(t *testing.T, s *state.Store, r report.Report) {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddReport(r.StartedAt, data); err != nil {
		t.Fatal(err)
	}
}

func held(id, group string, emails ...string) report.Change {
	c := report.Change{Kind: report.KindRemoveMembers, Group: group, Status: report.StatusHeld, ID: id, Reason: "over budget"}
	for i, e := range emails {
		c.Users = append(c.Users, report.User{ID: 10 + i, Email: e})
	}
	return c
}

func TestApprove(t *testing.T) {
	s := state.Memory()
	if _, err := Approve(s, Request{IDs: []string{"aaaaaaaaaaaa"}}, now); !errors.Is(err, ErrNoRun) {
		t.Errorf("no run yet: %v, want ErrNoRun", err)
	}
	keep(t, s, report.Report{RunID: "run-1", StartedAt: now.Add(-2 * time.Hour),
		Changes: []report.Change{held("aaaaaaaaaaaa", "Old", "x@example.com")}})
	keep(t, s, report.Report{RunID: "run-2", StartedAt: now.Add(-time.Hour), Changes: []report.Change{
		held("bbbbbbbbbbbb", "Platform", "alice@example.com", "bob@example.com"), held("cccccccccccc", "SRE", "carl@example.com"),
		{Kind: report.KindAddMembers, Group: "Platform", Status: report.StatusPlanned}}})
	keep(t, s, report.Report{RunID: "run-3", StartedAt: now.Add(-time.Minute), NothingCompared: true, Errors: []string{"teams down"}})

	latest, list := List(s, now)
	if latest == nil || latest.RunID != "run-2" || len(list) != 2 || list[0].Change.ID != "bbbbbbbbbbbb" || list[0].Approval != nil {
		t.Fatalf("List: run %v, %+v; want the 2 held changes of run-2 (run-3 failed before planning)", latest, list)
	}

	_, err := Approve(s, Request{IDs: []string{"bbbbbbbbbbbb", "dddddddddddd"}, By: "bob"}, now)
	var unknown *UnknownError
	if !errors.As(err, &unknown) || len(unknown.IDs) != 1 || unknown.IDs[0] != "dddddddddddd" {
		t.Errorf("an unknown id: %v, want an UnknownError naming it", err)
	}
	if got := s.Approvals(now); len(got) != 0 {
		t.Errorf("an unknown id among others approved %v; want nothing", got)
	}

	got, err := Approve(s, Request{IDs: []string{" BBBBBBBBBBBB", "aaaaaaaaaaaa"}, By: "bob", Target: "site"}, now)
	if err != nil || len(got) != 2 {
		t.Fatalf("Approve = %+v, %v", got, err)
	}
	b := s.Approvals(now)["bbbbbbbbbbbb"]
	if b.Group != "Platform" || b.RunID != "run-2" || len(b.Users) != 2 || b.Target != "site" || b.Reason != "over budget" ||
		!b.Expires.Equal(now.Add(DefaultTTL)) {
		t.Errorf("recorded approval %+v: want Platform's 2 people from run-2, for 24h", b)
	}
	if a := s.Approvals(now)["aaaaaaaaaaaa"]; a.RunID != "run-1" {
		t.Errorf("an id of an older kept run: %+v, want it approved as run-1 described it", a)
	}
	if _, list = List(s, now); list[0].Approval == nil || list[1].Approval != nil {
		t.Errorf("List after approving: %+v", list)
	}

	all, err := Approve(s, Request{All: true, TTL: time.Hour, By: "carol"}, now)
	if err != nil || len(all) != 2 || !all[1].Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("--all: %+v, %v; want the 2 held changes of the latest run for an hour", all, err)
	}
	for _, ttl := range []time.Duration{-time.Hour, MaxTTL + time.Second} {
		var te *TTLError
		if _, err := Approve(s, Request{All: true, TTL: ttl}, now); !errors.As(err, &te) {
			t.Errorf("ttl %v: %v, want a TTLError", ttl, err)
		}
	}
}

func TestNothingHeld(t *testing.T) {
	s := state.Memory()
	keep(t, s, report.Report{RunID: "run-1", StartedAt: now, Changes: []report.Change{{Kind: report.KindAddMembers, Status: report.StatusApplied}}})
	if _, err := Approve(s, Request{All: true}, now); !errors.Is(err, ErrNothingHeld) {
		t.Errorf("--all without held changes: %v, want ErrNothingHeld", err)
	}
}

// A change held by several kept runs is approved as the newest of them
// described it; the kept reports are read newest first.
func TestNewestReportDescribesAChange(t *testing.T) {
	s := state.Memory()
	for i, group := range []string{"Old name", "New name"} {
		changes := []report.Change{held("eeeeeeeeeeee", group, "x@example.com")}
		if i == 0 {
			changes = append(changes, held("aaaaaaaaaaaa", "Other", "y@example.com"))
		}
		keep(t, s, report.Report{RunID: fmt.Sprint("run-", i+1), StartedAt: now.Add(time.Duration(i-2) * time.Hour), Changes: changes})
	}
	keep(t, s, report.Report{RunID: "run-3", StartedAt: now.Add(-time.Minute), NothingCompared: true})
	if _, err := Approve(s, Request{IDs: []string{"eeeeeeeeeeee", "aaaaaaaaaaaa"}}, now); err != nil {
		t.Fatal(err)
	}
	if a := s.Approvals(now)["eeeeeeeeeeee"]; a.RunID != "run-2" || a.Group != "New name" {
		t.Errorf("approved %+v, want it as run-2 described it", a)
	}
}
