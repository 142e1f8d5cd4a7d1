package cri

import (
	"fmt"
	"strings"
)

// Select returns the containers the requested ids name, in the order of all
// and each once, and the requested ids that name none (unknown or
// ambiguous), for the caller to log. An id is a full container id or a
// prefix of exactly one, with or without the "<runtime>://" prefix the
// kubelet shows. Blank ids are ignored; when no id is left, every container
// is selected, as SPEC §2 wants for an empty request.
func Select(all []Container, ids []string) (selected []Container, unknown []string) {
	want := make(map[string]bool, len(ids))
	asked := false
	for _, raw := range ids {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		asked = true
		c, err := Find(all, raw)
		if err != nil {
			unknown = append(unknown, raw)
			continue
		}
		want[c.Key()] = true
	}
	if !asked {
		return append([]Container(nil), all...), nil
	}
	for _, c := range all {
		if want[c.Key()] {
			selected = append(selected, c)
			delete(want, c.Key()) // the same container listed twice is scanned once
		}
	}
	return selected, unknown
}

// Find returns the one container the id names: a full id or a unique
// prefix, optionally with the "<runtime>://" prefix (which must then be the
// container's runtime). It fails with ErrUnknownID or ErrAmbiguousID.
func Find(all []Container, id string) (Container, error) {
	id = strings.TrimSpace(id)
	runtime, bare, hasRuntime := strings.Cut(id, "://")
	if !hasRuntime {
		bare, runtime = id, ""
	}
	if bare == "" {
		return Container{}, fmt.Errorf("container id %q: %w", id, ErrUnknownID)
	}
	var (
		found   Container
		matches int
	)
	for _, c := range all {
		if hasRuntime && c.Runtime != runtime {
			continue
		}
		if c.ID == bare {
			return c, nil // an exact id wins even if it is also another's prefix
		}
		if strings.HasPrefix(c.ID, bare) {
			found = c
			matches++
		}
	}
	switch matches {
	case 0:
		return Container{}, fmt.Errorf("container id %q: %w", id, ErrUnknownID)
	case 1:
		return found, nil
	default:
		return Container{}, fmt.Errorf("container id %q: %d containers: %w", id, matches, ErrAmbiguousID)
	}
}
