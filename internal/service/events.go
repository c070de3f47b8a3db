package service

import (
	"context"
	"encoding/json"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/ratelimit"
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
		e.svc.streamSessions.end(e.session)
		return errSessionEnded
	}
	return nil
}

// sessionErr returns errSessionEnded once the session of a member's stream
// has ended, and nil before, and for an app's stream.
func (e *Events) sessionErr() error {
	if e.session == nil {
		return nil
	}
	select {
	case <-e.session.ended:
		return errSessionEnded
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
	if _, ok := eventScope(c, ev.Type); !ok {
		return ev, false, nil
	}
	if err := e.live(ctx, eventID); err != nil {
		return ev, false, err
	}
	// The grant as live found it: narrowed since, it may no longer hold
	// the event's scope.
	c = e.caller
	loggedAs, ok := eventScope(c, ev.Type)
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
		if ev, loggedAs, err = threadChangeFor(c, ev); err != nil {
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

// logDelivery logs an event an app's stream is about to deliver, as
// logRead logs any read, but with the deliveries of the moment: an event
// reaches all the streams of its thread's apps at once, and their records
// go to the store together, in one LogReads, rather than one each.
//
// The streams of one app under one grant that deliver the same event are
// one access by that app, and log one record: an app that holds eight
// connections for a member reads each message once, as far as the
// member's log is concerned, not eight times. Each stream still waits for
// that record to be written before it sends the event. Streams of
// different grants, or different apps, log records of their own. The
// streams of one process share the record; those of other processes and
// nodes log records alike, with the same Key, and the store keeps the
// first (deliveryKey.accessKey).
func (s *Service) logDelivery(ctx context.Context, c *parley.Caller, key deliveryKey, a access) error {
	// The write is shared: a stream that ends does not end it for the others.
	ctx = context.WithoutCancel(ctx)
	return s.deliveries.log(key, s.accessRecord(c, a), func(records []parley.AccessRecord) error {
		return s.store.LogReads(ctx, records)
	})
}

// deliveryLog writes the records of deliveries in batches, one batch at a
// time: the records that come while a batch is written make the next. It
// remembers the records of the latest deliveries, by grant and event, so
// that the grant's other streams delivering the same event share them.
type deliveryLog struct {
	mu      sync.Mutex
	next    *deliveryBatch // gathering records, not yet being written
	writing bool
	ends    *sync.Cond // signalled when a batch is written

	// recent holds the latest deliveries, older the deliveryMemory before
	// them; older is forgotten when recent is full. A stream so far
	// behind that the delivery of its event was forgotten logs a record
	// of its own.
	recent, older map[deliveryKey]*delivery
}

// deliveryKey names an event as delivered through a grant.
type deliveryKey struct {
	grantID, eventID string
}

// accessKey returns the Key of r, the record of the delivery k names: the
// same for the record alike (sameAccess) of any stream, in any process or
// node, that delivers the event through the grant, so that the store logs
// one of them. An event without ID has no Key.
func (k deliveryKey) accessKey(r parley.AccessRecord) []byte {
	if k.eventID == "" {
		return nil
	}
	return r.KeyAt(k.eventID)
}

// delivery is the record of an event delivered through a grant, and the
// batch that writes it.
type delivery struct {
	record parley.AccessRecord
	batch  *deliveryBatch
}

// deliveryMemory is how many deliveries a deliveryLog remembers at least.
const deliveryMemory = 1024

// deliveryBatch is records written together, and how that went.
type deliveryBatch struct {
	records []parley.AccessRecord
	keys    []deliveryKey // of the records, for those delivered through a grant
	written bool
	err     error
}

func newDeliveryLog() *deliveryLog {
	l := &deliveryLog{recent: map[deliveryKey]*delivery{}}
	l.ends = sync.NewCond(&l.mu)
	return l
}

// log returns once r, the record of the delivery key names, is written.
// A record alike for the same key, written or being written, stands for
// r; otherwise r joins the next batch. The batch is written with write,
// by this call unless a batch is being written already, and then after
// that one ends.
func (l *deliveryLog) log(key deliveryKey, r parley.AccessRecord, write func([]parley.AccessRecord) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.logged(key, r)
	if b == nil {
		r.Key = key.accessKey(r)
		if l.next == nil {
			l.next = &deliveryBatch{}
		}
		b = l.next
		b.records = append(b.records, r)
		l.remember(key, r, b)
	}
	for !b.written {
		if l.writing {
			l.ends.Wait()
			continue
		}
		// Not written, and nothing being written: b is still the next.
		// It takes the records of the streams the same event woke, which
		// come while this goroutine yields, and is then written.
		l.writing = true
		l.mu.Unlock()
		runtime.Gosched()
		l.mu.Lock()
		l.next = nil
		l.mu.Unlock()
		err := write(b.records)
		l.mu.Lock()
		b.written, b.err, l.writing = true, err, false
		if err != nil {
			l.forget(b)
		}
		l.ends.Broadcast()
	}
	return b.err
}

// logged returns the batch of the record that stands for r, the record
// of the delivery key names: one for the same key that logs the same
// access. It returns nil if there is none. l.mu is held.
func (l *deliveryLog) logged(key deliveryKey, r parley.AccessRecord) *deliveryBatch {
	if key.eventID == "" {
		return nil
	}
	d, ok := l.recent[key]
	if !ok {
		d, ok = l.older[key]
	}
	if !ok || !sameAccess(d.record, r) {
		return nil
	}
	return d.batch
}

// remember notes r, written by batch b, as the record of the delivery key
// names. l.mu is held.
func (l *deliveryLog) remember(key deliveryKey, r parley.AccessRecord, b *deliveryBatch) {
	if key.eventID == "" {
		return
	}
	if len(l.recent) >= deliveryMemory {
		l.older, l.recent = l.recent, make(map[deliveryKey]*delivery, deliveryMemory)
	}
	l.recent[key] = &delivery{record: r, batch: b}
	b.keys = append(b.keys, key)
}

// forget drops the deliveries of a batch that failed, so that the streams
// still to deliver their events log them again. l.mu is held.
func (l *deliveryLog) forget(b *deliveryBatch) {
	for _, key := range b.keys {
		for _, m := range []map[deliveryKey]*delivery{l.recent, l.older} {
			if d, ok := m[key]; ok && d.batch == b {
				delete(m, key)
			}
		}
	}
}

// sameAccess reports whether two records log the same access by the same
// app to the same members, whenever each was made.
func sameAccess(a, b parley.AccessRecord) bool {
	x, y := a.Entry, b.Entry
	return x.ClientID == y.ClientID && x.AppName == y.AppName && x.GrantID == y.GrantID && x.Action == y.Action &&
		x.ThreadID == y.ThreadID && x.ByUserID == y.ByUserID && x.MessageCount == y.MessageCount &&
		x.FirstSeq == y.FirstSeq && x.LastSeq == y.LastSeq && slices.Equal(x.MessageIDs, y.MessageIDs) &&
		slices.Equal(a.UserIDs, b.UserIDs)
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
func eventScope(c *parley.Caller, eventType string) (parley.Scope, bool) {
	scopes := eventScopes[eventType]
	if len(scopes) == 0 || len(c.App.Scopes.Missing(scopes)) > 0 {
		return "", false
	}
	return scopes[0], true
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

// threadChangeFor returns a thread.updated event as an app sees it, and the
// access it is logged as: with the participants, and who started the
// thread, only when it holds participants.read.
func threadChangeFor(c *parley.Caller, ev parley.Event) (parley.Event, parley.Scope, error) {
	var change parley.ThreadChange
	if err := json.Unmarshal(ev.Data, &change); err != nil {
		return ev, "", err
	}
	th := *change.Thread
	hideCreator(c, &th)
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

// CheckAccess reads the store's access version and, when it moved since the
// last check, wakes this process's app streams to check their tokens. The
// server calls it every second: a change made by another process, such as
// `parley app suspend`, or by another node, then ends the streams it
// concerns within about a second even when no event comes, for one small
// read per second and node instead of one per stream.
func (s *Service) CheckAccess(ctx context.Context) error {
	_, err := s.freshAccessVersion(ctx, "")
	return err
}

// freshAccessVersion returns the store's access version as read after the
// call began or, for a stream about to send the event eventID, after the
// event reached the process, and wakes the app streams if it moved. The
// callers of a moment share one read (accessWatch.fresh).
func (s *Service) freshAccessVersion(ctx context.Context, eventID string) (int64, error) {
	// The read is shared: a stream that ends does not end it for the others.
	ctx = context.WithoutCancel(ctx)
	return s.watch.fresh(eventID, func() (v int64, err error) {
		err = s.store.Read(ctx, func(tx parley.Tx) (err error) {
			v, err = tx.FindAccessVersion(ctx)
			return err
		})
		return v, err
	})
}

// accessWatch reads the access version for the process's app streams, and
// wakes them when it moves.
type accessWatch struct {
	mu      sync.Mutex
	version int64 // as last read
	err     error // of the last read
	seen    bool
	changed chan struct{}

	// Reads run one at a time, numbered: started is the number of the
	// last one begun, ended of the last one ended; ends signals an end.
	started, ended int64
	reading        bool
	ends           *sync.Cond

	// event is the event the latest call was for, and eventAfter the
	// number of the last read begun before the first call for it.
	event      string
	eventAfter int64
}

func newAccessWatch() *accessWatch {
	w := &accessWatch{changed: make(chan struct{})}
	w.ends = sync.NewCond(&w.mu)
	return w
}

// wait returns a channel closed at the next change.
func (w *accessWatch) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

// fresh returns the version as read by a read begun after the call: the
// one under way, if it began after the call, or the next, which this call
// runs unless another waiting call does first.
//
// A call for an event (a non-empty ID) may also be answered by the read
// under way when it comes, if that read began after the first call for the
// same event: the streams an event woke at once share one read, begun
// after the event reached the process, where those who came while it ran
// would otherwise run a second. The read must still be under way: a
// stream that comes to the event after it ended, however far behind, gets
// a read begun after its call. A change made before an event reached the
// process is seen before the event is sent, as by a read begun after the
// call; one made while the shared read runs may be seen at the next event
// only, as one made while a stream's own read runs may. An event the bus
// delivers in parts, each to some of its recipients (NATS, for events to
// over 1,000 members), reaches the process with its first part.
func (w *accessWatch) fresh(event string, read func() (int64, error)) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	after := w.started
	if event != "" {
		if event != w.event {
			w.event, w.eventAfter = event, w.started
		}
		if w.ended < w.started && w.started > w.eventAfter {
			after = w.started - 1 // the read under way
		}
	}
	for w.ended <= after {
		if w.reading {
			w.ends.Wait()
			continue
		}
		// The read is numbered as it begins, not before: the streams an
		// event woke with this one, which come while this goroutine
		// yields, are answered by it too.
		w.reading = true
		w.mu.Unlock()
		runtime.Gosched()
		w.mu.Lock()
		w.started++
		n := w.started
		w.mu.Unlock()
		v, err := read()
		w.mu.Lock()
		w.reading, w.ended, w.err = false, n, err
		if err == nil {
			w.saw(v)
		}
		w.ends.Broadcast()
	}
	return w.version, w.err
}

// saw records the version read, waking the waiters when it moved. w.mu is
// held.
func (w *accessWatch) saw(v int64) {
	if w.seen && v != w.version {
		close(w.changed)
		w.changed = make(chan struct{})
	}
	w.version, w.seen = v, true
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

// CreateEventTicket returns a ticket that opens the caller's realtime stream
// once, within parley.EventTicketTTL, for clients that cannot send the
// token in a header. The stream it opens is the caller's: an app's is held
// to the same grant and ends with the same token.
func (s *Service) CreateEventTicket(ctx context.Context) (*IssuedTicket, error) {
	c, err := caller(ctx, parley.ScopeMessagesRead)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	ticket, hash := newToken(eventTicketPrefix)
	et := &parley.EventTicket{Hash: hash, UserID: c.User.ID, SessionHash: c.SessionTokenHash, ExpiresAt: now.Add(parley.EventTicketTTL)}
	if c.App != nil {
		et.TokenHash = c.App.TokenHash
	}
	if err := s.store.Write(ctx, func(tx parley.Tx) error { return tx.CreateEventTicket(ctx, et, now) }); err != nil {
		return nil, err
	}
	return &IssuedTicket{Ticket: ticket, ExpiresAt: et.ExpiresAt}, nil
}

// eventTicketPrefix marks a ticket to open a realtime stream.
const eventTicketPrefix = "pet_"

// IssuedTicket is a ticket just made; only its hash is kept.
type IssuedTicket struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expires_at"`
}

// failedTicketsPerAddress holds the event tickets of one client address
// that fail (unknown, used or expired) to 60 at once, then one a second;
// once they are spent, every ticket from the address is refused before it
// is looked for. Taking a ticket is a write, which a request without any
// credential could otherwise make as often as it liked. A client gets a
// ticket just before it connects, and fails only when it waited too long.
var failedTicketsPerAddress = ratelimit.Policy{Name: "failed event tickets", Rate: 1, Burst: 60}

// AuthenticateTicket takes a ticket, which then cannot be used again, and
// returns the caller that made it: EUNAUTHORIZED when the ticket is
// unknown, used or expired, or the session or token that made it no longer
// works, which counts against the client address's failedTicketsPerAddress.
func (s *Service) AuthenticateTicket(ctx context.Context, ticket string) (c *parley.Caller, err error) {
	err = s.countFailures(ctx, failedTicketsPerAddress, "ticket", func() error {
		c, err = s.takeTicket(ctx, ticket)
		return err
	})
	return c, err
}

// takeTicket is AuthenticateTicket, uncounted.
func (s *Service) takeTicket(ctx context.Context, ticket string) (*parley.Caller, error) {
	bad := parley.Errorf(parley.EUNAUTHORIZED, "the ticket is invalid, used or expired: get a new one")
	var et *parley.EventTicket
	err := s.store.Write(ctx, func(tx parley.Tx) (err error) {
		et, err = tx.TakeEventTicket(ctx, parley.HashToken(ticket))
		return err
	})
	if isNotFound(err) {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	if !s.Now().Before(et.ExpiresAt) {
		return nil, bad
	}
	var c *parley.Caller
	err = s.store.Read(ctx, func(tx parley.Tx) (err error) {
		if et.TokenHash == nil {
			c, err = s.sessionCaller(ctx, tx, et.SessionHash)
			return err
		}
		tg, err := s.liveAccessToken(ctx, tx, et.TokenHash)
		if err != nil {
			return err
		}
		c = appCaller(tg, et.TokenHash)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.User.ID != et.UserID {
		return nil, bad
	}
	return c, nil
}
