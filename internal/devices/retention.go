package devices

import (
	"context"
	"fmt"
	"time"
)

// DefaultRetention is how long answered and cancelled commands are kept before Prune deletes them.
const DefaultRetention = 7 * 24 * time.Hour

// pruneBatch bounds one delete, so that pruning a large backlog never holds the database for long.
const pruneBatch = 5000

// Prune first expires commands still undelivered or unanswered after the retention (ERROR, so that
// the history shows it; WIPE and RETIRE wait for their device however long), then deletes
// acknowledged, failed and cancelled commands completed longer than the retention ago, each in
// batches, and returns how many it deleted. Run calls it hourly.
func (s *Service) Prune(ctx context.Context) (int, error) {
	now := s.now()
	before := now.Add(-s.retention)
	reason := fmt.Sprintf("expired: no answer from the device within %s", s.retention)
	expired, err := batches(func() (int, error) { return s.store.Commands().Expire(ctx, before, now, reason, pruneBatch) })
	if expired > 0 {
		s.log.InfoContext(ctx, "expired undelivered commands", "count", expired, "before", before)
	}
	if err != nil {
		return 0, err
	}
	total, err := batches(func() (int, error) { return s.store.Commands().Prune(ctx, before, pruneBatch) })
	if total > 0 {
		s.log.InfoContext(ctx, "pruned completed commands", "count", total, "before", before)
	}
	return total, err
}

// batches runs one batch after another until a batch is not full, and returns how many rows they
// changed in all.
func batches(batch func() (int, error)) (int, error) {
	total := 0
	for {
		n, err := batch()
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

// QueueCounts returns how many commands are in each state, in every tenant (for metrics and the
// simulator's report).
func (s *Service) QueueCounts(ctx context.Context) (map[string]int, error) {
	return s.store.Commands().Counts(ctx)
}
