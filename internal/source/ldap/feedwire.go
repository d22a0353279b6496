package ldap

import (
	"fmt"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// The change feeds speak over the reader's own wire code (wire.go) rather
// than go-ldap's asynchronous searches: they then dial, upgrade, bind and
// fail over exactly as a read does (one TLS configuration, one BindError),
// entries arrive as the Entry the reader maps (binary objectGUID and
// objectSid kept as bytes), and every end of a feed is an error the feed
// sees — go-ldap's Syncrepl and SearchAsync end a cancelled or dropped
// search without one, which a feed must never take for "nothing changed".

// BER tags met in controls and intermediate responses.
const (
	ctxTag0 = 0x80 // [0] primitive
	ctxTag1 = 0x81 // [1] primitive
	ctxSeq1 = 0xa1 // [1] constructed
	ctxSeq2 = 0xa2
	ctxSeq3 = 0xa3
)

// control encodes one request control.
func control(oid string, critical bool, value []byte) []byte {
	parts := [][]byte{tlv(tagOctetString, []byte(oid))}
	if critical {
		parts = append(parts, tlv(tagBoolean, []byte{0xff}))
	}
	if value != nil {
		parts = append(parts, tlv(tagOctetString, value))
	}
	return tlv(tagSequence, parts...)
}

// responseControls decodes a message's controls into their values by OID
// (copied out of the read buffer). A control without a value maps to an
// empty slice.
func responseControls(ctrls *berReader) (map[string][]byte, error) {
	out := map[string][]byte{}
	if ctrls == nil {
		return out, nil
	}
	for ctrls.more() {
		c, err := ctrls.sub(tagSequence)
		if err != nil {
			return nil, err
		}
		oid, err := c.bytes(tagOctetString)
		if err != nil {
			return nil, err
		}
		if c.peek() == tagBoolean {
			if _, err := c.bytes(tagBoolean); err != nil {
				return nil, err
			}
		}
		var val []byte
		if c.more() {
			v, err := c.bytes(tagOctetString)
			if err != nil {
				return nil, err
			}
			val = append([]byte{}, v...)
		}
		out[string(oid)] = append([]byte{}, val...)
	}
	return out, nil
}

// boolean reads an optional BOOLEAN, def when absent.
func (r *berReader) boolean(def bool) (bool, error) {
	if !r.more() || r.peek() != tagBoolean {
		return def, nil
	}
	b, err := r.bytes(tagBoolean)
	if err != nil || len(b) != 1 {
		return false, errBER
	}
	return b[0] != 0, nil
}

// optBytes reads an optional element of tag as a copy; nil when absent.
func (r *berReader) optBytes(tag byte) ([]byte, error) {
	if !r.more() || r.peek() != tag {
		return nil, nil
	}
	b, err := r.bytes(tag)
	return append([]byte{}, b...), err
}

// message is one answer to a streamed search.
type message struct {
	tag   byte              // appSearchEntry, appSearchReference or appIntermediate
	entry *Entry            // for appSearchEntry
	ctrls map[string][]byte // the message's controls
	name  string            // an intermediate response's name
	value []byte            // an intermediate response's value
}

// stream sends a search that may run for ever (a persistent search, RFC
// 4533's refreshAndPersist) and hands each answer to each until the
// search ends: it returns the SearchResultDone's controls and its result
// as an error (nil for success). The request's deadline is lifted once it
// is sent: a feed waits as long as nothing changes, and cancelling the
// session's context is what ends it.
func (w *wireConn) stream(req, controls []byte, each func(message) error) (map[string][]byte, error) {
	if err := w.send(req, controls); err != nil {
		return nil, err
	}
	if err := w.conn.SetDeadline(time.Time{}); err != nil {
		return nil, w.fail(err)
	}
	return w.readStream(each)
}

// readStream reads the answers of the request last sent, as stream does.
func (w *wireConn) readStream(each func(message) error) (map[string][]byte, error) {
	for {
		tag, body, ctrls, err := w.readResponse()
		if err != nil {
			return nil, err
		}
		m := message{tag: tag}
		if m.ctrls, err = responseControls(ctrls); err != nil {
			return nil, w.fail(err)
		}
		switch tag {
		case appSearchDone:
			return m.ctrls, resultOf(body)
		case appSearchEntry:
			if m.entry, err = w.decodeEntry(body); err != nil {
				return nil, w.fail(err)
			}
		case appIntermediate:
			if m.name, m.value, err = intermediate(body); err != nil {
				return nil, w.fail(err)
			}
		case appSearchReference:
		default:
			return nil, w.fail(fmt.Errorf("unexpected response to a search (tag %#x)", tag))
		}
		if err := each(m); err != nil {
			return nil, w.fail(err) // the rest of the answer stays on the wire
		}
	}
}

// intermediate decodes an IntermediateResponse: [0] responseName and [1]
// responseValue, both optional.
func intermediate(r *berReader) (string, []byte, error) {
	name, err := r.optBytes(ctxTag0)
	if err != nil {
		return "", nil, err
	}
	value, err := r.optBytes(ctxTag1)
	return string(name), value, err
}

// searchWith runs one search with extra request controls (not paged),
// hands each entry to each and returns the SearchResultDone's controls.
func (s *session) searchWith(q query, controls []byte, each func(*Entry) error) (map[string][]byte, error) {
	s.logSearch(q)
	filter, err := compileFilter(q.filter)
	if err != nil {
		return nil, s.searchErr(q, err)
	}
	req := searchRequest(q.base, q.scope, s.timeLimit(), filter, q.attrs)
	if err := s.conn.send(req, controls); err != nil {
		return nil, s.searchErr(q, err)
	}
	done, err := s.conn.readStream(func(m message) error {
		if m.tag == appSearchEntry {
			return each(m.entry)
		}
		return nil // references and intermediate responses carry nothing a poll needs
	})
	if err != nil {
		return nil, s.searchErr(q, err)
	}
	return done, nil
}

// compileFilter encodes an LDAP filter string.
func compileFilter(f string) ([]byte, error) {
	p, err := goldap.CompileFilter(f)
	if err != nil {
		return nil, err
	}
	return p.Bytes(), nil
}
