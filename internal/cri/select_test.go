package cri

import (
	"errors"
	"slices"
	"testing"
)

func TestSelect(t *testing.T) {
	all := []Container{
		{ID: "abc123", Runtime: "cri-o"},
		{ID: "abc456", Runtime: "cri-o"},
		{ID: "abc", Runtime: "cri-o"}, // an id that is also a prefix of the others
		{ID: "def789", Runtime: "cri-o"},
	}
	for _, tc := range []struct {
		name        string
		ids         []string
		wantIDs     []string
		wantUnknown []string
	}{
		{"no ids selects every container", nil, []string{"abc123", "abc456", "abc", "def789"}, nil},
		{"blank ids select every container", []string{"", "  "}, []string{"abc123", "abc456", "abc", "def789"}, nil},
		{"full id", []string{"def789"}, []string{"def789"}, nil},
		{"unique prefix", []string{"d"}, []string{"def789"}, nil},
		{"runtime prefix", []string{"cri-o://def789"}, []string{"def789"}, nil},
		{"runtime prefix and id prefix", []string{"cri-o://abc4"}, []string{"abc456"}, nil},
		{"other runtime", []string{"containerd://def789"}, nil, []string{"containerd://def789"}},
		{"runtime prefix alone", []string{"cri-o://"}, nil, []string{"cri-o://"}},
		{"exact id wins over prefix", []string{"abc"}, []string{"abc"}, nil},
		{"ambiguous prefix", []string{"ab"}, nil, []string{"ab"}},
		{"unknown", []string{"fff"}, nil, []string{"fff"}},
		{"surrounding spaces", []string{" def789\n"}, []string{"def789"}, nil},
		{"duplicates once, in listing order", []string{"def789", "abc1", "cri-o://def789"}, []string{"abc123", "def789"}, nil},
		{"only unknown ids select nothing", []string{"zzz"}, nil, []string{"zzz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel, unknown := Select(all, tc.ids)
			var ids []string
			for _, c := range sel {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tc.wantIDs) || !slices.Equal(unknown, tc.wantUnknown) {
				t.Errorf("Select(%q) = %q, unknown %q; want %q, unknown %q", tc.ids, ids, unknown, tc.wantIDs, tc.wantUnknown)
			}
		})
	}
}

func TestFindErrors(t *testing.T) {
	all := []Container{{ID: "abc1", Runtime: "containerd"}, {ID: "abc2", Runtime: "containerd"}}
	for id, want := range map[string]error{
		"abc":               ErrAmbiguousID,
		"containerd://abc":  ErrAmbiguousID,
		"abd":               ErrUnknownID,
		"cri-o://abc1":      ErrUnknownID,
		"containerd://":     ErrUnknownID,
		"":                  ErrUnknownID,
		"abc1-and-more-hex": ErrUnknownID,
	} {
		if _, err := Find(all, id); !errors.Is(err, want) {
			t.Errorf("Find(%q) error = %v, want %v", id, err, want)
		}
	}
}
