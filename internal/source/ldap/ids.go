package ldap

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// formatID renders an id attribute's value. Active Directory's objectGUID
// and objectSid are binary; their canonical string forms are what admins see
// in AD tools, so those are what syncd stores and prints.
func formatID(attr, raw string) string {
	switch strings.ToLower(attr) {
	case "objectguid":
		if len(raw) == 16 {
			return formatGUID([]byte(raw))
		}
	case "objectsid":
		if s, ok := formatSID([]byte(raw)); ok {
			return s
		}
	}
	return raw
}

// formatGUID renders a GUID in its registry form: the first three groups are
// stored little-endian.
func formatGUID(b []byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]),
		binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]),
		b[8:10], b[10:16])
}

// formatSID renders a security identifier as S-R-A-S1-S2-...
func formatSID(b []byte) (string, bool) {
	if len(b) < 8 || len(b) != 8+4*int(b[1]) {
		return "", false
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var s strings.Builder
	s.WriteString("S-" + strconv.Itoa(int(b[0])) + "-" + strconv.FormatUint(auth, 10))
	for i := 8; i < len(b); i += 4 {
		s.WriteString("-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[i:i+4])), 10))
	}
	return s.String(), true
}
