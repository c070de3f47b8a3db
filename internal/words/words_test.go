package words_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/words"
)

func TestCount_OneIsSingularAndEveryOtherNumberPlural(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 entries"},
		{1, "1 entry"},
		{2, "2 entries"},
		{-1, "-1 entries"},
		{1_000_000, "1000000 entries"},
	} {
		if got := words.Count(c.n, "entry", "entries"); got != c.want {
			t.Errorf("Count(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
