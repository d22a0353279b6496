package plan

import (
	"fmt"

	"github.com/syncd/syncd/internal/idset"
)

// AmbiguousError is a Teams group name that several groups carry: mapping
// either would be a guess, so nothing is planned on it.
type AmbiguousError struct {
	Tag  string // the tag whose SME group it is; "" for a mapping's group
	Name string
	IDs  []int
}

func (e *AmbiguousError) Error() string {
	if e.Tag == "" {
		return fmt.Sprintf("user group %q: the name matches %d Teams groups (ids %s); rename all but one, nothing planned for it",
			e.Name, len(e.IDs), idset.Join(e.IDs))
	}
	return fmt.Sprintf("tag %q: SME group %q matches %d Teams groups (ids %s); rename all but one",
		e.Tag, e.Name, len(e.IDs), idset.Join(e.IDs))
}

// RenamedError is a user group syncd kept in step under a name that no
// Teams group carries any more, while the group it was is still there
// under another name: renamed in Teams. Creating one of the old name would
// make a second group (no API deletes one), so nothing is planned for it.
type RenamedError struct {
	Tag  string // the tag whose SME group it is; "" for a mapping's group
	Name string // the name the configuration gives
	ID   int
	Now  string // the name the group carries now
}

func (e *RenamedError) Error() string {
	if e.Tag != "" {
		return fmt.Sprintf("tag %q: SME group %q was renamed in Teams (user group %d is %q now); nothing planned for it", e.Tag, e.Name, e.ID, e.Now)
	}
	return fmt.Sprintf("user group %q: renamed in Teams to %q (user group %d, which syncd kept in step under the old name); "+
		"syncd does not create another %q, as no API deletes a group: rename it back in Teams, set to: %q in the configuration, "+
		"or create %q in Teams yourself for syncd to keep in step; nothing planned for it",
		e.Name, e.Now, e.ID, e.Name, e.Now, e.Name)
}

// MissingGroupError is an SME group that neither exists in Teams nor is
// created by a mapping.
type MissingGroupError struct{ Tag, Name string }

func (e *MissingGroupError) Error() string {
	return fmt.Sprintf("tag %q: SME group %q does not exist in Teams and no mapping creates it", e.Tag, e.Name)
}

// TagError is a tag whose SMEs could not be read (Err nil: not read at
// all): nothing is planned for it.
type TagError struct {
	Tag string
	Err error
}

func (e *TagError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("tag %q: not read", e.Tag)
	}
	return fmt.Sprintf("tag %q: %v", e.Tag, e.Err)
}

func (e *TagError) Unwrap() error { return e.Err }
