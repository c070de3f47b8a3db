package web

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley"
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

// A result shows where the text was found: in the message's text, else in
// its share card's title; else (the store lowers some letters as Go does
// not) how the message begins, or its card's title.
func TestFoundIn(t *testing.T) {
	card := &parley.Share{URL: "https://places.example/", Title: "Lunch spots"}
	for _, tc := range []struct {
		m    *parley.Message
		want snippet
	}{
		{&parley.Message{Text: "have a look at lunch", Share: card}, snippet{"have a look at ", "lunch", ""}},
		{&parley.Message{Text: "have a look", Share: card}, snippet{"", "Lunch", " spots"}},
		{&parley.Message{Text: "no such word here"}, snippet{Before: "no such word here"}},
		{&parley.Message{Share: &parley.Share{Title: "Spots"}}, snippet{Before: "Spots"}},
	} {
		if got := foundIn(tc.m, "lunch"); got != tc.want {
			t.Errorf("foundIn(%q, card %+v) = %q, want %q", tc.m.Text, tc.m.Share, got, tc.want)
		}
	}
}

// A preview, a quote or a snippet is cut between characters as a reader
// sees them: a flag, a family, an emoji with its skin tone or a letter
// with its accents that ends the part kept, or begins it, is kept whole,
// never halved.
func TestOneLine_CutsBetweenCharacters(t *testing.T) {
	for name, last := range map[string]string{
		"flag": "🇩🇪", "family": "👨‍👩‍👧‍👦", "skin tone": "👍🏽", "accents": "e\u0301\u0302",
	} {
		kept := strings.Repeat("a", 78) + last
		if got := oneLine(kept+" and more", 80); got != kept+"…" {
			t.Errorf("%s: oneLine cuts to %q, want %q", name, got, kept+"…")
		}
		if got := oneLine(kept+"a", 80); got != kept+"a" {
			t.Errorf("%s: a text of 80 characters is cut: %q", name, got)
		}
		// So is one that begins what is kept before a search's match.
		before := last + strings.Repeat("a", snippetBefore-2)
		if got, _ := cutAround("more and "+before+" lunch", "lunch"); got.Before != "…"+before+" " {
			t.Errorf("%s: the words before a match are cut to %q, want %q", name, got.Before, "…"+before+" ")
		}
	}
}
