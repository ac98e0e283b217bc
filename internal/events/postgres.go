package events

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel is the PostgreSQL notification channel events travel on.
const Channel = "steward_events"

// MaxPayload bounds what one event carries: PostgreSQL refuses notification payloads of 8000 bytes or
// more. Publishers split longer ones.
const MaxPayload = 7000

// Postgres is a bus over PostgreSQL's LISTEN/NOTIFY: Publish runs pg_notify on the pool; Run keeps a
// dedicated connection listening and hands what arrives to this replica's subscribers.
type Postgres struct {
	local *Local
	db    *sql.DB
	dsn   string
	log   *slog.Logger

	mu        sync.Mutex
	listening chan struct{} // closed while the listening connection is up
}

var _ Bus = (*Postgres)(nil)

// NewPostgres returns a bus publishing through db and listening on its own connection to dsn (the same
// database). Nothing is heard until Run runs.
func NewPostgres(db *sql.DB, dsn string, log *slog.Logger) *Postgres {
	return &Postgres{local: NewLocal(), db: db, dsn: dsn, log: log, listening: make(chan struct{})}
}

// Publish notifies every replica listening, this one included.
func (p *Postgres) Publish(ctx context.Context, topic, payload string) error {
	msg := Encode(topic, payload)
	if len(msg) > MaxPayload {
		return fmt.Errorf("event %s: payload of %d bytes is too long", topic, len(msg))
	}
	_, err := p.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, msg)
	return err
}

// Subscribe runs f for each event of topic heard.
func (p *Postgres) Subscribe(topic string, f func(payload string)) { p.local.Subscribe(topic, f) }

// Listening returns a channel closed once the listening connection is up (for tests and readiness).
func (p *Postgres) Listening() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.listening
}

// Run listens until ctx ends, reconnecting with a growing pause (up to 10 s) when the connection is
// lost. After a reconnection it delivers Resync, since events sent meanwhile were missed.
func (p *Postgres) Run(ctx context.Context) {
	pause := 100 * time.Millisecond
	for first := true; ctx.Err() == nil; first = false {
		err := p.listen(ctx, !first)
		if ctx.Err() != nil {
			return
		}
		p.log.WarnContext(ctx, "event listener disconnected; reconnecting", "err", err.Error(), "pause", pause.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 10*time.Second)
	}
}

// listen holds one listening connection until it fails or ctx ends.
func (p *Postgres) listen(ctx context.Context, resync bool) error {
	conn, err := pgx.Connect(ctx, p.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	p.mu.Lock()
	up := p.listening
	p.mu.Unlock()
	close(up)
	defer func() {
		p.mu.Lock()
		p.listening = make(chan struct{})
		p.mu.Unlock()
	}()
	if resync {
		p.local.deliver(Resync, "")
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if n.Channel != Channel {
			continue
		}
		p.local.deliver(decode(n.Payload))
	}
}
