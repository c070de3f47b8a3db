package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/service"
)

// The messenger's friends page, where a member finds others by username,
// asks them, accepts or declines their requests and removes friends, and
// the page to start a conversation.

// friendsPage is what the friends page shows.
type friendsPage struct {
	shell
	// Friends are a page of the member's friends, newest first;
	// NewerFriends links to the newest, on a page of older ones,
	// MoreFriends to the page after this one, when there is one.
	Friends                   *parley.FriendPage
	NewerFriends, MoreFriends string
	// Requests are a page of the requests the member received, newest
	// first, and every one they sent. NewerRequests links to the newest
	// received, on a page of older ones; OlderRequests to the page after
	// this one, when there is one.
	Requests                     *parley.FriendRequestPage
	NewerRequests, OlderRequests string
	// Blocked are a page of the members the member blocks, newest block
	// first, with links to the newest and the next page as Friends has.
	Blocked                   *parley.BlockPage
	NewerBlocked, MoreBlocked string
	// Notice says what the last action did; Error what went wrong.
	Notice, Error, Username string
}

func (p *Pages) handleFriends(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.messengerMember(w, r)
	if !ok {
		return
	}
	p.renderFriends(w, r, ctx, http.StatusOK, friendsPage{Notice: noticeWords[r.URL.Query().Get("done")]})
}

// requestsParam names the query parameter of the friends page that shows
// older requests the member received: the cursor of their page;
// friendsParam and blockedParam those of older friends and blocks.
const (
	requestsParam = "requests"
	friendsParam  = "friends"
	blockedParam  = "blocked"
)

// pageLinks returns the links of a list of the friends page shown from
// cursor, read from query parameter param: to its newest page, on an
// older one, and to the page after, next, when there is one.
func pageLinks(param, cursor, next string) (newer, older string) {
	if cursor != "" {
		newer = friendsPath
	}
	if next != "" {
		older = friendsPath + "?" + url.Values{param: {next}}.Encode()
	}
	return newer, older
}

// noticeWords are the friends page's notices after an action, by ?done=.
var noticeWords = map[string]string{
	"asked":                  "Request sent. You can talk once they accept.",
	"accepted":               "You are friends now.",
	service.FriendRemoved:    "Removed from your friends. Your chats with them stay as they are.",
	service.RequestDeclined:  "Request declined. They cannot ask you again for 30 days; you may ask them at any time.",
	service.RequestWithdrawn: "Request withdrawn.",
	"blocked":                "Blocked. They can no longer send you messages or ask to be your friend.",
	"unblocked":              "Unblocked. You are not friends again, but either of you may ask.",
}

func (p *Pages) renderFriends(w http.ResponseWriter, r *http.Request, ctx context.Context, status int, page friendsPage) {
	sh, err := p.newShell(ctx, w, r, "Friends", "")
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	page.shell = sh
	// A member may have many friends and block many members: the page
	// shows a page of each, with links to the next.
	q := r.URL.Query()
	if page.Friends, err = p.svc.Friends(ctx, q.Get(friendsParam), 0); err != nil {
		p.renderError(w, r, err)
		return
	}
	page.NewerFriends, page.MoreFriends = pageLinks(friendsParam, q.Get(friendsParam), page.Friends.NextCursor)
	// Others choose how many requests the member receives: the page shows
	// one page of them, from the cursor its link to older ones gave.
	cursor := q.Get(requestsParam)
	if page.Requests, err = p.svc.FriendRequests(ctx, cursor, 0); err != nil {
		p.renderError(w, r, err)
		return
	}
	page.NewerRequests, page.OlderRequests = pageLinks(requestsParam, cursor, page.Requests.NextCursor)
	if page.Blocked, err = p.svc.BlockedMembers(ctx, q.Get(blockedParam), 0); err != nil {
		p.renderError(w, r, err)
		return
	}
	page.NewerBlocked, page.MoreBlocked = pageLinks(blockedParam, q.Get(blockedParam), page.Blocked.NextCursor)
	p.render(w, status, "friends", page)
}

