package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/parleyhq/parley"
)

// A thread's page shows which apps can read it and through whose grant,
// with the switch that closes it to apps, and the thread's latest notices
// about apps: one came to reach it, a participant closed it or reopened
// it. The part is rendered by the page and, on each thread.apps_changed
// event, fetched again by the script.

// appsPanel is what the thread page shows of apps.
type appsPanel struct {
	ThreadID, CSRF string
	Me             parley.UserRef
	Access         *parley.ThreadAppAccess
	Notices        []parley.ThreadNotice
	// Blocked says the thread is a blocked conversation, which no one
	// reopens to apps while a block stands.
	Blocked bool
	// Direct says the thread is a conversation of two, where apps may
	// share links (Service.Share).
	Direct bool
}

// ClosedByMe reports whether the member is among those keeping the thread
// closed to apps, and so may reopen it.
func (a appsPanel) ClosedByMe() bool { return containsUser(a.Access.ClosedBy, a.Me.ID) }

// appsPanel reads what the thread page shows of apps, for the thread th,
// but access, what apps may do there, when the caller read it already.
func (p *Pages) appsPanel(ctx context.Context, w http.ResponseWriter, r *http.Request, th *parley.ThreadSummary, access *parley.ThreadAppAccess) (appsPanel, error) {
	if access == nil {
		var err error
		if access, err = p.svc.ThreadApps(ctx, th.ID); err != nil {
			return appsPanel{}, err
		}
	}
	notices, err := p.svc.ThreadNotices(ctx, th.ID)
	if err != nil {
		return appsPanel{}, err
	}
	return appsPanel{ThreadID: th.ID, CSRF: p.csrfToken(w, r), Me: parley.CallerFromContext(ctx).User, Access: access, Notices: notices,
		Blocked: th.Blocked, Direct: th.Kind == parley.ThreadDirect}, nil
}

func (p *Pages) handleAppsPart(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.messengerMember(w, r)
	if !ok {
		return
	}
	th, err := p.svc.Thread(ctx, r.PathValue("id"))
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	panel, err := p.appsPanel(ctx, w, r, th, nil)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	p.render(w, http.StatusOK, "part-apps", panel)
}

// setAppAccess closes the thread to apps (allowed=false) or withdraws the
// member's closing (allowed=true).
func (p *Pages) setAppAccess(ctx context.Context, r *http.Request) (string, error) {
	allowed, err := formBool(r, "allowed")
	if err != nil {
		return "", err
	}
	_, err = p.svc.SetThreadAppAccess(ctx, r.PathValue("id"), allowed)
	return threadURL(r.PathValue("id")) + "#thread-apps", err
}

// noticeText says a notice as a sentence for the member who reads it, in
// a conversation of two (direct) or a group.
func noticeText(me parley.UserRef, n parley.ThreadNotice, direct bool) string {
	name, whose := seenApart(me, n.By)
	who := writerName(me, n.By)
	if n.By.ID != me.ID {
		who = isolate(who)
	}
	app := isolate(n.AppName)
	switch n.Kind {
	case parley.NoticeAppAdded:
		var can []string
		for _, p := range threadPowers {
			if n.Scopes.Has(p.scope) && (direct || !p.directOnly) {
				// The first names the conversation, the others say "it".
				conv := "it"
				if len(can) == 0 {
					conv = "this chat"
				}
				can = append(can, strings.NewReplacer("{conv}", conv, "{name}", name, "{whose}", whose).Replace(p.notice))
			}
		}
		switch len(can) {
		case 0:
			return app + " can now see this chat, but not its messages, through " + whose + " connection."
		case 1:
			return app + " can now " + can[0] + " through " + whose + " connection."
		}
		return app + " can now " + strings.Join(can[:len(can)-1], ", ") + " and " + can[len(can)-1] + ", through " + whose + " connection."
	case parley.NoticeAppsClosed:
		return who + " closed this chat to apps."
	case parley.NoticeAppsReopened:
		// Others may still keep it closed: the notice says what this
		// member did, not what the conversation now is.
		return who + " stopped keeping this chat closed to apps."
	}
	return ""
}

// threadPowers are what an app may do in a conversation its grant reaches
// that the conversation's other members are told of, in the words of a
// notice and of the list of apps that reach it ("{name}" and "{whose}"
// for the member whose grant it is).
var threadPowers = []struct {
	scope         parley.Scope
	notice, reach string
	// directOnly is a power in a conversation of two only.
	directOnly bool
}{
	{parley.ScopeMessagesRead, "read {conv}", "reads messages", false},
	{parley.ScopeMessagesWrite, "post in {conv} as {name}", "posts as {name}", false},
	{parley.ScopeMessagesDelete, "delete {whose} messages in {conv}", "deletes {whose} messages", false},
	{parley.ScopeParticipantsRead, "see who is in {conv}", "sees who takes part", false},
	// Service.Share posts into the conversation with a friend alone.
	{parley.ScopeSharesWrite, "post links in {conv} as {name}", "posts links as {name}", true},
}

// reachText names an app that reaches the thread, a conversation of two
// (direct) or a group, what it may do there, and the member whose grant
// lets it, for the member who reads it.
func reachText(me parley.UserRef, g parley.ThreadGrant, direct bool) string {
	name, whose := seenApart(me, g.Member)
	words := strings.NewReplacer("{name}", name, "{whose}", whose)
	var can []string
	for _, p := range threadPowers {
		if g.Scopes.Has(p.scope) && (direct || !p.directOnly) {
			can = append(can, words.Replace(p.reach))
		}
	}
	if !g.Scopes.Has(parley.ScopeMessagesRead) {
		can = append([]string{"sees the conversation, not its messages"}, can...)
	}
	return isolate(g.AppName) + " (" + strings.Join(can, ", ") + "), through " + whose + " connection"
}

// closersText names who keeps a thread closed to apps, the reader as "you".
func closersText(me parley.UserRef, closers []parley.UserRef) string {
	names := make([]string, len(closers))
	for i, u := range closers {
		names[i], _ = seenApart(me, u)
	}
	return strings.Join(names, ", ")
}

// writerName names u to me as the first word of a sentence, or as the
// writer of a line: "You", or their name.
func writerName(me, u parley.UserRef) string {
	if u.ID == me.ID {
		return parley.ReaderDisplayName
	}
	return displayName(u)
}

// seenBy names u, and what is u's, for the member me: "you" and "your"
// when u is me.
func seenBy(me, u parley.UserRef) (name, whose string) {
	if u.ID == me.ID {
		return "you", "your"
	}
	name = displayName(u)
	return name, name + "'s"
}

// seenApart is seenBy with the name set apart from the sentence around it
// (isolate), for sentences that go on after it.
func seenApart(me, u parley.UserRef) (name, whose string) {
	if u.ID == me.ID {
		return seenBy(me, u)
	}
	name = isolate(displayName(u))
	return name, name + "'s"
}
