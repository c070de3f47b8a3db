package parley_test

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// A message's text must show something: text in any script, emoji (those
// newer than Go's tables of Unicode too), keycaps, flags, private-use
// characters and punctuation pass; text of spaces or of characters that
// show nothing (a zero-width space, a word joiner, a blank Braille
// pattern, a combining mark alone) is refused, as it would post a message
// that looks empty.
func TestValidateText_MustShowSomething(t *testing.T) {
	for _, ok := range []string{"hi", "Привет", "مرحبا", "你好", "한국어", "ภาษาไทย", "हिन्दी", "👍🏽", "👩‍💻", "1️⃣", "🇫🇷", "\U0001FAE9", "\uF8FF", "…", "7", " ok \u200b"} {
		if err := parley.ValidateText(ok); err != nil {
			t.Errorf("ValidateText(%q): %v, want it taken", ok, err)
		}
	}
	for _, bad := range []string{"", "   \n", "\u200b", "\u2060\u200b", "\u2800", "\u00ad", "\u200d\u200c", "\u0301", "\u3000"} {
		if err := parley.ValidateText(bad); parley.ErrorCode(err) != parley.EINVALID {
			t.Errorf("ValidateText(%q): %v, want it refused", bad, err)
		}
	}
}

// A group's title and a share card's title must show something when given:
// one of joiners or combining marks alone would look empty in every list,
// and a group so titled would not fall back to its members' names.
func TestTitles_MustShowSomething(t *testing.T) {
	for _, ok := range []string{"Dinner", "Ужин", "👩‍💻 team", "é", "7"} {
		if err := parley.ValidateTitle(ok); err != nil {
			t.Errorf("ValidateTitle(%q): %v, want it taken", ok, err)
		}
		sh := parley.Share{URL: "https://films.example/42", Title: ok}
		if err := sh.Validate(); err != nil {
			t.Errorf("a share card titled %q: %v, want it taken", ok, err)
		}
	}
	if err := parley.ValidateTitle(""); err != nil {
		t.Errorf("ValidateTitle(\"\"): %v, want a group without a title taken", err)
	}
	for _, bad := range []string{"\u200d", "\u200c\u200d", "\u0301", "\u20dd"} {
		if err := parley.ValidateTitle(bad); parley.ErrorCode(err) != parley.EINVALID {
			t.Errorf("ValidateTitle(%q): %v, want it refused", bad, err)
		}
		sh := parley.Share{URL: "https://films.example/42", Title: bad}
		if err := sh.Validate(); parley.ErrorCode(err) != parley.EINVALID {
			t.Errorf("a share card titled %q: %v, want it refused", bad, err)
		}
	}
}

// A search folds each character to the lower case of its upper case, one
// character for one, spelled as a database's lower() and translate() can
// spell it too.
func TestFoldCase_IsTheLowerCaseOfTheUpperCase(t *testing.T) {
	for r := rune(0); r <= 0x1FFFF; r++ {
		want := string(unicode.ToLower(unicode.ToUpper(r)))
		if !utf8.ValidRune(r) {
			continue
		}
		if got := parley.FoldCase(string(r)); got != want {
			t.Errorf("FoldCase(%U %q) = %q, want %q", r, r, got, want)
		}
	}
	if got := parley.FoldCase("ΚΟΣΜΟΣ Straße ſtop"); got != "κοσμοσ straße stop" {
		t.Errorf("FoldCase = %q", got)
	}
}
