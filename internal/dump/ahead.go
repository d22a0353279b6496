package dump

import (
	"runtime"
	"sync"

	"github.com/syncd/syncd/internal/directory"
)

// lists prepares the sorted members of each group on goroutines of their
// own, a few groups ahead of the renderer: looking every member up in the
// directory's users (cache misses, mostly) and sorting them is most of the
// rendering of a large dump, and the other cores do it while the renderer
// formats. Group i's list comes through slot i mod len(slots), which the
// worker taking every group of that slot fills in order; a full slot holds
// its worker back. Lists are handed back for reuse, so a handful are ever
// held.
type lists struct {
	slots []chan []Member // a list, or nil for an unknown group
	free  chan []Member   // lists rendered, for reuse
	stop  chan struct{}
	wg    sync.WaitGroup
	taken int // groups the renderer has taken
}

// listsPerWorker is how many groups each worker may prepare ahead.
const listsPerWorker = 4

func prepareLists(d *directory.Directory, groups []*directory.Group) *lists {
	workers := max(1, min(runtime.GOMAXPROCS(0), 4))
	l := &lists{slots: make([]chan []Member, workers*listsPerWorker),
		free: make(chan []Member, workers*(listsPerWorker+2)), stop: make(chan struct{})}
	for i := range l.slots {
		l.slots[i] = make(chan []Member, 1)
	}
	for w := range workers {
		l.wg.Go(func() { l.run(d, groups, w, workers) })
	}
	return l
}

// run prepares groups w, w+workers, w+2*workers, ...: since the number of
// slots is a multiple of workers, each of its slots is its own.
func (l *lists) run(d *directory.Directory, groups []*directory.Group, w, workers int) {
	for i := w; i < len(groups); i += workers {
		var ms []Member
		if g := groups[i]; g.Err == nil {
			select {
			case ms = <-l.free:
			default:
			}
			ms = membersIn(ms, d, g)
		}
		select {
		case l.slots[i%len(l.slots)] <- ms:
		case <-l.stop:
			return
		}
	}
}

// next returns the members of the next group, to be handed back with
// recycle once rendered.
func (l *lists) next() []Member {
	ms := <-l.slots[l.taken%len(l.slots)]
	l.taken++
	return ms
}

func (l *lists) recycle(ms []Member) {
	if ms == nil {
		return
	}
	select {
	case l.free <- ms:
	default:
	}
}

// close stops the workers, however far the renderer got, and waits for
// them.
func (l *lists) close() {
	close(l.stop)
	l.wg.Wait()
}
