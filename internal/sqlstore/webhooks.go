package sqlstore

import (
	"context"
	"database/sql"
	"maps"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

const webhookEndpointColumns = `id, client_id, url, events, created_at, active_from, old_secret_until, failing_since, disabled_at, disabled_reason`

func (t *txn) CreateWebhookEndpoint(ctx context.Context, e *parley.WebhookEndpoint, secret []byte) error {
	_, err := t.exec(ctx, `
		INSERT INTO webhook_endpoints (id, client_id, url, events, secret, created_at, active_from)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.ID, e.ClientID, e.URL, strings.Join(e.Events, " "), secret, micros(e.Created), micros(e.ActiveFrom))
	if err != nil {
		return mapError("create webhook endpoint", err)
	}
	for _, ev := range e.Events {
		if _, err := t.exec(ctx, `INSERT INTO webhook_subscriptions (event, client_id, endpoint_id, active_from) VALUES ($1, $2, $3, $4)`,
			ev, e.ClientID, e.ID, micros(e.ActiveFrom)); err != nil {
			return mapError("create webhook subscription", err)
		}
	}
	return nil
}

func (t *txn) SetWebhookActiveFrom(ctx context.Context, id string, activeFrom time.Time) error {
	res, err := t.exec(ctx, `UPDATE webhook_endpoints SET active_from = $2 WHERE id = $1`, id, micros(activeFrom))
	if err != nil {
		return mapError("set webhook endpoint's start", err)
	}
	if err := mustAffect(res, "webhook endpoint"); err != nil {
		return err
	}
	_, err = t.exec(ctx, `UPDATE webhook_subscriptions SET active_from = $2 WHERE endpoint_id = $1`, id, micros(activeFrom))
	return mapError("set webhook subscriptions' start", err)
}

func (t *txn) findWebhookEndpoints(ctx context.Context, where string, args ...any) ([]*parley.WebhookEndpoint, error) {
	rows, err := t.query(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE `+where, args...)
	if err != nil {
		return nil, mapError("find webhook endpoints", err)
	}
	defer rows.Close()
	list := []*parley.WebhookEndpoint{}
	for rows.Next() {
		var e parley.WebhookEndpoint
		var events string
		var created, active int64
		var oldUntil, failing, disabled sql.NullInt64
		if err := rows.Scan(&e.ID, &e.ClientID, &e.URL, &events, &created, &active, &oldUntil, &failing, &disabled, &e.DisabledReason); err != nil {
			return nil, mapError("find webhook endpoints", err)
		}
		e.Events, e.Created, e.ActiveFrom = strings.Fields(events), fromMicros(created), fromMicros(active)
		e.OldSecretUntil, e.FailingSince, e.DisabledAt = fromNullMicros(oldUntil), fromNullMicros(failing), fromNullMicros(disabled)
		list = append(list, &e)
	}
	return list, mapError("find webhook endpoints", rows.Err())
}

func (t *txn) FindWebhookEndpoints(ctx context.Context, clientID string) ([]*parley.WebhookEndpoint, error) {
	return t.findWebhookEndpoints(ctx, `client_id = $1 ORDER BY created_at, id`, clientID)
}

func (t *txn) FindWebhookEndpoint(ctx context.Context, id string) (*parley.WebhookEndpoint, error) {
	list, err := t.findWebhookEndpoints(ctx, `id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, parley.Errorf(parley.ENOTFOUND, "webhook endpoint not found")
	}
	return list[0], nil
}

func (t *txn) RotateWebhookSecret(ctx context.Context, id string, secret []byte, oldUntil time.Time) error {
	res, err := t.exec(ctx, `
		UPDATE webhook_endpoints SET old_secret = secret, secret = $2, old_secret_until = $3 WHERE id = $1`,
		id, secret, micros(oldUntil))
	if err != nil {
		return mapError("rotate webhook secret", err)
	}
	return mustAffect(res, "webhook endpoint")
}

func (t *txn) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	if t.locked != "" {
		// Hold the endpoint's deliveries first: a worker recording an
		// attempt at the same moment waits for this write, instead of
		// adding an attempt between the two deletes below, which would
		// then break its foreign key.
		if _, err := t.exec(ctx, `SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id`+t.locked, id); err != nil {
			return mapError("delete webhook endpoint", err)
		}
	}
	for _, q := range []string{
		`DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)`,
		`DELETE FROM webhook_deliveries WHERE endpoint_id = $1`,
		`DELETE FROM webhook_subscriptions WHERE endpoint_id = $1`,
	} {
		if _, err := t.exec(ctx, q, id); err != nil {
			return mapError("delete webhook endpoint", err)
		}
	}
	res, err := t.exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
	if err != nil {
		return mapError("delete webhook endpoint", err)
	}
	return mustAffect(res, "webhook endpoint")
}

func (t *txn) FindWebhookEvents(ctx context.Context) ([]string, error) {
	rows, err := t.query(ctx, `
		SELECT DISTINCT s.event FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
		WHERE e.disabled_at IS NULL ORDER BY s.event`)
	if err != nil {
		return nil, mapError("find webhook events", err)
	}
	defer rows.Close()
	events := []string{}
	for rows.Next() {
		var ev string
		if err := rows.Scan(&ev); err != nil {
			return nil, mapError("find webhook events", err)
		}
		events = append(events, ev)
	}
	return events, mapError("find webhook events", rows.Err())
}

func (t *txn) FindWebhookTargets(ctx context.Context, event, threadID string, at time.Time) ([]parley.WebhookTarget, error) {
	// From the thread's participants to their grants to the grants' apps'
	// subscriptions, each step an index lookup: the work grows with the
	// people in the thread and their grants, not with the apps that
	// subscribe to the event. SQLite joins CROSS JOINs in the order written.
	rows, err := t.query(ctx, `
		SELECT s.endpoint_id, g.id, g.client_id, a.name, g.user_id, g.scopes, g.thread_scope, a.state
		FROM participants p
		CROSS JOIN grants g
		CROSS JOIN webhook_subscriptions s
		JOIN webhook_endpoints e ON e.id = s.endpoint_id
		JOIN apps a ON a.client_id = g.client_id
		WHERE p.thread_id = $2 AND p.left_at IS NULL
		  AND g.user_id = p.user_id AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $3)
		  AND s.event = $1 AND s.client_id = g.client_id AND s.active_from <= $3
		  AND e.disabled_at IS NULL AND a.state IN ($4, $5)
		ORDER BY s.endpoint_id, g.id`, event, threadID, micros(at), parley.AppActive, parley.AppSuspended)
	if err != nil {
		return nil, mapError("find webhook targets", err)
	}
	defer rows.Close()
	var list []parley.WebhookTarget
	for rows.Next() {
		var w parley.WebhookTarget
		var scopes, state string
		if err := rows.Scan(&w.EndpointID, &w.Grant.GrantID, &w.Grant.ClientID, &w.Grant.AppName, &w.Grant.Member.ID,
			&scopes, &w.Grant.ThreadScope, &state); err != nil {
			return nil, mapError("find webhook targets", err)
		}
		w.Grant.Scopes, w.AppSuspended = parley.ParseScopes(scopes), state == parley.AppSuspended
		list = append(list, w)
	}
	return list, mapError("find webhook targets", rows.Err())
}

func (t *txn) FindWebhookSubscribers(ctx context.Context, clientID, event string, at time.Time) ([]string, error) {
	rows, err := t.query(ctx, `
		SELECT s.endpoint_id FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
		WHERE s.event = $1 AND s.client_id = $2 AND s.active_from <= $3 AND e.disabled_at IS NULL
		ORDER BY s.endpoint_id`, event, clientID, micros(at))
	if err != nil {
		return nil, mapError("find webhook subscribers", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, mapError("find webhook subscribers", err)
		}
		ids = append(ids, id)
	}
	return ids, mapError("find webhook subscribers", rows.Err())
}

// EnqueueWebhooks inserts each delivery from its endpoint's row, so that
// one whose endpoint is gone inserts nothing. On PostgreSQL the endpoint's
// row is locked (FOR KEY SHARE) as it is read: a deletion under way is
// waited for and its endpoint then found gone, where the delivery's
// foreign key would have failed the caller's write, a member's send among
// them.
func (t *txn) EnqueueWebhooks(ctx context.Context, ds []parley.NewWebhookDelivery) error {
	for _, d := range ds {
		_, err := t.exec(ctx, `
			INSERT INTO webhook_deliveries (id, endpoint_id, event, payload, grant_id, thread_id, message_id, seq,
				created_at, state, next_attempt_at, readers)
			SELECT $1, id, $3, $4, $5, $6, $7, $8, $9, $10, $9, $11
			FROM webhook_endpoints WHERE id = $2`+t.keyShared(),
			d.ID, d.EndpointID, d.Event, d.Payload, d.GrantID, d.ThreadID, d.MessageID, d.Seq, micros(d.CreatedAt),
			parley.DeliveryPending, strings.Join(d.Readers, " "))
		if err != nil {
			return mapError("enqueue webhook", err)
		}
	}
	return nil
}

// endpointDisabled is, in a statement on webhook_deliveries, whether the
// delivery's endpoint is disabled: its pending deliveries fail, and none is
// due again.
const endpointDisabled = `EXISTS (SELECT 1 FROM webhook_endpoints
	WHERE id = webhook_deliveries.endpoint_id AND disabled_at IS NOT NULL)`

// takeRounds bounds how often one TakeDueWebhooks looks again past the
// deliveries of endpoints it filled: those beyond wait for the next take.
const takeRounds = 4

func (t *txn) TakeDueWebhooks(ctx context.Context, now, leaseUntil time.Time, take parley.WebhookTake) ([]*parley.DueWebhook, error) {
	inFlight := shares{
		endpoint: maps.Clone(take.InFlight), perEndpoint: take.PerEndpoint,
		owner: maps.Clone(take.InFlightByOwner), perOwner: take.PerOwner,
	}
	if inFlight.endpoint == nil {
		inFlight.endpoint = map[string]int{}
	}
	if inFlight.owner == nil {
		inFlight.owner = map[string]int{}
	}
	var list []*parley.DueWebhook
	for range takeRounds {
		if len(list) >= take.Limit {
			break
		}
		ids, passedOver, err := t.chooseDueWebhooks(ctx, now, take.Limit-len(list), inFlight)
		if err != nil {
			return nil, err
		}
		taken, err := t.leaseWebhooks(ctx, ids, now, leaseUntil)
		if err != nil {
			return nil, err
		}
		list = append(list, taken...)
		if !passedOver {
			break
		}
	}
	endpoints := map[string]*parley.DueWebhook{}
	for _, d := range list {
		if e := endpoints[d.EndpointID]; e != nil {
			d.ClientID, d.Owner, d.AppName, d.URL, d.Secret, d.OldSecret = e.ClientID, e.Owner, e.AppName, e.URL, e.Secret, e.OldSecret
			d.OldSecretUntil, d.Failures = e.OldSecretUntil, e.Failures
			continue
		}
		var oldUntil, failing, failed sql.NullInt64
		err := t.queryRow(ctx, "webhook endpoint", `
			SELECT e.client_id, `+endpointOwner+`, a.name, e.url, e.secret, e.old_secret, e.old_secret_until, e.failing_since, e.failed_at
			FROM webhook_endpoints e JOIN apps a ON a.client_id = e.client_id WHERE e.id = $1`,
			[]any{d.EndpointID}, &d.ClientID, &d.Owner, &d.AppName, &d.URL, &d.Secret, &d.OldSecret, &oldUntil, &failing, &failed)
		if err != nil {
			return nil, mapError("take due webhooks", err)
		}
		d.OldSecretUntil = fromNullMicros(oldUntil)
		if failing.Valid {
			d.Failures = &parley.WebhookFailures{Since: fromMicros(failing.Int64), Latest: fromMicros(failed.Int64)}
		}
		endpoints[d.EndpointID] = d
	}
	return list, nil
}

// shares counts a taker's deliveries in flight, by endpoint and by owner
// (parley.DueWebhook.Owner), each held to its share when one is set.
type shares struct {
	endpoint, owner       map[string]int
	perEndpoint, perOwner int
}

// full returns the endpoints and the owners at their share.
func (s shares) full() (endpoints, owners []any) {
	if s.perEndpoint > 0 {
		for id, n := range s.endpoint {
			if n >= s.perEndpoint {
				endpoints = append(endpoints, id)
			}
		}
	}
	if s.perOwner > 0 {
		for id, n := range s.owner {
			if n >= s.perOwner {
				owners = append(owners, id)
			}
		}
	}
	return endpoints, owners
}

// room reports whether a delivery of the endpoint, the owner's, is within
// their shares.
func (s shares) room(endpoint, owner string) bool {
	return (s.perEndpoint <= 0 || s.endpoint[endpoint] < s.perEndpoint) && (s.perOwner <= 0 || s.owner[owner] < s.perOwner)
}

// endpointOwner is the owner of the endpoint e's deliveries, with its app
// joined as a: the member who registered the app, or the app itself.
const endpointOwner = `COALESCE(a.owner_id, e.client_id)`

// chooseDueWebhooks returns the IDs of up to limit deliveries due at now,
// oldest due first, passing over those of an endpoint or an owner at its
// share, counting those it chooses, in inFlight; and whether it passed any
// over. On PostgreSQL, the oldest-first read skips deliveries another
// server is taking, not waiting for them, and locks those it reads.
//
// While no endpoint or owner is full it reads the oldest due deliveries,
// whatever their endpoint. Once one is, it reads, endpoint by endpoint,
// each other endpoint's oldest due but a full owner's (dueByEndpoint): a
// full endpoint's or owner's backlog, which grows for as long as it does not
// answer, is then never read, where reading past it would cost each take,
// and SQLite's writer with it, time in proportion to the backlog. That
// read costs time in proportion to the endpoints instead, and only while
// one is full.
func (t *txn) chooseDueWebhooks(ctx context.Context, now time.Time, limit int, inFlight shares) (
	ids []any, passedOver bool, err error,
) {
	query, args := `
		SELECT d.id, d.endpoint_id, COALESCE((SELECT `+endpointOwner+`
			FROM webhook_endpoints e JOIN apps a ON a.client_id = e.client_id WHERE e.id = d.endpoint_id), '')
		FROM webhook_deliveries d WHERE d.next_attempt_at <= $1
		ORDER BY d.next_attempt_at LIMIT $2`+t.skipLocked(), []any{micros(now), limit}
	if full, owners := inFlight.full(); len(full)+len(owners) > 0 {
		each := inFlight.perEndpoint
		if each <= 0 {
			each = limit // no share of each endpoint's
		}
		query = t.dueByEndpoint(len(full), len(owners))
		args = append(append([]any{micros(now), limit, each}, full...), owners...)
	}
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, false, mapError("take due webhooks", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, endpoint, owner string
		if err := rows.Scan(&id, &endpoint, &owner); err != nil {
			return nil, false, mapError("take due webhooks", err)
		}
		if !inFlight.room(endpoint, owner) {
			passedOver = true
			continue
		}
		inFlight.endpoint[endpoint]++
		inFlight.owner[owner]++
		ids = append(ids, id)
	}
	return ids, passedOver, mapError("take due webhooks", rows.Err())
}

// dueByEndpoint is a read of up to $2 deliveries due at $1, oldest due
// first, at most $3 of each endpoint, none of the full endpoints that
// follow ($4 on) nor of the full owners after them, through each endpoint's
// own index range (webhook_deliveries_due_by_endpoint): a LATERAL subquery
// on PostgreSQL, a correlated one on SQLite, which has no LATERAL. It
// locks nothing: each endpoint's range is read before the oldest of all
// are picked, and locking them all would keep every other server's take
// from them; leaseWebhooks locks those chosen.
func (t *txn) dueByEndpoint(fullEndpoints, fullOwners int) string {
	var not string
	if fullEndpoints > 0 {
		not += ` AND e.id NOT IN (` + placeholders(4, fullEndpoints) + `)`
	}
	if fullOwners > 0 {
		not += ` AND ` + endpointOwner + ` NOT IN (` + placeholders(4+fullEndpoints, fullOwners) + `)`
	}
	if t.pg != nil {
		return `
			SELECT d.id, d.endpoint_id, ` + endpointOwner + ` FROM webhook_endpoints e JOIN apps a ON a.client_id = e.client_id CROSS JOIN LATERAL (
				SELECT x.id, x.endpoint_id, x.next_attempt_at FROM webhook_deliveries x
				WHERE x.endpoint_id = e.id AND x.next_attempt_at <= $1
				ORDER BY x.next_attempt_at LIMIT $3) d
			WHERE TRUE` + not + `
			ORDER BY d.next_attempt_at LIMIT $2`
	}
	return `
		SELECT d.id, d.endpoint_id, ` + endpointOwner + ` FROM webhook_endpoints e JOIN apps a ON a.client_id = e.client_id JOIN webhook_deliveries d ON d.id IN (
			SELECT x.id FROM webhook_deliveries x
			WHERE x.endpoint_id = e.id AND x.next_attempt_at <= $1
			ORDER BY x.next_attempt_at LIMIT $3)
		WHERE TRUE` + not + `
		ORDER BY d.next_attempt_at LIMIT $2`
}

// leaseWebhooks makes those of the deliveries still due at now due again
// only at leaseUntil, and returns them. On PostgreSQL those another server
// is taking are skipped, and those it took since they were read are no
// longer due. Disabling an endpoint fails its deliveries, but a write that
// found it enabled before the disabling committed may still enqueue one:
// such a delivery fails here, and is not returned.
func (t *txn) leaseWebhooks(ctx context.Context, ids []any, now, leaseUntil time.Time) ([]*parley.DueWebhook, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.query(ctx, `
		UPDATE webhook_deliveries SET
			state = CASE WHEN `+endpointDisabled+` THEN '`+parley.DeliveryFailed+`' ELSE state END,
			next_attempt_at = CASE WHEN `+endpointDisabled+` THEN NULL ELSE CAST($1 AS BIGINT) END
		WHERE id IN (
			SELECT id FROM webhook_deliveries WHERE id IN (`+placeholders(3, len(ids))+`) AND next_attempt_at <= $2`+t.skipLocked()+`)
		RETURNING id, endpoint_id, event, payload, grant_id, thread_id, message_id, seq, created_at, attempts, readers, next_attempt_at`,
		append([]any{micros(leaseUntil), micros(now)}, ids...)...)
	if err != nil {
		return nil, mapError("take due webhooks", err)
	}
	defer rows.Close()
	var list []*parley.DueWebhook
	for rows.Next() {
		var d parley.DueWebhook
		var created int64
		var readers string
		var lease sql.NullInt64
		if err := rows.Scan(&d.ID, &d.EndpointID, &d.Event, &d.Payload, &d.GrantID, &d.ThreadID, &d.MessageID, &d.Seq,
			&created, &d.Attempts, &readers, &lease); err != nil {
			return nil, mapError("take due webhooks", err)
		}
		if !lease.Valid {
			continue // its endpoint is disabled
		}
		d.CreatedAt, d.Readers = fromMicros(created), strings.Fields(readers)
		list = append(list, &d)
	}
	return list, mapError("take due webhooks", rows.Err())
}

func (t *txn) RecordWebhookResults(ctx context.Context, results []parley.WebhookResult) error {
	// runs follows each endpoint's run of failures through the batch, from
	// what it was when its deliveries were taken, so that only an attempt
	// that changes it as WebhookFailures.After says writes the endpoint.
	runs := map[string]*parley.WebhookFailures{}
	for _, r := range results {
		a := r.Attempt
		// An attempt is known by its delivery and its time, the time the
		// delivery was taken for it: one recorded already, by a write whose
		// success its caller never heard of, records nothing again. A
		// delivery deleted with its endpoint, or pruned, during the attempt
		// keeps no record of it either; the batch's other attempts are
		// recorded all the same. On PostgreSQL the delivery's row is
		// locked as its attempt is inserted (keyShared): a deletion under
		// way is waited for, where the attempt's foreign key would fail
		// the whole batch.
		res, err := t.exec(ctx, `
			INSERT INTO webhook_attempts (delivery_id, n, at, status_code, latency_us, error, succeeded)
			SELECT $1, (SELECT COALESCE(MAX(n), 0) + 1 FROM webhook_attempts WHERE delivery_id = $1), $2, $3, $4, $5, $6
			FROM webhook_deliveries
			WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM webhook_attempts WHERE delivery_id = $1 AND at = $2)`+t.keyShared(),
			r.DeliveryID, micros(a.At), a.StatusCode, a.LatencyMS*1000, a.Error, a.Succeeded)
		if err != nil {
			return mapError("record webhook attempt", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return mapError("record webhook attempt", err)
		} else if n == 0 {
			continue
		}
		state := parley.DeliveryPending
		switch {
		case a.Succeeded:
			state = parley.DeliverySucceeded
		case r.NextAttemptAt == nil:
			state = parley.DeliveryFailed
		}
		// A delivery whose endpoint was disabled meanwhile fails, but for a
		// success, and is not due again: the disabling failed it already,
		// and took away the lease, which only a success overrides. One
		// redelivered meanwhile is due when the redelivery said.
		if _, err := t.exec(ctx, `
			UPDATE webhook_deliveries SET attempts = attempts + 1,
				state = CASE WHEN `+endpointDisabled+` AND $2 = '`+parley.DeliveryPending+`' THEN '`+parley.DeliveryFailed+`' ELSE $2 END,
				next_attempt_at = CASE WHEN `+endpointDisabled+` THEN NULL ELSE CAST($3 AS BIGINT) END
			WHERE id = $1 AND (next_attempt_at = $4 OR $2 = '`+parley.DeliverySucceeded+`' AND next_attempt_at IS NULL AND `+endpointDisabled+`)`,
			r.DeliveryID, state, nullMicros(r.NextAttemptAt), micros(r.LeaseUntil)); err != nil {
			return mapError("record webhook result", err)
		}
		run, seen := runs[r.EndpointID]
		if !seen {
			run = r.Failures
		}
		after, record := run.After(a.At, !a.Succeeded)
		runs[r.EndpointID] = after
		if err := t.recordEndpointHealth(ctx, r, run, after, record); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) WithdrawWebhooks(ctx context.Context, leaseUntil time.Time, ids []string) error {
	return t.setWebhooksAside(ctx, "withdraw webhook", parley.DeliveryWithdrawn, leaseUntil, ids)
}

// HoldWebhooks leaves the deliveries pending with no next attempt: the
// one kind of delivery that is so, which ReleaseWebhooks tells by it.
func (t *txn) HoldWebhooks(ctx context.Context, leaseUntil time.Time, ids []string) error {
	return t.setWebhooksAside(ctx, "hold webhook", parley.DeliveryPending, leaseUntil, ids)
}

// setWebhooksAside gives deliveries taken with leaseUntil the state, due
// at no time, without an attempt.
func (t *txn) setWebhooksAside(ctx context.Context, op, state string, leaseUntil time.Time, ids []string) error {
	for _, id := range ids {
		if _, err := t.exec(ctx, `UPDATE webhook_deliveries SET state = $2, next_attempt_at = NULL WHERE id = $1 AND next_attempt_at = $3`,
			id, state, micros(leaseUntil)); err != nil {
			return mapError(op, err)
		}
	}
	return nil
}

func (t *txn) ReleaseWebhooks(ctx context.Context, clientID string, at time.Time) error {
	_, err := t.exec(ctx, `
		UPDATE webhook_deliveries SET next_attempt_at = $2
		WHERE state = $3 AND next_attempt_at IS NULL AND endpoint_id IN (
			SELECT id FROM webhook_endpoints WHERE client_id = $1 AND disabled_at IS NULL)`,
		clientID, micros(at), parley.DeliveryPending)
	return mapError("release webhooks", err)
}

func (t *txn) ReturnWebhooks(ctx context.Context, leaseUntil, at time.Time, ids []string) error {
	for _, id := range ids {
		if _, err := t.exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id = $1 AND next_attempt_at = $3`,
			id, micros(at), micros(leaseUntil)); err != nil {
			return mapError("return webhook", err)
		}
	}
	return nil
}

