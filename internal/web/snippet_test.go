package web

import (
	"strings"
	"testing"
)

// A result shows what was found as the message has it, whatever the case
// of either, with the words around it on one line, cut with an ellipsis.
func TestCutAround(t *testing.T) {
	long := strings.Repeat("word ", 20)
	for _, tc := range []struct {
		text, lowered string
		want          snippet
		found         bool
	}{
		{"Lunch on Friday?", "lunch", snippet{"", "Lunch", " on Friday?"}, true},
		{"is it LUNCH", "lunch", snippet{"is it ", "LUNCH", ""}, true},
		{"Привет, Ёлка!", "ёлка", snippet{"Привет, ", "Ёлка", "!"}, true},
		{"two\nlines\n\nof  lunch\tnow", "lunch", snippet{"two lines of ", "lunch", " now"}, true},
		{"half/lunch/split", "/lunch/", snippet{"half", "/lunch/", "split"}, true},
		{"a KELVIN \u212a sign", "k s", snippet{"a KELVIN ", "\u212a s", "ign"}, true},
		{long + "lunch " + long, "lunch", snippet{"…" + strings.TrimSpace(long)[100-snippetBefore+1-1:] + " ", "lunch", " " + strings.TrimSpace(long)}, true},
		{"dinner", "lunch", snippet{}, false},
		{"", "lunch", snippet{}, false},
	} {
		got, found := cutAround(tc.text, tc.lowered)
		if found != tc.found || got != tc.want {
			t.Errorf("cutAround(%q, %q) = %q, %v; want %q, %v", tc.text, tc.lowered, got, found, tc.want, tc.found)
		}
	}
}
