package service

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/parleyhq/parley"
)

// Events is a caller's stream of realtime events. A member's own session
// sees every event; an app sees only what its grant reaches, and only while
// its token works.
//
// An app's stream holds what it found out, so that an event costs it no
// read of its own: the access version at which its token was last found
// live, and, for each thread its grant reaches that its events were about,
// the first message the app may see there and who takes part. Before each
// event it compares its version with the store's, read after the event
// arrived by one read that the process's streams of the moment share: the
// version moves whenever access may have ended, whichever process or node
// made the change (a grant ended, an app's state changed, a token was
// revoked, a thread closed to apps), and the stream then checks its token
// again and forgets what it held. It forgets a thread too when the thread
// changes (thread.updated: someone joined or left) or what apps may do in
// it does (thread.apps_changed); a grant narrowed ends the stream
// (grants.ended).
//
// A member's stream ends with the session it was opened with: when the
// session expires, is ended (sessions.ended) or is found ended by the
// process's sweep (streamsessions.go).
type Events struct {
	parley.Subscription
	svc    *Service
	caller *parley.Caller
	// keys are whose the stream is, as the process counts its streams.
	keys []string
	// session is the entry of a member's session among the process's
	// stream sessions; nil for an app.
	session *streamSession

	// version is the access version at which an app's token was last
	// found live; threads, what the app may see of each thread since.
	version int64
	threads map[string]*streamThread
}

// streamThread is what an app's stream holds of a thread its grant
// reaches: the first message the app may see, and who takes part in the
// thread, whose logs each event delivered is written to when the event
// does not name its readers (parley.Event.Readers), as one published by a
// node of an earlier release may not.
type streamThread struct {
	from    int64
	readers []string
}

