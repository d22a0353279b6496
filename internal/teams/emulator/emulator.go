package emulator

import (
	"net/http"
	"time"
)

// Options tunes the emulator. Zero values mean the documented defaults.
type Options struct {
	BurstLimit   int           // requests per BurstWindow per token; default 50
	BurstWindow  time.Duration // default 2s
	BucketSize   int           // token bucket capacity; default 5000
	RefillAmount int           // tokens added every RefillEvery; default 100
	RefillEvery  time.Duration // default 60s
	NoThrottle   bool          // never answer 429; headers show a full budget

	FaultRate        float64       // share of requests answered 500/502/503 without applying
	LostResponseRate float64       // share of writes applied, then answered 502
	Latency          time.Duration // added before every answer

	DeleteMemberStatus int // 200 (default, per spec) or 204
	// UnknownUserStatus answers a write naming a user id that does not
	// exist: 404 (default) or 400 "User 13 not found", nothing changing;
	// or, for the adds of members and SME users, 200 ignoring the unknown
	// ids (REFERENCE.md §9.5 leaves all three open).
	UnknownUserStatus int
	EmptyTotalPages   int // totalPages for an empty list: 1 (default); -1 means 0

	Now      func() time.Time // clock for throttling and the request log; default time.Now
	RandSeed int64            // seed of the fault dice; 0 means 1
}

// Request is one entry of the request log.
type Request struct {
	Method string
	Path   string // as received, without the query
	Route  string // route template relative to the base URL ("" if none matched)
	Status int
	Time   time.Time
}

var _ http.Handler = (*Emulator)(nil)
