package client

import (
	"context"
	"net/url"
)

// This file covers a developer's own apps, and the member's narrowing of
// a grant they gave. The API registers and lists apps, and nothing more:
// rotating an app's client secret and editing its redirect URIs are done
// on its page in Parley's developer console (/account/developer); its
// name, purpose and homepage cannot be changed, and only an operator
// deletes an app.

// NewApp describes an app to register.
type NewApp struct {
	// Name is shown on the consent page: 1 to 64 characters.
	Name string `json:"name"`
	// RedirectURIs are where the authorization endpoint may send the
	// member back, 1 to 10, each matched exactly: https anywhere, http on
	// loopback only, or a reverse-domain private-use scheme for a native
	// app.
	RedirectURIs []string `json:"redirect_uris"`
	// Public registers a native or single-page app, which gets no secret.
	Public bool `json:"public,omitempty"`
	// Purpose says what the app does with members' data, on the consent
	// page; up to 500 characters.
	Purpose string `json:"purpose,omitempty"`
	// Homepage is the app's page, an absolute URL.
	Homepage string `json:"homepage,omitempty"`
}

// RegisteredApp is an app just registered, with its client secret.
type RegisteredApp struct {
	App
	// ClientSecret is shown this once, and never to a public app: Parley
	// keeps only its hash.
	ClientSecret string `json:"client_secret,omitempty"`
}

// CreateApp registers an app owned by the signed-in member. Members only:
// an app's token is refused.
func (c *Client) CreateApp(ctx context.Context, a NewApp) (*RegisteredApp, error) {
	var out RegisteredApp
	if _, err := c.Do(ctx, "POST", "/api/v1/apps", a, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Apps lists the apps the signed-in member registered, oldest first,
// without their secrets.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	var out struct {
		Apps []App `json:"apps"`
	}
	if _, err := c.Do(ctx, "GET", "/api/v1/apps", nil, &out); err != nil {
		return nil, err
	}
	return out.Apps, nil
}

// DeleteApp deletes an app the signed-in member registered, for good: its
// grants end at once, and it works nowhere again. Members only.
func (c *Client) DeleteApp(ctx context.Context, clientID string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/apps/"+url.PathEscape(clientID), nil, nil)
	return err
}

// GrantNarrowing is what NarrowGrant keeps of a grant. A nil list keeps
// all of its kind; an empty, non-nil one keeps none.
type GrantNarrowing struct {
	// Scopes are the scopes to keep, each one the grant holds; openid and
	// offline_access stay whether listed or not.
	Scopes []string `json:"scopes,omitzero"`
	// ThreadIDs are the threads the grant lists to keep.
	ThreadIDs []string `json:"thread_ids,omitzero"`
}

// NarrowGrant takes scopes or threads out of one of the member's grants
// in force, as they untick them on the connected apps page, and returns
// the grant as it now is. A grant only narrows: keeping what it does not
// hold is a 400. The app's tokens lose what the grant lost at their next
// use, and its realtime streams end, to be opened again.
func (c *Client) NarrowGrant(ctx context.Context, grantID string, n GrantNarrowing) (*ConnectedApp, error) {
	var a ConnectedApp
	if _, err := c.Do(ctx, "PATCH", "/api/v1/me/grants/"+url.PathEscape(grantID), n, &a); err != nil {
		return nil, err
	}
	return &a, nil
}
