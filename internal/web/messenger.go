package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/oauth"
	"github.com/parleyhq/parley/internal/service"
	"github.com/rivo/uniseg"
)

// The messenger: the pages members talk on, at /. They are rendered on the
// server and work without script; static/messenger.js adds live updates
// over the realtime WebSocket, which it opens with the session cookie, and
// sends and deletes without reloading. Live updates fetch the same
// server-rendered parts the pages are made of (/parts/inbox,
// /t/{id}/messages?after=, /t/{id}/head, /t/{id}/seen), so that every
// message is rendered, and escaped, in one place. Every part goes through
// the service, like the API.

const (
	signUpPath  = "/sign-up"
	signInPath  = "/sign-in"
	signOutPath = "/sign-out"
	friendsPath = "/friends"
	newPath     = "/new"
)

// asyncHeader marks a form the messenger's script posts itself: it is
// answered 204 instead of a redirect to a page.
const asyncHeader = "X-Parley-Async"

func (p *Pages) routeMessenger(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.handleInbox)
	mux.HandleFunc("GET "+signUpPath, p.handleSignUp)
	mux.HandleFunc("POST "+signUpPath, p.handleSignUpPost)
	mux.HandleFunc("GET "+signInPath, p.handleSignIn)
	mux.HandleFunc("POST "+signInPath, p.handleSignInPost)
	mux.HandleFunc("POST "+signOutPath, p.handleSignOut)
	mux.HandleFunc("GET "+friendsPath, p.handleFriends)
	mux.HandleFunc("POST "+friendsPath, p.handleFriendAdd)
	mux.HandleFunc("POST "+friendsPath+"/{id}/remove", p.posted(p.removeFriend))
	mux.HandleFunc("POST /blocks", p.posted(p.blockMember))
	mux.HandleFunc("POST /blocks/{id}/remove", p.posted(p.unblockMember))
	mux.HandleFunc("GET "+newPath, p.handleNewThread)
	mux.HandleFunc("POST "+newPath, p.handleNewThreadPost)
	mux.HandleFunc("GET /search", p.handleSearch)
	mux.HandleFunc("GET /t/{id}", p.handleThread)
	mux.HandleFunc("GET /t/{id}/messages", p.handleMessagesPart)
	mux.HandleFunc("GET /t/{id}/head", p.handleHeadPart)
	mux.HandleFunc("GET /t/{id}/seen", p.handleSeenPart)
	mux.HandleFunc("POST /t/{id}/messages", p.posted(p.send))
	mux.HandleFunc("POST /t/{id}/messages/{mid}/edit", p.posted(p.editMessage))
	mux.HandleFunc("POST /t/{id}/messages/{mid}/delete", p.posted(p.deleteMessage))
	mux.HandleFunc("POST /t/{id}/messages/{mid}/react", p.posted(p.react))
	mux.HandleFunc("POST /t/{id}/messages/{mid}/flag", p.posted(p.flag))
	mux.HandleFunc("POST /t/{id}/read", p.posted(p.markRead))
	mux.HandleFunc("POST /t/{id}/typing", p.posted(p.typing))
	mux.HandleFunc("POST /t/{id}/participants", p.posted(p.addPeople))
	mux.HandleFunc("POST /t/{id}/leave", p.posted(p.leave))
	mux.HandleFunc("POST /t/{id}/remove", p.posted(p.removePerson))
	mux.HandleFunc("POST /t/{id}/title", p.posted(p.rename))
	mux.HandleFunc("POST /t/{id}/mute", p.posted(p.mute))
	mux.HandleFunc("GET /t/{id}/apps", p.handleAppsPart)
	mux.HandleFunc("POST /t/{id}/apps", p.posted(p.setAppAccess))
	mux.HandleFunc("GET /parts/inbox", p.handleInboxPart)
}

// shell is what every signed-in messenger page carries: the member, the
// CSRF token of its forms and the inbox beside the page.
type shell struct {
	Title, CSRF string
	Me          parley.UserRef
	Inbox       inboxList
	// Current is the thread the page shows, if any.
	Current string
	// Section names the tab of the bar a page is under, when not its title.
	Section string
	// Tab names the tab of the Apps pages' own row (apps-nav) a page is
	// under: the page itself when it is also its title, else a page
	// reached from it, such as an app's page in the developer console.
	Tab string
	// Searching marks the search page, whose field of its own takes the
	// place of the inbox's.
	Searching bool
	// Operator shows the bar's link to the operator pages: the member's
	// account, as the server holds it, decides, as it decides who may
	// open them.
	Operator bool
}

