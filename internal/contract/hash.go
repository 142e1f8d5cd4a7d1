package contract

import (
	"crypto/sha256"
	"encoding/base64"
)

// Hash obfuscates one value (SPEC §2): the first 12 characters of the
// unpadded URL-safe base64 of its SHA-256; empty stays empty.
func Hash(v string) string {
	if v == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:12]
}

// Hashed returns f with every value obfuscated by Hash, as the exporter
// answers unless asked for clear text (SPEC §2). The runtimes keep their order.
func (f Finding) Hashed() Finding {
	h := Finding{
		OS: Hash(f.OS), OSVersion: Hash(f.OSVersion),
		Kind: Hash(f.Kind), KindVersion: Hash(f.KindVersion), KindImplementer: Hash(f.KindImplementer),
	}
	for _, r := range f.Runtimes {
		h.Runtimes = append(h.Runtimes, Runtime{Name: Hash(r.Name), Version: Hash(r.Version)})
	}
	return h
}
