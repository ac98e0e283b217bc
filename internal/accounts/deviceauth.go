package accounts

import (
	"context"
	"strings"

	"steward/internal/mdm"
)

// errBadRegistration is the one answer for wrong registration credentials: an unknown user, a wrong
// or missing PIN or password all read the same.
var errBadRegistration = mdm.Errorf(mdm.Unauthenticated, "wrong email address, PIN or password")

// AuthenticateRegistration checks what a user presents to register a device and returns the account
// and its effective registration setting. The account's first registration takes the invitation PIN
// (as does every registration of a half account, which has nothing else); later ones take what the
// setting asks: the password, the PIN, or both. A PIN is used up only once everything else holds,
// the devices-per-user limit and the tenant's seats included, so a registration refused for a full
// limit leaves the PIN usable. Guesses count against the same limits as sign-in and VerifyPIN.
func (s *Service) AuthenticateRegistration(ctx context.Context, username, pin, password string) (*mdm.Account, *mdm.RegistrationSettings, error) {
	return s.RegisterDevice(ctx, username, pin, password, nil)
}

// RegisterDevice is AuthenticateRegistration that also runs create, the registration's own writes, in
// the transaction that uses the PIN up (in a transaction of its own when no PIN is asked for): when
// create fails (another registration took the last seat meanwhile), the PIN stays unused.
func (s *Service) RegisterDevice(ctx context.Context, username, pin, password string,
	create func(tx mdm.Stores, a *mdm.Account, set *mdm.RegistrationSettings) error) (*mdm.Account, *mdm.RegistrationSettings, error) {
	username = strings.TrimSpace(username)
	if username == "" || len(username) > 254 || !mdm.CleanText(username) || !strings.Contains(username, "@") {
		return nil, nil, errBadRegistration
	}
	a, err := s.store.Accounts().ByUsername(ctx, username)
	if mdm.IsCode(err, mdm.NotFound) {
		return nil, nil, s.unknownRegistrant(ctx, username, pin, password)
	}
	if err != nil {
		return nil, nil, err
	}
	set, err := s.registrationSettingsFor(ctx, s.store, a)
	if err != nil {
		return nil, nil, err
	}
	_, ever, err := s.store.Devices().CountForAccount(ctx, a.TenantID, a.ID)
	if err != nil {
		return nil, nil, err
	}
	needPIN, needPassword := registrationNeeds(a, set, ever)
	if !needPassword && password != "" {
		// An unknown user's password costs a hash (unknownRegistrant); so does one given here.
		if err := s.spendPassword(ctx, username, password); err != nil {
			return nil, nil, err
		}
	}
	if needPassword {
		// Authenticate also refuses a disabled account and a suspended tenant.
		if _, err := s.Authenticate(ctx, username, password); err != nil {
			return nil, nil, registrationError(err)
		}
	}
	if !needPIN {
		err := s.store.InTx(ctx, func(tx mdm.Stores) error {
			if err := registrationRoom(ctx, tx, a, set); err != nil || create == nil {
				return err
			}
			return create(tx, a, set)
		})
		if err != nil {
			return nil, nil, err
		}
		return a, set, nil
	}
	check := pinCheck{use: true, accept: func(tx mdm.Stores, acc *mdm.Account) (bool, error) {
		return true, registrationRoom(ctx, tx, acc, set)
	}}
	if create != nil {
		check.then = func(tx mdm.Stores, acc *mdm.Account) error { return create(tx, acc, set) }
	}
	a, err = s.verifyPIN(ctx, username, pin, check)
	if err != nil {
		return nil, nil, registrationError(err)
	}
	return a, set, nil
}

// RegistrationSettingsFor is the registration setting in force for account a (its groups' override or
// the tenant default), read in tx: the devices service checks a new owner's devices-per-user limit
// with it.
func (s *Service) RegistrationSettingsFor(ctx context.Context, tx mdm.Stores, a *mdm.Account) (*mdm.RegistrationSettings, error) {
	return s.registrationSettingsFor(ctx, tx, a)
}

// registrationNeeds says which credentials a registration of a takes under set, ever being how many
// devices a has registered so far. A half account (no password) always uses its PIN. The first
// registration takes the invitation PIN when the setting uses PINs; under PASSWORD_ONLY a full account
// was invited with its password and registers with it from the first device on.
func registrationNeeds(a *mdm.Account, set *mdm.RegistrationSettings, ever int) (pin, password bool) {
	if a.PasswordHash == "" || ever == 0 && set.UsesPIN() {
		return true, false
	}
	switch set.AuthType {
	case mdm.PasswordOnly:
		return false, true
	case mdm.PINAndPassword:
		return true, true
	default:
		return true, false
	}
}

// unknownRegistrant checks what an unknown user presented as a known user's would be (the same work,
// the same limits, the failure counted) and answers errBadRegistration.
func (s *Service) unknownRegistrant(ctx context.Context, username, pin, password string) error {
	if password != "" {
		if _, err := s.Authenticate(ctx, username, password); !mdm.IsCode(err, mdm.Unauthenticated) && err != nil {
			return err
		}
	}
	if pin != "" {
		if _, err := s.VerifyPIN(ctx, username, pin); !mdm.IsCode(err, mdm.Unauthenticated) && err != nil {
			return err
		}
	}
	return errBadRegistration
}

// spendPassword checks a password that a known user's registration does not need as a sign-in would,
// through the same limiter, so that timing and throttling treat known and unknown users alike (see
// unknownRegistrant). Its outcome does not decide the registration; only a throttled sign-in or a
// failure of the check itself comes back.
func (s *Service) spendPassword(ctx context.Context, username, password string) error {
	if _, err := s.Authenticate(ctx, username, password); err != nil && !mdm.IsCode(err, mdm.Unauthenticated) &&
		!mdm.IsCode(err, mdm.Forbidden) {
		return err
	}
	return nil
}

// registrationError turns the wrong-credential answers of the password and PIN checks into the one
// registration answer; everything else (a disabled account after its right password, a suspended
// tenant, a limit, too many attempts) passes through.
func registrationError(err error) error {
	if err == errBadCredentials || err == errBadPIN {
		return errBadRegistration
	}
	return err
}

// registrationRoom refuses a registration that the devices-per-user limit of set or the tenant's
// license seats would not admit. The device store checks both again, atomically, when it creates the
// device; this check comes first so that a PIN is not used up by a registration bound to fail.
func registrationRoom(ctx context.Context, tx mdm.Stores, a *mdm.Account, set *mdm.RegistrationSettings) error {
	if set.DevicesPerUser > 0 {
		active, _, err := tx.Devices().CountForAccount(ctx, a.TenantID, a.ID)
		if err != nil {
			return err
		}
		if active >= set.DevicesPerUser {
			return mdm.Errorf(mdm.Conflict, "%s already has %d registered devices, the most the registration setting allows: "+
				"retire one first", a.Username, active)
		}
	}
	t, err := tx.Tenants().Get(ctx, a.TenantID)
	if err != nil {
		return err
	}
	if t.LicenseDevices <= 0 {
		return nil
	}
	seats, err := tx.Devices().CountSeats(ctx, a.TenantID)
	if err != nil {
		return err
	}
	if seats >= t.LicenseDevices {
		return mdm.Errorf(mdm.Conflict, "all %d device licenses of the tenant are in use", t.LicenseDevices)
	}
	return nil
}