// handleFriendAdd asks a member to be friends, or accepts their request.
func (p *Pages) handleFriendAdd(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedMember(w, r)
	if !ok {
		return
	}
	name := strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("username")), "@")
	status, err := p.svc.AddFriend(ctx, name)
	if err != nil {
		p.renderFriends(w, r, ctx, httpapi.StatusOf(err), friendsPage{Error: parley.ErrorMessage(err), Username: name})
		return
	}
	how := "asked"
	if status.State == parley.FriendAccepted {
		how = "accepted"
	}
	done(w, r, friendsPath+"?done="+how)
}

// removeFriend removes a friend, or withdraws or declines a request, and
// goes back to the friends page, which says which it did.
func (p *Pages) removeFriend(ctx context.Context, r *http.Request) (string, error) {
	ended, err := p.svc.RemoveFriend(ctx, r.PathValue("id"))
	return friendsPath + "?done=" + ended, err
}

// blockMember blocks the member the form names, and goes back to the
// conversation the form was posted from, if any, or to the friends page.
func (p *Pages) blockMember(ctx context.Context, r *http.Request) (string, error) {
	_, err := p.svc.Block(ctx, r.PostFormValue("username"))
	return blockedFrom(r, "blocked"), err
}

// unblockMember lifts the member's block of another, and goes back as
// blockMember does.
func (p *Pages) unblockMember(ctx context.Context, r *http.Request) (string, error) {
	return blockedFrom(r, "unblocked"), p.svc.Unblock(ctx, r.PathValue("id"))
}

// blockedFrom is the page a block's form goes back to: the conversation
// it names in thread, or the friends page saying what was done.
func blockedFrom(r *http.Request, how string) string {
	if id := r.PostFormValue("thread"); id != "" {
		return threadURL(id)
	}
	return friendsPath + "?done=" + how
}

// newThreadPage is what the page to start a conversation shows.
type newThreadPage struct {
	shell
	Friends []parley.Friend
	Error   string
	// Title and Ticked are what the member typed and ticked, on the page
	// that says why their chat was refused.
	Title  string
	Ticked map[string]bool
}

func (p *Pages) handleNewThread(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.messengerMember(w, r)
	if !ok {
		return
	}
	p.renderNewThread(w, r, ctx, http.StatusOK, newThreadPage{})
}

func (p *Pages) renderNewThread(w http.ResponseWriter, r *http.Request, ctx context.Context, status int, page newThreadPage) {
	sh, err := p.newShell(ctx, w, r, "New conversation", "")
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	sh.Section = sectionChats
	// Every friend, to tick: as many as the member has.
	friends, err := p.svc.AllFriends(ctx)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	page.shell, page.Friends = sh, friends
	p.render(w, status, "new", page)
}

// handleNewThreadPost starts a conversation with the friends ticked: a
// direct one with one friend (or the one already there), a group with more.
// The form's one-use key, the request's idempotency key, makes a form
// posted twice (a double click, on any node) one conversation: the second
// post opens the one the first started.
func (p *Pages) handleNewThreadPost(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedMember(w, r)
	if !ok {
		return
	}
	in := service.NewThread{Participants: r.PostForm["username"], Title: r.PostFormValue("title")}
	if in.Title != "" || len(in.Participants) > 1 {
		in.Kind = parley.ThreadGroup
	}
	in.IdempotencyKey = r.PostFormValue("key")
	sum, _, _, err := p.svc.CreateThread(ctx, in)
	if errors.Is(err, parley.ErrThreadKeyReused) {
		// The form's key, posted again with other friends ticked (after
		// going back): another conversation, asked for.
		in.IdempotencyKey = ""
		sum, _, _, err = p.svc.CreateThread(ctx, in)
	}
	if err != nil {
		ticked := make(map[string]bool, len(in.Participants))
		for _, u := range in.Participants {
			ticked[u] = true
		}
		p.renderNewThread(w, r, ctx, httpapi.StatusOf(err), newThreadPage{Error: parley.ErrorMessage(err), Title: in.Title, Ticked: ticked})
		return
	}
	http.Redirect(w, r, threadURL(sum.ID), http.StatusSeeOther)
}
