package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/syncd/syncd/internal/backoff"
	"github.com/syncd/syncd/internal/config"
)

// Doer sends an HTTP request: an *http.Client.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// NewClient is the HTTP client webhooks get by default: TLS verified
// against the system's roots, the environment's proxy (HTTPS_PROXY), and
// no redirects followed: a webhook that redirects is misconfigured, and
// following it would post the message (for Slack, as a GET) elsewhere.
func NewClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// target is one configured webhook.
type target struct {
	name   string // "notify.webhooks[0]": what logs call it
	host   string
	format string
	url    string // the secret: only ever put in a request
	redact redactor
}

func newTarget(i int, w config.Webhook) target {
	raw := w.URL.Reveal()
	return target{name: fmt.Sprintf("notify.webhooks[%d]", i), host: hostOf(raw), format: w.Format,
		url: raw, redact: newRedactor(raw)}
}

// attemptError is why one attempt failed, already redacted.
type attemptError struct {
	msg        string
	status     int           // the answer's status; 0 when none came
	retry      bool          // another attempt may succeed
	retryAfter time.Duration // the receiver asked to wait this long
}

func (e *attemptError) Error() string { return e.msg }

// deliver posts body to t, retrying what may succeed later (no answer,
// 429, 5xx) with backoff until Attempts are spent or ctx (the run's
// budget) would end before the next one. It returns the attempts made.
func (n *Notifier) deliver(ctx context.Context, t target, body []byte) (int, error) {
	for attempt := 0; ; attempt++ {
		err := n.post(ctx, t, body)
		if err == nil {
			return attempt + 1, nil
		}
		var ae *attemptError
		if !errors.As(err, &ae) || !ae.retry || attempt+1 >= n.o.Attempts || ctx.Err() != nil {
			return attempt + 1, err
		}
		wait := max(n.o.Backoff.Wait(attempt), ae.retryAfter)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return attempt + 1, fmt.Errorf("%w (no time left to try again)", err)
		}
		if backoff.Sleep(ctx, wait) != nil {
			return attempt + 1, err
		}
	}
}

// maxAnswer bounds what is read of an answer; excerpt is what an error
// quotes of it.
const (
	maxAnswer = 64 << 10
	excerpt   = 200
)

// post makes one attempt, bounded by AttemptTimeout.
func (n *Notifier) post(ctx context.Context, t target, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, n.o.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return &attemptError{msg: t.redact.String("build the request: " + err.Error())}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", n.o.UserAgent)
	resp, err := n.o.Client.Do(req)
	if err != nil {
		return &attemptError{msg: "POST to " + t.host + ": " + t.redact.String(transportError(ctx, err)), retry: true}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return check(t, resp, answer)
}

// transportError is the cause of a request that got no answer, without
// net/http's "Post \"URL\": " prefix (the redactor would catch the URL,
// but the host is the useful part and is said already).
func transportError(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "no answer in time"
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		err = ue.Unwrap()
	}
	return err.Error()
}

// check reads a webhook's answer: 2xx is delivered; 429 and 5xx may
// succeed later; anything else (a revoked or mistyped URL, a payload the
// receiver refuses, a redirect) will not.
func check(t target, resp *http.Response, answer []byte) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return teamsDeliveryError(t, answer)
	}
	e := &attemptError{status: code, msg: fmt.Sprintf("%s answered %s", t.host, resp.Status)}
	if text := quote(t, answer); text != "" {
		e.msg += ": " + text
	}
	switch {
	case code == http.StatusTooManyRequests:
		e.retry, e.retryAfter = true, retryAfter(resp.Header.Get("Retry-After"))
	case code >= 500:
		e.retry = true
	case code >= 300 && code < 400:
		e.msg += " (redirects are not followed: check the webhook URL)"
	}
	return e
}

// teamsDeliveryError catches the older Office 365 incoming webhooks,
// which answer 200 with "Webhook message delivery failed with error: …"
// when Teams refused the message.
func teamsDeliveryError(t target, answer []byte) error {
	if t.format != config.FormatMSTeams || !bytes.Contains(answer, []byte("delivery failed")) {
		return nil
	}
	text := quote(t, answer)
	return &attemptError{status: http.StatusOK, msg: t.host + " did not deliver the message: " + text,
		retry: strings.Contains(text, "error 429") || strings.Contains(text, "error 5")}
}

// quote is the start of an answer, on one line, redacted.
func quote(t target, answer []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, string(answer))
	s = strings.Join(strings.Fields(s), " ")
	s = t.redact.String(s)
	return cut(s, excerpt)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(time.Until(at), 0)
	}
	return 0
}
