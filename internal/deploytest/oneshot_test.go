package deploytest

import (
	"testing"
	"time"

	"github.com/syncd/syncd/internal/teams"
)

// firstApplyCalls is the calls of a first apply at the size syncd is
// measured at (docs/scaling.md: 10,000 groups, 500 tags).
const firstApplyCalls = 13003

// The one-shot runs (the systemd timer's service, the Kubernetes CronJob)
// must outlast a first apply at that size: the API's limits alone make it
// take 81 minutes. A deadline that cuts it does no harm to the data (the
// next run finishes it) but fails the unit or the job on every run of a
// normal first apply. Twice the floor leaves room for the reads and the
// directory.
func TestOneShotsOutlastAFirstApply(t *testing.T) {
	need := 2 * teams.Documented.Floor(firstApplyCalls, teams.Documented.Bucket)
	sync := unitSettings(t, "syncd-sync.service")
	if len(sync["TimeoutStartSec"]) != 1 {
		t.Fatalf("syncd-sync.service TimeoutStartSec %q, want one", sync["TimeoutStartSec"])
	}
	unit, err := time.ParseDuration(sync["TimeoutStartSec"][0])
	if err != nil {
		t.Fatalf("syncd-sync.service TimeoutStartSec: %v", err)
	}
	job, ok := dig(mustGet(t, manifests(t), "CronJob/syncd-sync"), "spec", "jobTemplate", "spec", "activeDeadlineSeconds").(int)
	if !ok {
		t.Fatal("the CronJob has no activeDeadlineSeconds")
	}
	for what, d := range map[string]time.Duration{"syncd-sync.service TimeoutStartSec": unit, "CronJob activeDeadlineSeconds": time.Duration(job) * time.Second} {
		if d < need {
			t.Errorf("%s is %v: a first apply of %d calls takes at least %v under the API's limits (want %v or more)",
				what, d, firstApplyCalls, need/2, need)
		}
	}
	// journald drops a unit's lines past 10,000 in 30 s unless told not
	// to, and a first apply's report has a line per person added.
	if v := sync["LogRateLimitIntervalSec"]; len(v) != 1 || v[0] != "0" {
		t.Errorf("syncd-sync.service LogRateLimitIntervalSec %q, want 0 (the report goes to the journal)", v)
	}
}
