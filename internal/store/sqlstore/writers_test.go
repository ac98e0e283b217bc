package sqlstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"steward/internal/mdm"
)

// TestSQLiteWritersDoNotStarveTheLockHolder runs more transactions at once than the SQLite pool has
// connections, each reading through the pool while it holds the write lock (as the mailer reads a
// tenant's template override while an invitation is being queued). Transactions waiting for the lock
// must not hold every connection, or the holder's read waits for them until the busy timeout fails them.
func TestSQLiteWritersDoNotStarveTheLockHolder(t *testing.T) {
	s := migrated(t, openSQLite(t))
	ctx := t.Context()
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- s.InTx(ctx, func(tx mdm.Stores) error {
				now := time.Now()
				tn := mdm.Tenant{ID: mdm.TenantID(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)), Name: fmt.Sprintf("Writer %d", i),
					State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
				if err := tx.Tenants().Create(ctx, &tn); err != nil {
					return err
				}
				_, err := s.EmailTemplates().Get(ctx, tn.ID, "invitation_pin")
				if mdm.IsCode(err, mdm.NotFound) {
					return nil
				}
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("transaction failed: %v", err)
		}
	}
}