// inboxList is one page of the inbox: the member's threads by latest
// activity, parley.MaxThreadLimit at most.
type inboxList struct {
	Items []threadItem
	// Cursor is the page's own position, empty for the newest threads;
	// Older, the next page's, empty when there is none.
	Cursor, Older string
	// Blocked are the IDs of the members the member blocks among the
	// people of the threads listed (and, on a page of older chats, of the
	// newest ones), separated by spaces: the script shows no notification
	// of their messages. It comes with the inbox, which the script fetches
	// again before it notifies, so that a block made elsewhere counts from
	// then on.
	Blocked string
}

// Unread is how many of the page's threads, muted ones aside, have
// messages the member has not read: the tab's title starts with it, as the
// script keeps it.
func (l inboxList) Unread() int {
	n := 0
	for _, it := range l.Items {
		if it.UnreadCount > 0 && !it.Muted {
			n++
		}
	}
	return n
}

// threadItem is one thread as the inbox lists it.
type threadItem struct {
	*parley.ThreadSummary
	Name    string
	Preview lastMessage
	Current bool
}

// signUpPage is what the sign-up page shows.
type signUpPage struct {
	Title, CSRF, Error, Username, DisplayName string
	// Next is the page to go to once the account is made, when not the
	// inbox: the page the member was signing in for, such as an app's
	// sign-in request.
	Next string
}

// messengerSignIn is the messenger's sign-in page, coming back to next
// (a local path, see localPath), which offers an account while
// registration is open.
func (p *Pages) messengerSignIn(next string) loginPage {
	page := loginPage{Title: "Sign in", Action: signInPath}
	if next != "/" {
		page.Next = next
	}
	if p.svc.RegistrationOpen() {
		page.SignUp = signUpURL(next)
	}
	return page
}

// signUpURL is the sign-up page that goes on to next, a local path, once
// the account is made.
func signUpURL(next string) string {
	if next == "/" {
		return signUpPath
	}
	return signUpPath + "?next=" + url.QueryEscape(next)
}

// handleSignUp shows the sign-up form, or, while registration is closed,
// says so before anyone fills it in.
func (p *Pages) handleSignUp(w http.ResponseWriter, r *http.Request) {
	if !p.svc.RegistrationOpen() {
		p.renderError(w, r, service.ErrRegistrationClosed)
		return
	}
	page := signUpPage{Title: "Create your account", CSRF: p.csrfToken(w, r)}
	if next := localPath(r.URL.Query().Get("next")); next != "/" {
		page.Next = next
	}
	p.render(w, http.StatusOK, "signup", page)
}

func (p *Pages) handleSignUpPost(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.PostFormValue("next"))
	if !p.checkSignInCSRF(w, r, next) {
		return
	}
	in := service.NewAccount{
		Username: r.PostFormValue("username"), Password: r.PostFormValue("password"), DisplayName: r.PostFormValue("display_name"),
	}
	if _, err := p.svc.Register(r.Context(), in); err != nil {
		setRetryAfter(w, err)
		page := signUpPage{
			Title: "Create your account", CSRF: p.csrfToken(w, r), Error: parley.ErrorMessage(err),
			Username: in.Username, DisplayName: in.DisplayName,
		}
		if next != "/" {
			page.Next = next
		}
		p.render(w, httpapi.StatusOf(err), "signup", page)
		return
	}
	if p.signIn(w, r, p.messengerSignIn(next)) {
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

func (p *Pages) handleSignIn(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if _, err := p.member(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	page := p.messengerSignIn(next)
	page.CSRF, page.Notice = p.csrfToken(w, r), signInNotices[r.URL.Query().Get("done")]
	p.render(w, http.StatusOK, "login", page)
}

// signInURL is the sign-in page that comes back to the page of r once
// signed in.
func signInURL(r *http.Request) string {
	if r.Method != http.MethodGet || r.URL.Path == "/" {
		return signInPath
	}
	return signInPath + "?next=" + url.QueryEscape(r.URL.RequestURI())
}

// localPath returns next when it is a path on this server, else "/": the
// sign-in page's next must not send a member to another site (an open
// redirect). A path starts with one "/": "//host" and "/\host" are
// another host to a browser, and a browser drops tabs and new lines from
// an address, so that "/\t/host" is "//host". Nor is a share link's path
// one: coming from the sign-in page, the browser would say the member
// opened it from Parley, and be sent on to the card's site without the
// page that says it leaves Parley. Nor is a path of the provider's
// (/oauth2/), which answers an app's request at the app's redirect URI,
// on any site a member registered (RFC 9700 section 4.11.2), but for an
// app's sign-in page (oauth.LoginPath), which the sign-up page goes back
// to and which only serves a request its browser started.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.ContainsFunc(next, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '\\' }) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(next, "//") {
		return "/"
	}
	clean := path.Clean(u.Path) + "/"
	if strings.HasPrefix(clean, service.ShareLinkPath) || strings.HasPrefix(clean, oauth.PathPrefix) && u.Path != oauth.LoginPath {
		return "/"
	}
	return next
}