// recordEndpointHealth notes an attempt's outcome on its endpoint: a
// disabling fails its pending deliveries, those in flight too (a success
// of one still counts: RecordWebhookResults); otherwise, when record is
// set, the run of failures before the attempt becomes after. A success
// ends a run that began no later than it, not one another write started
// with a failure after it; a failure writes its run only over the run
// before it, so that it neither brings back a run that another write
// ended nor replaces one that another write started.
func (t *txn) recordEndpointHealth(ctx context.Context, r parley.WebhookResult, before, after *parley.WebhookFailures, record bool) error {
	var err error
	switch {
	case r.Disable != "":
		// Decided with the run of failures as it was when the delivery
		// was taken: a success recorded since ended that run (or another
		// write started a new one), and this failure then disables
		// nothing, as disabling cannot be undone.
		var since *time.Time
		if before != nil {
			since = &before.Since
		}
		var res sql.Result
		if res, err = t.exec(ctx, `
			UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3
			WHERE id = $1 AND disabled_at IS NULL AND (CAST($4 AS BIGINT) IS NULL OR failing_since = $4)`,
			r.EndpointID, micros(r.Attempt.At), r.Disable, nullMicros(since)); err != nil {
			break
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return mapError("record webhook endpoint health", err)
		}
		_, err = t.exec(ctx, `UPDATE webhook_deliveries SET state = $2, next_attempt_at = NULL WHERE endpoint_id = $1 AND state = $3`,
			r.EndpointID, parley.DeliveryFailed, parley.DeliveryPending)
	case !record:
	case after == nil:
		_, err = t.exec(ctx, `UPDATE webhook_endpoints SET failing_since = NULL, failed_at = NULL WHERE id = $1 AND failing_since <= $2`,
			r.EndpointID, micros(r.Attempt.At))
	default:
		var since *time.Time
		if before != nil {
			since = &before.Since
		}
		_, err = t.exec(ctx, `
			UPDATE webhook_endpoints SET failing_since = $2, failed_at = $3 WHERE id = $1 AND failing_since IS NOT DISTINCT FROM $4`,
			r.EndpointID, micros(after.Since), micros(after.Latest), nullMicros(since))
	}
	return mapError("record webhook endpoint health", err)
}

