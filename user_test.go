package parley_test

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley"
)

// A password is 8 to 1,024 characters, as its error says, in any script:
// a character outside ASCII counts once, however many bytes it takes.
func TestValidatePassword(t *testing.T) {
	for _, tc := range []struct {
		name, password string
		ok             bool
	}{
		{"Shortest", "12345678", true},
		{"TooShort", "1234567", false},
		{"SevenCharactersOfMoreBytes", strings.Repeat("日", 7), false},
		{"Longest", strings.Repeat("a", parley.MaxPasswordLen), true},
		{"LongestInThreeByteCharacters", strings.Repeat("日", parley.MaxPasswordLen), true},
		{"TooLong", strings.Repeat("日", parley.MaxPasswordLen+1), false},
		{"NUL", "a password\x00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := parley.ValidatePassword(tc.password)
			if tc.ok != (err == nil) {
				t.Fatalf("ValidatePassword = %v, want ok %v", err, tc.ok)
			}
			if err != nil && parley.ErrorCode(err) != parley.EINVALID {
				t.Fatalf("ValidatePassword = %v, want EINVALID", err)
			}
		})
	}
}

// A username is matched regardless of the case of its ASCII letters, and
// is ASCII: a character whose Unicode lowercase is an ASCII letter (U+212A
// KELVIN SIGN) makes no username, and names no member.
func TestNormalizeUsername(t *testing.T) {
	for in, want := range map[string]string{" Alice ": "alice", "BOB_1.x": "bob_1.x", "carol": "carol"} {
		if got := parley.NormalizeUsername(in); got != want || parley.ValidateUsername(got) != nil {
			t.Errorf("NormalizeUsername(%q) = %q, want %q, a username", in, got, want)
		}
	}
	for _, in := range []string{"\u212aarl", "\u0130van"} {
		if got := parley.NormalizeUsername(in); parley.ValidateUsername(got) == nil {
			t.Errorf("NormalizeUsername(%q) = %q, a username", in, got)
		}
	}
}

// A display name may not read as a name the pages give others: "Deleted
// account", beside a deleted account's tombstones, nor "You", which they
// write for the reader's own messages ("You: …" in the inbox, a reply's
// quote, a thread's apps), so that no member's message reads as the
// reader's own. Any case, spacing, joiner or compatibility form is the
// same name (NFKC); a name that holds the word among others is a name.
func TestValidateDisplayName_NotANameThePagesGiveOthers(t *testing.T) {
	for _, name := range []string{"Deleted account", "deleted  ACCOUNT", "Deleted \u200daccount", "\uff24eleted account",
		"You", "you", "YOU", " You ", "Y\u200dou", "Yo\u200cu", "\uff39\uff4f\uff55", "\uff59ou"} {
		err := parley.ValidateDisplayName(name)
		if parley.ErrorCode(err) != parley.EINVALID || !strings.Contains(parley.ErrorMessage(err), "must not be") {
			t.Errorf("ValidateDisplayName(%q) = %v, want EINVALID saying which name it must not be", name, err)
		}
	}
	for _, name := range []string{"Youssef", "You Know Who", "Yours truly", "Deleted", "Not you", ""} {
		if err := parley.ValidateDisplayName(name); err != nil {
			t.Errorf("ValidateDisplayName(%q) = %v, want nil", name, err)
		}
	}
}