// signInNotices are the notices the sign-in page shows, by ?done=.
var signInNotices = map[string]string{
	"deleted": "Your account is deleted, and you are signed out everywhere. Your username stays reserved, so nobody can pass for you.",
	// An open page whose member's account an operator disabled comes
	// here by itself (messenger.js).
	"disabled": "An operator of this server disabled your account, so you are signed out everywhere. You can sign in again once they enable it.",
	// An open page whose session ended (signed out elsewhere, by an
	// operator, or expired) comes here by itself (messenger.js).
	"ended": "Your session ended, so you are signed out here. Sign in again to go on where you were; what you were writing is kept.",
}

func (p *Pages) handleSignInPost(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.PostFormValue("next"))
	if !p.checkSignInCSRF(w, r, next) {
		return
	}
	if p.signIn(w, r, p.messengerSignIn(next)) {
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

func (p *Pages) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	if ctx, err := p.member(r); err == nil {
		if err := p.svc.SignOut(ctx); err != nil {
			p.renderError(w, r, err)
			return
		}
	}
	http.SetCookie(w, p.cookies.New(sessionCookie, "", -time.Second))
	http.Redirect(w, r, signInPath, http.StatusSeeOther)
}

// messengerMember returns the request's context with its signed-in member,
// or sends the browser to sign in. A part fetched by the script answers
// 401 instead, for the script to send the page to sign in.
func (p *Pages) messengerMember(w http.ResponseWriter, r *http.Request) (context.Context, bool) {
	ctx, err := p.member(r)
	if err == nil {
		return ctx, true
	}
	if r.Header.Get(asyncHeader) != "" {
		w.WriteHeader(http.StatusUnauthorized)
		return nil, false
	}
	http.Redirect(w, r, signInURL(r), http.StatusSeeOther)
	return nil, false
}

// sectionChats marks the pages under the bar's Chats tab besides the
// inbox itself: a thread, and the page that starts one.
const sectionChats = "chats"

// newShell returns the shell of a page, with the inbox, with current
// marked as the thread shown; a page showing a thread is under Chats.
func (p *Pages) newShell(ctx context.Context, w http.ResponseWriter, r *http.Request, title, current string) (shell, error) {
	caller := parley.CallerFromContext(ctx)
	sh := shell{Title: title, CSRF: p.csrfToken(w, r), Me: caller.User, Current: current, Operator: caller.Operator}
	if current != "" {
		sh.Section = sectionChats
	}
	var err error
	sh.Inbox, err = p.inbox(ctx, current, r.URL.Query().Get(chatsParam))
	return sh, err
}

// blockedIn returns, sorted, the IDs of the members the member blocks
// among the people of the threads an inbox page lists, page, read at
// cursor: what the page's script needs to show no notification of a
// blocked member's message, not every member the member blocks. A message
// makes its thread the newest, and the script reads the inbox page it
// shows again before it notifies: on a page of older chats, the newest
// threads, where the message is, count too, at the cost of reading their
// page.
func (p *Pages) blockedIn(ctx context.Context, page *parley.ThreadPage, cursor string) ([]string, error) {
	pages := []*parley.ThreadPage{page}
	if cursor != "" {
		newest, err := p.svc.Threads(ctx, "", parley.MaxThreadLimit, 0)
		if err != nil {
			return nil, err
		}
		pages = append(pages, newest)
	}
	var blocked []string
	for _, pg := range pages {
		ids := make([]string, len(pg.Threads))
		for i, t := range pg.Threads {
			ids[i] = t.ID
		}
		in, err := p.svc.BlockedIn(ctx, ids)
		if err != nil {
			return nil, err
		}
		blocked = append(blocked, in...)
	}
	slices.Sort(blocked)
	return slices.Compact(blocked), nil
}

// chatsParam names the query parameter of a page of older chats: the
// inbox's cursor.
const chatsParam = "chats"

