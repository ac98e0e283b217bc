package server

import (
	"context"
	"strconv"
	"strings"
	"time"

	"steward/internal/events"
	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// Event topics replicas tell each other (internal/events). The assignment generation is announced by
// the store itself, inside the transaction that bumps it (sqlstore.GenerationEvent).
const (
	topicDevices  = "devices"  // "<tenant> <id>,<id>…": drop these devices' cached authentication
	topicPushCert = "pushcert" // "<tenant>": drop the tenant's cached push certificate
	topicMail     = "mail"     // the outbox has new mail: workers look now
	topicClient   = "client"   // "<client id>": an App Registration was deleted; forget its verified secret
	topicTenant   = "tenant"   // "<tenant>": the tenant was suspended or resumed; forget what was cached of it
)

// newBus is how this replica hears the others: PostgreSQL's LISTEN/NOTIFY, or in process on SQLite
// (one replica only).
func (s *Server) newBus() events.Bus {
	if s.store.Dialect() == "postgres" {
		s.pgBus = events.NewPostgres(s.store.DB(), s.cfg.DatabaseURL, s.log)
		return s.pgBus
	}
	return events.NewLocal()
}

// publish sends an event to every replica. A failure only delays the others to their caches' expiry
// or their next poll, so it is logged, not returned.
func (s *Server) publish(topic, payload string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.bus.Publish(ctx, topic, payload); err != nil {
		s.log.WarnContext(ctx, "event not published to the other replicas", "topic", topic, "err", err.Error())
	}
}

// devicesChanged tells every replica to drop the devices from its authentication cache, in events
// small enough for one notification each.
func (s *Server) devicesChanged(tenantID mdm.TenantID, ids []mdm.DeviceID) {
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			s.publish(topicDevices, string(tenantID)+" "+b.String())
			b.Reset()
		}
	}
	for _, id := range ids {
		if len(tenantID)+b.Len() > events.MaxPayload-64 {
			flush()
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(int64(id), 10))
	}
	flush()
}

// mailQueued wakes this replica's mail worker and the other replicas'.
func (s *Server) mailQueued() {
	if s.worker != nil {
		s.worker.Wake()
	}
	s.publish(topicMail, "")
}

// subscribe acts on what the other replicas announce (and, harmlessly, on this replica's own events).
func (s *Server) subscribe() {
	s.bus.Subscribe(topicDevices, func(payload string) {
		tenant, list, _ := strings.Cut(payload, " ")
		var ids []mdm.DeviceID
		for _, f := range strings.Split(list, ",") {
			if n, err := strconv.ParseInt(f, 10, 64); err == nil {
				ids = append(ids, mdm.DeviceID(n))
			}
		}
		s.devices.DropCached(mdm.TenantID(tenant), ids)
	})
	s.bus.Subscribe(topicPushCert, func(tenant string) {
		if tenant != "" {
			s.apple.DropPushCertificate(mdm.TenantID(tenant))
		}
	})
	s.bus.Subscribe(topicClient, func(clientID string) { s.appReg.Forget(clientID) })
	s.bus.Subscribe(topicTenant, func(tenant string) {
		s.appReg.ForgetTenant(mdm.TenantID(tenant))
		s.devices.DropTenantCached(mdm.TenantID(tenant))
	})
	s.bus.Subscribe(sqlstore.GenerationEvent, func(string) { s.configs.Kick() })
	if s.worker != nil {
		s.bus.Subscribe(topicMail, func(string) { s.worker.Wake() })
	}
	// Events sent while this replica was not listening are lost: drop every cache and look for work.
	s.bus.Subscribe(events.Resync, func(string) {
		s.devices.DropAllCached()
		s.appReg.ForgetAll()
		s.apple.DropPushCertificate("")
		s.configs.Kick()
		if s.worker != nil {
			s.worker.Wake()
		}
	})
}

// pushCertChanged tells every replica to drop the tenant's cached push certificate.
func (s *Server) pushCertChanged(tenantID mdm.TenantID) { s.publish(topicPushCert, string(tenantID)) }

// clientDeleted tells every replica to stop accepting the deleted App Registration's secret at once.
func (s *Server) clientDeleted(_ mdm.TenantID, clientID string) { s.publish(topicClient, clientID) }

// tenantStateChanged tells every replica that a tenant was suspended or resumed, so that none keeps
// accepting its clients or devices from a cache.
func (s *Server) tenantStateChanged(tenantID mdm.TenantID) { s.publish(topicTenant, string(tenantID)) }
