package daemon

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// Notifier speaks systemd's sd_notify protocol: datagrams of KEY=VALUE
// lines sent to the unix socket named by $NOTIFY_SOCKET. It is a few lines
// of code, not worth a dependency. A nil *Notifier (no socket) does nothing.
type Notifier struct {
	addr     *net.UnixAddr
	watchdog time.Duration
}

// NewNotifier reads $NOTIFY_SOCKET and $WATCHDOG_USEC/$WATCHDOG_PID through
// getenv. It returns nil when syncd was not started by systemd with
// Type=notify, which makes every method a no-op.
func NewNotifier(getenv func(string) string, pid int) *Notifier {
	path := getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' { // abstract namespace socket
		path = "\x00" + path[1:]
	}
	n := &Notifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}
	n.watchdog = watchdogInterval(getenv, pid)
	return n
}

// watchdogInterval is half of $WATCHDOG_USEC, as sd_watchdog_enabled advises,
// when the watchdog is meant for this process; 0 when it is off.
func watchdogInterval(getenv func(string) string, pid int) time.Duration {
	usec, err := strconv.ParseInt(getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if p := getenv("WATCHDOG_PID"); p != "" && p != strconv.Itoa(pid) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// Notify sends one state message such as "READY=1" or "STATUS=...".
func (n *Notifier) Notify(state string) error {
	if n == nil {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// WatchdogInterval is how often WATCHDOG=1 must be sent; 0 means never.
func (n *Notifier) WatchdogInterval() time.Duration {
	if n == nil {
		return 0
	}
	return n.watchdog
}
