package config

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours: retention and approval periods are read in days.
const Day = 24 * time.Hour

// ParseDuration reads a duration as Go writes it ("30s", "1h30m") with
// whole days allowed in front ("400d", "7d", "1d12h"): retention and
// "since" periods are thought of in days, and 9600h says 400 days badly.
func ParseDuration(s string) (time.Duration, error) {
	days, rest, ok := strings.Cut(s, "d")
	if !ok || days == "" || strings.ContainsAny(days, ".+-") {
		return time.ParseDuration(s)
	}
	n, err := strconv.Atoi(days)
	if err != nil {
		return time.ParseDuration(s) // its own message names the unit it did not expect
	}
	if n > int(time.Duration(1<<63-1)/Day) {
		return 0, errors.New("time: invalid duration " + strconv.Quote(s) + ": too many days")
	}
	d := time.Duration(n) * Day
	if rest == "" {
		return d, nil
	}
	r, err := time.ParseDuration(rest)
	if err != nil || r < 0 {
		return 0, errors.New("time: invalid duration " + strconv.Quote(s))
	}
	return d + r, nil
}
