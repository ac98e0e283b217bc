package apps

import (
	"context"
	"errors"
	"io"
	"path"
	"strings"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// Upload is an uploaded binary: its file name and content.
type Upload struct {
	FileName string
	Body     io.Reader
}

// CreateInHouse adds an in-house app from an uploaded .ipa or .apk: the platform, bundle id or package
// name and version come from the binary (platformType and bundleId, when given, must agree with it);
// name defaults to the binary's display name, else its bundle id. The binary is stored in the blob store
// (at most MaxFile bytes); on any error nothing is kept.
func (s *Service) CreateInHouse(ctx context.Context, in AppInput, up Upload) (*View, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppManage)
	if err != nil {
		return nil, err
	}
	if s.blobs == nil {
		return nil, mdm.Errorf(mdm.Unavailable, "in-house apps are not enabled on this server")
	}
	var v mdm.Validator
	v.Check(up.Body != nil, "file", "Required", "an .ipa or .apk file is required")
	name := path.Base(strings.ReplaceAll(up.FileName, `\`, "/"))
	v.Check(len(name) <= 255 && !strings.ContainsFunc(name, isControl), "file", "Pattern", "the file name is too long")
	v.Check(in.StoreID == nil || *in.StoreID == "", "itunesStoreId", "NotAllowed", "in-house apps have no App Store id")
	checkFields(&v, in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	key := newKey()
	size, sum, err := s.blobs.Put(ctx, key, up.Body, s.maxFile)
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
		}
	}()
	bin, err := s.readStored(ctx, key)
	if err != nil {
		return nil, err
	}
	if in.Platform != nil {
		p, ok := Platform(*in.Platform)
		v.Check(ok, "platformType", "Enum", "must be IOS or ANDROID")
		v.Check(!ok || p == bin.Platform, "platformType", "Mismatch", "the file is an app of the other platform")
	}
	if in.BundleID != nil && *in.BundleID != "" {
		v.Check(strings.TrimSpace(*in.BundleID) == bin.BundleID, "bundleId", "Mismatch", "the file's bundle id is "+clip(bin.BundleID))
	}
	v.Check(ValidBundleID(bin.BundleID), "file", "Pattern", "the file's bundle id or package name is not valid")
	v.Check(len(bin.Version) <= 100 && len(bin.BuildNumber) <= 100 && mdm.CleanText(bin.Version+bin.BuildNumber) &&
		!strings.ContainsFunc(bin.Version+bin.BuildNumber, isControl), "file", "Pattern", "the file's version is not valid")
	if err := v.Err(); err != nil {
		return nil, err
	}
	appName := bin.Name
	if in.Name != nil {
		appName = strings.TrimSpace(*in.Name)
	}
	if appName == "" || len(appName) > MaxName || !mdm.CleanText(appName) || strings.ContainsFunc(appName, isControl) {
		appName = bin.BundleID
	}
	now := s.now()
	a := &mdm.App{TenantID: tenantID, Platform: bin.Platform, Source: mdm.AppInHouse, BundleID: bin.BundleID, Name: appName,
		Version: bin.Version, BuildNumber: bin.BuildNumber, FileKey: key, FileName: name, FileSize: size, FileSHA256: sum,
		CreatedBy: mdm.PrincipalFrom(ctx).Username, CreatedAt: now, ModifiedAt: now}
	applyText(a, in)
	view, err := s.create(ctx, tenantID, a, in)
	if err != nil {
		return nil, err
	}
	keep = true
	return view, nil
}

func (s *Service) readStored(ctx context.Context, key string) (*Binary, error) {
	f, size, err := s.blobs.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	bin, err := ReadBinary(f, size)
	if errors.Is(err, ErrNotApp) {
		return nil, mdm.FieldErrors(mdm.FieldError{Code: "Format", Field: "file", Message: clip(err.Error())})
	}
	return bin, err
}

// Binary opens an in-house app's stored binary for download. It needs App Read.
func (s *Service) Binary(ctx context.Context, id mdm.AppID) (*mdm.App, Blob, int64, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return nil, nil, 0, err
	}
	return s.open(ctx, tenantID, id)
}

func (s *Service) open(ctx context.Context, tenantID mdm.TenantID, id mdm.AppID) (*mdm.App, Blob, int64, error) {
	a, err := s.store.Apps().Get(ctx, tenantID, id)
	if err != nil {
		return nil, nil, 0, err
	}
	if a.FileKey == "" || s.blobs == nil {
		return nil, nil, 0, mdm.Errorf(mdm.NotFound, "this app has no file")
	}
	f, size, err := s.blobs.Open(ctx, a.FileKey)
	if err != nil {
		return nil, nil, 0, err
	}
	return a, f, size, nil
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
