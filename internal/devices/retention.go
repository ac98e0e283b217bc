package devices

import (
	"context"
	"time"
)

// DefaultRetention is how long answered and cancelled commands are kept before Prune deletes them.
const DefaultRetention = 7 * 24 * time.Hour

// pruneBatch bounds one delete, so that pruning a large backlog never holds the database for long.
const pruneBatch = 5000

// Prune deletes acknowledged, failed and cancelled commands completed longer than the retention ago,
// in batches, and returns how many it deleted. Run calls it hourly.
func (s *Service) Prune(ctx context.Context) (int, error) {
	before := s.now().Add(-s.retention)
	total := 0
	for {
		n, err := s.store.Commands().Prune(ctx, before, pruneBatch)
		total += n
		if err != nil {
			return total, err
		}
		if n < pruneBatch {
			break
		}
	}
	if total > 0 {
		s.log.InfoContext(ctx, "pruned completed commands", "count", total, "before", before)
	}
	return total, nil
}

// QueueCounts returns how many commands are in each state, in every tenant (for metrics and the
// simulator's report).
func (s *Service) QueueCounts(ctx context.Context) (map[string]int, error) {
	return s.store.Commands().Counts(ctx)
}
