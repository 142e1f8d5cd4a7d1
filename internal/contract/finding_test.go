package contract

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestFindingRoundTrip(t *testing.T) {
	f := Finding{
		OS: "rhel", OSVersion: "8.10", Kind: "Java", KindVersion: "17.0.13", KindImplementer: "Red Hat, Inc.",
		Runtimes: []Runtime{{"Quarkus", "3.15.3.redhat-00002"}, {"Quarkus native", ""}, {"Weird", "a=b"}},
	}
	var b bytes.Buffer
	if err := f.Encode(&b); err != nil {
		t.Fatal(err)
	}
	want := "os-release-id=rhel\nos-release-version-id=8.10\nruntime-kind=Java\nruntime-kind-implementer=Red Hat, Inc.\nruntime-kind-version=17.0.13\n" +
		"runtime=Quarkus=3.15.3.redhat-00002\nruntime=Quarkus native=\nruntime=Weird=a=b\n"
	if b.String() != want {
		t.Errorf("encoded\n%s\nwant\n%s", b.String(), want)
	}
	got, err := DecodeFinding(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Errorf("decoded %+v, want %+v", got, f)
	}
}

func TestEncodeRefusesValuesThatBreakTheFormat(t *testing.T) {
	for _, f := range []Finding{
		{OS: "a\nruntime-kind=Java"},
		{KindVersion: strings.Repeat("9", MaxValueLen+1)},
		{Runtimes: []Runtime{{"a=b", "1"}}},
		{Runtimes: []Runtime{{"Quarkus", "1\x00"}}},
		{Kind: " Java"},
	} {
		var b bytes.Buffer
		if err := f.Encode(&b); !errors.Is(err, ErrInvalidValue) || b.Len() != 0 {
			t.Errorf("%+v: err %v, wrote %q", f, err, b.String())
		}
	}
}

func TestSanitizeDropsWhatCannotBeReported(t *testing.T) {
	f := Finding{
		OS: ` "debian" `, OSVersion: "12\n13", KindVersion: strings.Repeat("x", 300),
		Runtimes: []Runtime{{"Quarkus", "3.15.1"}, {"Bad\tName", "1"}, {"Spring Boot", "\x1b[31m"}, {"Quarkus", "dup"}},
	}
	got, dropped := f.Sanitize()
	want := Finding{OS: "debian", Runtimes: []Runtime{{"Quarkus", "3.15.1"}, {"Spring Boot", ""}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if len(dropped) != 4 {
		t.Errorf("dropped %q", dropped)
	}
}

func TestDecodeFindingIsBoundedAndTolerant(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Finding
		wantErr  bool
	}{
		{"quotes and spaces trimmed", "os-release-id= \"alpine\" \r\nos-release-version-id='3.20.2'\n", Finding{OS: "alpine", OSVersion: "3.20.2"}, false},
		{"first occurrence wins", "runtime-kind=Java\nruntime-kind=Evil\n", Finding{Kind: "Java"}, false},
		{"unknown keys and junk ignored", "junk\nfuture-key=1\n=x\nruntime-kind=Golang\n", Finding{Kind: "Golang"}, false},
		{"control characters dropped", "runtime-kind-version=v1\x07\nruntime=Node\x1b=1\n", Finding{}, false},
		{"too long dropped", "runtime-kind-version=" + strings.Repeat("1", 257) + "\n", Finding{}, false},
		{"runtime without version", "runtime=Quarkus\n", Finding{Runtimes: []Runtime{{"Quarkus", ""}}}, false},
		{"duplicate runtime kept once", "runtime=A=1\nruntime=A=2\n", Finding{Runtimes: []Runtime{{"A", "1"}}}, false},
		{"larger than 64 KiB", strings.Repeat("x", MaxFindingSize+1), Finding{}, true},
		{"one huge line within bound", strings.Repeat("x", MaxFindingSize), Finding{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeFinding(strings.NewReader(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	var many strings.Builder
	for i := 0; i < 2*MaxRuntimes; i++ {
		many.WriteString("runtime=R" + strings.Repeat("x", i) + "=1\n")
	}
	got, err := DecodeFinding(strings.NewReader(many.String()))
	if err != nil || len(got.Runtimes) != MaxRuntimes {
		t.Errorf("%d runtimes, %v", len(got.Runtimes), err)
	}
}

func FuzzDecodeFinding(f *testing.F) {
	f.Add([]byte("os-release-id=rhel\nruntime=Quarkus=3.15.1\n"))
	f.Add([]byte("runtime-kind=\"Java\"\r\nruntime-kind-version=17\n"))
	f.Add([]byte("runtime==\n=\n\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeFinding(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever was accepted must encode and decode to itself.
		var b bytes.Buffer
		if err := got.Encode(&b); err != nil {
			t.Fatalf("decoded findings do not encode: %v (%+v)", err, got)
		}
		again, err := DecodeFinding(&b)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip %+v -> %+v (%v)", got, again, err)
		}
	})
}
