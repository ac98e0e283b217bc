// Package events tells every replica serving one database what one of them changed: caches to drop,
// background work to start now instead of at its next poll. Publish reaches every subscriber of every
// replica, the publisher's own included; delivery is best effort (a replica that was disconnected hears
// Resync instead of what it missed), so subscribers drop or recheck state, never count on an event.
//
// Local serves a single process (SQLite); Postgres carries the events over LISTEN/NOTIFY.
package events

import (
	"context"
	"strings"
	"sync"
)

// Resync is published locally when events may have been missed (a replica's listening connection was
// lost and is back): subscribers drop all their cached state.
const Resync = "resync"

// Bus publishes events and hands them to subscribers.
type Bus interface {
	// Publish sends payload under topic to every replica. It does not block on subscribers.
	Publish(ctx context.Context, topic, payload string) error
	// Subscribe runs f for each event of topic. f runs on the bus's goroutine: it must be quick.
	Subscribe(topic string, f func(payload string))
}

// Local is the bus of one process.
type Local struct {
	mu   sync.RWMutex
	subs map[string][]func(string)
}

var _ Bus = (*Local)(nil)

// NewLocal returns an in-process bus.
func NewLocal() *Local { return &Local{subs: map[string][]func(string){}} }

// Publish hands the event to this process's subscribers.
func (b *Local) Publish(_ context.Context, topic, payload string) error {
	b.deliver(topic, payload)
	return nil
}

// Subscribe runs f for each event of topic.
func (b *Local) Subscribe(topic string, f func(payload string)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[topic] = append(b.subs[topic], f)
}

func (b *Local) deliver(topic, payload string) {
	b.mu.RLock()
	fs := b.subs[topic]
	b.mu.RUnlock()
	for _, f := range fs {
		f(payload)
	}
}

// Encode is how an event travels as one notification payload: the topic, a space, the payload. A
// store that notifies inside its own transaction (so that the event leaves only on commit) encodes
// it the same way on the same channel.
func Encode(topic, payload string) string { return topic + " " + payload }

func decode(s string) (topic, payload string) {
	topic, payload, _ = strings.Cut(s, " ")
	return topic, payload
}
