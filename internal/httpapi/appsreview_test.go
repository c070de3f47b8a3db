package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
)

// An app's homepage is a link on the consent page, and its redirect URIs
// are where members' browsers are sent with their codes: neither may carry
// a user name or password before its host (RFC 3986 section 3.2.1 calls the
// form deprecated), which makes "https://parley.example@evil.example/" read
// as Parley's address while it leads elsewhere; and an https redirect URI
// needs a host (RFC 9110 section 4.2.2): "https:cb" is, to a browser, a path
// on Parley's own origin.
func TestApps_RegisterRefusesMisleadingURIs(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	const cb = "https://x.example/cb"
	for name, body := range map[string]map[string]any{
		"ErrHomepageUserinfo":         {"name": "X", "redirect_uris": []string{cb}, "homepage": "https://parley.example@evil.example/"},
		"ErrHomepageUserPassword":     {"name": "X", "redirect_uris": []string{cb}, "homepage": "https://parley.example:login@evil.example/"},
		"ErrRedirectURIUserinfo":      {"name": "X", "redirect_uris": []string{"https://x.example@evil.example/cb"}},
		"ErrLoopbackRedirectUserinfo": {"name": "X", "redirect_uris": []string{"http://me@127.0.0.1:7000/cb"}},
		"ErrHTTPSRedirectNoHost":      {"name": "X", "redirect_uris": []string{"https:cb"}},
		"ErrHTTPSRedirectEmptyHost":   {"name": "X", "redirect_uris": []string{"https:///cb"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := alice.Do(ctx, "POST", "/api/v1/apps", body, nil)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
	// The developer console's edit of the redirect URIs holds them to the
	// same rules.
	t.Run("ErrEditedRedirectURI", func(t *testing.T) {
		svc := env.Server.Service
		caller, err := svc.Authenticate(ctx, alice.Token())
		if err != nil {
			t.Fatal(err)
		}
		tunes := env.MustPartnerOf(t, "Tunes", "alice")
		for _, uri := range []string{"https:cb", "https://x.example@evil.example/cb"} {
			_, err := svc.SetRedirectURIs(parley.NewContextWithCaller(ctx, caller), tunes.App.ClientID, []string{uri})
			if parley.ErrorCode(err) != parley.EINVALID {
				t.Errorf("SetRedirectURIs(%q) = %v, want EINVALID", uri, err)
			}
		}
	})
}

// An app's name is what the consent page asks the member to trust: "1 to
// 64 printable characters", as the refusal says. A character that shows
// nothing (a zero-width space, a word joiner, a byte order mark, a soft
// hyphen: Unicode's format characters) makes a name that looks empty, or
// exactly like another one ("Par\u200bley" as Parley).
func TestApps_NameRefusesInvisibleCharacters(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	for name, appName := range map[string]string{
		"ErrOnlyZeroWidthSpace": "\u200b",
		"ErrZeroWidthInside":    "Par\u200bley",
		"ErrWordJoiner":         "\u2060Tunes",
		"ErrByteOrderMark":      "\ufeff",
		"ErrSoftHyphen":         "Par\u00adley",
		"ErrLineSeparator":      "Tunes\u2028Parley",
		// Graphic, but drawn as nothing, or as blank space.
		"ErrHangulFiller":         "\u3164",
		"ErrBlankBraille":         "\u2800",
		"ErrGraphemeJoiner":       "Par\u034fley",
		"ErrVariationOfALetter":   "Par\ufe00ley",
		"ErrIdeographicVariation": "Par\U000E0100ley",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := alice.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": appName, "redirect_uris": []string{"https://x.example/cb"}}, nil)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
	t.Run("OKLettersOfAnyScript", func(t *testing.T) {
		for _, appName := range []string{"Ciné Club", "映画クラブ", "Tunes 🎵", "Films \u2764\ufe0f", "Cine\u0301 Fans"} {
			if _, err := alice.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": appName, "redirect_uris": []string{"https://x.example/cb"}}, nil); err != nil {
				t.Errorf("%q: %v", appName, err)
			}
		}
	})
}
