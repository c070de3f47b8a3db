package web

import (
	"html/template"
	"strings"
	"testing"
)

// A message's web addresses are links, and everything else of it is text:
// markup, other schemes and addresses without a scheme stay as typed, and
// an address cannot break out of its link's attribute. Each link reads
// left to right whatever text is around it (dir="ltr"): a right-to-left
// override before it stays outside it, and draws it reversed no more
// (TestMessenger_Browser_LinkReadsAsWhereItLeads).
func TestLinkify(t *testing.T) {
	const attrs = `" rel="noopener noreferrer nofollow ugc" target="_blank" dir="ltr">`
	for _, tc := range []struct{ text, want string }{
		{"no link here", "no link here"},
		{"see https://example.com/a?b=1&c=2.", `see <a href="https://example.com/a?b=1&amp;c=2` + attrs + `https://example.com/a?b=1&amp;c=2</a>.`},
		{"(http://example.com/x) and https://example.org",
			`(<a href="http://example.com/x` + attrs + `http://example.com/x</a>) and <a href="https://example.org` + attrs + `https://example.org</a>`},
		{"two lines\nhttps://example.com\nend", "two lines\n<a href=\"https://example.com" + attrs + "https://example.com</a>\nend"},
		{`<b>https://example.com/"onmouseover="alert(1)</b>`,
			`&lt;b&gt;<a href="https://example.com/` + attrs + `https://example.com/</a>&#34;onmouseover=&#34;alert(1)&lt;/b&gt;`},
		{"javascript:alert(1) data:text/html,x ftp://example.com mailto:a@example.com", "javascript:alert(1) data:text/html,x ftp://example.com mailto:a@example.com"},
		{"example.com and www.example.com", "example.com and www.example.com"},
		{"https:// alone", "https:// alone"},
		{"Your statement: \u202ehttps://evil.example/moc.knab//:sptth",
			"Your statement: \u202e<a href=\"https://evil.example/moc.knab//:sptth" + attrs + "https://evil.example/moc.knab//:sptth</a>"},
	} {
		if got := string(linkify(tc.text, "")); got != tc.want {
			t.Errorf("linkify(%q)\n got %s\nwant %s", tc.text, got, tc.want)
		}
	}
}

// An address that reads as another site than it leads to stays text, as
// a share card may not hold one: a user name before its host, or a host
// not in its ASCII form (a look-alike letter, or escaped). Its punycode
// form, and a path not in ASCII, are links.
func TestLinkify_LeavesAddressesThatReadAsAnotherSite(t *testing.T) {
	for _, text := range []string{
		"log in again at https://films.example@evil.example/login",
		"log in again at https://films.example:secret@evil.example/login",
		"log in again at https://\u0430pple.com/login", // Cyrillic а
		"log in again at https://%D0%B0pple.com/login",
	} {
		if got := string(linkify(text, "")); got != template.HTMLEscapeString(text) {
			t.Errorf("linkify(%q) = %s, want it as text", text, got)
		}
	}
	for _, addr := range []string{"https://xn--pple-43d.com/login", "https://de.wikipedia.org/wiki/K\u00f6ln"} {
		if got := string(linkify(addr, "")); !strings.HasPrefix(got, `<a href="`) {
			t.Errorf("linkify(%q) = %s, want a link", addr, got)
		}
	}
}

// A mention of the reader, "@username" in any case, is marked, in a text
// and between its links; not within an address, a link or a longer name.
func TestLinkify_MarksMentionsOfTheReader(t *testing.T) {
	const mark, end = `<span class="mention">`, `</span>`
	for _, tc := range []struct{ text, want string }{
		{"@alice", mark + "@alice" + end},
		{"hi @Alice, @alice. and (@ALICE)!", "hi " + mark + "@Alice" + end + ", " + mark + "@alice" + end + ". and (" + mark + "@ALICE" + end + ")!"},
		{"@alice\n@alice", mark + "@alice" + end + "\n" + mark + "@alice" + end},
		{"ask @bob, not @alice_b, @alice.b, @alice2 or @alic", "ask @bob, not @alice_b, @alice.b, @alice2 or @alic"},
		{"mail alice@example.com or bob@alice, x.@alice, 1@alice", "mail alice@example.com or bob@alice, x.@alice, 1@alice"},
		{"a_@alice a%@alice a+@alice a-@alice", "a_@alice a%@alice a+@alice a-@alice"},
		{"<@alice>", "&lt;" + mark + "@alice" + end + "&gt;"},
		{"see https://example.com/@alice @alice", `see <a href="https://example.com/@alice" rel="noopener noreferrer nofollow ugc" target="_blank" dir="ltr">https://example.com/@alice</a> ` + mark + "@alice" + end},
		{"@", "@"},
	} {
		if got := string(linkify(tc.text, "alice")); got != tc.want {
			t.Errorf("linkify(%q, alice)\n got %s\nwant %s", tc.text, got, tc.want)
		}
	}
	if got := string(linkify("@alice", "")); got != "@alice" {
		t.Errorf("with no reader, @alice is %s", got)
	}
}

// In Chinese and Japanese, words have no spaces between them: "@alice"
// right after such a character, or any other that cannot end an address's
// local part, is a mention of alice, as it is to the people who write it.
func TestLinkify_MarksMentionsAfterTextWithoutSpaces(t *testing.T) {
	const mark, end = `<span class="mention">`, `</span>`
	for _, tc := range []struct{ text, want string }{
		{"谢谢@alice", "谢谢" + mark + "@alice" + end},
		{"請看一下@alice的消息", "請看一下" + mark + "@alice" + end + "的消息"},
		{"ありがとう@alice", "ありがとう" + mark + "@alice" + end},
		{"確認お願いします。@Alice", "確認お願いします。" + mark + "@Alice" + end},
		{"café@alice, —@alice", "café" + mark + "@alice" + end + ", —" + mark + "@alice" + end},
		{"@@alice", "@" + mark + "@alice" + end},
		{"谢谢@alice_b, 谢谢alice@alice.com", "谢谢@alice_b, 谢谢alice@alice.com"},
	} {
		if got := string(linkify(tc.text, "alice")); got != tc.want {
			t.Errorf("linkify(%q, alice)\n got %s\nwant %s", tc.text, got, tc.want)
		}
	}
}

// An avatar shows the first character of a name as a reader sees it,
// whatever code points make it up, in capitals.
func TestInitial(t *testing.T) {
	for name, want := range map[string]string{
		"alice":       "A",
		"  émile":     "É",
		"e\u0301mile": "E\u0301",
		"🇫🇷 Paris":    "🇫🇷",
		"👋🏽 hello":    "👋🏽",
		"   ":         "?",
		"":            "?",
	} {
		if got := initial(name); got != want {
			t.Errorf("initial(%q) = %q, want %q", name, got, want)
		}
	}
}
