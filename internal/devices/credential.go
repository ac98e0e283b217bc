package devices

import (
	"context"
	"strings"

	"steward/internal/mdm"
)

// credentialPrefix marks a device credential, so that one pasted in the wrong place is recognisable.
// The rest is 256 random bits (secret.Token); only its keyed hash is stored.
const credentialPrefix = "sdc_"

// AuthenticateDevice returns the device whose credential this is: an issued one ("sdc_…") or an
// identity certificate's (CertificateCredential); unauthenticated for an unknown credential or a
// retired or wiped device, forbidden when its tenant is suspended.
func (s *Service) AuthenticateDevice(ctx context.Context, credential string) (*mdm.Device, error) {
	unknown := mdm.Errorf(mdm.Unauthenticated, "unknown device credential")
	if !(strings.HasPrefix(credential, credentialPrefix) && len(credential) <= 100) && !isCertificateCredential(credential) {
		return nil, unknown
	}
	hash := s.keys.Hash(credential)
	d, ok := s.auth.device(hash)
	if !ok {
		since := s.auth.begin()
		var err error
		d, err = s.store.Devices().ByCredential(ctx, hash)
		if mdm.IsCode(err, mdm.NotFound) {
			return nil, unknown
		}
		if err != nil {
			return nil, err
		}
		s.auth.addDevice(hash, d, since)
	}
	t, ok := s.auth.tenant(d.TenantID)
	if !ok {
		tenant, err := s.store.Tenants().Get(ctx, d.TenantID)
		if err != nil {
			return nil, err
		}
		t = s.auth.addTenant(tenant)
	}
	if !t.active {
		return nil, mdm.Errorf(mdm.Forbidden, "tenant %s is suspended", t.name)
	}
	return d, nil
}
