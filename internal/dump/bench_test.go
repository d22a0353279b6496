package dump

import (
	"io"
	"testing"

	"github.com/syncd/syncd/internal/scalegen"
)

// BenchmarkRender renders a generated directory of 100,000 people and
// 2,000 groups of 100 (the larger size of the command's benchmark against
// ldapsearch, cmd/syncd) to nowhere: the rendering alone, without the
// read.
func BenchmarkRender(b *testing.B) {
	co := scalegen.Generate(scalegen.Size{Users: 100_000, Groups: 2_000, PerGroup: 100})
	for name, write := range map[string]func(io.Writer, *scalegen.Company) error{
		"json": func(w io.Writer, c *scalegen.Company) error { return WriteJSON(w, c.Dir) },
		"text": func(w io.Writer, c *scalegen.Company) error { return WriteText(w, c.Dir) },
	} {
		b.Run("format="+name, func(b *testing.B) {
			for b.Loop() {
				if err := write(io.Discard, co); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
