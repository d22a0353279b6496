package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/state"
)

// A feed's position is saved in the state dir, one file per source,
// written whole (a temporary file renamed over the old one) so that a
// crash leaves the old position or the new, never half of one.

// positionFile is where a source's feed position is kept.
func positionFile(stateDir, source string) string {
	return filepath.Join(stateDir, "watch-"+source+".json")
}

// loadPosition returns the saved position of a source's feed, or nil.
func (w *Watcher) loadPosition(source string) []byte {
	dir := w.stateDir()
	if dir == "" {
		return nil
	}
	data, err := os.ReadFile(positionFile(dir, source))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.o.Logger.Warn("watch: the saved feed position cannot be read; the feed starts afresh", zap.String("source", source), zap.Error(err))
		}
		return nil
	}
	return data
}

// stateDir is the state dir of the configuration in force ("" for none).
// Callers may hold w.mu or not: the configuration is only replaced by
// Reload, which does not call it.
func (w *Watcher) stateDir() string {
	if w.cfg == nil {
		return ""
	}
	return w.cfg.Sync.StateDir
}

// marks takes the positions of the feeds of sources (nil: all) now.
func (w *Watcher) marks(sources []string) map[string][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][]byte{}
	for src, st := range w.feeds {
		if sources != nil && !slices.Contains(sources, src) {
			continue
		}
		if p := st.feed.Position(); p != nil {
			out[src] = p
		}
	}
	return out
}

// savePositions keeps marks taken before a run that has now planned what
// the feeds had reported by then.
func (w *Watcher) savePositions(marks map[string][]byte) {
	w.mu.Lock()
	dir := w.stateDir()
	w.mu.Unlock()
	if dir == "" {
		return
	}
	for src, p := range marks {
		if err := writeWhole(positionFile(dir, src), p); err != nil {
			w.o.Logger.Warn("watch: cannot save the feed position; a restart compares from an older one", zap.String("source", src), zap.Error(err))
		}
	}
}

// writeWhole replaces path with data, durably.
func writeWhole(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	state.OwnLikeDir(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