// FindWebhookDeliveries reads a page of deliveries with their attempts in
// one statement, so that each delivery's state and its attempts are one
// snapshot: two statements could show an attempt recorded after its
// delivery's state was read.
func (t *txn) FindWebhookDeliveries(ctx context.Context, endpointID, before string, limit int) ([]*parley.WebhookDelivery, error) {
	rows, err := t.query(ctx, `
		SELECT d.id, d.event, d.created_at, d.state, d.next_attempt_at,
			a.at, a.status_code, a.latency_us, a.error, a.succeeded
		FROM (
			SELECT id, event, created_at, state, next_attempt_at FROM webhook_deliveries
			WHERE endpoint_id = $1 AND ($2 = '' OR id < $2)
			ORDER BY id DESC LIMIT $3
		) d LEFT JOIN webhook_attempts a ON a.delivery_id = d.id
		ORDER BY d.id DESC, a.n`, endpointID, before, limit)
	if err != nil {
		return nil, mapError("find webhook deliveries", err)
	}
	defer rows.Close()
	list := []*parley.WebhookDelivery{}
	for rows.Next() {
		var id, event, state string
		var created int64
		var next, at, status, latency sql.NullInt64
		var errText sql.NullString
		var succeeded sql.NullBool
		if err := rows.Scan(&id, &event, &created, &state, &next, &at, &status, &latency, &errText, &succeeded); err != nil {
			return nil, mapError("find webhook deliveries", err)
		}
		if len(list) == 0 || list[len(list)-1].ID != id {
			list = append(list, &parley.WebhookDelivery{
				ID: id, EndpointID: endpointID, Event: event, State: state,
				CreatedAt: fromMicros(created), NextAttemptAt: fromNullMicros(next),
				Attempts: []parley.WebhookAttempt{},
			})
		}
		if at.Valid {
			d := list[len(list)-1]
			d.Attempts = append(d.Attempts, parley.WebhookAttempt{
				At: fromMicros(at.Int64), StatusCode: int(status.Int64), LatencyMS: latency.Int64 / 1000,
				Error: errText.String, Succeeded: succeeded.Bool,
			})
		}
	}
	return list, mapError("find webhook deliveries", rows.Err())
}