// Subscribe opens the caller's event stream. Apps need messages.read; they
// see read-marker and thread changes only with threads.read too. A member's
// own sessions may hold MaxStreams streams open on this process, an app as
// many for each member, and all apps together MaxAppStreams for each
// member: one more is ETHROTTLED.
//
// A member's stream is watched with its session, and subscribed to the
// bus, before the store confirms that the session lasts: a session that
// ends after the confirmation is then told to the stream by its
// sessions.ended event, or found by the sweep. The store is asked
// whether or not the session came from the node's cache, as one looked
// up afresh was read before the stream subscribed, and its sign-out's
// event may have been published in between.
func (s *Service) Subscribe(ctx context.Context) (*Events, error) {
	c, err := caller(ctx, parley.ScopeMessagesRead)
	if err != nil {
		return nil, err
	}
	keys, err := s.streams.join(c)
	if err != nil {
		return nil, err
	}
	e := &Events{svc: s, caller: c, keys: keys}
	if c.App == nil && c.SessionTokenHash != nil {
		e.session = s.streamSessions.join(c, s.Now())
	}
	if e.Subscription, err = s.bus.Subscribe(ctx, c.User.ID); err != nil {
		e.leave()
		return nil, err
	}
	if err := e.confirmSession(ctx); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.Check(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close ends the stream's subscription; call it once, when the stream ends.
func (e *Events) Close() {
	e.leave()
	e.Subscription.Close()
}

// leave stops counting the stream among those open, and watching a
// member's session for it.
func (e *Events) leave() {
	e.svc.streams.leave(e.keys)
	if e.session != nil {
		e.svc.streamSessions.leave(e.session)
	}
}

// confirmSession asks the store whether the session of a member's stream
// still lasts, and ends it, returning errSessionEnded, if not. An app's
// stream is confirmed by Check.
func (e *Events) confirmSession(ctx context.Context) error {
	if e.session == nil {
		return nil
	}
	now := e.svc.Now()
	var lasting [][]byte
	err := e.svc.store.Read(ctx, func(tx parley.Tx) (err error) {
		lasting, err = tx.FindLastingSessions(ctx, [][]byte{e.session.hash}, now)
		return err
	})
	if err != nil {
		return err
	}
	if len(lasting) == 0 {
		e.svc.streamSessions.end(e.session, errSessionEnded)
		return e.sessionErr()
	}
	return nil
}

// sessionErr returns what the stream ends with (errSessionEnded, or
// accountEnded's) once the session of a member's stream
// has ended, and nil before, and for an app's stream.
func (e *Events) sessionErr() error {
	if e.session == nil {
		return nil
	}
	select {
	case <-e.session.ended:
		return e.session.err
	default:
		return nil
	}
}

// eventScopes are the scopes an app must hold to receive each event; the
// first is the access the event is logged as.
var eventScopes = map[string]parley.Scopes{
	parley.EventMessageCreated: {parley.ScopeMessagesRead},
	parley.EventMessageEdited:  {parley.ScopeMessagesRead},
	parley.EventMessageReacted: {parley.ScopeMessagesRead},
	parley.EventMessageDeleted: {parley.ScopeMessagesRead},
	parley.EventReadUpdated:    {parley.ScopeThreadsRead},
	parley.EventThreadUpdated:  {parley.ScopeThreadsRead},
}

// Admit returns ev as the caller may receive it, and false when the caller
// may not receive it at all. For an app it makes sure that the token still
// works, so a revoked grant or a suspended app stops its stream at the next
// event, whichever process or node made the change: then it returns
// EUNAUTHORIZED and the stream should end, as it should on any error, such
// as for a grants.ended event about the app's grant, or a sessions.ended
// event about a member's session. An event an app may receive is logged,
// for everyone in its thread, before it is sent, once for all the streams
// of the app's grant that deliver it (logDelivery). Control events are
// never sent.
func (e *Events) Admit(ctx context.Context, ev parley.Event) (parley.Event, bool, error) {
	c := e.caller
	// The event as published: what follows may make another of it.
	eventID := ev.ID
	switch ev.Type {
	case parley.EventGrantsEnded:
		return ev, false, e.grantsEnded(ev)
	case parley.EventSessionsEnded:
		return ev, false, e.sessionsEnded(ev)
	}
	// Found ended by the sweep while the event waited: nothing more
	// reaches the stream.
	if err := e.sessionErr(); err != nil {
		return ev, false, err
	}
	if c.App == nil {
		ev, err := e.svc.forCallerEvent(ctx, c, ev)
		return ev, err == nil, err
	}
	if ev.Type == parley.EventThreadUpdated || ev.Type == parley.EventThreadAppsChanged {
		delete(e.threads, ev.ThreadID)
	}
	if _, ok := eventScope(c, ev); !ok {
		return ev, false, nil
	}
	if err := e.live(ctx, eventID); err != nil {
		return ev, false, err
	}
	// The grant as live found it: narrowed since, it may no longer hold
	// the event's scope.
	c = e.caller
	loggedAs, ok := eventScope(c, ev)
	if !ok {
		return ev, false, nil
	}
	// Made for that grant too: narrowed, it may no longer let the app
	// learn who reacted.
	ev, err := e.svc.forCallerEvent(ctx, c, ev)
	if err != nil {
		return ev, false, err
	}
	t, err := e.thread(ctx, ev.ThreadID)
	if err != nil || t == nil || !seenFrom(ev, t.from) {
		return ev, false, err
	}
	// Who was in the thread at the change, as its publisher found them;
	// what the stream holds is as of the last thread.updated it received,
	// which may come later than the change, or not at all.
	readers := t.readers
	if ev.Readers != nil {
		readers = ev.Readers
	}
	switch ev.Type {
	case parley.EventThreadUpdated:
		first, found, err := e.firstSeen(ctx, ev.ThreadID, t.from)
		if err != nil {
			return ev, false, err
		}
		if ev, loggedAs, err = threadChangeFor(c, ev, t.from, first, found); err != nil {
			return ev, false, err
		}
	case parley.EventReadUpdated:
		if loggedAs, ok, err = readFor(c, ev, t.from); err != nil || !ok {
			return ev, false, err
		}
	}
	var msgs []*parley.Message
	if ev.MessageID != "" {
		msgs = []*parley.Message{{ID: ev.MessageID, Seq: ev.Seq}}
	}
	key := deliveryKey{grantID: c.App.Grant.ID, eventID: eventID}
	return ev, true, e.svc.logDelivery(ctx, c, key, access{loggedAs, ev.ThreadID, readers, msgs})
}

// live returns EUNAUTHORIZED when the app's token ran out or, as far as the
// access version moved since the token was last found live, no longer works.
// The version is read after the event, named by its ID, reached the
// process (freshAccessVersion).
func (e *Events) live(ctx context.Context, eventID string) error {
	if !e.svc.Now().Before(e.caller.App.Until) {
		return e.Check(ctx)
	}
	v, err := e.svc.freshAccessVersion(ctx, eventID)
	if err != nil || v == e.version {
		return err
	}
	return e.Check(ctx)
}

// thread returns what the app may see of a thread, nil when its grant does
// not reach the thread or the grant's member no longer takes part in it
// (as the API's reads of the thread answer 404 then). A thread it reaches
// is read once and held; one it does not is read again at each event, so
// that a thread brought into the grant is seen at once.
func (e *Events) thread(ctx context.Context, threadID string) (*streamThread, error) {
	if t, ok := e.threads[threadID]; ok {
		return t, nil
	}
	var t *streamThread
	err := e.svc.store.Read(ctx, func(tx parley.Tx) error {
		from, err := visibleFrom(ctx, tx, e.caller, threadID)
		if isNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		readers, err := tx.FindParticipantIDs(ctx, threadID)
		if err != nil || !slices.Contains(readers, e.caller.User.ID) {
			return err
		}
		t = &streamThread{from: from, readers: readers}
		return nil
	})
	if err != nil || t == nil {
		return nil, err
	}
	if e.threads == nil {
		e.threads = map[string]*streamThread{}
	}
	e.threads[threadID] = t
	return t, nil
}

// eventScope returns the access an app's receiving an event is logged as,
// and false when the app lacks a scope the event needs. Realtime streams
// and webhooks both decide by it.
//
// An app that wrote a message for its member (wroteFor) is told that it
// was deleted without messages.read, as messages.write: it knows the
// message, whose IDs are all the event tells, and may hold words the
// member took back. Only a webhook can tell it so: a realtime stream
// needs messages.read.
func eventScope(c *parley.Caller, ev parley.Event) (parley.Scope, bool) {
	scopes := eventScopes[ev.Type]
	switch {
	case len(scopes) == 0:
		return "", false
	case len(c.App.Scopes.Missing(scopes)) == 0:
		return scopes[0], true
	case ev.Type == parley.EventMessageDeleted && c.App.Scopes.Has(parley.ScopeMessagesWrite) &&
		wroteFor(c, &parley.Message{Via: &parley.Via{ClientID: ev.ViaApp}, Sender: parley.UserRef{ID: ev.SenderID}}):
		return parley.ScopeMessagesWrite, true
	}
	return "", false
}

// writtenBy returns the client ID of the app m was written through, and
// the member it wrote m for; "" and "" for a message written in Parley.
func writtenBy(m *parley.Message) (viaApp, senderID string) {
	if m.Via == nil {
		return "", ""
	}
	return m.Via.ClientID, m.Sender.ID
}

// reaches reports whether an event about a thread reaches an app's grant:
// the thread is within the grant and open to apps, and the event's message,
// if any, is from the grant's first message on, which it returns. Webhooks
// decide by it; realtime streams decide the same, by what they hold.
func reaches(ctx context.Context, tx parley.Tx, c *parley.Caller, ev parley.Event) (from int64, ok bool, err error) {
	from, err = visibleFrom(ctx, tx, c, ev.ThreadID)
	if isNotFound(err) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, err
	}
	return from, seenFrom(ev, from), nil
}

// seenFrom reports whether an event's message, if any, is from message
// from on.
func seenFrom(ev parley.Event, from int64) bool {
	return ev.Seq == 0 || ev.Seq >= from
}

// firstSeen returns when the first message of the thread that an app sees
// from message from on was written, and whether there is one, for
// hideStart; nothing, and no read, for a thread it sees from its start.
// Only a thread.updated needs it, and reads it: the thread is read afresh
// for each (Admit).
func (e *Events) firstSeen(ctx context.Context, threadID string, from int64) (first time.Time, found bool, err error) {
	if from <= 1 {
		return first, false, nil
	}
	err = e.svc.store.Read(ctx, func(tx parley.Tx) error {
		times, err := tx.FindFirstMessageTimes(ctx, []parley.ThreadFrom{{ThreadID: threadID, FromSeq: from}})
		first, found = times[threadID]
		return err
	})
	return first, found, err
}

// threadChangeFor returns a thread.updated event as an app sees it, and the
// access it is logged as: with the participants, and who started the
// thread, only when it holds participants.read, and begun no earlier than
// the first message it may see from message from on (hideStart: first,
// when found).
func threadChangeFor(c *parley.Caller, ev parley.Event, from int64, first time.Time, found bool) (parley.Event, parley.Scope, error) {
	var change parley.ThreadChange
	if err := json.Unmarshal(ev.Data, &change); err != nil {
		return ev, "", err
	}
	th := *change.Thread
	hideOrigin(c, &th)
	hideStart(&th, from, first, found)
	change.Thread = &th
	loggedAs := parley.ScopeParticipantsRead
	if !c.App.Scopes.Has(loggedAs) {
		change.Participants, loggedAs = []parley.UserRef{}, parley.ScopeThreadsRead
	}
	out := parley.NewEvent(ev.Type, ev.ThreadID, change)
	out.Seq, out.MessageID = ev.Seq, ev.MessageID
	return out, loggedAs, nil
}

// readFor reports whether an app may see a read.updated event, and the
// access its receiving it is logged as: a read marker before the first
// message the app may see tells it nothing it may know; its own member's
// is a threads.read; another member's names a participant, which only
// participants.read may learn, and is logged as that, as the participants
// of a thread.updated are.
func readFor(c *parley.Caller, ev parley.Event, from int64) (parley.Scope, bool, error) {
	var read parley.ReadUpdated
	if err := json.Unmarshal(ev.Data, &read); err != nil {
		return "", false, err
	}
	switch {
	case read.Seq < from:
		return "", false, nil
	case read.UserID == c.User.ID:
		return parley.ScopeThreadsRead, true, nil
	}
	return parley.ScopeParticipantsRead, c.App.Scopes.Has(parley.ScopeParticipantsRead), nil
}

// grantsEnded returns an error when a grants.ended event names the app's
// grant.
func (e *Events) grantsEnded(ev parley.Event) error {
	if e.caller.App == nil {
		return nil
	}
	var ended parley.GrantsEnded
	if err := json.Unmarshal(ev.Data, &ended); err != nil {
		return err
	}
	switch {
	case !slices.Contains(ended.GrantIDs, e.caller.App.Grant.ID):
		return nil
	case ended.Narrowed:
		return &ReachNarrowed{Why: ended.Why}
	}
	return parley.Errorf(parley.EFORBIDDEN, "%s", ended.Why)
}

// ReachNarrowed ends an app's stream whose grant lasts but reaches less
// than when the stream opened: the stream may hold events of what it no
// longer reaches, and ends at once, before any of them goes out. Unlike
// an ended grant it tells the app to open the stream again, with the same
// token, to get what the grant reaches now.
type ReachNarrowed struct {
	// Why is said to the app as its stream ends.
	Why string
}

func (e *ReachNarrowed) Error() string { return e.Why }

// AccessChanged is closed when access may have ended for the stream: for
// an app's, as found by CheckAccess, whatever process made the change; for
// a member's, when the session it was opened with ended, however it ended.
// The stream should then call Check, which says whether it should end.
// Take it again after each wake-up, before calling Check.
func (e *Events) AccessChanged() <-chan struct{} {
	switch {
	case e.caller.App != nil:
		return e.svc.watch.wait()
	case e.session != nil:
		return e.session.ended
	}
	return nil
}

// ExpiresIn returns how long until an app's token runs out, by its own
// expiry or its grant's, and false for a member's own stream: the stream
// should end then.
func (e *Events) ExpiresIn() (time.Duration, bool) {
	if e.caller.App == nil {
		return 0, false
	}
	return e.caller.App.Until.Sub(e.svc.Now()), true
}

// Check returns EUNAUTHORIZED when an app's token no longer works: it
// expired, its grant ended or its app was suspended. An app's stream then
// forgets what it held of its threads, to read it again as it is now.
// For a member's stream it reads nothing, and returns EUNAUTHORIZED once
// the session it was opened with has ended.
func (e *Events) Check(ctx context.Context) error {
	c := e.caller
	if c.App == nil {
		return e.sessionErr()
	}
	// The version is read first: a change after it moves it again.
	err := e.svc.store.Read(ctx, func(tx parley.Tx) (err error) {
		if e.version, err = tx.FindAccessVersion(ctx); err != nil {
			return err
		}
		tg, err := e.svc.liveAccessToken(ctx, tx, c.App.TokenHash)
		if err == nil {
			// As the grant is now: a narrowed one reaches less.
			e.caller = appCaller(tg, c.App.TokenHash)
		}
		return err
	})
	clear(e.threads)
	return err
}

// publishGrantsEnded tells the app streams of the grants' members that the
// grants ended, so that those streams end at once.
func (s *Service) publishGrantsEnded(ctx context.Context, userIDs, grantIDs []string, why string) {
	s.publishGrantsChange(ctx, userIDs, parley.GrantsEnded{GrantIDs: grantIDs, Why: why})
}

// publishGrantsNarrowed tells the app streams of the grants' members that
// the grants, which last, stopped reaching something, so that those
// streams end at once, to be opened again (ReachNarrowed).
func (s *Service) publishGrantsNarrowed(ctx context.Context, userIDs, grantIDs []string, why string) {
	s.publishGrantsChange(ctx, userIDs, parley.GrantsEnded{GrantIDs: grantIDs, Why: why, Narrowed: true})
}

func (s *Service) publishGrantsChange(ctx context.Context, userIDs []string, change parley.GrantsEnded) {
	for _, part := range splitGrantsChange(userIDs, change, grantsPerEvent) {
		s.publish(ctx, part.userIDs, parley.NewEvent(parley.EventGrantsEnded, "", part.change))
	}
}

// grantsPerEvent bounds the grants one grants.ended event names, so that
// an operator's decision about an app with many grants goes out in events
// that NATS takes (1 MB each by default; a thousand IDs take about 30 KB).
const grantsPerEvent = 1000

// grantsChangePart is a part of a change to grants, and the members of its
// grants, whom it is for.
type grantsChangePart struct {
	userIDs []string
	change  parley.GrantsEnded
}

// splitGrantsChange splits change into parts of at most per grants. When
// userIDs[i] is the member of change.GrantIDs[i], each part is for the
// members of its own grants; otherwise (one member's grants, say) each is
// for all of userIDs.
func splitGrantsChange(userIDs []string, change parley.GrantsEnded, per int) []grantsChangePart {
	paired := len(userIDs) == len(change.GrantIDs)
	members := func(from, to int) []string {
		if !paired {
			from, to = 0, len(userIDs)
		}
		users := slices.Clone(userIDs[from:to])
		slices.Sort(users)
		return slices.Compact(users)
	}
	var parts []grantsChangePart
	for from := 0; from < len(change.GrantIDs); from += per {
		to := min(from+per, len(change.GrantIDs))
		users := members(from, to)
		part := change
		part.GrantIDs = change.GrantIDs[from:to]
		parts = append(parts, grantsChangePart{users, part})
	}
	return parts
}
