package web

import "testing"

// A message's web addresses are links, and everything else of it is text:
// markup, other schemes and addresses without a scheme stay as typed, and
// an address cannot break out of its link's attribute.
func TestLinkify(t *testing.T) {
	const attrs = `" rel="noopener noreferrer nofollow ugc" target="_blank">`
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
	} {
		if got := string(linkify(tc.text)); got != tc.want {
			t.Errorf("linkify(%q)\n got %s\nwant %s", tc.text, got, tc.want)
		}
	}
}
