package sqlstore_test

import (
	"testing"
	"time"

	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// BenchmarkQueueUpkeep times the statements added to keep the queue bounded: a collapsing fan-out
// to 10,000 devices that each already have the lock next (nothing is added), the state read of
// 10,000 devices that explains a refusal, and a bulk cancel.
func BenchmarkQueueUpkeep(b *testing.B) {
	forEachDBBench(b, func(b *testing.B, s *sqlstore.Store) {
		ctx := b.Context()
		tenant, ids := benchTenant(b, s)
		ids = ids[:10_000]
		now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
		lock := mdm.NewCommand{Type: mdm.CmdLock, CreatedBy: "bench", Collapse: true}
		if got, err := s.Commands().Enqueue(ctx, tenant, ids, []string{mdm.StateActive}, lock, now); err != nil || len(got) != len(ids) {
			b.Fatal(len(got), err)
		}
		b.Run("EnqueueCollapsed10k", func(b *testing.B) {
			for b.Loop() {
				got, err := s.Commands().Enqueue(ctx, tenant, ids, []string{mdm.StateActive}, lock, now)
				if err != nil || len(got) != 0 {
					b.Fatal(len(got), err)
				}
			}
		})
		b.Run("States10k", func(b *testing.B) {
			for b.Loop() {
				got, err := s.Devices().States(ctx, tenant, ids)
				if err != nil || len(got) != len(ids) {
					b.Fatal(len(got), err)
				}
			}
		})
		b.Run("CancelOpen10k", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Commands().CancelOpen(ctx, tenant, ids, mdm.CmdWipe, []string{mdm.CmdPending}, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
