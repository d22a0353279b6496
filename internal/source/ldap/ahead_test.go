package ldap

import (
	"slices"
	"testing"
	"time"
)

// opsOn returns the index of the connection an operation was seen on, -1
// if none.
func opsOn(s *fakeServer, op string) int {
	for i, ops := range s.seenOn() {
		if slices.Contains(ops, op) {
			return i
		}
	}
	return -1
}

func checkFakeGroup(t *testing.T, s *fakeServer, users int) {
	t.Helper()
	d, err := fakeRead(t, fakeConfig(s.url))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Users) != users || len(d.Group("all").Members) != users {
		t.Fatalf("read %d users, group of %d; want %d and %d", len(d.Users), len(d.Group("all").Members), users, users)
	}
}

// The groups are listed on a second connection while the users are read:
// here the users' first page is answered only once the group search has
// arrived, which it can only do on another connection.
func TestGroupsListedWhileUsersAreRead(t *testing.T) {
	groupsAsked := make(chan struct{})
	var once bool
	s := startFake(t, &fakeServer{}, func(c *fakeConn, req fakeRequest) {
		if req.op == appSearchRequest && req.base == fakeGroups && !once {
			once = true // one group search per read; the handler runs on one connection at a time here
			close(groupsAsked)
		}
		fakeDirectory(5, func(c *fakeConn, req fakeRequest, page int) bool {
			if page == 0 {
				select {
				case <-groupsAsked:
				case <-time.After(10 * time.Second): // the test fails below
				}
			}
			return false
		})(c, req)
	})
	checkFakeGroup(t, s, 5)
	users, groups := opsOn(s, "search "+fakeUsers), opsOn(s, "search "+fakeGroups)
	if users < 0 || groups < 0 || users == groups {
		t.Errorf("users searched on connection %d, groups on %d; want two connections: %v", users, groups, s.seenOn())
	}
}

// A server that refuses the second connection's bind (a limit on
// connections per account, say) costs nothing but the time: the groups
// are listed on the first connection after the users.
func TestGroupsReadAfterUsersWhenNoSecondConnection(t *testing.T) {
	s := startFake(t, &fakeServer{}, func(c *fakeConn, req fakeRequest) {
		if req.op == appBindRequest && c.n > 0 {
			c.write(c.s.msg(req.id, c.s.result(appBindResponse, 51, "too many connections"))) // busy
			return
		}
		fakeDirectory(5, nil)(c, req)
	})
	checkFakeGroup(t, s, 5)
	if users, groups := opsOn(s, "search "+fakeUsers), opsOn(s, "search "+fakeGroups); users != 0 || groups != 0 {
		t.Errorf("users searched on connection %d, groups on %d; want both on the first: %v", users, groups, s.seenOn())
	}
}

// A server that serves one connection at a time never answers the second
// while the first is open: the read does not wait for it (it would wait
// until its timeout, then fail), it lists the groups on the first.
func TestGroupsReadAfterUsersWhenSecondConnectionHangs(t *testing.T) {
	release := make(chan struct{})
	s := startFake(t, &fakeServer{}, func(c *fakeConn, req fakeRequest) {
		if c.n > 0 {
			<-release // never answered while the test runs
			return
		}
		fakeDirectory(5, nil)(c, req)
	})
	t.Cleanup(func() { close(release) }) // before the server's own cleanup waits for its connections
	checkFakeGroup(t, s, 5)
	if groups := opsOn(s, "search "+fakeGroups); groups != 0 {
		t.Errorf("groups searched on connection %d, want the first: %v", groups, s.seenOn())
	}
}
