package teamstest

type limiter struct{}