// inbox returns the page of the member's threads at cursor ("" for the
// newest), by latest activity, each with its name and last message, and
// the members the member blocks among their people (blockedIn).
func (p *Pages) inbox(ctx context.Context, current, cursor string) (inboxList, error) {
	page, err := p.svc.Threads(ctx, cursor, parley.MaxThreadLimit, 0)
	if err != nil {
		return inboxList{}, err
	}
	blocked, err := p.blockedIn(ctx, page, cursor)
	if err != nil {
		return inboxList{}, err
	}
	me := parley.CallerFromContext(ctx).User
	// Threads without a title are named by their people, read in one go.
	var untitled []string
	for _, t := range page.Threads {
		if t.Title == "" {
			untitled = append(untitled, t.ID)
		}
	}
	people, err := p.svc.ParticipantsOf(ctx, untitled)
	if err != nil {
		return inboxList{}, err
	}
	items := make([]threadItem, 0, len(page.Threads))
	for _, t := range page.Threads {
		name := t.Title
		if name == "" {
			name = othersNamed(people[t.ID], me)
		}
		items = append(items, threadItem{ThreadSummary: t, Name: name, Preview: preview(t.LastMessage, me), Current: t.ID == current})
	}
	return inboxList{Items: items, Cursor: cursor, Older: page.NextCursor, Blocked: strings.Join(blocked, " ")}, nil
}

// othersNamed names the people other than me, or says there is no one.
func othersNamed(people []parley.UserRef, me parley.UserRef) string {
	var names []string
	for _, u := range people {
		if u.ID != me.ID {
			names = append(names, displayName(u))
		}
	}
	if len(names) == 0 {
		return "Only you"
	}
	return strings.Join(names, ", ")
}

// displayName is a member's display name, or their username without one.
func displayName(u parley.UserRef) string {
	if strings.TrimSpace(u.DisplayName) != "" {
		return u.DisplayName
	}
	return u.Username
}

// isolate sets a piece of people's text (a name, a title, an app's name)
// apart from the sentence the server writes around it, between U+2068
// FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE, as <bdi> does
// in HTML: a name in Hebrew or Arabic takes its own direction, and the
// count, date or comma after it stays on its side of it ("Seen by דנה, Bob"
// would otherwise read with the comma and Bob drawn before the name). For
// text where no element may stand: attributes, <option>s, strings the
// script shows.
func isolate(s string) string { return "\u2068" + s + "\u2069" }

// preview is the inbox's line for a thread's last message.
func preview(m *parley.Message, me parley.UserRef) lastMessage {
	if m == nil {
		return lastMessage{Text: "No messages yet"}
	}
	who := displayName(m.Sender)
	if m.Sender.ID == me.ID {
		who = parley.ReaderDisplayName
	}
	switch {
	case m.DeletedAt != nil:
		return lastMessage{Who: who, Text: "message deleted"}
	case m.Share != nil:
		return lastMessage{Who: who, Text: "shared " + m.Share.Title}
	}
	return lastMessage{Who: who, Text: oneLine(m.Text, 80)}
}

// lastMessage is a chat's last message as the inbox shows it: who sent
// it and the start of its text, each drawn in its own direction, so that
// a name or a text written right to left keeps its punctuation at its own
// end.
type lastMessage struct{ Who, Text string }

// inboxPage is what the inbox page shows.
type inboxPage struct {
	shell
	// Notice says what brought the member here (?done=).
	Notice string
	// Gone says the member came from a chat they are no longer in, whose
	// page keeps what they wrote there and did not send for this one to
	// show (messenger.js): only the browser's tab holds it.
	Gone bool
}

// inboxNotices are the notices the inbox page shows, by ?done=. An open
// chat's page comes here by itself (messenger.js) once its member is no
// longer in the chat; it names the chat in place of "that chat", from the
// name it showed: the address names no chat, so that no link can make
// the page say the member is out of one.
var inboxNotices = map[string]string{
	"gone": "You are no longer in that chat: you left it on another device, or were removed from it.",
}

func (p *Pages) handleInbox(w http.ResponseWriter, r *http.Request) {
	ctx, err := p.member(r)
	if err != nil {
		http.Redirect(w, r, signInPath, http.StatusSeeOther)
		return
	}
	sh, err := p.newShell(ctx, w, r, "Chats", "")
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	done := r.URL.Query().Get("done")
	p.render(w, http.StatusOK, "inbox", inboxPage{shell: sh, Notice: inboxNotices[done], Gone: done == "gone"})
}