func (t *txn) RedeliverWebhook(ctx context.Context, endpointID, deliveryID string, at time.Time) error {
	res, err := t.exec(ctx, `
		UPDATE webhook_deliveries SET state = $3, attempts = 0, next_attempt_at = $4 WHERE id = $1 AND endpoint_id = $2`,
		deliveryID, endpointID, parley.DeliveryPending, micros(at))
	if err != nil {
		return mapError("redeliver webhook", err)
	}
	return mustAffect(res, "webhook delivery")
}

func (t *txn) FindAppGrants(ctx context.Context, clientID string, at time.Time) ([]*parley.Grant, error) {
	// In a write on PostgreSQL, the grants are held, as FindUserGrants
	// holds them: one another write is revoking is waited for, and then
	// found no longer in force.
	return t.findGrants(ctx, "find app grants", `
		WHERE g.client_id = $1 AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $2)
		ORDER BY g.created_at, g.id`+t.locked, clientID, micros(at))
}

func (t *txn) DeleteWebhookHistory(ctx context.Context, before time.Time, limit int) (int, error) {
	// On PostgreSQL the deliveries are locked as they are chosen, and
	// those another write holds are passed over: an attempt being
	// recorded, a redelivery, another node's deletion. A delivery locked
	// here is one whose attempt cannot then be recorded, which
	// RecordWebhookResults waits for and then finds gone. The condition on
	// state is the index's (webhook_deliveries_done), as written there, so
	// that either engine may use it.
	return t.deleteDeliveries(ctx, `
		SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1
		ORDER BY created_at, id LIMIT $2`+t.skipLocked(), micros(before), limit)
}

func (t *txn) DeleteWebhookDeliveries(ctx context.Context, endpointID string, limit int) (int, error) {
	// On PostgreSQL a worker recording an attempt at one of them waits for
	// this write, and then finds the delivery gone.
	return t.deleteDeliveries(ctx, `SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id LIMIT $2`+t.locked,
		endpointID, limit)
}

// deleteDeliveries deletes the deliveries the query selects the IDs of,
// with their attempts, and returns how many.
func (t *txn) deleteDeliveries(ctx context.Context, query string, args ...any) (int, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return 0, mapError("delete webhook deliveries", err)
	}
	defer rows.Close()
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return 0, mapError("delete webhook deliveries", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, mapError("delete webhook deliveries", err)
	}
	rows.Close()
	in := placeholders(1, len(ids))
	for _, q := range []string{
		`DELETE FROM webhook_attempts WHERE delivery_id IN (` + in + `)`,
		`DELETE FROM webhook_deliveries WHERE id IN (` + in + `)`,
	} {
		if _, err := t.exec(ctx, q, ids...); err != nil {
			return 0, mapError("delete webhook deliveries", err)
		}
	}
	return len(ids), nil
}
