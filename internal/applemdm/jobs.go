package applemdm

import (
	"context"
	"time"
)

// enrollmentKept is how long an enrollment that never bound a device is kept after it expired, so that
// a late device's refusal can still be told apart from an unknown certificate in the logs for a while.
const enrollmentKept = 24 * time.Hour

// PruneEnrollments deletes enrollments that expired more than a day ago without binding a device (a
// profile downloaded and never installed), and returns how many.
func (s *Service) PruneEnrollments(ctx context.Context) (int, error) {
	return s.d.Store.Apple().PruneEnrollments(ctx, s.d.Now().Add(-enrollmentKept))
}

// Run does the background work until ctx ends: push certificate expiry warnings once at the start and
// then daily, and pruning of unused enrollments hourly.
func (s *Service) Run(ctx context.Context) {
	warn := time.NewTicker(24 * time.Hour)
	defer warn.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	s.warnExpiring(ctx)
	s.prune(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-warn.C:
			s.warnExpiring(ctx)
		case <-prune.C:
			s.prune(ctx)
		}
	}
}

func (s *Service) warnExpiring(ctx context.Context) {
	if _, err := s.ExpiryWarnings(ctx); err != nil && ctx.Err() == nil {
		s.d.Log.ErrorContext(ctx, "push certificate expiry check failed", "err", err.Error())
	}
}

func (s *Service) prune(ctx context.Context) {
	n, err := s.PruneEnrollments(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.d.Log.ErrorContext(ctx, "pruning unused Apple enrollments failed", "err", err.Error())
	case n > 0:
		s.d.Log.InfoContext(ctx, "pruned unused Apple enrollments", "count", n)
	}
}