func (p *Pages) handleInboxPart(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.messengerMember(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	inbox, err := p.inbox(ctx, q.Get("current"), q.Get(chatsParam))
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	p.render(w, http.StatusOK, "part-inbox", shell{Inbox: inbox})
}

// threadPage is what a thread's page shows.
type threadPage struct {
	shell
	Head     threadHead
	Messages messageList
	Seen     seenLine
	Apps     appsPanel
	// Newer is set when the page shows older messages, not the newest.
	Newer bool
	// Reply is the message the field answers, when the page was asked to
	// (?reply=).
	Reply *quoteView
	// Notice says what the last action did (?done=).
	Notice string
}

// threadHead is the top of a thread's page: its name, who is in it, and
// the forms that change it.
type threadHead struct {
	Thread *parley.ThreadSummary
	// Me is the page's member.
	Me      parley.UserRef
	Name    string
	People  []parley.UserRef
	Friends []parley.UserRef // friends not in the thread, who can be added
	// Removable are, in a group the page's member started, the others in
	// it, whom they may remove.
	Removable []parley.UserRef
	// KeepsAppsOut says the page's member keeps the group closed to apps,
	// which their leaving withdraws.
	KeepsAppsOut bool
	CSRF         string
	// apps is what apps may do in a group, as read for KeepsAppsOut, for
	// the page's apps panel to show without reading it again; nil for a
	// direct thread.
	apps *parley.ThreadAppAccess
	// Other is, in a direct thread, the member the page's member talks
	// with; Blocking says the page's member blocks them.
	Other    parley.UserRef
	Blocking bool
}

// messageList is a run of a thread's messages as the page shows them.
type messageList struct {
	ThreadID, CSRF string
	Me             parley.UserRef
	Messages       []*parley.Message
	// Older is set when there are messages before the first shown.
	Older bool
	// More is set when there are messages after the last shown.
	More bool
	// Notes are the group's timeline notes among the messages
	// (parley.MessagePage.Notes), and MoreNotes says that earlier ones
	// were left out (parley.MessagePage.HasMoreNotes).
	Notes     []parley.TimelineNote
	MoreNotes bool
	// Quoted are the messages its replies answer that it does not hold,
	// by seq (addQuotes).
	Quoted map[int64]*parley.Message
	// Blocked says the thread takes no new messages or reactions
	// (parley.Thread.Blocked).
	Blocked bool
	// Unread marks where the messages new to the member begin, on the
	// newest page of a conversation they had not read to its end.
	Unread *unreadMark
}

// openedByMember reports whether a GET of a page is the member's own
// doing: a link on one of Parley's pages, or an address typed or
// bookmarked (Sec-Fetch-Site same-origin or none; a browser that sends no
// such header is taken at its word). A navigation that another site
// started carries the session cookie too (SameSite=Lax lets it), so a page
// that changes something when opened, as a thread marks itself read, does
// so only for this: another site must not tell a thread's other members
// that the member saw their messages. A HEAD changes nothing.
func openedByMember(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Site") == "" || saysOpenedByMember(r)
}

// saysOpenedByMember reports whether a GET of a page says, in the Fetch
// Metadata the browser sends, that it is the member's own doing: Sec-Fetch-Site
// same-origin or none. A browser that sends no such header says nothing.
func saysOpenedByMember(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	}
	return false
}

func (p *Pages) handleThread(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.messengerMember(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	q := service.MessageQuery{Notes: true}
	if before, ok := seqParam(r, "before"); ok {
		q.Before = &before
	}
	page, err := p.svc.Messages(ctx, id, q)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	head, err := p.threadHead(ctx, w, r, id)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	// Opening a thread reads it, when the member opened it.
	if q.Before == nil && head.Thread.LastSeq > head.Thread.LastReadSeq && openedByMember(r) {
		if err := p.svc.MarkRead(ctx, id, head.Thread.LastSeq); err != nil {
			p.renderError(w, r, err)
			return
		}
	}
	sh, err := p.newShell(ctx, w, r, head.Name, id)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	seen, err := p.seen(ctx, id, sh.Me)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	apps, err := p.appsPanel(ctx, w, r, head.Thread, head.apps)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	// A page before a message past the thread's last shows its newest.
	newer := q.Before != nil && *q.Before <= head.Thread.LastSeq
	list := messageList{ThreadID: id, CSRF: sh.CSRF, Me: sh.Me, Messages: page.Messages, Notes: page.Notes, MoreNotes: page.HasMoreNotes, Older: page.HasMore, More: newer, Blocked: head.Thread.Blocked}
	if q.Before == nil && head.Thread.UnreadCount > 0 {
		list.Unread = &unreadMark{After: head.Thread.UnreadAfter(), Count: head.Thread.UnreadCount}
	}
	if err := p.addQuotes(ctx, &list); err != nil {
		p.renderError(w, r, err)
		return
	}
	reply, err := p.replyingTo(ctx, r, list)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	head.CSRF = sh.CSRF
	p.render(w, http.StatusOK, "thread", threadPage{shell: sh, Head: head, Seen: seen, Apps: apps, Newer: newer, Messages: list, Reply: reply,
		Notice: threadNotices[r.URL.Query().Get("done")]})
}

// threadHead returns the top of a thread's page.
func (p *Pages) threadHead(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) (threadHead, error) {
	th, err := p.svc.Thread(ctx, id)
	if err != nil {
		return threadHead{}, err
	}
	people, err := p.svc.Participants(ctx, id)
	if err != nil {
		return threadHead{}, err
	}
	me := parley.CallerFromContext(ctx).User
	head := threadHead{Thread: th, Me: me, People: people, Name: th.Title, CSRF: p.csrfToken(w, r)}
	if head.Name == "" {
		head.Name = othersNamed(people, me)
	}
	if th.Kind == parley.ThreadDirect {
		for _, u := range people {
			if u.ID != me.ID {
				head.Other = u
			}
		}
		if th.Blocked {
			if head.Blocking, err = p.svc.Blocks(ctx, head.Other.ID); err != nil {
				return threadHead{}, err
			}
		}
	}
	if th.Keeper(people) == me.ID {
		for _, u := range people {
			if u.ID != me.ID {
				head.Removable = append(head.Removable, u)
			}
		}
	}
	if th.Kind == parley.ThreadGroup {
		if head.apps, err = p.svc.ThreadApps(ctx, id); err != nil {
			return threadHead{}, err
		}
		head.KeepsAppsOut = containsUser(head.apps.ClosedBy, me.ID)
		// Every friend, to pick one to add: as many as the member has.
		friends, err := p.svc.AllFriends(ctx)
		if err != nil {
			return threadHead{}, err
		}
		for _, f := range friends {
			if !containsUser(people, f.User.ID) {
				head.Friends = append(head.Friends, f.User)
			}
		}
	}
	return head, nil
}

func containsUser(users []parley.UserRef, id string) bool {
	for _, u := range users {
		if u.ID == id {
			return true
		}
	}
	return false
}

// seenLine is the line under a thread's last message.
type seenLine struct {
	// Text says who, other than the member and the last message's
	// sender, has read the thread to its last message.
	Text string
	// Read is the member's own read marker, which the script posts again
	// only when it would move it forward.
	Read int64
}

// seen returns the line under the thread's last message.
func (p *Pages) seen(ctx context.Context, id string, me parley.UserRef) (seenLine, error) {
	th, err := p.svc.Thread(ctx, id)
	if err != nil {
		return seenLine{}, err
	}
	line := seenLine{Read: th.LastReadSeq}
	if th.LastMessage == nil {
		return line, nil
	}
	markers, err := p.svc.ReadMarkers(ctx, id)
	if err != nil {
		return seenLine{}, err
	}
	var names []string
	for _, m := range markers {
		if m.User.ID != me.ID && m.User.ID != th.LastMessage.Sender.ID && m.Seq >= th.LastSeq {
			names = append(names, isolate(displayName(m.User)))
		}
	}
	if len(names) > 0 {
		line.Text = "Seen by " + strings.Join(names, ", ")
	}
	return line, nil
}

// seqParam reads a positive message seq from the query.
func seqParam(r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(r.URL.Query().Get(name), 10, 64)
	return n, err == nil && n >= 0
}

// handleMessagesPart answers the messages after ?after= (oldest first, as
// many as a page holds) or before ?before= for the script, rendered as on
// the page: it appends new ones, replaces changed ones (deleted), and
// prepends older ones.
func (p *Pages) handleMessagesPart(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.messengerMember(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	q := service.MessageQuery{Notes: true}
	if after, ok := seqParam(r, "after"); ok {
		q.After = &after
	} else if before, ok := seqParam(r, "before"); ok {
		q.Before = &before
	} else {
		p.render(w, http.StatusBadRequest, "error", errorPage{Title: "Bad request", Error: "Ask for the messages after or before a seq."})
		return
	}
	if limit, ok := seqParam(r, "limit"); ok {
		q.Limit = int(min(limit, parley.MaxMessageLimit))
	}
	th, err := p.svc.Thread(ctx, id)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	page, err := p.svc.Messages(ctx, id, q)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	list := messageList{ThreadID: id, CSRF: p.csrfToken(w, r), Me: parley.CallerFromContext(ctx).User, Messages: page.Messages, Notes: page.Notes, MoreNotes: page.HasMoreNotes, Blocked: th.Blocked}
	if q.After != nil {
		list.More = page.HasMore
	} else {
		list.Older = page.HasMore
	}
	if err := p.addQuotes(ctx, &list); err != nil {
		p.renderError(w, r, err)
		return
	}
	p.render(w, http.StatusOK, "part-messages", list)
}

func (p *Pages) handleHeadPart(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.messengerMember(w, r)
	if !ok {
		return
	}
	head, err := p.threadHead(ctx, w, r, r.PathValue("id"))
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	p.render(w, http.StatusOK, "part-head", head)
}

func (p *Pages) handleSeenPart(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.messengerMember(w, r)
	if !ok {
		return
	}
	seen, err := p.seen(ctx, r.PathValue("id"), parley.CallerFromContext(ctx).User)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	p.render(w, http.StatusOK, "part-seen", seen)
}

// done answers a form that worked: 204 to the script, a redirect to the
// page otherwise.
func done(w http.ResponseWriter, r *http.Request, page string) {
	if r.Header.Get(asyncHeader) != "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, page, http.StatusSeeOther)
}

// postedMember checks a form's CSRF token, returns its member, and holds
// the post to their rate limit (admitted).
func (p *Pages) postedMember(w http.ResponseWriter, r *http.Request) (context.Context, bool) {
	if !p.checkCSRF(w, r) {
		return nil, false
	}
	ctx, ok := p.messengerMember(w, r)
	return ctx, ok && p.admitted(ctx, w, r)
}

func threadURL(id string) string { return "/t/" + url.PathEscape(id) }

// posted is the handler of a member's form that does act: it checks the
// form's CSRF token and the member's session, and then goes to the page
// act returns, or shows act's error.
func (p *Pages) posted(act func(ctx context.Context, r *http.Request) (page string, err error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, ok := p.postedMember(w, r)
		if !ok {
			return
		}
		page, err := act(ctx, r)
		if err != nil {
			p.renderError(w, r, err)
			return
		}
		done(w, r, page)
	}
}

// send posts a message, answering the one the form's reply_to names, if
// any; the form's key makes a send posted twice (a retry) one message.
func (p *Pages) send(ctx context.Context, r *http.Request) (string, error) {
	id := r.PathValue("id")
	d := service.Draft{Text: formText(r, "text"), ReplyToSeq: formSeq(r, "reply_to")}
	_, _, err := p.svc.SendMessage(ctx, id, d, r.PostFormValue("key"))
	return threadURL(id) + "#send", err
}

// formText returns a form's field of text as it was written: a browser
// posts a field's line breaks as CRLF (HTML's form submission), which
// would store each as two characters and make a message saved unchanged
// an edit.
func formText(r *http.Request, name string) string {
	return strings.ReplaceAll(r.PostFormValue(name), "\r\n", "\n")
}

// editMessage edits a message and goes back to it.
func (p *Pages) editMessage(ctx context.Context, r *http.Request) (string, error) {
	m, err := p.svc.EditMessage(ctx, r.PathValue("mid"), formText(r, "text"))
	if err != nil {
		return "", err
	}
	return threadURL(m.ThreadID) + "#m" + strconv.FormatInt(m.Seq, 10), nil
}

func (p *Pages) deleteMessage(ctx context.Context, r *http.Request) (string, error) {
	return threadURL(r.PathValue("id")), p.svc.DeleteMessage(ctx, r.PathValue("mid"))
}

func (p *Pages) markRead(ctx context.Context, r *http.Request) (string, error) {
	seq, err := strconv.ParseInt(r.PostFormValue("seq"), 10, 64)
	if err != nil {
		seq = -1 // refused by the service
	}
	return threadURL(r.PathValue("id")), p.svc.MarkRead(ctx, r.PathValue("id"), seq)
}

// typing tells the thread's other members that the member is writing; the
// script posts it, which a page without one has no use for.
func (p *Pages) typing(ctx context.Context, r *http.Request) (string, error) {
	return threadURL(r.PathValue("id")), p.svc.Typing(ctx, r.PathValue("id"))
}

func (p *Pages) addPeople(ctx context.Context, r *http.Request) (string, error) {
	_, err := p.svc.AddParticipant(ctx, r.PathValue("id"), r.PostFormValue("username"))
	return threadURL(r.PathValue("id")), err
}

func (p *Pages) rename(ctx context.Context, r *http.Request) (string, error) {
	title := r.PostFormValue("title")
	_, err := p.svc.UpdateThread(ctx, r.PathValue("id"), service.ThreadUpdate{Title: &title})
	return threadURL(r.PathValue("id")), err
}

// mute mutes the thread (muted=true) or unmutes it (muted=false).
func (p *Pages) mute(ctx context.Context, r *http.Request) (string, error) {
	muted, err := formBool(r, "muted")
	if err != nil {
		return "", err
	}
	_, err = p.svc.UpdateThread(ctx, r.PathValue("id"), service.ThreadUpdate{Muted: &muted})
	return threadURL(r.PathValue("id")), err
}

// formBool reads a form field that must be "true" or "false".
func formBool(r *http.Request, name string) (bool, error) {
	switch r.PostFormValue(name) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, parley.Errorf(parley.EINVALID, "%s must be true or false", name)
}

func (p *Pages) removePerson(ctx context.Context, r *http.Request) (string, error) {
	next, who := threadURL(r.PathValue("id")), r.PostFormValue("user")
	if who == parley.CallerFromContext(ctx).User.ID {
		next = "/" // removing oneself is leaving
	}
	return next, p.svc.RemoveParticipant(ctx, r.PathValue("id"), who)
}

func (p *Pages) leave(ctx context.Context, r *http.Request) (string, error) {
	return "/", p.svc.LeaveThread(ctx, r.PathValue("id"))
}

// messengerFuncs are the template functions of the messenger's pages.
var messengerFuncs = template.FuncMap{
	"name":     displayName,
	"isolate":  isolate,
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"shareURL": shareURL,
	"host":     hostOf,
	"initial":  initial,
	"newKey":   parley.RandomToken,
	"msgView":  msgView,
	"noteView": toNoteView,
	"linkify":  linkify,
	// flags.go
	"reportReasons": func() []reportReason { return reportReasons },
	// threadapps.go
	"noticeText": noticeText,
	"reachText":  reachText,
	"closers":    closersText,
}

// shareURL is where a share card leads: the member's own tracked link,
// which counts the visit and goes on to the page, or the page itself.
func shareURL(sh *parley.Share) string {
	if sh.Link != "" {
		return sh.Link
	}
	return sh.URL
}

// hostOf is the host a share card's page is on, shown under its title.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Hostname(), "www.")
}

// initial is the letter of a name's avatar: its first character as a
// reader sees one (a grapheme cluster: a flag, an emoji with its skin tone,
// a letter with its combining accent), in capitals.
func initial(name string) string {
	first, _, _, _ := uniseg.FirstGraphemeClusterInString(strings.TrimSpace(name), -1)
	if first == "" {
		return "?"
	}
	return strings.ToUpper(first)
}

// messageView is one message as the page shows it.
type messageView struct {
	M              *parley.Message
	Me             parley.UserRef
	Mine           bool
	ThreadID, CSRF string
	// Quote is the message it answers, if any.
	Quote *quoteView
	// Chips are its reactions, and Picks those the reader may give it or
	// take back.
	Chips []reactionChip
	Picks []reactionPick
	// Editable says the reader may edit it: a text of theirs, in a
	// conversation no block closes.
	Editable bool
}

// msgView returns a message of a list as the page shows it. In a blocked
// conversation it offers what the server takes there: taking back one's
// reaction, and deleting one's message, but no new reaction, nor an edit.
func msgView(l messageList, m *parley.Message) messageView {
	v := messageView{M: m, Me: l.Me, Mine: m.Sender.ID == l.Me.ID, ThreadID: l.ThreadID, CSRF: l.CSRF}
	if m.ReplyToSeq != 0 {
		v.Quote = l.quote(m.ReplyToSeq)
	}
	v.Editable = v.Mine && m.Share == nil && !l.Blocked
	// A deleted message has no reactions, and offers none.
	v.Chips, v.Picks = reactionChips(m, l.Me, l.Blocked), reactionPicks(m, l.Me, l.Blocked)
	return v
}

// when returns how the inbox dates a thread's last activity, by the
// service's clock: the time today, the day before. Both are in UTC, as a
// page without script shows them; the script shows them again in the
// browser's own time zone (messenger.js, localTimes).
func (p *Pages) when(t time.Time) string {
	if !p.today(t) {
		return t.UTC().Format("2 Jan")
	}
	return t.UTC().Format("15:04")
}

// stamp returns how a message is dated: the time today, with the day
// before.
func (p *Pages) stamp(t time.Time) string {
	if !p.today(t) {
		return t.UTC().Format("2 Jan 15:04")
	}
	return t.UTC().Format("15:04")
}

// today reports whether t is today, in UTC, by the service's clock.
func (p *Pages) today(t time.Time) bool {
	return t.UTC().Format(time.DateOnly) == p.svc.Now().UTC().Format(time.DateOnly)
}
